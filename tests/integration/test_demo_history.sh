#!/usr/bin/env bash
# test_demo_history.sh - the quickstart's demo history (deploy/demo-history.sh, issue 11):
# after deploy/demo-data.sh, as the quickstart runs them, 万科城 and 翡翠公园 have six whole
# months of mock1 inspections, tickets and events before the current month, improving
# month over month (items per unit inspected, rework rate, share verified after the
# deadline: the first month worse than the last, and the first half worse than the
# second), every ticket's state the end of its events, written with the actor set (the
# audit and the change feed have them); a second run changes nothing.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP, like test_kb_search.sh.
# The checks are single-quoted strings run by eval: expansion there is deferred on purpose.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch demohistory

start_server_with_db
mkdir -p "$work/cfg/demo"
XDG_CONFIG_HOME=$work/cfg/demo CLOSELOOP_SERVER=127.0.0.1:$port CLOSELOOP_CA=$certs/ca.crt \
    CLOOP=$CLOOP CLOSELOOP_DEMO_PASSWORD=$pw "$CL_SOURCE_DIR/deploy/demo-data.sh" \
    >"$work/demo.out" 2>&1 || { cat "$work/demo.out" >&2; bail "deploy/demo-data.sh exits 0"; }
ok "deploy/demo-data.sh exits 0"
q_before="SELECT (SELECT count(*) FROM projects WHERE name IN ('万科城', '翡翠公园'))
                    || ',' || (SELECT count(*) FROM tickets)"
check "before the history, 万科城 and 翡翠公园 exist and there are no tickets" \
    eval 'test "$(sql "$q_before")" = 2,0'

out=$("$CL_SOURCE_DIR/deploy/demo-history.sh" 2>&1)
rc=$?
check "deploy/demo-history.sh exits 0 and says what it added" \
    eval 'test "$rc" = 0 && grep -q "six months of mock1 history" <<<"$out"'

# Per project and month (the six before the current one): units inspected, items,
# reworks / verifications, verified after the deadline / verified, tickets.
months=$(sql "SELECT string_agg(to_char(d, 'YYYY-MM'), ' ' ORDER BY d) FROM generate_series(
    date_trunc('month', current_date) - interval '6 months',
    date_trunc('month', current_date) - interval '1 month', interval '1 month') d")
