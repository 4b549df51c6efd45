#!/usr/bin/env bash
# test_cli_lessons.sh - lessons pushed to the site, duplicates flagged at entry, and the
# defect reports, through cloop end to end:
#  - check points derived when a project's mock1 round is created (by `round add`, and
#    by the first item of the round), with exact counts for projects that match and do
#    not match each case (layouts, trades, specialty, status), `--refresh`;
#  - `kb checklist --pass` and `--found` (found: an item naming the case, with its
#    ticket, through the item request; the check point found), their refusals, and a
#    check point found from a day's CSV (its case_code column);
#  - `kb lessons` counts per project, `kb match` the most similar case;
#  - the duplicate flag: exact count on an import and on one record, nothing refused;
#  - `report defects` and `report periodic` in table, CSV, JSON and HTML (counts).
# The cases and defects are inserted with psql as postgres: the knowledge base's import
# (kb import) and the defect workflow are other parts of issue 9, not on this branch.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP, like the other cli tests.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch clilessons
start_server_with_db

# csv_section NAME: $out cut to the CSV block after the line "# NAME" (up to a blank line).
csv_section() { out=$(awk -v s="# $1" '$0 == s {on = 1; next} on && $0 == "" {exit} on' <<<"$out"); }
actor="SET closeloop.actor = '{\"user_id\": 1, \"username\": \"admin\"}';"

# --- three projects of one city company ------------------------------------------------
setup_project 万科城 2027-06-30 # $p: TA units, trades waterproofing and civil
pa=$p
as admin project add --company "$city" 翡翠公园 --city 深圳 --format csv # TB, doors_windows
pb=$(csv_col id)
as admin project add --company "$city" 星河湾 --city 深圳 --format csv # TA, no trades yet
pc=$(csv_col id)
as admin building add --project "$pa" 1栋 --floors 30 --format csv
ba=$(csv_col id)
as admin building add --project "$pb" 2栋 --floors 30 --format csv
bb=$(csv_col id)
as admin building add --project "$pc" 3栋 --floors 30 --format csv
bc=$(csv_col id)
for u in 1-1-101 1-1-102 1-1-103 1-1-104; do as admin unit add --building "$ba" "$u" --layout TA; done
as admin unit add --building "$bb" 2-1-101 --layout TB
as admin unit add --building "$bc" 3-1-101 --layout TA
as admin contractor add 东方雨虹 --trades waterproofing,civil,doors_windows --format csv
cw=$(csv_col id)
as admin trade assign --project "$pa" --trade waterproofing --contractor "$cw"
as admin trade assign --project "$pa" --trade civil --contractor "$cw"
as admin trade assign --project "$pb" --trade doors_windows --contractor "$cw"
export CLOSELOOP_NEW_PASSWORD=$pw
as admin user add clerk1 --role clerk --projects "$pa,$pb,$pc"
as admin user add dyh --role contractor --contractor "$cw"
unset CLOSELOOP_NEW_PASSWORD
login clerk1
login dyh
check "three projects, units, trades and users are set up" test "$rc" = 0

# --- cases (psql: kb import is not on this branch) -----------------------------------
sql "$actor
INSERT INTO kb_cases (code, title, description, kind, specialty, category, layouts) VALUES
 ('SJ01', '天窗渗水', 'TA户型屋面天窗周边渗水，雨后顶棚水渍', 'product', 'engineering',
  'waterproofing', '{TA}'),
 ('K02', '外墙空鼓', '外墙抹灰空鼓开裂', 'product', 'engineering', 'civil', '{}'),
 ('K03', '销售承诺与交付不符', '园林承诺未兑现', 'service', 'sales', NULL, '{}'),
 ('K05', '窗框渗水', '外窗窗框与墙体交接处渗水', 'product', 'design', 'doors_windows', '{}');
INSERT INTO kb_cases (code, title, kind, specialty, status, retired_at)
VALUES ('K04', '已退役的案例', 'product', 'engineering', 'retired', now());"
check "five cases inserted" test "$(sql 'SELECT count(*) FROM kb_cases')" = 5

