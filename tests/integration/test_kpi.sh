#!/usr/bin/env bash
# test_kpi.sh - the complaint KPIs and the repair-service scorecard per city company and
# month (issue 12 point 8; docs/STATS.md "Complaint KPIs", "Repair-service scorecard"):
# a fixture of two city companies over October and November 2026 (test_kpi_fixture.sql,
# explicit China-time instants) whose every figure is counted by hand below, read through
# `cloop stats kpi` / `cloop stats repair --format csv` exactly; who sees which companies;
# then complaint add / reply / close / revisit, and warranty add / respond / deduct /
# approve, on the simulated clock move company A's November figures by a known amount.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch kpi

# No timer may change the fixture: no complaint warnings, breaches or reclassing, no
# warranty climbs.
export CLOSELOOP_COMPLAINT_TICK_MS=0 CLOSELOOP_WARRANTY_TICK_MS=0
start_server_with_db
setup_project 万科城 2027-06-30
sim_clock_init
clock_at '2026-12-01 12:00'

as admin company add 广州城市公司 --kind city --parent "$hq" --format csv
city2=$(csv_col id)
as admin project add --company "$city2" 天河府 --city 广州 --format csv
p2=$(csv_col id)
as admin contractor add 中建三局 --trades civil --format csv
k=$(csv_col id)
[ -n "$city2" ] && [ -n "$p2" ] && [ -n "$k" ] || bail "a second company, its project, a contractor"
add_user cr1 cr --company "$city"
add_user wr1 warranty --company "$city"
add_user hot1 hotline
add_user prop1 property --projects "$p"
add_user con1 contractor --contractor "$k"
ua=$(sql "SELECT id FROM users WHERE username = 'wr1'")
ub=$(sql "SELECT id FROM users WHERE username = 'cr1'")

psql "$CLOSELOOP_DB_CONNINFO" -qAtX -v pa="$p" -v pb="$p2" -v ua="$ua" -v ub="$ub" -v k="$k" \
    -f "$(dirname "$0")/test_kpi_fixture.sql" >"$work/fixture.out" 2>&1 ||
    { sed 's/^/#   /' "$work/fixture.out" >&2; bail "load the fixture"; }
check "the fixture: 12 complaints, 8 tickets, 5 warranty reports" \
    test "$(sql "SELECT (SELECT count(*) FROM complaints), (SELECT count(*) FROM tickets),
                        (SELECT count(*) FROM warranty_reports)")" = '12|8|5'

# kpi_rows MONTH [ARGS...] as USER (default admin): the CSV rows of `stats kpi` without the
# company id column, one per line, in $rows; the header in $head.
kpi_rows() {
    local user=$1 cmd=$2 month=$3
    shift 3
    as "$user" stats "$cmd" --month "$month" "$@" --format csv
    head=$(sed -n 1p <<<"$out")
    rows=$(sed '1d' <<<"$out" | cut -d, -f2-)
}

kpi_head='company_id,company,taken_in,closed,open_now,major,hot,important,revisits,revisits_satisfied,satisfaction_rate,satisfaction_rate_target,satisfaction_rate_met,reply_clocks,replies_in_time,timeliness_rate,timeliness_rate_target,timeliness_rate_met,closed_of_taken,closure_rate,closure_rate_target,closure_rate_met,closed_revisited,revisit_rate,revisit_rate_target,revisit_rate_met'

