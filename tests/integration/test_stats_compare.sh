#!/usr/bin/env bash
# test_stats_compare.sh - every statistics measure read from the summaries equals the same
# measure computed from the base tables (migration 020, docs/STATS.md), on random data.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP. Starts a throwaway
# PostgreSQL cluster and closeloopd on it (which applies the migrations; its merge timer
# off at first, so the seed alone decides when merges happen), loads the generator
# functions of test_stats_compare.sql and then, from one seed (STATS_SEED, else random)
# and one anchor day (STATS_ANCHOR, else today in Asia/Shanghai; the data's clock starts
# at its noon, event times never follow now()), both printed, and printed again on
# failure to reproduce the run exactly:
#   - makes companies, projects, units, records, items and tickets, and drives tickets
#     through transitions (verify_fail reopenings, reassignments, returns, nofix);
#   - compares cl_stats raw and from the summaries for every grouping (none, each
#     dimension, each pair) under random filters, as HQ and as a city company's cr, with
#     deltas pending, after merges, and after rounds of late entries (found before rows
#     already merged), unit layout changes, record outcome changes, found-day and deadline
#     corrections, merges interleaved at random; cl_scorecard likewise;
#   - checks absolute figures against direct counts, that a layout change and a late
#     entry move the summary figures before any merge, that two units swapping layouts
#     while each has a repaired report under the same key keep every response time, that a rebuild gives the merged
#     summaries row for row, that merged summaries keep no all-zero rows;
#   - breaks a trigger delta (passes counted twice; a layout move netting reports across
#     signs) inside rolled-back transactions and checks the comparison sees it (so this
#     test can fail);
#   - restarts closeloopd with a short stats.merge_interval_ms and checks the pending deltas
#     are merged by its timer.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed".
# shellcheck disable=SC2016
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch statscmp

seed=${STATS_SEED:-$(((RANDOM * 32768 + RANDOM) % 100000000))}
anchor=${STATS_ANCHOR:-$(TZ=Asia/Shanghai date +%F)}
again="STATS_SEED=$seed STATS_ANCHOR=$anchor ctest -R integration_stats_compare"
echo "# seed $seed, anchor $anchor (reproduce: $again)"
trap 'st=$?; [ "$st" = 0 ] || echo "# failed with seed $seed, anchor $anchor: rerun with $again"; cleanup; exit $st' EXIT

certs=$work/certs
gen_certs "$certs" || bail "generate certificates"
start_postgres
export CLOSELOOP_STATS_MERGE_INTERVAL_MS=0
port=$(free_port)
start_daemon 127.0.0.1 "$port" "$work/daemon.log" || bail "closeloopd starts and migrates"
ok "closeloopd starts with its merge timer off and applies the migrations"

# One psql session: the actor the tracking triggers need, the test's TimeZone, the
# phase's seed, then SQL from stdin. Output: unaligned, tuples only.
db() { # SEED_FRACTION < SQL
    psql -X -q -At -v ON_ERROR_STOP=1 -v anchor="$anchor" -h "$d" -U postgres -d closeloop \
        -c "SET closeloop.actor = '{\"user_id\": null, \"username\": \"stats-compare\"}'" \
        -c "SET TimeZone = 'Asia/Shanghai'" -c "SELECT setseed($1)" -f - 2>&1
}
frac() { python3 -c "import sys; print(((int(sys.argv[1]) * 7919 + int(sys.argv[2]) * 104729) % 1000003) / 1000003.0)" "$seed" "$1"; }

psql -X -q -v ON_ERROR_STOP=1 -h "$d" -U postgres -d closeloop \
    -f "$CL_SOURCE_DIR/tests/integration/test_stats_compare.sql" >"$work/gen.out" 2>&1 ||
    { cat "$work/gen.out"; bail "load the generator functions"; }

# compare LABEL: the last output line of the phase is "differ|compared" lines, one per
# comparison; each must show 0 differing rows of some rows compared.
expect_same() { # LABEL OUTPUT
    local label=$1 outp=$2 lines bad
    lines=$(grep -E '^[0-9]+\|[0-9]+$' <<<"$outp")
    bad=$(awk -F'|' '$1 != 0 || $2 == 0' <<<"$lines")
    if [ -n "$lines" ] && [ -z "$bad" ] && ! grep -q ERROR <<<"$outp"; then
        ok "$label: $(awk -F'|' '{c += $2} END {print c}' <<<"$lines") rows equal raw and summary"
    else
        out=$outp err=""
        not_ok "$label"
    fi
}