# --- check points derived with the mock1 round ---------------------------------------
as admin round add --project "$pa" --kind mock1 --start 2026-11-01 --end 2026-12-31
check "round add mock1 for 万科城" test "$rc" = 0
as admin round add --project "$pc" --kind mock1 --start 2026-11-01 --end 2026-12-31
as admin round add --project "$pa" --kind mock2 --start 2027-01-01 --end 2027-02-01
check "a mock2 round derives no check points" \
    test "$(sql "SELECT count(*) FROM round_checkpoints rc JOIN inspection_rounds r ON r.id = rc.round_id WHERE r.kind = 'mock2'")" = 0

as clerk1 kb checklist --project "$pa" --format csv
check "kb checklist 万科城 (TA, waterproofing+civil): exactly SJ01 and K02, pending" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2 ] && [ "$(csv_col status case_code SJ01)" = pending ] &&
          [ "$(csv_col status case_code K02)" = pending ] && ! grep -q "K0[345]" <<<"$out"'
as clerk1 kb checklist --project "$pc" --format csv
check "kb checklist 星河湾 (TA, no trades yet): SJ01, K02 and K05" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 3 ] && [ -n "$(csv_col title case_code K05)" ]'
as clerk1 kb checklist --project "$pb"
check "kb checklist 翡翠公园 before any round: exit 1, no mock1 round" \
    eval '[ "$rc" = 1 ] && grep -q "has no mock1 round" <<<"$err"'
# The first item of 翡翠公园's mock1 round creates the round: the trigger derives too.
as clerk1 inspect record --project "$pb" --unit 2-1-101 --round mock1 --date 2026-11-20 \
    --location 客厅 --category doors_windows --severity minor 窗户关不严
as clerk1 kb checklist --project "$pb" --format csv
check "kb checklist 翡翠公园 (TB, doors_windows) after its first item: exactly K05" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(csv_col case_code)" = K05 ]'
as clerk1 kb checklist --project "$pa"
check "kb checklist table output has Chinese headers and labels" \
    eval '[ "$rc" = 0 ] && grep -q "案例编号" <<<"$out" && grep -q "天窗渗水" <<<"$out" &&
          [ "$(grep -c "未检查" <<<"$out")" = 2 ] && ! grep -qw pending <<<"$out"'
as dyh kb checklist --project "$pa"
check "a contractor may not read check points (exit 3)" test "$rc" = 3

# --- pass, found ----------------------------------------------------------------------
as clerk1 kb checklist --project "$pa" --pass K02 --note 已检查外墙无空鼓 --format csv
check "--pass K02: passed, by clerk1, with its note" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col status case_code K02)" = passed ] &&
          [ "$(csv_col recorded_by case_code K02)" = clerk1 ] &&
          [ "$(csv_col note case_code K02)" = 已检查外墙无空鼓 ]'
as clerk1 kb checklist --project "$pa" --pass NOPE
check "--pass of a code that is no check point: exit 1" \
    eval '[ "$rc" = 1 ] && grep -q "not a check point" <<<"$err"'
as dyh kb checklist --project "$pa" --pass K02
check "a contractor may not record a check point (exit 3)" test "$rc" = 3

tickets0=$(sql "SELECT count(*) FROM tickets WHERE project_id = $pa")
as clerk1 kb checklist --project "$pa" --found SJ01 --unit 1-1-101 --location 屋面 \
    --date 2026-11-21 --format csv
check "--found SJ01: an item with its ticket, the check point found" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col status)" = found ] && [ -n "$(csv_col ticket)" ] &&
          [ "$(csv_col state)" = open ]'
found_item=$(csv_col item_id)
check "... the item names case SJ01, in the mock1 round, waterproofing, with its ticket" \
    test "$(sql "SELECT count(*) FROM inspection_items i JOIN kb_cases k ON k.id = i.case_id
                  JOIN inspection_rounds r ON r.id = i.round_id JOIN tickets t ON t.id = i.id
                 WHERE i.id = '$found_item' AND k.code = 'SJ01' AND r.kind = 'mock1'
                   AND i.category = 'waterproofing' AND t.state = 'open'")" = 1