# Company A (深圳城市公司), November:
#   taken in: A1 A2 A3 A5 A6 = 5; closed (current closure in November): A1 A2 A4 A6 A8 = 5;
#   of November's intake still open: A3 (open) A5 (waiting) = 2; major A3, hot A2,
#   important A5 (A4 and A8 are October's intake) = 1, 1, 1;
#   revisits in November: A1 (5), A2 (3), A7 (2, at 07:00 China time on 1 November, still
#   31 October in UTC) = 3, of them 4 or 5: A1 = 1 -> 1/3, target > 80 %: no;
#   first replies decided in November: A1 (stopped in time), A2 (breached 15:00, replied
#   16:00), A3 (running, due 15 November passed, no breach recorded), A6 (stopped by the
#   close, within budget) = 4; A5 waits (paused, not due, not stopped), A4 A7 A8 October;
#   met: A1 A6 = 2 -> 0.5, target >= 90 %: no;
#   closure: of the 5 taken in, closed now A1 A2 A6 = 3 -> 0.6: no;
#   revisit: of the 5 closed in November, revisited after that closure: A1 A2 A6 (its
#   revisit on 1 December counts) = 3; A4 never, A8's revisit was before its reopening ->
#   0.6: no.
a_nov='深圳城市公司,5,5,2,1,1,1,3,1,0.333333,>0.8,no,4,2,0.5,>=0.9,no,3,0.6,>=1,no,3,0.6,>=1,no'
# Company B (广州城市公司), November: taken in B1 B2 B4 = 3, B1 B2 closed in November, B4
#   open; revisits B1 (4) B2 (5) = 2, both satisfied -> 1: yes; first replies decided: B1,
#   B2, B3 (taken in on 31 October 23:30 China time, replied 2 November) and B4 (replied
#   after 5 business hours, its breach never recorded: the timer was off) = 4, in time B1
#   B2 B3 = 3 -> 0.75: no; closure 2/3: no; revisit 2/2: yes.
b_nov='广州城市公司,3,2,1,0,0,0,2,2,1,>0.8,yes,4,3,0.75,>=0.9,no,2,0.666667,>=1,no,2,1,>=1,yes'
kpi_rows admin kpi 2026-11
check "stats kpi 2026-11 as admin exits 0 with the KPI columns" \
    eval '[ "$rc" = 0 ] && [ "$head" = "$kpi_head" ]'
check "stats kpi 2026-11: company A's figures exactly as counted by hand" \
    test "$(sed -n 1p <<<"$rows")" = "$a_nov"
check "stats kpi 2026-11: company B's figures exactly as counted by hand" \
    test "$(sed -n 2p <<<"$rows")" = "$b_nov"
check "stats kpi 2026-11: one row per company with projects (2, not the HQ)" \
    test "$(grep -c . <<<"$rows")" = 2

# October. A: taken in A4 A7 A8 = 3; closed in October: A7 (A8's closure now is in
#   November) = 1; none open; important A4 A8 = 2; revisits: A8 (5) = 1 -> 1: yes (A7's is
#   November's in China time); first replies decided: A4 A7 A8, all in time -> 1: yes;
#   closure 3/3: yes; revisit: A7 (closed 8 October, revisited 1 November) 1/1: yes.
a_oct='深圳城市公司,3,1,0,0,0,2,1,1,1,>0.8,yes,3,3,1,>=0.9,yes,3,1,>=1,yes,1,1,>=1,yes'
# B: taken in B3 = 1 (23:30 on 31 October China time), open; nothing revisited, no reply
#   decided (B3's is November's): rates absent, no verdict; closure 0/1: no; nothing closed.
b_oct='广州城市公司,1,0,1,0,0,0,0,0,,>0.8,,0,0,,>=0.9,,0,0,>=1,no,0,,>=1,'
kpi_rows admin kpi 2026-10
check "stats kpi 2026-10: company A exactly (China-time month boundaries)" \
    eval '[ "$rc" = 0 ] && [ "$(sed -n 1p <<<"$rows")" = "$a_oct" ]'
check "stats kpi 2026-10: company B exactly (absent rates empty, no verdict)" \
    test "$(sed -n 2p <<<"$rows")" = "$b_oct"

# The targets at their edges (cl_kpi_met, the one rule the verdicts use): satisfaction
# must be above 80 % (4/5 is not enough, 5/6 is), timeliness at least 90 % (9/10 is),
# closure and revisit all (99/100 is not); nothing to rate has no verdict.
check "the targets at their edges: 4/5 satisfied no, 5/6 yes, 9/10 timely yes, 99/100 closed no, 0/0 none" \
    test "$(sql "SELECT cl_kpi_met('satisfaction', 4, 5), cl_kpi_met('satisfaction', 5, 6),
                        cl_kpi_met('timeliness', 9, 10), cl_kpi_met('timeliness', 8, 9),
                        cl_kpi_met('closure', 99, 100), cl_kpi_met('revisit', 1, 1),
                        cl_kpi_met('revisit', 0, 0) IS NULL")" = 'f|t|t|f|f|t|t'