out=$(db "$(frac 0)" <<'EOF'
SELECT st_setup(:'anchor'::date + time '12:00');
SELECT st_records(150);
SELECT st_items(300, false);
SELECT st_transitions(200);
SELECT st_transitions(200);
SELECT st_transitions(150);
SELECT (SELECT count(*) FROM stat_tickets_delta) > 0 AND (SELECT count(*) FROM stat_tickets) = 0;
SELECT * FROM st_compare('hq_admin', 0, 1);
SELECT * FROM st_compare_scorecards('hq_admin', 0);
EOF
)
check "before any merge the figures come from pending deltas alone" grep -qx t <<<"$out"
expect_same "unmerged: every grouping, HQ" "$out"

out=$(db "$(frac 1)" <<'EOF'
SELECT cl_stats_merge() > 0;
SELECT (SELECT count(*) FROM stat_tickets_delta) = 0 AND (SELECT count(*) FROM stat_tickets) > 0;
SELECT * FROM st_compare('hq_admin', 0, 1);
SELECT * FROM st_compare('cr', (SELECT min(id) FROM companies WHERE kind = 'city'), 1);
SELECT * FROM st_compare_scorecards('hq_admin', 0);
EOF
)
check "a merge takes every delta in" eval '[ "$(grep -c -x t <<<"$out")" = 2 ]'
expect_same "merged: every grouping, HQ and cr" "$out"

# A layout change and a late entry move the summary figures at once (before a merge).
out=$(db "$(frac 2)" <<'EOF'
CREATE TEMP TABLE u AS
SELECT i.unit_id, count(*) AS n FROM inspection_items i GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1;
UPDATE units SET layout = 'ZZ' WHERE id = (SELECT unit_id FROM u);
SELECT (SELECT tickets_opened FROM cl_stats('hq_admin', 0, 0, NULL, 0, 0, 0, '', 'ZZ', '', NULL,
                                            NULL, '', '', false)) = (SELECT n FROM u);
CREATE TEMP TABLE before AS
SELECT k1_code, items_found FROM cl_stats('hq_admin', 0, 0, NULL, 0, 0, 0, '', '', '', NULL, NULL,
                                          'month', '', false);
SELECT st_items(40, true) = 40;
SELECT (SELECT sum(a.items_found) FROM cl_stats('hq_admin', 0, 0, NULL, 0, 0, 0, '', '', '', NULL,
                                                NULL, 'month', '', false) a)
       - (SELECT sum(items_found) FROM before) = 40;
SELECT (SELECT count(*) FROM stat_units_delta) > 0;
EOF
)
check "a unit's new layout carries its tickets, and 40 late items count, before a merge" \
    eval '[ "$(grep -c -x t <<<"$out")" = 4 ]'

# Two units swap layouts while each has a repaired report under the same key (project,
# day, contractor, category, round): one report enters the key the other leaves, and the
# response times must stay with their reports before a merge.
out=$(db "$(frac 3)" <<<"SELECT * FROM st_layout_swap();")
check "two units swapping layouts keep each repaired report's response time, before a merge" \
    grep -qx 't|0' <<<"$out"

for i in 1 2 3 4 5; do
    out=$(db "$(frac $((10 + i)))" <<'EOF'
SELECT st_records(20);
SELECT st_transitions(120);
SELECT CASE WHEN random() < 0.5 THEN cl_stats_merge() END;
SELECT st_items(60, random() < 0.5);
SELECT st_transitions(120);
SELECT st_corrections(6);
SELECT CASE WHEN random() < 0.5 THEN cl_stats_merge() END;
SELECT st_transitions(100);
SELECT * FROM st_compare('hq_admin', 0, 1);
SELECT * FROM st_compare('cr', (SELECT max(id) FROM companies WHERE kind = 'city'), 0);
SELECT * FROM st_compare_scorecards('hq_admin', 0);
SELECT * FROM st_compare_scorecards('cr', (SELECT max(id) FROM companies WHERE kind = 'city'));
EOF
)
    expect_same "round $i of transitions, late entries and corrections" "$out"
done

