#!/usr/bin/env bash
# test_stats_grain.sh - cl_stats reads a period in grains (migration 020, docs/STATS.md):
# its whole months from the month rollups (not when grouped by week), the whole week parts
# left at each end from the week-part rollups, the days left over from the day tables.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP. Starts a throwaway
# PostgreSQL cluster and closeloopd on it (which applies the migrations), then, with
# synthetic summary deltas merged by cl_stats_merge (40 passed verifications every day of
# 2025-01-01..2026-06-30 in one project, some rows then merged away to zero again):
#   - the rollups hold exactly the day rows rolled up by month and by week part, with no
#     all-zero row;
#   - for edge periods (whole months, whole weeks, a week straddling two months, one day,
#     open ends, an empty period) and random ones (seed printed; GRAIN_SEED reproduces),
#     grouped by nothing, month, week, month x week and week x month, every row's
#     tickets_closed is 40 x the days of its group in the period (a day counted twice or
#     missed by the grain arithmetic shows);
#   - the rows cl_stats reads from the day table (pg_stat_xact_user_tables) stay within the
#     leftover days (at most 12 days x 40 rows; none when the period is whole week parts)
#     for a year grouped by week and for periods not made of whole months, where reading
#     the period's days would read thousands.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed".
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch statsgrain

seed=${GRAIN_SEED:-$(((RANDOM * 32768 + RANDOM) % 100000000))}
echo "# seed $seed (reproduce: GRAIN_SEED=$seed ctest -R integration_stats_grain)"

certs=$work/certs
gen_certs "$certs" || bail "generate certificates"
start_postgres
export CLOSELOOP_STATS_MERGE_INTERVAL_MS=0
port=$(free_port)
start_daemon 127.0.0.1 "$port" "$work/daemon.log" || bail "closeloopd starts and migrates"
ok "closeloopd starts and applies the migrations"

# One psql session (the actor the tracking triggers need), SQL from stdin, tuples only.
db() {
    psql -X -q -At -v ON_ERROR_STOP=1 -h "$d" -U postgres -d closeloop \
        -c "SET closeloop.actor = '{\"user_id\": null, \"username\": \"stats-grain\"}'" \
        -f - 2>&1
}

out=$(db <<'EOF'
INSERT INTO companies (kind, name) VALUES ('hq', '集团');
INSERT INTO companies (kind, name, parent_id)
SELECT 'city', '城市公司', id FROM companies WHERE kind = 'hq';
INSERT INTO projects (company_id, name) SELECT id, '项目' FROM companies WHERE kind = 'city';
-- 40 passes a day, merged in two batches, plus rows that a later delta cancels
INSERT INTO stat_activity_delta (project_id, day, contractor_id, category, layout, round,
                                 close_days, passes, fails, nofix, repaired, resp_ms, resp_n,
                                 late, assigned)
SELECT p.id, d::date, c, 'civil', 'TA', 'mock1', 0, 1, 0, 0, 0, 0, 0, 0, 0
  FROM projects p, generate_series(date '2025-01-01', date '2025-09-30', '1 day') d,
       generate_series(1, 40) c;
SELECT cl_stats_merge() > 0;
INSERT INTO stat_activity_delta (project_id, day, contractor_id, category, layout, round,
                                 close_days, passes, fails, nofix, repaired, resp_ms, resp_n,
                                 late, assigned)
SELECT p.id, d::date, c, 'civil', 'TA', 'mock1', 0, 1, 0, 0, 0, 0, 0, 0, 0
  FROM projects p, generate_series(date '2025-10-01', date '2026-06-30', '1 day') d,
       generate_series(1, 40) c
UNION ALL
SELECT p.id, d::date, 99, 'civil', 'TB', 'mock1', 0, 0, 1, 0, 0, 0, 0, 0, 0
  FROM projects p, generate_series(date '2025-03-25', date '2025-04-05', '1 day') d;
SELECT cl_stats_merge() > 0;
INSERT INTO stat_activity_delta (project_id, day, contractor_id, category, layout, round,
                                 close_days, passes, fails, nofix, repaired, resp_ms, resp_n,
                                 late, assigned)
SELECT p.id, d::date, 99, 'civil', 'TB', 'mock1', 0, 0, -1, 0, 0, 0, 0, 0, 0
  FROM projects p, generate_series(date '2025-03-25', date '2025-04-05', '1 day') d;
SELECT cl_stats_merge() > 0;
ANALYZE stat_activity;
ANALYZE stat_activity_m;
ANALYZE stat_activity_w;
SELECT count(*) FROM stat_activity;
EOF
)
check "40 rows a day for 546 days merged into the day table" \
    eval '[ "$(printf "%s\n" "$out" | grep -c -x t)" = 3 ] && [ "$(tail -n 1 <<<"$out")" = 21840 ]'