per_month() { # PROJECT: lines "month units items reworks verifs late closed tickets"
    sql "WITH t AS (SELECT t.*, to_char(t.found_on, 'YYYY-MM') AS m FROM tickets t
                      JOIN projects p ON p.id = t.project_id WHERE p.name = '$1'),
              r AS (SELECT to_char(r.inspected_on, 'YYYY-MM') AS m, count(*) AS units
                      FROM inspection_records r JOIN projects p ON p.id = r.project_id
                      JOIN inspection_rounds ro ON ro.id = r.round_id AND ro.kind = 'mock1'
                     WHERE p.name = '$1' GROUP BY 1),
              e AS (SELECT t.m, count(*) FILTER (WHERE e.action = 'verify_fail') AS fails,
                           count(*) FILTER (WHERE e.action LIKE 'verify_%') AS verifs,
                           count(*) FILTER (WHERE e.action = 'verify_pass'
                                              AND e.at::date > t.deadline) AS late
                      FROM t JOIN ticket_events e ON e.ticket_id = t.id GROUP BY 1)
         SELECT r.m, r.units, count(t.id), e.fails, e.verifs, e.late,
                count(*) FILTER (WHERE t.state = 'closed'), count(t.id)
           FROM r LEFT JOIN t ON t.m = r.m LEFT JOIN e ON e.m = r.m
          GROUP BY r.m, r.units, e.fails, e.verifs, e.late ORDER BY r.m" | tr '|' ' '
}
for proj in 万科城 翡翠公园; do
    rows=$(per_month "$proj")
    echo "# $proj: month units items reworks verifications late closed tickets"
    sed 's/^/#   /' <<<"$rows"
    check "$proj: inspections in exactly the six months $months, none in the current one" \
        eval 'test "$(cut -d" " -f1 <<<"$rows" | tr "\n" " " | sed "s/ $//")" = "$months"'
    check "$proj: every month has units inspected, at least 20 tickets, and verifications" \
        eval 'awk "\$2 < 1 || \$3 < 20 || \$5 < 1 { bad = 1 } END { exit bad }" <<<"$rows"'
    # improving: month 1 worse than month 6, and months 1-3 worse than months 4-6
    for measure in "items per unit:3/2" "rework rate:4/5" "late share:6/5"; do
        name=${measure%%:*} f=${measure#*:}
        num=${f%/*} den=${f#*/}
        check "$proj: $name falls (the first month above the last, the first half above the second)" \
            eval 'awk -v n='"$num"' -v d='"$den"' "{ v[NR] = \$n / \$d; a[NR] = \$n; b[NR] = \$d }
                END { h1n = a[1] + a[2] + a[3]; h1d = b[1] + b[2] + b[3]
                      h2n = a[4] + a[5] + a[6]; h2d = b[4] + b[5] + b[6]
                      exit !(NR == 6 && v[1] > v[6] && h1n / h1d > h2n / h2d) }" <<<"$rows"'
    done
    # The same months through the daemon, as the monthly report reads them (cloop stats).
    if [ "$proj" = 万科城 ]; then
        login admin
        first=$(sql "SELECT (date_trunc('month', current_date) - interval '6 months')::date")
        last=$(sql "SELECT (date_trunc('month', current_date) - interval '1 day')::date")
        as admin stats --project "$proj" --by month --from "$first" --to "$last" --format csv
        opened=$(python3 -c 'import csv, sys
print(" ".join(r["tickets_opened"] for r in csv.DictReader(sys.stdin)))' <<<"$out")
        rework=$(python3 -c 'import csv, sys
print(" ".join(r["rework_rate"] for r in csv.DictReader(sys.stdin)))' <<<"$out")
        echo "# cloop stats --by month: tickets_opened $opened; rework_rate $rework"
        check "$proj: cloop stats --by month shows the six months' tickets opened as counted here" \
            eval 'test "$rc" = 0 && test "$opened" = "$(cut -d" " -f3 <<<"$rows" | tr "\n" " " | sed "s/ $//")"'
        check "$proj: ... and its rework rate falls from the first month to the last" \
            eval 'awk "{ exit !(NF == 6 && \$1 + 0 > \$6 + 0) }" <<<"$rework"'
    fi
done

# The handover round: two thirds of each project's units handed over since the first of
# the month before last, 5% not taken over with a reason; cloop stats (units_accepted,
# units_not_taken over the same days) agrees with the records, and the first of them is a
# positive count (the monthly report's handover progress is not empty).
for proj in 万科城 翡翠公园; do
    ho=$(sql "SELECT count(*) FILTER (WHERE r.outcome IN ('accepted', 'accepted_with_items'))
                     || ' ' || count(*) FILTER (WHERE r.outcome = 'not_taken_over')
                     || ' ' || count(*) FILTER (WHERE r.outcome = 'not_taken_over'
                                                  AND r.not_taken_reason = '')
                     || ' ' || (SELECT count(*) FROM units u WHERE u.project_id = p.id)
                FROM inspection_records r JOIN inspection_rounds ro ON ro.id = r.round_id
                JOIN projects p ON p.id = r.project_id
               WHERE p.name = '$proj' AND ro.kind = 'handover' GROUP BY p.id")
    read -r acc nt noreason units <<<"$ho"
    as admin stats --project "$proj" --round handover --format csv
    got=$(python3 -c 'import csv, sys
r = list(csv.DictReader(sys.stdin))
print(r[0]["units_accepted"], r[0]["units_not_taken"]) if len(r) == 1 else print("rows", len(r))' <<<"$out")
    echo "# $proj handover: accepted $acc, not taken $nt (without reason $noreason) of $units units; cloop stats: $got"
    check "$proj: handover of about two thirds of the units, some not taken over, each with a reason" \
        eval 'test "$acc" -gt $((units / 2)) && test "$((acc + nt))" -le "$units" && test "$nt" -gt 0 && test "$noreason" = 0'
    check "$proj: cloop stats --round handover counts the same accepted and not-taken units" \
        eval 'test "$rc" = 0 && test "$got" = "$acc $nt"'
done

q_state="SELECT count(*) FILTER (WHERE t.state IS DISTINCT FROM
                       (SELECT e.to_state FROM ticket_events e WHERE e.ticket_id = t.id
                         ORDER BY e.id DESC LIMIT 1)
                     OR NOT EXISTS (SELECT 1 FROM ticket_events e
                                     WHERE e.ticket_id = t.id AND e.action = 'create'))
                 || ',' || count(*) FROM tickets t"
check "every ticket's state is the to-state of its last event, and it has a create event" \
    eval 'r=$(sql "$q_state"); test "${r%,*}" = 0 && test "${r#*,}" -gt 500'
q_closed="SELECT count(*) FROM tickets t
           WHERE closed_at IS DISTINCT FROM
                 (SELECT max(e.at) FROM ticket_events e
                   WHERE e.ticket_id = t.id AND e.action IN ('verify_pass', 'nofix'))
              OR t.found_on >= date_trunc('month', current_date)
              OR EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id AND e.at > now())"
check "closed and not-fixed tickets have closed_at at their last event; none found this month, no event ahead of now" \
    eval 'test "$(sql "$q_closed")" = 0'
q_feed="SELECT (SELECT count(*) FROM change_log WHERE entity = 'tickets')
                = (SELECT count(*) FROM tickets)
           AND (SELECT count(*) FROM audit_log WHERE entity = 'inspection_items'
                   AND action = 'insert') = (SELECT count(*) FROM inspection_items)"
check "the change feed and the audit have the items and tickets (written with the actor set)" \
    eval 'test "$(sql "$q_feed")" = t'

q_count="SELECT count(*) || ',' || (SELECT count(*) FROM ticket_events) FROM tickets"
before=$(sql "$q_count")
out=$("$CL_SOURCE_DIR/deploy/demo-history.sh" 2>&1)
rc=$?
check "a second run exits 0, says the history is there, and adds nothing ($before)" \
    eval 'test "$rc" = 0 && grep -q "already" <<<"$out" &&
          test "$(sql "$q_count")" = "$before"'
report_and_exit
