#!/usr/bin/env bash
# test_cli_stats.sh - `cloop stats` and `cloop stats scorecard` end to end: data made
# only through cloop (two city companies, a project each, two contractors, a day's
# import of items, repairs, verifications passed and failed, a decision not to fix, a
# reassignment, handover forms), then every figure checked against counts worked out by
# hand below: ungrouped, grouped by one and by two dimensions, filtered by names (company,
# project, contractor, category in Chinese, round as staff say it), the period cohort
# against the period's events, table/CSV/JSON output (absent figures "—" / empty / null),
# the scorecard ranks, and who may ask: a CR sees its company only, a clerk its projects,
# contractors are refused with exit 3.
#
# Items are found 25 and 20 days before today, so the days to close are exact (0..30) and
# the deadlines (7 days) are past; every transition happens today. Run by ctest like the
# other cloop tests (lib.sh).
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch clistats
start_server_with_db

d25=$(date -d '-25 days' +%F)
d20=$(date -d '-20 days' +%F)
today=$(date +%F)
this_month=$(date +%Y-%m)

# --- two companies, a project each, units with layouts, two contractors --------------
setup_project 万科城 # $city 深圳城市公司, $p
as admin company add 广州城市公司 --kind city --parent "$hq" --format csv
gz=$(csv_col id)
as admin project add --company "$gz" 翡翠公园 --city 广州 --format csv
p2=$(csv_col id)
as admin building add --project "$p" 1栋 --floors 30 --format csv
b1=$(csv_col id)
as admin building add --project "$p2" 2栋 --floors 30 --format csv
b2=$(csv_col id)
as admin unit add --building "$b1" 1-1-101 --layout TA
as admin unit add --building "$b1" 1-1-102 --layout TA
as admin unit add --building "$b1" 1-1-201 --layout TB
as admin unit add --building "$b1" 1-1-202
as admin unit add --building "$b2" 2-1-101 --layout TA
as admin contractor add 东方雨虹 --trades waterproofing,civil --format csv
cw=$(csv_col id)
as admin contractor add 中建三局 --trades civil --format csv
cz=$(csv_col id)
as admin trade assign --project "$p" --trade waterproofing --contractor "$cw"
as admin trade assign --project "$p" --trade civil --contractor "$cz"
as admin trade assign --project "$p2" --trade civil --contractor "$cz"
as admin deadline set --project "$p" --severity minor --days 7
add_user cr1 cr --company "$city"
add_user clerk1 clerk --projects "$p"
add_user dyh contractor --contractor "$cw"
add_user ana hq_analyst
check "two companies, projects, units, contractors and users are set up" test "$rc" = 0

# 万科城: W1 W2 (101, waterproofing), W3 (101, civil), W4 (102, waterproofing),
# W5 (201, civil), W6 (202, waterproofing), found 25 days ago; 翡翠公园: F1 F2 (civil),
# found 20 days ago.
{
    echo "project,unit,round,inspected_on,inspector,location,category,description,severity"
    echo "$p,1-1-101,mock1,$d25,王工,卫生间,waterproofing,地漏渗水,minor"
    echo "$p,1-1-101,mock1,$d25,王工,厨房,waterproofing,墙角渗水,minor"
    echo "$p,1-1-101,mock1,$d25,王工,客厅,civil,墙面空鼓,minor"
    echo "$p,1-1-102,mock1,$d25,王工,阳台,waterproofing,阳台渗水,minor"
    echo "$p,1-1-201,mock1,$d25,王工,卧室,civil,地面开裂,minor"
    echo "$p,1-1-202,mock1,$d25,王工,卫生间,waterproofing,管根渗水,minor"
    echo "$p2,2-1-101,mock1,$d20,李工,客厅,civil,墙面裂缝,minor"
    echo "$p2,2-1-101,mock1,$d20,李工,卧室,civil,踢脚线脱落,minor"
} >"$work/items.csv"
as admin inspect import "$work/items.csv"
check "8 items imported" test "$rc" = 0