# The rollups equal the day rows rolled up, passes pivoted into their bucket columns (all
# in bucket 0 here; h_other proves none strayed) (each side EXCEPT ALL the other: 0 rows), and
# hold rows (so the comparison compared something), none all zero.
out=$(db <<'EOF'
WITH d AS (SELECT project_id, date_trunc('month', day)::date AS day, contractor_id, category,
                  layout, round, sum(passes)::bigint AS passes, sum(fails)::bigint AS fails,
                  coalesce(sum(passes) FILTER (WHERE close_days = 0), 0)::bigint AS h0,
                  coalesce(sum(passes) FILTER (WHERE close_days <> 0), 0)::bigint AS h_other
             FROM stat_activity GROUP BY 1, 2, 3, 4, 5, 6),
     m AS (SELECT project_id, day, contractor_id, category, layout, round, passes, fails,
                  h0::bigint, (h1 + h2 + h30 + h45 + h366)::bigint
             FROM stat_activity_m)
SELECT (SELECT count(*) FROM ((TABLE d EXCEPT ALL TABLE m) UNION ALL (TABLE m EXCEPT ALL TABLE d)) x)
       || '|' || (SELECT count(*) FROM stat_activity_m);
WITH d AS (SELECT project_id, cl_stat_week_part(day) AS day, contractor_id, category,
                  layout, round, sum(passes)::bigint AS passes, sum(fails)::bigint AS fails,
                  coalesce(sum(passes) FILTER (WHERE close_days = 0), 0)::bigint AS h0
             FROM stat_activity GROUP BY 1, 2, 3, 4, 5, 6),
     w AS (SELECT project_id, day, contractor_id, category, layout, round, passes, fails,
                  h0::bigint
             FROM stat_activity_w)
SELECT (SELECT count(*) FROM ((TABLE d EXCEPT ALL TABLE w) UNION ALL (TABLE w EXCEPT ALL TABLE d)) x)
       || '|' || (SELECT count(*) FROM stat_activity_w);
SELECT (SELECT count(*) FROM stat_activity_w WHERE passes = 0 AND fails = 0)
       + (SELECT count(*) FROM stat_activity_m WHERE passes = 0 AND fails = 0)
       + (SELECT count(*) FROM stat_activity WHERE passes = 0 AND fails = 0);
-- a week straddling two months is two rows: Monday 2025-03-31 and Tuesday 2025-04-01
SELECT string_agg(DISTINCT day::text, ',' ORDER BY day::text) FROM stat_activity_w
 WHERE day BETWEEN '2025-03-31' AND '2025-04-06';
EOF
)
check "the month and week-part rollups are the day rows rolled up, with no all-zero row" \
    eval '[ "$out" = "0|720
0|3720
0
2025-03-31,2025-04-01" ]'