check "... exactly one more ticket in the project" \
    test "$(sql "SELECT count(*) FROM tickets WHERE project_id = $pa")" = $((tickets0 + 1))
as clerk1 kb checklist --project "$pa" --format csv
check "... and the checklist shows SJ01 found by clerk1 with 1 item" \
    eval '[ "$(csv_col status case_code SJ01)" = found ] &&
          [ "$(csv_col recorded_by case_code SJ01)" = clerk1 ] && [ "$(csv_col items case_code SJ01)" = 1 ]'
as clerk1 kb checklist --project "$pa" --pass SJ01
sj01=$(sql "SELECT rc.status FROM round_checkpoints rc JOIN kb_cases k ON k.id = rc.case_id
            WHERE k.code = 'SJ01' AND rc.project_id = $pa")
check "--pass of a found check point: exit 1 (conflict), it stays found" \
    eval '[ "$rc" = 1 ] && grep -q "stays found" <<<"$err" && [ "$sj01" = found ]'
as clerk1 kb checklist --project "$pa" --found K05 --unit 1-1-101 --location 客厅
check "--found of a case that is no check point here: exit 1, nothing recorded" \
    eval '[ "$rc" = 1 ] && grep -q "not a check point" <<<"$err" &&
          [ "$(sql "SELECT count(*) FROM tickets WHERE project_id = $pa")" = $((tickets0 + 1)) ]'

# A day's CSV can carry the check point found (case_code): 星河湾's K05.
{
    echo "project,unit,round,inspected_on,inspector,location,category,description,severity,case_code"
    echo "$pc,3-1-101,mock1,2026-11-21,王工,客厅,doors_windows,窗框与墙体交接处渗水,major,K05"
} >"$work/found.csv"
cp "$work/found.csv" "$work/bad.csv"
echo "$pc,3-1-101,mock1,2026-11-21,王工,客厅,doors_windows,又一处渗水,major,NOPE" >>"$work/bad.csv"
as clerk1 inspect import "$work/bad.csv"
check "inspect import with an unknown case_code: exit 1, the line named, nothing recorded" \
    eval '[ "$rc" = 1 ] && grep -q "bad.csv:3: case_code .NOPE. is not an active case" <<<"$err" &&
          [ "$(sql "SELECT count(*) FROM inspection_items WHERE project_id = $pc")" = 0 ]'
as clerk1 inspect import "$work/found.csv" --format csv
as clerk1 kb checklist --project "$pc" --format csv
check "inspect import with case_code K05: recorded, 星河湾's K05 check point found with 1 item" \
    eval '[ "$(csv_col status case_code K05)" = found ] && [ "$(csv_col items case_code K05)" = 1 ] &&
          [ "$(csv_col status case_code SJ01)" = pending ]'

# --- refresh: a case added later ------------------------------------------------------
sql "$actor INSERT INTO kb_cases (code, title, kind, specialty) VALUES ('K06', '入户门变形', 'product', 'engineering');"
as clerk1 kb checklist --project "$pa" --format csv
check "a new case is not a check point before --refresh (still 2)" test "$(data_rows)" = 2
as clerk1 kb checklist --project "$pa" --refresh --format csv
check "--refresh adds K06 (3), keeps SJ01 found and K02 passed" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 3 ] && [ "$(csv_col status case_code K06)" = pending ] &&
          [ "$(csv_col status case_code SJ01)" = found ] && [ "$(csv_col status case_code K02)" = passed ]'

# --- HQ: lessons per project ----------------------------------------------------------
as admin kb lessons --format json
check "kb lessons: 万科城 3 check points, 1 passed, 1 found, 1 never looked at" \
    json_has '[x for x in d["projects"] if x["project"] == "万科城"] == [dict(project_id='"$pa"', project="万科城", checkpoints=3, passed=1, found=1, pending=1)]'
