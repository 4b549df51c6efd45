#!/usr/bin/env bash
# sync_bench.sh - a desktop's first sync of a company with 1,000,000 tickets (and their
# 1,000,000 items and 1,000,000 events) through closeloopd into an empty mirror (`cloop
# sync`, release build): seconds and MB received, next to `psql \copy` of the same rows
# (the three tables) to files in the same run. Then a second sync with nothing new (the
# feed only), and a --verify (checksums of every project and entity on both sides).
# usage: tests/bench/sync_bench.sh [--tickets N]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tickets=1000000
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
mb() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }
bench_options --tickets tickets -- "$@"
bench_build
bench_setup
bench_postgres
bench_daemon
bench_client
bench_project
water=$($cloop contractor add 东方雨虹防水 --trades waterproofing --format csv | id_of)
$cloop trade assign --project "$project" --trade waterproofing --contractor "$water" >/dev/null
building=$($cloop building add --project "$project" 1栋 --floors 30 --format csv | id_of)
$cloop unit add --building "$building" 1-1-101 >/dev/null
$cloop round add --project "$project" --kind handover --start 2026-11-01 --end 2026-12-31 \
    >/dev/null 2>&1 || true
bench_psql -q -v ON_ERROR_STOP=1 <<SQL
SET session_replication_role = replica;
INSERT INTO inspection_rounds (project_id, kind, planned_start, planned_end)
SELECT $project, 'handover', current_date - 30, current_date + 30
 WHERE NOT EXISTS (SELECT 1 FROM inspection_rounds WHERE project_id = $project);
INSERT INTO inspection_records (project_id, unit_id, round_id, inspected_on)
SELECT u.project_id, u.id, r.id, current_date FROM units u
  JOIN inspection_rounds r ON r.project_id = u.project_id
ON CONFLICT (unit_id, round_id) DO NOTHING;
CREATE TEMP TABLE rec AS SELECT id, unit_id, round_id FROM inspection_records
 WHERE project_id = $project ORDER BY id LIMIT 1;
INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location, category,
                              description, severity, inspected_on, inspector, created_at)
SELECT md5('bench' || g)::uuid, r.id, $project, r.unit_id, r.round_id, '卫生间', 'waterproofing',
       '卫生间地面渗水，墙角返潮 ' || g, 'minor', current_date - g % 60, '王工',
       now() - (g || ' seconds')::interval
  FROM generate_series(1, $tickets) g, rec r;
INSERT INTO tickets (id, project_id, number, state, contractor_id, category, severity, deadline,
                     last_note, raised_at, closed_at, found_on)
SELECT md5('bench' || g)::uuid, $project, 1000000 + g,
       CASE WHEN g % 20 = 0 THEN 'open' ELSE 'closed' END, $water, 'waterproofing', 'minor',
       current_date + 7, CASE WHEN g % 20 = 0 THEN '' ELSE '已修复，复验通过' END,
       now() - (g || ' seconds')::interval,
       CASE WHEN g % 20 = 0 THEN NULL ELSE now() END, current_date - g % 60
  FROM generate_series(1, $tickets) g;
INSERT INTO ticket_events (ticket_id, project_id, at, actor_user_id, actor, action, from_state,
                           to_state, note, contractor_id)
SELECT md5('bench' || g)::uuid, $project, now() - (g || ' seconds')::interval, 1, 'admin',
       'dispatch', 'dispatch', 'open', '', $water
  FROM generate_series(1, $tickets) g;
ANALYZE;
SQL
echo "== loaded: $(bench_psql -At -c "select (select count(*) from tickets) || ' tickets, ' ||
    (select count(*) from inspection_items) || ' items, ' ||
    (select count(*) from ticket_events) || ' events'") ($(nproc) cores)"

echo "== psql \\copy of the same rows to files (the baseline)"
start=$(date +%s.%N)
for t in inspection_items tickets ticket_events; do
    bench_psql -q -c "\\copy $t to '$work/$t.copy'"
done
end=$(date +%s.%N)
bytes=$(cat "$work"/*.copy | wc -c)
echo "psql \\copy: $(diff_s "$start" "$end") s, $(mb "$bytes") MB"

echo "== cloop sync: the first sync into an empty mirror"
start=$(date +%s.%N)
TIMEFORMAT='cloop CPU: %U s user, %S s system'
time $cloop sync --mirror "$work/mirror.sqlite"
end=$(date +%s.%N)
echo "closeloopd CPU so far: $(awk '{ printf "%.1f s user, %.1f s system", $14 / 100, $15 / 100 }' \
    "/proc/$daemon/stat")"
echo "cloop sync (first): $(diff_s "$start" "$end") s wall; mirror file" \
    "$(mb "$(cat "$work"/mirror.sqlite* | wc -c)") MB"
echo "== cloop sync: again, nothing new (the feed only)"
$cloop sync --mirror "$work/mirror.sqlite"
echo "== cloop sync --verify: checksums of every (project, entity) on both sides"
$cloop sync --mirror "$work/mirror.sqlite" --verify