# Today: W1 W3 F1 repaired and passed; W2 repaired and failed (rework); W4 not to be
# fixed; F2 reassigned to 东方雨虹; W5 W6 stay open (past their 7-day deadline).
step() {
    as admin ticket "$@"
    check "ticket $*" test "$rc" = 0
}
step repaired 1 2 3 --project "$p" --note 已修复
step repaired 1 --project "$p2" --note 已修复
step verify 1 3 --project "$p" --pass
step verify 2 --project "$p" --fail --note 仍渗水
step verify 1 --project "$p2" --pass
step nofix 4 --project "$p" --note 按统一说辞不予维修
step reassign 2 --project "$p2" --contractor "$cw" --note 转派
# Handover today in 万科城: 101 accepted, 102 and 201 not taken (渗水未修复), 202 not
# taken (面积不符).
as admin inspect handover --project "$p" --unit 1-1-101 --date "$today" --outcome accepted
as admin inspect handover --project "$p" --unit 1-1-102 --date "$today" --outcome not_taken_over \
    --reason 渗水未修复
as admin inspect handover --project "$p" --unit 1-1-201 --date "$today" --outcome not_taken_over \
    --reason 渗水未修复
as admin inspect handover --project "$p" --unit 1-1-202 --date "$today" --outcome not_taken_over \
    --reason 面积不符
check "four handover forms recorded" test "$rc" = 0

# Column N of the CSV row whose column MCOL is VALUE (csv_col), or of the only row.
col() { csv_col "$@"; }

# --- the whole group, ungrouped -----------------------------------------------------------
as ana stats --format csv
check "stats (HQ analyst, whole group) as CSV: exit 0, one row" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ]'
check "... units_inspected 9 (5 mock1 records + 4 handover forms), items_found 8" \
    eval '[ "$(col units_inspected)" = 9 ] && [ "$(col items_found)" = 8 ]'
check "... tickets_opened 8, tickets_closed 3 (passes only), tickets_nofix 1" \
    eval '[ "$(col tickets_opened)" = 8 ] && [ "$(col tickets_closed)" = 3 ] && [ "$(col tickets_nofix)" = 1 ]'
check "... open_now 4 (W2 W5 W6 F2), overdue_now 3 (万科城's, past 7 days)" \
    eval '[ "$(col open_now)" = 4 ] && [ "$(col overdue_now)" = 3 ]'
check "... closed_of_opened 3, nofix_of_opened 1, closure_rate 3/7" \
    eval '[ "$(col closed_of_opened)" = 3 ] && [ "$(col nofix_of_opened)" = 1 ] &&
          [ "$(col closure_rate)" = 0.428571 ]'
check "... verifications 4, reworks 1, rework_rate 0.25" \
    eval '[ "$(col verifications)" = 4 ] && [ "$(col reworks)" = 1 ] && [ "$(col rework_rate)" = 0.25 ]'
check "... close_p50_days 25, close_p90_days 25 (closed after 25, 25 and 20 days)" \
    eval '[ "$(col close_p50_days)" = 25 ] && [ "$(col close_p90_days)" = 25 ]'
check "... timeliness: 2 no deadline (翡翠公园), 3 overdue open, 3 closed late (W4's nofix too)" \
    eval '[ "$(col tl_no_deadline)" = 2 ] && [ "$(col tl_overdue_open)" = 3 ] && [ "$(col tl_in_time_open)" = 0 ] &&
          [ "$(col tl_closed_late)" = 3 ] && [ "$(col tl_closed_in_time)" = 0 ]'
check "... handover: 1 accepted, 3 not taken: 渗水未修复 2, 面积不符 1 (most first)" \
    eval '[ "$(col units_accepted)" = 1 ] && [ "$(col units_not_taken)" = 3 ] &&
          [ "$(col not_taken_reasons)" = "渗水未修复:2;面积不符:1" ]'
check "... repaired_reports 4" test "$(col repaired_reports)" = 4

as ana stats
check "the same as a table: Chinese name, docs/STATS.md name, figure" \
    eval '[ "$rc" = 0 ] && grep -Eq "^新开工单 +tickets_opened +8$" <<<"$out" &&
          grep -Eq "^返工率 +rework_rate +25\.0%$" <<<"$out" && grep -Eq "^关闭率 +closure_rate +42\.9%$" <<<"$out" &&
          grep -Eq "^超期未关闭 +tl_overdue_open +3$" <<<"$out" && grep -q "渗水未修复 2；面积不符 1" <<<"$out"'