as admin stats kpi --month 2026-11 --format json
check "stats kpi as JSON: numbers as numbers, verdicts as words" \
    eval '[ "$rc" = 0 ] && json_has "(len(d) == 2 and d[0][\"taken_in\"] == 5 and d[0][\"company_id\"] == $city and
          d[0][\"satisfaction_rate_met\"] == \"no\" and d[1][\"timeliness_rate\"] == 0.75 and
          d[0][\"company\"] == \"深圳城市公司\")"'
as admin stats kpi --month 2026-10 --format json
check "stats kpi 2026-10 as JSON: company B's satisfaction rate is null (nothing revisited)" \
    eval '[ "$rc" = 0 ] && json_has "d[1][\"satisfaction_rate\"] is None and d[1][\"revisits\"] == 0"'
as admin stats kpi --month 2026-11
check "stats kpi as a table: Chinese headers, 达标/未达标, the target written >80%" \
    eval '[ "$rc" = 0 ] && grep -q "满意率目标" <<<"$out" && grep -q "未达标" <<<"$out" &&
          grep -q ">80%" <<<"$out" && grep -q "重大" <<<"$out" &&
          [ "$(grep -c "达标" <<<"$out")" -ge 3 ]'

# The printed page: titled with the month, the targets under the title, both companies.
as admin stats kpi --month 2026-11 --format html
check "stats kpi --format html: a page titled 投诉处理指标 … 2026年11月 with the targets, 2 rows" \
    eval '[ "$rc" = 0 ] && grep -q "<title>投诉处理指标 Complaint KPIs 2026年11月</title>" <<<"$out" &&
          grep -q "处理满意率&gt;80%" <<<"$out" && [ "$(grep -c "<tr><td" <<<"$out")" = 2 ]'

# Who sees what: cr and warranty their company; hotline all; property their project's
# company (counting their projects only); contractors refused.
for u in cr1 wr1 prop1; do
    kpi_rows "$u" kpi 2026-11
    check "stats kpi as $u: exit 0, only company A's row, its figures" \
        eval '[ "$rc" = 0 ] && [ "$(grep -c . <<<"$rows")" = 1 ] && [ "$rows" = "$a_nov" ]'
done
kpi_rows hot1 kpi 2026-11
check "stats kpi as the hotline: both companies" \
    eval '[ "$rc" = 0 ] && [ "$(grep -c . <<<"$rows")" = 2 ] &&
          [ "$(sed -n 2p <<<"$rows")" = "$b_nov" ]'
kpi_rows admin kpi 2026-11 --company "$city2"
check "stats kpi --company B: only B's row" \
    eval '[ "$rc" = 0 ] && [ "$rows" = "$b_nov" ]'
kpi_rows cr1 kpi 2026-11 --company "$city2"
check "stats kpi --company B as company A's cr: exit 0 and no row (not an error)" \
    eval '[ "$rc" = 0 ] && [ "$head" = "$kpi_head" ] && [ -z "$rows" ]'
as con1 stats kpi --month 2026-11 --format csv
check "stats kpi as a contractor: refused (exit 3)" test "$rc" = 3
as con1 stats repair --month 2026-11 --format csv
check "stats repair as a contractor: refused (exit 3)" test "$rc" = 3
as admin stats kpi --month 2026-13 --format csv
check "stats kpi --month 2026-13: a usage error (exit 2)" test "$rc" = 2

# ---- the repair-service scorecard, November
rep_head='company_id,company,section,reports,responded,response_hours_mean,in_budget,budget_decided,in_budget_rate,climbs_developer,climbs_hotline,late_repairs,verifications,verify_fails,repeat_rework,first_verifications,first_passes,first_pass_rate,deductions_approved,deducted_amount,third_party_jobs'
# A, warranty: reported in November W1 W2 W3 W5 = 4; responded W1 W2 = 2; business hours
#   to response: W1 Mon 2 Nov 10:00 -> 14:00 = 3, W2 Thu 5 Nov 10:00 -> Thu 12 Nov 10:00 =
#   7 + 8 + 8 + 8 + 8 + 1 = 40 -> mean 21.5; within the property budget (24 h): W1 = 1;
#   decided: W1 W2 and W3 (unresponded, budget used up), not W5 (4 business hours by now)
#   = 3 -> 1/3; climbs to developer W2 W3 = 2, to the hotline W3 = 1; repaired after the
#   deadline: W2 on 12, 13 and 17 November (deadline 11th) = 3; verifications in November:
#   W1 pass, W2 fail fail pass, W4 fail = 5, fails 3; W2 failed twice = 1; first
#   verifications in November W1 (pass) W2 (fail) W4 (fail) = 3, passed 1 -> 1/3;
#   deductions approved in November: 1200.50 (500 was October's, 300 requested, 100
#   rejected) = 1, 1200.5; third-party jobs: W3 = 1.
a_w='深圳城市公司,warranty,4,2,21.5,1,3,0.333333,2,1,3,5,3,1,3,1,0.333333,1,1200.5,1'
# A, move-in: H1 raised Tue 3 Nov 10:00, repaired 15:00 = 4 business hours, on its
#   deadline day (not late), passed at first try.
a_h='深圳城市公司,handover,1,1,4,,,,,,0,1,0,0,1,1,1,,,'
# B has no warranty reports: zeros, absent rates and mean.
b_w='广州城市公司,warranty,0,0,,0,0,,0,0,0,0,0,0,0,0,,0,0,0'
# B, move-in: raised in November H2 = 1, repaired Mon 9 Nov 09:00 -> 18:00 = 8 h; late
#   repairs: H2 on 9 and 10 November (deadline 8th) = 2; verifications H2 fail, pass and H3
#   pass (raised in October) = 3, 1 fail, none twice; first verifications H2 (fail) H3
#   (pass) = 2, 1 passed -> 0.5.
b_h='广州城市公司,handover,1,1,8,,,,,,2,3,1,0,2,1,0.5,,,'
kpi_rows admin repair 2026-11
check "stats repair 2026-11 as admin exits 0 with the scorecard columns" \
    eval '[ "$rc" = 0 ] && [ "$head" = "$rep_head" ] && [ "$(grep -c . <<<"$rows")" = 4 ]'
check "stats repair: company A's warranty section exactly as counted by hand" \
    test "$(sed -n 1p <<<"$rows")" = "$a_w"
check "stats repair: company A's move-in section exactly" \
    test "$(sed -n 2p <<<"$rows")" = "$a_h"
check "stats repair: company B's (empty) warranty section exactly" \
    test "$(sed -n 3p <<<"$rows")" = "$b_w"
check "stats repair: company B's move-in section exactly" \
    test "$(sed -n 4p <<<"$rows")" = "$b_h"
kpi_rows wr1 repair 2026-11
check "stats repair as company A's warranty office: its two rows only" \
    eval '[ "$rc" = 0 ] && [ "$rows" = "$a_w"$'\''\n'\''"$a_h" ]'
as admin stats repair --month 2026-11
check "stats repair as a table: the sections by their round labels, 扣款金额 1200.50" \
    eval '[ "$rc" = 0 ] && grep -q "扣款金额" <<<"$out" && grep -q "1200.50" <<<"$out" &&
          [ "$(grep -c "房屋交付" <<<"$out")" = 2 ] && [ "$(grep -c "保修报修" <<<"$out")" = 2 ]'

# ---- the real commands move the figures: on Friday 27 November prop1 takes in a phone
# complaint at 10:00 in project $p (company A), replies at 10:30, closes at 11:00 and
# records a revisit scoring 5 at 11:30.
clock_at '2026-11-27 10:00'
as prop1 complaint add --project "$p" --channel phone --specialty engineering --owner 周九 \
    --description 门窗渗水 --format csv
cid=$(sql "SELECT max(id) FROM complaints")
clock_at '2026-11-27 10:30'
as prop1 complaint reply "$cid" --note 已联系业主 --format csv
r1=$rc
clock_at '2026-11-27 11:00'
as prop1 complaint close "$cid" --note 已修复 --format csv
r2=$rc
clock_at '2026-11-27 11:30'
as prop1 complaint revisit "$cid" --satisfaction 5 --format csv
r3=$rc
check "complaint add, reply, close, revisit through cloop all exit 0" \
    eval '[ -n "$cid" ] && [ "$r1$r2$r3" = 000 ] &&
          [ "$(sql "SELECT state || class FROM complaints WHERE id = $cid")" = closedordinary ]'
clock_at '2026-12-01 12:00'
# A, November, moved: taken in 6, closed 6, open 2; revisits 4, satisfied 2 -> 0.5; first
# replies 5, in time 3 -> 0.6; closure 4/6; revisit 4/6 (0.666667).
a_nov2='深圳城市公司,6,6,2,1,1,1,4,2,0.5,>0.8,no,5,3,0.6,>=0.9,no,4,0.666667,>=1,no,4,0.666667,>=1,no'
kpi_rows admin kpi 2026-11
check "after the real commands company A's November moved by exactly one complaint" \
    eval '[ "$rc" = 0 ] && [ "$(sed -n 1p <<<"$rows")" = "$a_nov2" ]'
check "and company B's November did not move" test "$(sed -n 2p <<<"$rows")" = "$b_nov"

# ---- and the warranty commands move the scorecard: on Friday 27 November at 14:00 the
# warranty office takes in a report in project $p (company A), responds at 15:00 (one
# business hour), requests a deduction of 99.50, which cr1 approves at 15:30.
unit=$(sql "SELECT min(id) FROM units WHERE project_id = $p")
clock_at '2026-11-27 14:00'
as wr1 warranty add --project "$p" --unit "$unit" --owner 吴十 --category civil --location 厨房 \
    --description 水管漏水 --contractor "$k" --format csv
r1=$rc
tk=$(sql "SELECT ticket_id FROM warranty_reports WHERE owner_name = '吴十'")
clock_at '2026-11-27 15:00'
as wr1 warranty respond "$tk" --note 已联系业主 --format csv
r2=$rc
as wr1 warranty deduct --contractor "$k" --amount 99.50 --reason 维修拖延 --format csv
r3=$rc
ded=$(sql "SELECT id FROM warranty_deductions WHERE amount = 99.50")
clock_at '2026-11-27 15:30'
as cr1 warranty approve "$ded" --format csv
r4=$rc
check "warranty add, respond, deduct and approve (by another user) through cloop exit 0" \
    eval '[ -n "$tk" ] && [ -n "$ded" ] && [ "$r1$r2$r3$r4" = 0000 ] &&
          [ "$(sql "SELECT state FROM warranty_deductions WHERE id = $ded")" = approved ]'
clock_at '2026-12-01 12:00'
# A, warranty, November, moved: reports 5, responded 3, mean (3 + 40 + 1) / 3 = 14.6667;
# in budget 2 of 4 decided -> 0.5; deductions 2, 1200.50 + 99.50 = 1300; the rest as before.
a_w2='深圳城市公司,warranty,5,3,14.6667,2,4,0.5,2,1,3,5,3,1,3,1,0.333333,2,1300,1'
kpi_rows admin repair 2026-11
check "after the warranty commands company A's warranty row moved by exactly that" \
    eval '[ "$rc" = 0 ] && [ "$(sed -n 1p <<<"$rows")" = "$a_w2" ]'
check "and the other rows did not move" \
    eval '[ "$(sed -n 2,4p <<<"$rows")" = "$a_h"$'\''\n'\''"$b_w"$'\''\n'\''"$b_h" ]'
# The two approved deductions name no ticket: they are the company's, which property staff
# do not see in the warranty lists, so not in their scorecard either.
kpi_rows prop1 repair 2026-11
check "stats repair as prop1: company A's warranty row without the company's deductions (0, 0)" \
    eval '[ "$rc" = 0 ] && [ "$(sed -n 1p <<<"$rows" | cut -d, -f1,2,18,19)" = "深圳城市公司,warranty,0,0" ]'
kpi_rows wr1 repair 2026-11
check "... while the warranty office sees them (2, 1300)" \
    eval '[ "$rc" = 0 ] && [ "$(sed -n 1p <<<"$rows" | cut -d, -f1,2,18,19)" = "深圳城市公司,warranty,2,1300" ]'

report_and_exit
