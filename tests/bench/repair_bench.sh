#!/usr/bin/env bash
# repair_bench.sh - the repair loop's hot paths on the release build and a throwaway
# PostgreSQL, each next to its baseline in the same run:
#  1. recording inspection items through closeloopd (item_bench --mode record) against
#     the same prepared statements and parameters sent straight to PostgreSQL with libpq
#     (item_bench --mode record-direct), at 32 connections;
#  2. one contractor's to-repair list through closeloopd with 1,000,000 tickets loaded
#     (item_bench --mode todo), next to EXPLAIN ANALYZE of the list's statement.
# usage: tests/bench/repair_bench.sh [-c CONNS] [--seconds S] [--tickets N] [--pool N]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
conns=32 seconds=10 tickets=1000000 pool=8 cost=0
bench_options -c conns --seconds seconds --tickets tickets --pool pool --cost cost -- "$@"
bench_build item_bench
bench_setup
if [ "$cost" = 1 ]; then
    bench_postgres max_connections=200 shared_preload_libraries=pg_stat_statements \
        pg_stat_statements.track=all
    bench_psql -qc 'create extension pg_stat_statements'
else
    bench_postgres max_connections=200
fi
bench_daemon CLOSELOOP_DB_POOL_SIZE="$pool"
bench_client
bench_project
water=$($cloop contractor add 东方雨虹防水 --trades waterproofing --format csv | id_of)
$cloop trade assign --project "$project" --trade waterproofing --contractor "$water" >/dev/null
python3 - "$work/units.csv" "$work/units.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f, open(sys.argv[2], "w") as g:
    f.write("building,unit,floor,layout\n")
    for i in range(2000):
        b, rest = divmod(i, 200)
        floor, room = divmod(rest, 4)
        u = f"{b + 1}-{room // 2 + 1}-{floor + 2}{room % 2 + 1:02d}"
        f.write(f"{b + 1}栋,{u},{floor + 2},TA\n")
        g.write(u + "\n")
PY
$cloop unit import --project "$project" "$work/units.csv" >/dev/null
CLOSELOOP_NEW_PASSWORD=benchpass123 $cloop user add clerk --role clerk --projects "$project" \
    >/dev/null
clerk_id=$(bench_psql -At -c "select id from users where username='clerk'")

# cpu_ticks PID: the CPU time (user + system, in clock ticks) of process PID and of its
# children: the ones it has reaped (cutime, cstime) and the living ones.
cpu_ticks() {
    local t=0 p f
    for p in "$1" $(pgrep -P "$1"); do
        read -ra f < <(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + f[11] + f[12]))
        [ "$p" = "$1" ] && t=$((t + f[13] + f[14]))
    done
    echo "$t"
}

# record MODE ARGS...: one item_bench run; with --cost 1, what each item cost the server.
record() {
    local out pg0 d0 items hz postmaster
    [ "$cost" = 1 ] && bench_psql -qAtc 'select pg_stat_statements_reset()' >/dev/null
    postmaster=$(head -n 1 "$work/data/postmaster.pid")
    pg0=$(cpu_ticks "$postmaster") d0=$(cpu_ticks "$daemon")
    out=$(build/bin/item_bench --mode "$@" --conns "$conns" --seconds "$seconds")
    echo "$out"
    [ "$cost" = 1 ] || return 0
    items=$(sed -n 's/.* items=\([0-9]*\).*/\1/p' <<<"$out")
    hz=$(getconf CLK_TCK)
    echo "  cost per item: postgres CPU $((($(cpu_ticks "$postmaster") - pg0) * 1000000 / hz / items)) us," \
        "closeloopd CPU $((($(cpu_ticks "$daemon") - d0) * 1000000 / hz / items)) us," \
        "$(bench_psql -qAt -F ' ' -c "select 'buffer accesses', round(sum(shared_blks_hit +
            shared_blks_read)::numeric / $items, 1), 'WAL bytes', round(sum(wal_bytes) / $items)
            from pg_stat_statements where toplevel")"
}

