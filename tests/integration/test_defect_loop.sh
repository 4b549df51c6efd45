#!/usr/bin/env bash
# test_defect_loop.sh - issue 9's "done when", played through cloop only: the whole defect
# feedback loop of the seeds' SJ01 (feedback -> analysis and rectification -> inheritance
# and use), against a throwaway PostgreSQL and the real closeloopd over TLS.
#
#   1. 56 TA-layout units of 比华利山 get skylight-leak items in the mock-1 round (with
#      the wording varying as inspectors write it, and items of other kinds beside them);
#   2. the recurring-defect proposal appears with impact 56 (units counted, not items);
#   3. customer relations creates SJ01 from it; the decision meeting grades it A;
#   4. the responsible department plans and rectifies it, the cost department estimates,
#      customer relations verifies and files it with HQ, and HQ accepts it as a case;
#   5. a new project with a TA layout plans its mock-1 round: the skylight case is a check
#      point of that round, and a project without TA units does not get it;
#   6. the inspector records it as found: an item linked to the case appears, with its
#      ticket, and HQ's lessons view counts it as found again.
# Also: a non-repairable defect without the superior leader's approval is refused (exit 3,
# ERR_PRECONDITION's sentence), and `kb search 天窗渗水` and `kb search 渗水` find the case.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP; lib.sh does the setup.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch defectloop

start_server_with_db
setup_project 比华利山 2027-06-30
P=$p
as admin project prefix "$P" SJ --format csv
check "project 比华利山 (id $P) numbers its defects SJ" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col defect_prefix)" = SJ ]'

# --- the people: customer relations, the departments, HQ --------------------------------
as admin dept add --company "$city" 总经理办公室 --kind gm_office --format csv
gm=$(csv_col id)
as admin dept add --company "$city" 设计管理部 --kind design --parent "$gm" --format csv
design=$(csv_col id)
as admin dept add --company "$city" 成本部 --kind cost --format csv
cost=$(csv_col id)
check "departments: 设计管理部 under 总经理办公室, 成本部" \
    eval '[ -n "$gm" ] && [ -n "$design" ] && [ -n "$cost" ]'
add_user cr1 cr --company "$city" --name 比华利山客关
add_user des1 dept --company "$city" --department "$design" --name 设计管理部王工
add_user cost1 dept --company "$city" --department "$cost" --name 成本部李工
add_user gm1 dept --company "$city" --department "$gm" --name 总经理
as admin dept leader "$gm" gm1 --format csv
check "gm1 leads 总经理办公室, the design department's superior" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col leader)" = gm1 ]'
as admin dept leader "$gm" des1
check "a member of the design department cannot be made its superior's leader (exit 1)" \
    eval '[ "$rc" = 1 ] && grep -q "member of the department" <<<"$err"'
as admin dept leader "$gm" cr1
check "... nor customer relations (exit 1): no one approves their own defect" test "$rc" = 1
as admin dept list --format csv
check "... 总经理办公室's leader is still gm1" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col leader name 总经理办公室)" = gm1 ]'

# --- 1. 56 TA units with leaking skylights -----------------------------------------------
python3 - "$work" "$P" <<'PY'
import sys
w, p = sys.argv[1], sys.argv[2]
units = [f"1-{i // 4 + 1:02d}{i % 4 + 1:02d}" for i in range(56)]
with open(f"{w}/units.csv", "w", encoding="utf-8") as f:
    f.write("building,unit,floor,layout\n")
    for i, u in enumerate(units):
        f.write(f"1栋,{u},{i // 4 + 1},TA\n")
    for i in range(8):
        f.write(f"2栋,2-01{i + 1:02d},1,TB\n")
# As inspectors write it: the same leak in four wordings.
words = ["天窗渗水", "屋面天窗渗水", "天窗渗水，需处理", "天窗四周渗水"]
with open(f"{w}/items.csv", "w", encoding="utf-8") as f:
    f.write("project,unit,round,inspected_on,inspector,location,category,description,severity\n")
    for i, u in enumerate(units):
        f.write(f"{p},{u},mock1,2026-11-20,王工,屋面,waterproofing,{words[i % 4]},major\n")
    for i in range(10):   # other items of the same units: not part of the defect
        f.write(f"{p},{units[i]},mock1,2026-11-20,王工,客厅,civil,墙面空鼓,minor\n")
    for i in range(2):    # two TB units with a skylight leak: another layout, below 3 units
        f.write(f"{p},2-01{i + 1:02d},mock1,2026-11-20,王工,屋面,waterproofing,天窗渗水,major\n")
PY
as admin unit import --project "$P" "$work/units.csv" --format csv
check "64 units imported (56 TA, 8 TB)" eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 64 ]'
as admin round add --project "$P" --kind mock1 --format csv
check "round mock1 of 比华利山" test "$rc" = 0
as admin inspect import "$work/items.csv" --format csv
check "68 items imported: 56 skylight leaks, 10 hollow walls, 2 TB leaks" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 68 ]'