# Every period and grouping: each group's tickets_closed is 40 x its days in the period.
out=$(db <<EOF
SELECT setseed(($seed % 1000000) / 1000000.0);
CREATE TEMP TABLE periods (f date, t date);
INSERT INTO periods VALUES
    ('2025-03-01', '2025-05-31'), ('2025-03-03', '2025-03-30'), ('2025-03-27', '2025-04-09'),
    ('2025-04-01', '2025-04-01'), ('2025-02-26', '2025-03-05'), ('2025-03-31', '2025-04-06'),
    (NULL, '2025-08-13'), ('2025-08-13', NULL), (NULL, NULL), ('2025-05-10', '2025-05-01'),
    ('2024-12-20', '2025-01-10'), ('2026-06-25', '2026-07-20'), ('2025-01-06', '2026-06-28'),
    ('2025-06-30', '2025-08-03'), ('2025-06-29', '2025-08-04'), ('2025-12-29', '2026-01-04');
INSERT INTO periods
SELECT CASE WHEN random() < 0.1 THEN NULL ELSE f END,
       CASE WHEN random() < 0.1 THEN NULL ELSE f + floor(random() * 400)::int END
  FROM (SELECT date '2024-12-25' + floor(random() * 560)::int AS f
          FROM generate_series(1, 60)) x;
CREATE TEMP TABLE groupings (g1 text, g2 text);
INSERT INTO groupings VALUES ('', ''), ('month', ''), ('week', ''), ('month', 'week'),
                             ('week', 'month'), ('project', 'week');
CREATE FUNCTION pg_temp.grain_differ(f date, t date, g1 text, g2 text, OUT differ bigint,
                                      OUT compared bigint) LANGUAGE sql AS \$\$
    WITH a AS (SELECT s.k1_code, s.k2_code, s.tickets_closed
                 FROM cl_stats('hq_analyst', 0, 0, NULL, 0, 0, 0, '', '', '', f, t, g1, g2,
                               false) s),
         e AS (SELECT cl_stat_key_code(g1, '', '', '', d::date) AS k1_code,
                      cl_stat_key_code(g2, '', '', '', d::date) AS k2_code,
                      40 * count(*) AS tickets_closed
                 FROM generate_series(date '2025-01-01', date '2026-06-30', '1 day') d
                WHERE d BETWEEN coalesce(f, '-infinity') AND coalesce(t, 'infinity')
                GROUP BY 1, 2)
    SELECT (SELECT count(*) FROM ((TABLE a EXCEPT ALL TABLE e) UNION ALL
                                  (TABLE e EXCEPT ALL TABLE a)) x),
           (SELECT count(*) FROM e)
\$\$;
SELECT count(*) FILTER (WHERE (r).differ > 0) || '|' || sum((r).compared) || '|'
       || count(*) || '|'
       || coalesce(string_agg(format('%s..%s %s/%s', f, t, g1, g2), '; ')
                   FILTER (WHERE (r).differ > 0), '')
  FROM (SELECT p.f, p.t, g.g1, g.g2, pg_temp.grain_differ(p.f, p.t, g.g1, g.g2) AS r
          FROM periods p CROSS JOIN groupings g) y;
EOF
)
# no comparison differs, all 76 periods x 6 groupings ran, and they compared rows
check "every period and grouping counts each day exactly once (76 periods x 6 groupings)" \
    eval '[[ "$(tail -n 1 <<<"$out")" =~ ^0\|[1-9][0-9]*\|456\|$ ]]'

# Rows read from the day table by one call, in this transaction's table statistics: the
# leftover days only (at most 6 a side, 40 rows a day), never the period's days.
out=$(db <<'EOF'
SET plan_cache_mode = force_generic_plan;
CREATE TEMP VIEW day_rows AS
SELECT coalesce(sum(seq_tup_read + coalesce(idx_tup_fetch, 0)), 0) AS n
  FROM pg_stat_xact_user_tables WHERE relname = 'stat_activity';
CREATE FUNCTION pg_temp.day_rows_read(f date, t date, g1 text, g2 text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE before bigint; groups bigint; closed bigint;
BEGIN
    SELECT n INTO before FROM day_rows;
    SELECT count(*), sum(s.tickets_closed) INTO groups, closed
      FROM cl_stats('hq_analyst', 0, 0, NULL, 0, 0, 0, '', '', '', f, t, g1, g2, false) s;
    SELECT n - before INTO before FROM day_rows;
    -- 'few': the leftover days' rows (at most 12 days x 40, a few more fetched and
    -- rechecked); the period's days would be thousands
    RETURN format('%s|%s|%s', groups, closed,
                  CASE WHEN before = 0 THEN '0' WHEN before <= 500 THEN 'few'
                       ELSE before::text END);
END $$;
BEGIN;
SELECT pg_temp.day_rows_read('2025-01-01', '2025-12-31', 'week', '');
SELECT pg_temp.day_rows_read('2025-01-01', '2025-12-31', 'month', 'week');
SELECT pg_temp.day_rows_read('2025-02-13', '2026-02-12', 'month', '');
SELECT pg_temp.day_rows_read('2025-02-13', '2026-02-12', '', '');
SELECT pg_temp.day_rows_read('2025-02-13', '2025-03-20', 'week', '');
SELECT pg_temp.day_rows_read(NULL, '2026-02-12', 'week', '');
COMMIT;
EOF
)
expected="53|14600|0
62|14600|0
13|14600|few
1|14600|few
6|1440|few
59|16320|few"
if [ "$out" = "$expected" ]; then
    ok "cl_stats reads only the leftover days from the day table (groups|closed|day rows read)"
else
    out="$out
# expected:
$expected" err=""
    not_ok "cl_stats reads only the leftover days from the day table (groups|closed|day rows read)"
fi

report_and_exit