# Absolute figures against direct counts, and that the data exercises every measure (new
# tickets found weeks ago make sure some are overdue: transitions may have closed all).
out=$(db "$(frac 30)" <<'EOF'
SELECT st_items(30, false) = 30;
SELECT cl_stats_merge() >= 0;
SELECT s.tickets_opened = (SELECT count(*) FROM tickets)
   AND s.tickets_closed = (SELECT count(*) FROM ticket_events WHERE action = 'verify_pass')
   AND s.closed_of_opened = (SELECT count(*) FROM tickets WHERE state = 'closed')
   AND s.reworks = (SELECT count(*) FROM ticket_events WHERE action = 'verify_fail')
   AND s.tickets_nofix = (SELECT count(*) FROM ticket_events WHERE action = 'nofix')
   AND s.units_total = (SELECT count(*) FROM units)
   AND s.units_inspected = (SELECT count(*) FROM inspection_records WHERE inspected_on IS NOT NULL)
   AND s.repaired_reports = (SELECT count(*) FROM ticket_events WHERE action = 'repaired')
   AND s.tl_no_deadline + s.tl_overdue_open + s.tl_in_time_open + s.tl_closed_late
       + s.tl_closed_in_time = s.tickets_opened
  FROM cl_stats('hq_admin', 0, 0, NULL, 0, 0, 0, '', '', '', NULL, NULL, '', '', false) s;
SELECT concat_ws(' ', 'exercised', s.reworks > 0, s.tickets_nofix > 0, s.units_not_taken > 0,
                 s.tl_closed_late > 0, s.tl_overdue_open > 0, s.close_p90_days IS NOT NULL,
                 s.response_hours_mean > 0, s.defects_raised > 0)
  FROM cl_stats('hq_admin', 0, 0, NULL, 0, 0, 0, '', '', '', NULL, NULL, '', '', true) s;
SELECT (SELECT count(*) FROM stat_units WHERE n = 0) + (SELECT count(*) FROM stat_tickets WHERE n = 0)
     + (SELECT count(*) FROM stat_activity
         WHERE (passes, fails, nofix, repaired, resp_ms, resp_n, late, assigned)
               = (0, 0, 0, 0, 0, 0, 0, 0)) = 0;
CREATE TEMP TABLE merged AS SELECT * FROM st_snapshot();
SELECT count(*) > 0 FROM merged;
SELECT cl_stats_rebuild();
SELECT count(*) = 0 FROM ((TABLE merged EXCEPT ALL SELECT * FROM st_snapshot())
                          UNION ALL (SELECT * FROM st_snapshot() EXCEPT ALL TABLE merged)) x;
EOF
)
check "figures equal direct counts, every measure is exercised, no zero rows, a rebuild equals the merged summaries" \
    eval '[ "$(grep -c -x t <<<"$out")" = 6 ] && grep -qx "exercised t t t t t t t t" <<<"$out" &&
          ! grep -q ERROR <<<"$out"'

# The comparison can fail: a trigger that counts a pass twice is caught (rolled back).
out=$(db "$(frac 40)" <<'EOF'
BEGIN;
DO $$ BEGIN
    EXECUTE replace(pg_get_functiondef('cl_stat_events_delta'::regproc),
                    'sum(a.passes)', 'sum(a.passes) * 2');
END $$;
SELECT st_transitions(150);
SELECT (st_compare('hq_admin', 0, 0)).differ > 0;
ROLLBACK;
SELECT (st_compare('hq_admin', 0, 0)).differ = 0;
EOF
)
check "a trigger delta that counts passes twice makes the comparison fail; undone, it passes" \
    eval '[ "$(grep -c -x t <<<"$out")" = 2 ]'

# And the layout swap check catches a move that nets one ticket's repaired report moving
# in against another's moving out (the bug behind the flaky response_hours_mean).
out=$(db "$(frac 41)" <<'EOF'
BEGIN;
DO $$ BEGIN
    EXECUTE replace(pg_get_functiondef('cl_stat_activity_move'::regproc),
                    'GROUP BY 1, 2, 3, 4, 5, 6, 7, x.rs', 'GROUP BY 1, 2, 3, 4, 5, 6, 7');
END $$;
SELECT s.paired AND s.differ > 0 FROM st_layout_swap() s;
ROLLBACK;
SELECT s.paired AND s.differ = 0 FROM st_layout_swap() s;
EOF
)
check "a move that nets reports across signs makes the layout swap check fail; undone, it passes" \
    eval '[ "$(grep -c -x t <<<"$out")" = 2 ]'

# The daemon's merge timer takes pending deltas in.
stop_daemon "$dpid" || not_ok "closeloopd stops"
out=$(db "$(frac 50)" <<'EOF'
SELECT st_transitions(100);
SELECT (SELECT count(*) FROM stat_activity_delta) > 0;
EOF
)
check "deltas are pending while no daemon runs" grep -qx t <<<"$out"
export CLOSELOOP_STATS_MERGE_INTERVAL_MS=200
start_daemon 127.0.0.1 "$port" "$work/daemon2.log" || bail "closeloopd restarts with merges every 200 ms"
merged=""
for _ in $(seq 1 100); do
    out=$(db 0 <<<"SELECT (SELECT count(*) FROM stat_units_delta) + (SELECT count(*) FROM stat_tickets_delta) + (SELECT count(*) FROM stat_activity_delta);")
    if [ "$(tail -n 1 <<<"$out")" = 0 ]; then merged=1; break; fi
    sleep 0.1
done
check "closeloopd's merge timer leaves no delta pending" [ -n "$merged" ]
out=$(db "$(frac 51)" <<<"SELECT * FROM st_compare('hq_admin', 0, 0);")
expect_same "after the daemon's merges" "$out"
check "the daemon logged no merge failure" eval '! grep -q stats_merge_failed "$work/daemon2.log"'

report_and_exit