as ana stats --round 一次模拟 --format json
check "--round 一次模拟 (mock1 as staff say it): units_inspected 5, items per unit 1.6" \
    eval '[ "$rc" = 0 ] && python3 -c "
import json, sys
r = json.load(sys.stdin)
assert len(r) == 1, r
assert r[0][\"units_inspected\"] == 5 and r[0][\"items_found\"] == 8, r
assert abs(r[0][\"items_per_unit\"] - 1.6) < 1e-9, r
assert r[0][\"units_not_taken\"] == 0, r" <<<"$out"'

# --- grouped by one dimension ---------------------------------------------------------------
as ana stats --by company --format csv
check "--by company: 2 rows" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2 ]'
check "... 深圳城市公司: opened 6, closed 2, verifications 3, reworks 1" \
    eval '[ "$(col tickets_opened company 深圳城市公司)" = 6 ] && [ "$(col tickets_closed company 深圳城市公司)" = 2 ] &&
          [ "$(col verifications company 深圳城市公司)" = 3 ] && [ "$(col reworks company 深圳城市公司)" = 1 ]'
check "... 广州城市公司 (id $gz): opened 2, closed 1, rework_rate 0" \
    eval '[ "$(col company_id company 广州城市公司)" = "$gz" ] && [ "$(col tickets_opened company 广州城市公司)" = 2 ] &&
          [ "$(col tickets_closed company 广州城市公司)" = 1 ] && [ "$(col rework_rate company 广州城市公司)" = 0 ]'

as ana stats --by 施工单位 --format csv
check "--by 施工单位 (contractor): 2 rows" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2 ]'
check "... 东方雨虹 (its tickets now, incl. reassigned F2): opened 5, closed 1, reworks 1" \
    eval '[ "$(col tickets_opened contractor 东方雨虹)" = 5 ] && [ "$(col tickets_closed contractor 东方雨虹)" = 1 ] &&
          [ "$(col reworks contractor 东方雨虹)" = 1 ]'
check "... 中建三局: opened 3, closed 2" \
    eval '[ "$(col tickets_opened contractor 中建三局)" = 3 ] && [ "$(col tickets_closed contractor 中建三局)" = 2 ]'

as ana stats --by category
check "--by category as a table: Chinese headers, trade names, one line per trade" \
    eval '[ "$rc" = 0 ] && head -n 1 <<<"$out" | grep -q "^专业 .*新开工单.*返工率" &&
          grep -Eq "^防水 " <<<"$out" && grep -Eq "^土建 " <<<"$out" && [ "$(grep -c . <<<"$out")" = 3 ]'

# --- grouped by two dimensions ----------------------------------------------------------------
as ana stats --by company,contractor --format json
check "--by company,contractor: 4 groups with the counts worked out by hand" \
    eval '[ "$rc" = 0 ] && python3 -c "
import json, sys
r = json.load(sys.stdin)
got = {(x[\"company\"], x[\"contractor\"]): (x[\"tickets_opened\"], x[\"tickets_closed\"]) for x in r}
want = {(\"深圳城市公司\", \"东方雨虹\"): (4, 1), (\"深圳城市公司\", \"中建三局\"): (2, 1),
        (\"广州城市公司\", \"东方雨虹\"): (1, 0), (\"广州城市公司\", \"中建三局\"): (1, 1)}
assert len(r) == 4 and got == want, got" <<<"$out"'
check "... an absent rate is null in JSON (广州/东方雨虹: no verification)" \
    eval 'python3 -c "
import json, sys
r = [x for x in json.load(sys.stdin) if x[\"company\"] == \"广州城市公司\" and x[\"contractor\"] == \"东方雨虹\"]
assert len(r) == 1 and r[0][\"rework_rate\"] is None and r[0][\"verifications\"] == 0, r
assert isinstance(r[0][\"contractor_id\"], int), r" <<<"$out"'
as ana stats --by company,contractor --format csv
check "... empty in CSV" eval '[ "$(python3 -c "
import csv, sys
r = [x for x in csv.DictReader(sys.stdin) if x[\"company\"] == \"广州城市公司\" and x[\"contractor\"] == \"东方雨虹\"]
print(len(r), repr(r[0][\"rework_rate\"]))" <<<"$out")" = "1 '"''"'" ]'
as ana stats --by company,contractor
check "... and — in the table" \
    eval '[ "$rc" = 0 ] && [ "$(grep -c . <<<"$out")" = 5 ] && grep -E "^广州城市公司 +东方雨虹 " <<<"$out" | grep -q "—"'

as ana stats --by month --format csv
check "--by month: found months and event months counted each by their own day" \
    eval '[ "$rc" = 0 ] && [ "$(python3 -c "
import csv, sys
r = list(csv.DictReader(sys.stdin))
print(sum(int(x[\"tickets_opened\"]) for x in r), sum(int(x[\"tickets_closed\"]) for x in r),
      [x[\"tickets_closed\"] for x in r if x[\"month\"] == \"$this_month\"])" <<<"$out")" = "8 3 ['"'3'"']" ]'

# --- filters by name ----------------------------------------------------------------------------
as ana stats --company 广州城市公司 --format csv
check "--company 广州城市公司 (by name): opened 2, units_inspected 1" \
    eval '[ "$rc" = 0 ] && [ "$(col tickets_opened)" = 2 ] && [ "$(col units_inspected)" = 1 ]'
as ana stats --project 万科城 --format csv
check "--project 万科城 (by name): opened 6, units_inspected 8" \
    eval '[ "$rc" = 0 ] && [ "$(col tickets_opened)" = 6 ] && [ "$(col units_inspected)" = 8 ]'
as ana stats --contractor 东方雨虹 --format csv
check "--contractor 东方雨虹 (by name): opened 5" \
    eval '[ "$rc" = 0 ] && [ "$(col tickets_opened)" = 5 ]'
as ana stats --category 土建 --format csv
check "--category 土建: opened 4 (W3 W5 F1 F2); units are counted by place: still 9" \
    eval '[ "$rc" = 0 ] && [ "$(col tickets_opened)" = 4 ] && [ "$(col units_inspected)" = 9 ]'
as ana stats --category civil --format csv
check "--category civil gives the same" eval '[ "$rc" = 0 ] && [ "$(col tickets_opened)" = 4 ]'
as ana stats --layout TA --round mock1 --format csv
check "--layout TA --round mock1: 3 units, 6 items" \
    eval '[ "$rc" = 0 ] && [ "$(col units_inspected)" = 3 ] && [ "$(col items_found)" = 6 ]'
as ana stats --from "$(date -d '-22 days' +%F)" --to "$(date -d '-18 days' +%F)" --format csv
check "--from/--to around 翡翠公园's day: opened 2, of which 1 closed now; no events then" \
    eval '[ "$rc" = 0 ] && [ "$(col tickets_opened)" = 2 ] && [ "$(col closed_of_opened)" = 1 ] &&
          [ "$(col tickets_closed)" = 0 ] && [ "$(col verifications)" = 0 ]'
as ana stats --contractor 无此单位
check "an unknown contractor name: exit 1, said" \
    eval '[ "$rc" = 1 ] && grep -q "unknown --contractor" <<<"$err"'
as ana stats --category 无此专业
check "an unknown category: exit 1, said" eval '[ "$rc" = 1 ] && grep -q "no such category" <<<"$err"'
as ana stats --by company,company
check "--by the same dimension twice: exit 2" test "$rc" = 2

# --- the scorecard ----------------------------------------------------------------------------------
as ana stats scorecard --month "$this_month" --trade 土建 --format json
check "scorecard --trade 土建: 中建三局 rank 1, 东方雨虹 (no verification: absent rate) rank 2, of 2" \
    eval '[ "$rc" = 0 ] && python3 -c "
import json, sys
r = {x[\"contractor\"]: x for x in json.load(sys.stdin)}
assert sorted(r) == [\"东方雨虹\", \"中建三局\"], r
z, d = r[\"中建三局\"], r[\"东方雨虹\"]
assert (z[\"rank\"], z[\"peers\"], d[\"rank\"], d[\"peers\"]) == (1, 2, 2, 2), r
assert (z[\"tickets_assigned\"], z[\"repaired_reports\"], z[\"verifications\"], z[\"reworks\"]) == (4, 2, 2, 0), z
assert z[\"rework_rate\"] == 0 and z[\"late_repairs\"] == 1 and z[\"overdue_open_now\"] == 1, z
assert d[\"tickets_assigned\"] == 1 and d[\"rework_rate\"] is None, d" <<<"$out"'
as ana stats scorecard --month "$this_month" --trade waterproofing
check "scorecard as a table: 东方雨虹 防水, 4 assigned, rework 50.0%, rank 1/1" \
    eval '[ "$rc" = 0 ] && head -n 1 <<<"$out" | grep -q "^施工单位 .*排名" &&
          grep -E "^东方雨虹 +防水 +4 +2 " <<<"$out" | grep -q "50\.0%.* 1/1$"'

# --- who may ask -----------------------------------------------------------------------------------------
as cr1 stats --by company --format csv
check "a CR sees its own company only: one row, 深圳城市公司, opened 6" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(col company)" = 深圳城市公司 ] &&
          [ "$(col tickets_opened)" = 6 ]'
as cr1 stats --company "$gz" --format csv
check "... and nothing of the other company by its id (no rows)" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 0 ]'
as clerk1 stats --format csv
check "a clerk sees their project: opened 6" \
    eval '[ "$rc" = 0 ] && [ "$(col tickets_opened)" = 6 ]'
as dyh stats
check "a contractor is refused: exit 3" test "$rc" = 3
as dyh stats scorecard --month "$this_month"
check "... the scorecard too: exit 3" test "$rc" = 3

# --- an answer of several pages ----------------------------------------------------------------------
# 1,201 units of distinct layouts in a third project, each inspected: grouped by layout
# that is 1,204 groups with the three layouts above, streamed in 3 pages of at most 500
# rows, every group exactly once. (The 10,000-group limit itself is not exercised here:
# cl_stats takes about 40 s for 10,000 layout groups today, past the statement timeout.)
as admin project add --company "$city" 星河湾 --city 深圳 --format csv
p3=$(csv_col id)
{
    echo "building,unit,floor,layout"
    for i in $(seq 1 1201); do printf '9栋,9-%05d,1,L%05d\n' "$i" "$i"; done
} >"$work/units.csv"
as admin unit import --project "$p3" "$work/units.csv" --chunk 5000
check "1,201 units of distinct layouts imported" test "$rc" = 0
# Their inspection records are written by psql in one statement: through cloop they would
# take minutes under the sanitizers, and what is tested here is the answer's size.
as admin round add --project "$p3" --kind mock1
psql "$CLOSELOOP_DB_CONNINFO" -qAt -v ON_ERROR_STOP=1 -c "
SET closeloop.actor = '{\"user_id\": 1, \"username\": \"admin\"}';
INSERT INTO inspection_records (project_id, unit_id, round_id, inspected_on, inspector)
SELECT u.project_id, u.id, r.id, '$d20', '赵工' FROM units u
  JOIN inspection_rounds r ON r.project_id = u.project_id AND r.kind = 'mock1'
 WHERE u.project_id = $p3" >/dev/null
check "... and an inspection record of each (psql)" \
    test "$(psql "$CLOSELOOP_DB_CONNINFO" -qAtX -c "SELECT count(*) FROM inspection_records WHERE project_id = $p3")" = 1201
as ana stats --by layout --format csv
check "--by layout: 1,204 distinct groups over 3 pages, not truncated" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1204 ] &&
          [ "$(printf "%s\n" "$out" | sed 1d | cut -d, -f1 | sort -u | grep -c .)" = 1204 ] &&
          [ "$(col units_inspected layout L01201)" = 1 ] && ! grep -q truncated <<<"$err"'
as ana stats --by layout --project 星河湾 --layout L00042 --format csv
check "... one of them alone: --layout L00042 gives one unit, inspected once" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(col units_total)" = 1 ] && [ "$(col units_inspected)" = 1 ]'

report_and_exit