# --- 2. the proposal: 56 units ---------------------------------------------------------
as cr1 defect proposals --project "$P" --round mock1 --format csv
check "two recurring-defect proposals: the skylight leak, and the hollow walls of 10 units" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2 ] && [ "$(csv_col units category civil)" = 10 ]'
check "... the skylight leak over 56 TA units, 56 items, category waterproofing" \
    eval '[ "$(csv_col units layout TA category waterproofing)" = 56 ] &&
          [ "$(csv_col items layout TA category waterproofing)" = 56 ]'
seed=$(csv_col seed layout TA category waterproofing)
check "... the TB leaks (2 units) are not proposed" \
    eval '! grep -q ",TB," <<<"$out"'

# --- 3. SJ01 from the proposal, the meeting grades it A ---------------------------------
as cr1 defect from-items --project "$P" --proposal "$seed" --title "TA户型屋面天窗渗水" \
    --source mock_inspection --kind product --specialty design --layout TA --location 屋面 \
    --risk "雨季渗水投诉" --loss 280000 --format csv
check "from-items: SJ01, impact 56 units" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col code)" = SJ01 ] && [ "$(csv_col impact_units)" = 56 ]'
D=$(csv_col id)
as cr1 defect show SJ01 --format json
check "... found on 2026-11-20, the day its items were found (not today)" \
    eval '[ "$rc" = 0 ] && json_has "[f[\"value\"] for f in d[\"defect\"] if f[\"field\"].startswith(\"发现日期\")] == [\"2026-11-20\"]"'

as cr1 defect meet SJ01 --attendees "客关部 张三, 设计管理部 王工, 工程管理部 李四" \
    --minutes "天窗盖与框不密实，门扇与门框密封不严，反槛与斜面结构板不密实，门框倒置安装" \
    --cause "天窗节点未做专项设计，采用木材" \
    --corrective "56户天窗重新密封，倒置门框重装" \
    --preventive "天窗避免使用木材；节点构造按工程标准设计" --department "$design" --format csv
check "the decision meeting: analysed, responsible 设计管理部" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col state)" = analysed ]'
as cr1 defect decide SJ01 --grade A --repairable yes --format csv
check "decided: grade A, repairable" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col grade)" = A ] && [ "$(csv_col state)" = decided ]'

# --- 4. rectified, verified, filed, accepted --------------------------------------------
as des1 defect plan SJ01 --plan "56户天窗重做密封与泛水" --format csv
check "plan by the design department: planned" eval '[ "$rc" = 0 ] && [ "$(csv_col state)" = planned ]'
as cost1 defect estimate SJ01 --cost 168000 --format csv
check "estimate by the cost department" eval '[ "$rc" = 0 ] && [ "$(csv_col state)" = planned ]'
as des1 defect rectify SJ01 --note "56户整改完成" --format csv
check "rectified" eval '[ "$rc" = 0 ] && [ "$(csv_col state)" = rectified ]'
as cr1 defect verify SJ01 --pass --note "复查合格" --format csv
check "verified by customer relations" eval '[ "$rc" = 0 ] && [ "$(csv_col state)" = verified ]'
as cr1 defect file SJ01 --note "报集团客户关系中心备案" --format csv
check "filed with HQ" eval '[ "$rc" = 0 ] && [ "$(csv_col state)" = filed ]'
as admin kb accept SJ01 --note 集团推广 --format csv
check "HQ accepts it: case SJ01, revision 1" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col case)" = SJ01 ] && [ "$(csv_col revision)" = 1 ]'
as cr1 defect show SJ01
check "defect show: accepted, the whole history of 9 steps" \
    eval '[ "$rc" = 0 ] && grep -q "history (9)" <<<"$out"'
as admin kb show SJ01 --format csv
check "kb show SJ01: impact 56 units counted from the items, the prevention kept" \
    eval '[ "$rc" = 0 ] && grep -qx "impact_units,56" <<<"$out" &&
          grep -q "^preventive_measures,天窗避免使用木材" <<<"$out"'

# --- search finds the case ---------------------------------------------------------------
as admin kb search 天窗渗水 --format csv
check "kb search 天窗渗水 finds SJ01" eval '[ "$rc" = 0 ] && grep -q "^SJ01," <<<"$out"'
as admin kb search 渗水 --format csv
check "kb search 渗水 finds SJ01" eval '[ "$rc" = 0 ] && grep -q "^SJ01," <<<"$out"'