check "... 翡翠公园 1 (1 pending), 星河湾 3 (2 pending), and 7 rows per case" \
    json_has '{x["project"]: (x["checkpoints"], x["pending"]) for x in d["projects"]} == {"万科城": (3, 1), "翡翠公园": (1, 1), "星河湾": (3, 2)} and len(d["cases"]) == 7'
as admin kb lessons --format html
echo "$out" >"$work/lessons.html"
check "kb lessons (HTML): an A4 page, 3 project rows and 7 check point rows" \
    eval '[ "$rc" = 0 ] && grep -q "<h1>经验教训落地情况 Lessons on site</h1>" <<<"$out" &&
          [ "$(grep -c "^<tr><td class=\"num\">" <<<"$out")" = 10 ] && grep -q "再次发现" <<<"$out"'
as admin kb lessons --project "$pb" --format csv
check "kb lessons --project 翡翠公园: its one case row" \
    eval '[ "$rc" = 0 ] && grep -c "^$pb,翡翠公园,mock1,K05," <<<"$out" | grep -qx 1'

# --- duplicates flagged at entry ------------------------------------------------------
{
    echo "project,unit,round,inspected_on,inspector,location,category,description,severity"
    echo "$pa,1-1-102,mock1,2026-11-22,王工,卫生间,waterproofing,卫生间地漏周边渗水,minor"
    echo "$pa,1-1-102,mock1,2026-11-22,王工,卫生间,waterproofing,卫生间地漏周边渗水严重,minor"
    echo "$pa,1-1-102,mock1,2026-11-22,王工,卫生间,civil,卫生间地漏周边渗水,minor"
    echo "$pa,1-1-103,mock1,2026-11-22,王工,卫生间,waterproofing,卫生间地漏周边渗水,minor"
    echo "$pa,1-1-102,mock1,2026-11-22,王工,厨房,waterproofing,厨房吊顶开裂,minor"
} >"$work/day.csv"
as clerk1 inspect import "$work/day.csv" --format csv
check "inspect import of 5 items: all 5 recorded, 1 flagged as a probable duplicate" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 5 ] && [ "$(csv_col duplicates_flagged)" = 1 ] &&
          [ "$(csv_col rejected_rows)" = 0 ]'
check "... one warning line, for line 3, naming the earlier ticket" \
    eval '[ "$(grep -c "可能重复" <<<"$err")" = 1 ] && grep -q "day.csv:3: warning: 可能重复: 维修单 #[0-9]* 与 #[0-9]* 相似" <<<"$err"'
check "... stored: exactly one item with dup_of, pointing at line 2's item" \
    test "$(sql "SELECT count(*) FROM inspection_items i JOIN inspection_items e ON e.id = i.dup_of
                 WHERE i.description = '卫生间地漏周边渗水严重' AND e.description = '卫生间地漏周边渗水'
                   AND e.category = 'waterproofing'")/$(sql 'SELECT count(*) FROM inspection_items WHERE dup_of IS NOT NULL')" = 1/1