echo "== 1. recording items, $conns connections, ${seconds}s each ($(nproc) cores)"
record record --server "127.0.0.1:$port" --ca "$work/tls/ca.crt" --user clerk \
    --password benchpass123 --project "$project" --units "$work/units.txt"
record record-direct --conninfo "$conninfo" --user clerk --user-id "$clerk_id" \
    --project "$project" --units "$work/units.txt"

echo "== 2. one contractor's to-repair list with $tickets tickets loaded"
# Bulk load with triggers off (session_replication_role): 200 contractors, 5% of the
# tickets open and spread evenly over them (about 250 each at 1,000,000), the rest
# closed; found over the last 60 days, in another order than typed in (the list is oldest
# found first). The list measured is that of one of these contractors.
bench_psql -q -v ON_ERROR_STOP=1 <<EOF
SET session_replication_role = replica;
INSERT INTO contractors (name) SELECT 'bench contractor ' || g FROM generate_series(1, 199) g;
INSERT INTO inspection_records (project_id, unit_id, round_id, inspected_on)
SELECT u.project_id, u.id, r.id, current_date FROM units u
JOIN inspection_rounds r ON r.project_id = u.project_id AND r.kind = 'handover'
ON CONFLICT (unit_id, round_id) DO NOTHING;
CREATE TEMP TABLE recs AS SELECT row_number() OVER () AS n, id, unit_id, round_id
FROM inspection_records WHERE project_id = $project;
CREATE TEMP TABLE ks AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM contractors;
INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location, category,
                              description, severity, inspected_on, created_at)
SELECT md5('bench' || g)::uuid, r.id, $project, r.unit_id, r.round_id, '卫生间', 'waterproofing',
       '渗水 ' || g, 'minor', current_date - g % 60, now() - (g || ' seconds')::interval
FROM generate_series(1, $tickets) g JOIN recs r ON r.n = 1 + g % (SELECT count(*) FROM recs);
INSERT INTO tickets (id, project_id, number, state, contractor_id, category, severity, deadline,
                     raised_at, closed_at, found_on)
SELECT md5('bench' || g)::uuid, $project, 1000000 + g,
       CASE WHEN g % 20 = 0 THEN 'open' ELSE 'closed' END,
       (SELECT id FROM ks WHERE ks.n = (g / 20) % 200), 'waterproofing', 'minor',
       current_date + 7, now() - (g || ' seconds')::interval,
       CASE WHEN g % 20 = 0 THEN NULL ELSE now() END, current_date - g % 60
FROM generate_series(1, $tickets) g;
ANALYZE;
EOF
bench_k=$(bench_psql -At -c \
    "select id from contractors where name = 'bench contractor 1'")
open=$(bench_psql -At -c \
    "select count(*) from tickets where state='open' and contractor_id=$bench_k")
echo "tickets=$(bench_psql -At -c 'select count(*) from tickets') open_for_contractor=$open"
CLOSELOOP_NEW_PASSWORD=benchpass123 $cloop user add repairer --role contractor \
    --contractor "$bench_k" >/dev/null
build/bin/item_bench --mode todo --server "127.0.0.1:$port" --ca "$work/tls/ca.crt" \
    --user repairer --password benchpass123 --conns 4 --seconds "$seconds"
# The first page of that list as PostgreSQL plans it: one range scan of tickets_todo
# (contractor_id, found_on, number), oldest found first, no sort of the table.
{
    awk '/^PREPARE ticket_todo AS/ { on = 1 } on { print } on && /;$/ { exit }' \
        server/ticket/ticket.sql
    echo "EXPLAIN (ANALYZE, COSTS OFF) EXECUTE ticket_todo('contractor', 0, $bench_k, '{}',"
    echo "    $bench_k, 0, '-infinity', 0, '00000000-0000-0000-0000-000000000000');"
} | bench_psql -q -v ON_ERROR_STOP=1