# --- 5. a new project with a TA layout gets the check point ------------------------------
as admin project add --company "$city" 新城花园 --city 深圳 --format csv
P2=$(csv_col id)
as admin project add --company "$city" 滨海公寓 --city 深圳 --format csv
P3=$(csv_col id)
printf 'building,unit,floor,layout\nA栋,A-0101,1,TA\nA栋,A-0102,1,TB\n' >"$work/u2.csv"
printf 'building,unit,floor,layout\nB栋,B-0101,1,TC\n' >"$work/u3.csv"
as admin unit import --project "$P2" "$work/u2.csv" --format csv
as admin unit import --project "$P3" "$work/u3.csv" --format csv
as admin round add --project "$P2" --kind mock1 --format csv
check "新城花园 plans its first mock inspection" test "$rc" = 0
as admin round add --project "$P3" --kind mock1 --format csv
as cr1 kb checklist --project "$P2" --format csv
check "its mock-1 round has one check point, the skylight case SJ01, pending" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(csv_col status case_code SJ01)" = pending ]'
as cr1 kb checklist --project "$P3" --format csv
check "a project without TA units: the listing succeeds and holds no check point" \
    eval '[ "$rc" = 0 ] && grep -q "^case_code," <<<"$out" && [ "$(data_rows)" = 0 ]'

# --- 6. found again on site --------------------------------------------------------------
as cr1 kb checklist --project "$P2" --found SJ01 --unit A-0101 --location 屋面 \
    --description "天窗渗水" --format csv
check "the inspector records SJ01 as found" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col status)" = found ]'
as cr1 kb checklist --project "$P2" --format csv
check "... the check point is found, by cr1, with 1 item naming the case" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col status case_code SJ01)" = found ] &&
          [ "$(csv_col recorded_by case_code SJ01)" = cr1 ] && [ "$(csv_col items case_code SJ01)" = 1 ]'
as cr1 ticket todispatch --project "$P2" --format csv
check "... an item linked to the case appeared, with its ticket" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && grep -q "天窗渗水" <<<"$out"'
add_user clerk2 clerk --projects "$P2" --name 新城花园录入员
as clerk2 kb search 天窗渗水 --items --limit 100 --format csv
check "kb search --items as 新城花园's clerk: only that project's item (1), not 比华利山's" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && ! grep -q 比华利山 <<<"$out"'
as admin kb search 天窗渗水 --items --limit 100 --format csv
check "... while HQ finds all 59 (56 + 2 TB + 1) across both projects" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 59 ]'
as admin kb lessons --project "$P2" --format json
check "HQ's lessons view: 新城花园 has 1 check point, found again, none passed or pending" \
    json_has '[(x["checkpoints"], x["passed"], x["found"], x["pending"]) for x in d["projects"]] == [(1, 0, 1, 0)]'

# --- a non-repairable defect is refused without the approval ------------------------------
as cr1 defect add --project "$P" --title "层高不足" --source mock_inspection --kind product \
    --specialty design --format csv
as cr1 defect meet SJ02 --attendees 客关,设计 --minutes 设计层高偏低 --department "$design" --format csv
as cr1 defect decide SJ02 --grade B --repairable no --format csv
as des1 defect plan SJ02 --plan "后续项目层高按标准设计"
check "non-repairable without approval: refused (exit 3) with the rule" \
    eval '[ "$rc" = 3 ] && grep -q "不可修复缺陷须经上级部门主管领导审批" <<<"$err"'
as gm1 defect approve SJ02 --note 同意 --format csv
check "the superior department's leader approves" test "$rc" = 0
as des1 defect plan SJ02 --plan "后续项目层高按标准设计" --format csv
check "... then the measures are reported to the GM office" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col state)" = reported ]'

# --- codes name one defect; a long word does not refuse an item ------------------------
as admin project prefix "$P" AB --format csv
check "比华利山 changes its prefix to AB" eval '[ "$rc" = 0 ] && [ "$(csv_col defect_prefix)" = AB ]'
as admin project prefix "$P2" SJ
check "新城花园 may not take SJ: 比华利山 numbered SJ01 and SJ02 under it (exit 1)" \
    eval '[ "$rc" = 1 ] && grep -q "prefix SJ is taken" <<<"$err"'
long=$(python3 -c 'print("㎉" * 600)')
printf 'project,unit,round,inspected_on,inspector,location,category,description,severity\n%s,A-0102,mock1,2026-11-22,王工,客厅,civil,%s,minor\n' \
    "$P2" "$long" >"$work/long.csv"
as admin inspect import "$work/long.csv" --format csv
check "an item described by one 2,400-letter word (㎉ folds to kcal) is recorded" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 1 ]'

# --- shutdown ------------------------------------------------------------------------
stop_daemon "$dpid"
check "closeloopd exits 0 on SIGTERM" test "$?" = 0
check "... and its log has no sanitizer report" \
    eval '! grep -q "ERROR: AddressSanitizer\|runtime error:" "$work/daemon.log"'

report_and_exit