first=$(sql "SELECT t.number FROM tickets t JOIN inspection_items i ON i.id = t.id JOIN units u ON u.id = i.unit_id
              WHERE u.number = '1-1-103'")
as clerk1 inspect record --project "$pa" --unit 1-1-103 --round mock1 --date 2026-11-23 \
    --location 卫生间 --category waterproofing --severity minor 卫生间地漏周边渗水
check "inspect record of a repeat: recorded (exit 0), flagged 与 #$first, count 1" \
    eval '[ "$rc" = 0 ] && grep -q "可能重复: 维修单 #[0-9]* 与 #$first 相似" <<<"$err" &&
          grep -q "duplicates flagged: 1" <<<"$err"'
check "... 2 flagged items stored in all" \
    test "$(sql 'SELECT count(*) FROM inspection_items WHERE dup_of IS NOT NULL')" = 2

# --- kb match -------------------------------------------------------------------------
as clerk1 inspect record --project "$pa" --unit 1-1-104 --round mock1 --date 2026-11-24 \
    --location 屋面 --category waterproofing --severity major 屋面天窗周边渗水
as admin kb match --project "$pa" --since 2026-11-24 --format csv
check "kb match: the skylight item's most similar case is SJ01" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(csv_col case_code description 屋面天窗周边渗水)" = SJ01 ]'
as admin kb match --project "$pa" --since 2026-11-22 --format csv
check "kb match since 11-22: the 厨房吊顶开裂 item matches no case above the score" \
    eval '[ "$rc" = 0 ] && ! grep -q 厨房吊顶开裂 <<<"$out" && [ "$(csv_col case_code description 屋面天窗周边渗水)" = SJ01 ]'

# --- the reports (defects by psql: the workflow is another part of issue 9) -----------
sql "$actor
INSERT INTO departments (company_id, name, kind) VALUES ($city, '工程管理部', 'engineering');
INSERT INTO defects (project_id, code, title, source, kind, specialty, category, layouts,
                     found_on, responsible_dept_id, cause_analysis, corrective_measures,
                     preventive_measures, grade, repairable, state)
VALUES ($pa, 'SJ01', '天窗渗水', 'mock_inspection', 'product', 'engineering', 'waterproofing',
        '{TA}', '2026-11-10', (SELECT id FROM departments WHERE name = '工程管理部'),
        '天窗收口防水做法不当', '重做天窗收口', '设计图纸增加节点详图', 'A', true, 'filed'),
       ($pa, 'SJ02', '信报箱位置不当', 'complaint', 'product', 'design', NULL, '{}',
        '2026-11-15', NULL, '', '', '', NULL, NULL, 'collected'),
       ($pa, 'SJ03', '去年的缺陷', 'patrol', 'product', 'engineering', NULL, '{}',
        '2025-01-01', NULL, '', '', '', NULL, NULL, 'collected');
INSERT INTO defect_items (defect_id, item_id, project_id)
SELECT (SELECT id FROM defects WHERE code = 'SJ01'), i.id, i.project_id
  FROM inspection_items i WHERE i.project_id = $pa AND i.category = 'waterproofing'
   AND i.description LIKE '%渗水%';
INSERT INTO kb_cases (code, defect_id, title, kind, specialty)
VALUES ('SJ01-2026', (SELECT id FROM defects WHERE code = 'SJ01'), '天窗渗水', 'product', 'engineering');"
impact=$(sql "SELECT count(DISTINCT i.unit_id) FROM defect_items di JOIN inspection_items i ON i.id = di.item_id
               JOIN defects d ON d.id = di.defect_id WHERE d.code = 'SJ01'")
check "the report's fixture: SJ01 linked to items of $impact units (more than 1)" test "$impact" -gt 1

as admin report defects --project "$pa" --from 2026-11-01 --to 2026-11-30 --format csv
check "report defects (CSV): 2 defects in November, SJ01 impact $impact, department, measures" \
    eval '[ "$rc" = 0 ] && [ "$(grep -c "^SJ0" <<<"$out")" = 2 ] && [ "$(csv_col impact_units code SJ01)" = "$impact" ] &&
          [ "$(csv_col department code SJ01)" = 工程管理部 ] && [ "$(csv_col state code SJ01)" = filed ] &&
          [ "$(csv_col measures code SJ01)" = "重做天窗收口 设计图纸增加节点详图" ] && ! grep -q SJ03 <<<"$out"'
as admin report defects --project "$pa" --from 2026-11-01 --to 2026-11-30 --format json
check "report defects (JSON): 2 defects, SJ01 grade A, repairable yes" \
    json_has 'len(d["defects"]) == 2 and [x for x in d["defects"] if x["code"] == "SJ01"][0]["grade"] == "A" and [x for x in d["defects"] if x["code"] == "SJ01"][0]["repairable"] == "yes" and d["title"] == "万科城"'
as admin report defects --project "$pa" --from 2026-11-01 --to 2026-11-30
check "report defects (table): Chinese headers and labels (来源 模拟验收 ...)" \
    eval '[ "$rc" = 0 ] && grep -q "缺陷信息反馈报告" <<<"$out" && grep -q "影响户数" <<<"$out" &&
          grep -q "模拟验收" <<<"$out" && grep -q "已报总部备案" <<<"$out" &&
          ! grep -q "mock_inspection" <<<"$out"'
as admin report defects --project "$pa" --from 2026-11-01 --to 2026-11-30 --format html
echo "$out" >"$work/defects.html"
check "report defects (HTML): an A4 page titled 缺陷信息反馈报告 with 2 rows" \
    eval '[ "$rc" = 0 ] && grep -q "<h1>缺陷信息反馈报告 Defect feedback report</h1>" <<<"$out" &&
          grep -q "@page { size: A4" <<<"$out" && [ "$(grep -c "^<tr><td class=\"nw\">SJ0" <<<"$out")" = 2 ]'
as admin report defects --project "$pa" --from 2026-12-01 --to 2026-11-30
check "report defects with --from after --to: exit 2" test "$rc" = 2
as dyh report defects --project "$pa" --from 2026-11-01 --to 2026-11-30
check "a contractor may not read the defect report (exit 3)" test "$rc" = 3

today=$(date +%F)
as admin report periodic --company "$city" --from 2026-11-01 --to "$today" --format csv
all=$out
csv_section summary
check "report periodic (CSV): 2 defects, 1 case accepted, check points 1 passed, 2 found, 4 never looked at" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col defects)" = 2 ] && [ "$(csv_col cases_accepted)" = 1 ] &&
          [ "$(csv_col checkpoints_passed)" = 1 ] && [ "$(csv_col checkpoints_found)" = 2 ] &&
          [ "$(csv_col checkpoints_never_looked)" = 4 ]'
out=$all
csv_section counts
check "... counts: state filed 1, collected 1; source mock_inspection 1, complaint 1" \
    eval 'grep -qx "state,filed,1" <<<"$out" && grep -qx "state,collected,1" <<<"$out" &&
          grep -qx "source,mock_inspection,1" <<<"$out" && grep -qx "source,complaint,1" <<<"$out" &&
          grep -qx "specialty,design,1" <<<"$out" && grep -qx "grade,A,1" <<<"$out"'
as admin report periodic --company "$city" --from 2026-11-01 --to "$today" --format json
check "report periodic (JSON): summary and 8 count rows" \
    json_has 'd["summary"][0]["defects"] == 2 and len(d["counts"]) == 8 and d["title"] == "深圳城市公司"'
as admin report periodic --company "$city" --from 2026-11-01 --to "$today" --format html
echo "$out" >"$work/periodic.html"
check "report periodic (HTML): A4 page, every state of the registry with its label and count" \
    eval '[ "$rc" = 0 ] && grep -q "<h1>缺陷管理定期报告 Periodic defect report</h1>" <<<"$out" &&
          grep -q "按状态 By state" <<<"$out" && grep -q "按来源 By source" <<<"$out" &&
          [ "$(grep -c "^<tr><td" <<<"$out")" -ge 25 ] && grep -q "已报总部备案" <<<"$out"'
as admin report periodic --company "$city" --from 2026-11-01 --to "$today"
check "report periodic (table): the summary and four dimension tables" \
    eval '[ "$rc" = 0 ] && grep -q "按等级 By grade" <<<"$out" && grep -q "按专业 By specialty" <<<"$out"'
if [ -n "${CL_KEEP_HTML:-}" ]; then cp "$work"/*.html "$CL_KEEP_HTML"/; fi

# --- shutdown ------------------------------------------------------------------------
stop_daemon "$dpid"
check "closeloopd exits 0 on SIGTERM" test "$?" = 0
check "... and its log has no sanitizer report" \
    eval '! grep -q "ERROR: AddressSanitizer\|runtime error:" "$work/daemon.log"'

report_and_exit
