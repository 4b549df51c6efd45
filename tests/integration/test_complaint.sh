#!/usr/bin/env bash
# test_complaint.sh - owner complaints end to end through cloop on a simulated clock
# (issue 12, part B; docs/COMPLAINTS.md): intake and the class by rule (3 distinct
# complainants of one issue within 30 days -> hot, a collective complaint of 10 -> major,
# 7 and 30 days open through our fault -> hot and major, time waiting on the owner not
# counted, a reopen -> important); the first-reply clock over the 2025 National Day (4 h
# from 17:30 on 30 September ends 13:30 on 9 October); pause and resume checked to the
# second in complaint_clocks, the new due in the event; 暂停 shown only while paused;
# escalation with a named owner and its notice; a major complaint refused closing without
# a knowledge base case; revisit; scope per role and refusals by exit code.
#
# The clock: cl_complaint_now() reads the setting closeloop.now, set here in a file the
# cluster's postgresql.conf includes, then pg_reload_conf(): every pooled connection of the
# daemon reads it before its next statement.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch complaint

# The alert timer (warnings, breaches, classes as time passes) is test_complaint_clock.sh's;
# here it is off, so every class change comes from the action the test makes.
export CLOSELOOP_COMPLAINT_TICK_MS=0

start_server_with_db
setup_project 万科城 2027-06-30
sim_clock_init
# jq-like reads of `complaint show --format json` in $out.
field() { python3 -c 'import json,sys
d=json.load(sys.stdin)
print(next((r["value"] for r in d["complaint"] if r["field"].endswith(" "+sys.argv[1])), ""))' "$1" <<<"$out"; }
clock() { python3 -c 'import json,sys
d=json.load(sys.stdin)
print(next((r[sys.argv[2]] for r in d["clocks"] if r["clock"]==sys.argv[1]), ""))' "$1" "$2" <<<"$out"; }
# The clock table of `complaint show` (table format) in $out.
clocks_table() { sed -n '/^时钟 clocks/,/^处理记录/p' <<<"$out"; }
# add ARGS...: prop1 takes a complaint in on project $p; its id in $cid.
add() {
    as prop1 complaint add --project "$p" --channel hotline400 --specialty engineering \
        --description 卫生间漏水 "$@" --format json
    cid=$(field id)
}

as admin company add 广州城市公司 --kind city --parent "$hq" --format csv
city2=$(csv_col id)
as admin project add --company "$city2" 天河府 --city 广州 --format csv
p2=$(csv_col id)
as admin contractor add 东方雨虹 --trades waterproofing --format csv
cw=$(csv_col id)
add_user prop1 property --projects "$p"
add_user prop2 property --projects "$p2"
add_user cr1 cr --company "$city"
add_user cr2 cr --company "$city2"
add_user wr1 warranty --company "$city"
add_user hot1 hotline
add_user ana1 hq_analyst
add_user clerk1 clerk --projects "$p"
add_user con1 contractor --contractor "$cw"

# --- intake and the first-reply clock over the National Day ---------------------------
clock_at '2025-09-30 17:30'
add --owner 张三 --phone 13800000001 --category waterproofing
c1=$cid
check "complaint add: ordinary, open, level 1, prop1 its owner" \
    eval '[ "$rc" = 0 ] && [ "$(field class)" = ordinary ] && [ "$(field state)" = open ] &&
          [ "$(field level)" = "1 物业 (prop1)" ]'
check "first reply: 4 h from 17:30 on 30 September runs out 13:30 on 9 October (CST)" \
    test "$(sql "SELECT to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') FROM complaint_clocks WHERE complaint_id = $c1 AND kind = 'first_reply'")" = '2025-10-09 13:30'
check "show prints that due, and the 40 h closure budget of an ordinary complaint" \
    eval '[ "$(clock first_reply due)" = "2025-10-09 13:30" ] && [ "$(clock closure budget)" = 40:00 ]'
check "the add event records both dues" \
    test "$(sql "SELECT detail FROM complaint_events WHERE complaint_id = $c1 AND action = 'add'")" = '首次答复：已用0小时00分，到期2025-10-09 13:30；关闭：已用0小时00分，到期2025-10-14 17:30'
as prop1 complaint add --project "$p" --channel online --specialty sales --owner 王五 \
    --description 样板间与交付不符 --format json
check "an online complaint gets 24 business hours for its first reply" \
    eval '[ "$rc" = 0 ] && [ "$(clock first_reply budget)" = 24:00 ]'

# --- the class by rule ------------------------------------------------------------------
add --owner 李四 --phone 13800000002 --category waterproofing
check "a second complainant of the same issue: still ordinary" \
    eval '[ "$rc" = 0 ] && [ "$(field class)" = ordinary ]'
add --owner 张三 --phone 13800000001 --category waterproofing
check "the first complainant again is not a third distinct one: ordinary" \
    eval '[ "$rc" = 0 ] && [ "$(field class)" = ordinary ]'
add --owner 赵六 --phone 13800000003 --category waterproofing
c_hot=$cid
check "a third distinct complainant of the issue within 30 days: hot, with the reason" \
    eval '[ "$rc" = 0 ] && [ "$(field class)" = hot ] &&
          [ "$(field reason)" = "30天内同一问题3位不同投诉人" ]'
check "the class change is an event with its reason, and a severity notice" \
    eval '[ "$(sql "SELECT count(*) FROM complaint_events WHERE complaint_id = $c_hot AND action = '"'class'"' AND to_class = '"'hot'"'")" = 1 ] &&
          [ "$(sql "SELECT count(*) FROM notices WHERE kind = '"'severity'"' AND subject = '"'complaint:$c_hot'"'")" = 1 ]'
add --owner 孙七 --phone 13800000004 --category electrical
check "another category is another issue: ordinary" \
    eval '[ "$rc" = 0 ] && [ "$(field class)" = ordinary ]'
add --owner 业主代表 --complainants 3
check "a collective complaint of 3: hot" eval '[ "$rc" = 0 ] && [ "$(field class)" = hot ]'
add --owner 业主代表 --complainants 10
c_major=$cid
check "a collective complaint of 10: major, closure budget 16 h" \
    eval '[ "$rc" = 0 ] && [ "$(field class)" = major ] && [ "$(clock closure budget)" = 16:00 ] &&
          [ "$(field reason)" = "集体投诉10人（10人及以上）" ]'
add --owner 周八 --legal-risk
check "the risk of legal action: hot" eval '[ "$rc" = 0 ] && [ "$(field class)" = hot ]'
add --owner 吴九 --media
check "media exposure: major" eval '[ "$rc" = 0 ] && [ "$(field class)" = major ]'

# Days open through our fault: c_slow stays open, c_wait waits on the owner meanwhile.
add --owner 郑十 --phone 13900000001
c_slow=$cid
add --owner 钱一 --phone 13900000002
c_wait=$cid
as prop1 complaint pause "$c_wait" --note 业主出国 --format json
check "pause: the complaint waits on the owner" \
    eval '[ "$rc" = 0 ] && [ "$(field state)" = waiting ]'
clock_at '2025-10-08 17:31'
as prop1 complaint reply "$c_slow" --note 已联系 --format json
check "8 days open through our fault: hot on the next change, with the reason" \
    eval '[ "$rc" = 0 ] && [ "$(field class)" = hot ] && [ "$(field reason)" = "因我方原因超过7天未解决" ]'
as prop1 complaint resume "$c_wait" --format json
check "8 days waiting on the owner are not our fault: still ordinary" \
    eval '[ "$rc" = 0 ] && [ "$(field class)" = ordinary ] && [ "$(field state)" = open ]'
clock_at '2025-10-31 17:31'
as prop1 complaint pause "$c_slow" --format json
check "31 days open through our fault: major" \
    eval '[ "$rc" = 0 ] && [ "$(field class)" = major ] && [ "$(field reason)" = "因我方原因超过30天未解决" ]'
v=$(sql "SELECT version FROM complaints WHERE id = $c_wait")
as prop1 complaint reply "$c_wait" --expect-version "$((v - 1))"
check "an action on a version that is not current is a conflict (exit 1), nothing written" \
    eval '[ "$rc" = 1 ] && grep -q "is at version $v" <<<"$err" &&
          [ "$(sql "SELECT version FROM complaints WHERE id = $c_wait")" = "$v" ]'
as prop1 complaint resume "$c_wait" --format json
check "resume of an open complaint is refused (exit 1)" \
    eval '[ "$rc" = 1 ] && grep -q "not waiting" <<<"$err"'
check "its class history: ordinary -> hot -> major, two events" \
    test "$(sql "SELECT string_agg(to_class, ',' ORDER BY id) FROM complaint_events WHERE complaint_id = $c_slow AND action = 'class'")" = hot,major

# --- pause and resume, to the second --------------------------------------------------
clock_at '2025-10-09 10:00'
as prop1 complaint add --project "$p" --channel phone --specialty property --owner 冯二 \
    --description 电梯故障 --format json
c_pr=$(field id)
check "a phone complaint at 10:00 on 9 October: first reply due 15:00" \
    eval '[ "$rc" = 0 ] && [ "$(clock first_reply due)" = "2025-10-09 15:00" ] &&
          [ "$(clock first_reply state)" = running ]'
clock_at '2025-10-09 10:30'
as prop1 complaint pause "$c_pr" --format json
check "paused at 10:30: used 30 min, no due, state paused" \
    eval '[ "$rc" = 0 ] && [ "$(clock first_reply state)" = paused ] &&
          [ "$(clock first_reply used)" = 0:30 ] && [ "$(clock first_reply due)" = "" ]'
check "complaint_clocks: used_s 1800, not running, no due" \
    test "$(sql "SELECT used_s, running_since IS NULL, due_at IS NULL FROM complaint_clocks WHERE complaint_id = $c_pr AND kind = 'first_reply'")" = '1800|t|t'
as prop1 complaint show "$c_pr"
check "show (table): both clocks say 暂停 while paused" \
    eval '[ "$rc" = 0 ] && [ "$(clocks_table | grep -c 暂停)" = 2 ]'
clock_at '2025-10-10 09:00'
as prop1 complaint show "$c_pr" --format json
check "a day later the paused clock has used nothing more" \
    eval '[ "$rc" = 0 ] && [ "$(clock first_reply used)" = 0:30 ] && [ "$(clock first_reply left)" = 3:30 ]'
as prop1 complaint resume "$c_pr" --format json
check "resumed at 09:00 on 10 October: the 3.5 h left run out at 13:30" \
    eval '[ "$rc" = 0 ] && [ "$(clock first_reply state)" = running ] &&
          [ "$(clock first_reply due)" = "2025-10-10 13:30" ]'
check "complaint_clocks: used_s 1800, running since 09:00:00, due 13:30:00, warn 11:30:00" \
    test "$(sql "SELECT used_s, to_char(running_since AT TIME ZONE 'Asia/Shanghai', 'HH24:MI:SS'), to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI:SS'), to_char(warn_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI:SS') FROM complaint_clocks WHERE complaint_id = $c_pr AND kind = 'first_reply'")" = '1800|09:00:00|10-10 13:30:00|11:30:00'
check "the resume event records the new due" \
    eval '[ "$(sql "SELECT detail FROM complaint_events WHERE complaint_id = $c_pr AND action = '"'resume'"'")" = "首次答复：已用0小时30分，到期2025-10-10 13:30；关闭：已用0小时30分，到期2025-10-15 17:30" ]'
as prop1 complaint show "$c_pr"
check "show (table) no longer says 暂停 while it runs" \
    eval '[ "$rc" = 0 ] && [ "$(clocks_table | grep -c 计时中)" = 2 ] && ! clocks_table | grep -q 暂停'
clock_at '2025-10-10 10:15'
as prop1 complaint reply "$c_pr" --format json
check "reply at 10:15: the first-reply clock stops with 1:45 used" \
    eval '[ "$rc" = 0 ] && [ "$(clock first_reply state)" = stopped ] && [ "$(clock first_reply used)" = 1:45 ]'

# --- escalation, closure, revisit, reopen ---------------------------------------------
cr1_id=$(sql "SELECT id FROM users WHERE username = 'cr1'")
hot1_id=$(sql "SELECT id FROM users WHERE username = 'hot1'")
prop2_id=$(sql "SELECT id FROM users WHERE username = 'prop2'")
as prop1 complaint escalate "$c_pr" --to "$prop2_id" --format json
check "escalate to a property user of another project is refused (exit 1)" \
    eval '[ "$rc" = 1 ] && grep -q "may not own" <<<"$err"'
as prop1 complaint escalate "$c_pr" --to "$cr1_id" --note 超出物业权限 --format json
check "escalate to cr1: level 2, owner cr1" \
    eval '[ "$rc" = 0 ] && [ "$(field level)" = "2 城市公司客服 (cr1)" ]'
check "the hand-up is recorded (from level 1 to 2) and cr1 gets an escalated notice" \
    eval '[ "$(sql "SELECT from_level || '"'>'"' || to_level FROM complaint_events WHERE complaint_id = $c_pr AND action = '"'escalate'"'")" = "1>2" ] &&
          [ "$(sql "SELECT count(*) FROM notices WHERE kind = '"'escalated'"' AND user_id = $cr1_id AND subject = '"'complaint:$c_pr'"'")" = 1 ]'
as cr1 complaint escalate "$c_pr" --to "$hot1_id" --format json
check "cr1 hands it up to the hotline: level 3" \
    eval '[ "$rc" = 0 ] && [ "$(field level)" = "3 400热线/集团 (hot1)" ]'
as hot1 complaint escalate "$c_pr" --to "$hot1_id" --format json
check "no level above 3 (exit 1)" eval '[ "$rc" = 1 ] && grep -q "top level" <<<"$err"'
as hot1 complaint close "$c_pr" --note 已修复 --format json
check "close: closed, both clocks stopped" \
    eval '[ "$rc" = 0 ] && [ "$(field state)" = closed ] && [ "$(clock closure state)" = stopped ]'
as hot1 complaint revisit "$c_pr" --satisfaction 6
check "satisfaction 6 is a usage error (exit 2)" test "$rc" = 2
as hot1 complaint revisit "$c_pr" --satisfaction 4 --format json
check "revisit: satisfaction 4" eval '[ "$rc" = 0 ] && [ "$(field satisfaction)" = 4 ]'
as hot1 complaint reopen "$c_pr" --note 业主再次投诉 --format json
check "reopen: important, open, the closure clock running again" \
    eval '[ "$rc" = 0 ] && [ "$(field class)" = important ] && [ "$(field reason)" = 关闭后再次投诉 ] &&
          [ "$(field state)" = open ] && [ "$(clock closure state)" = running ] && [ "$(clock closure used)" = 0:00 ]'
as prop1 complaint close "$c_major" --format json
check "a major complaint does not close without its knowledge base case (exit 1)" \
    eval '[ "$rc" = 1 ] && grep -q "knowledge base" <<<"$err"'
sql "SET closeloop.actor = '{\"user_id\": 1, \"username\": \"admin\"}';
     INSERT INTO kb_cases (code, title, kind, specialty) VALUES ('TS01', '集体投诉漏水', 'service', 'engineering')" >/dev/null
kcase=$(sql "SELECT id FROM kb_cases WHERE code = 'TS01'")
as prop1 complaint close "$c_major" --case "$kcase" --format json
check "with the case it closes" eval '[ "$rc" = 0 ] && [ "$(field state)" = closed ]'
as prop1 complaint close "$c_major" --case "$kcase"
check "closing it again is refused (exit 1)" eval '[ "$rc" = 1 ] && grep -q "closed already" <<<"$err"'

# --- the first named owner must be one who may handle it --------------------------------
n_before=$(sql "SELECT count(*) FROM complaints")
as prop1 complaint add --project "$p" --channel phone --specialty other --owner 赵六 \
    --description 门铃坏 --assign "$(sql "SELECT id FROM users WHERE username = 'con1'")"
check "a contractor cannot be named its owner (exit 1), nothing created" \
    eval '[ "$rc" = 1 ] && grep -q "may not own a complaint of this project" <<<"$err" &&
          [ -n "$n_before" ] && [ "$(sql "SELECT count(*) FROM complaints")" = "$n_before" ]'
as prop1 complaint add --project "$p" --channel phone --specialty other --owner 赵六 \
    --description 门铃坏 --assign "$prop2_id"
check "nor property staff of another project (exit 1)" \
    eval '[ "$rc" = 1 ] && grep -q "may not own" <<<"$err"'
as prop1 complaint add --project "$p" --channel phone --specialty other --owner 赵六 \
    --description 门铃坏 --assign "$cr1_id" --format json
check "the company's customer relations can" \
    eval '[ "$rc" = 0 ] && [ "$(field level)" = "1 物业 (cr1)" ]'

# --- a complaint feeds a defect (source e) ---------------------------------------------
defects_before=$(sql "SELECT count(*) FROM defects")
as cr1 defect add --project "$p" --complaint "$c1" --title 卫生间漏水 --kind product \
    --specialty engineering --category waterproofing --format csv
d1=$(csv_col id)
check "cr1 feeds a defect from complaint $c1: source complaint, one more defect" \
    eval '[ "$rc" = 0 ] && [ -n "$d1" ] &&
          [ "$(sql "SELECT source FROM defects WHERE id = $d1")" = complaint ] &&
          [ "$(sql "SELECT count(*) FROM defects")" = "$((defects_before + 1))" ]'
as prop1 complaint show "$c1" --format json
check "the complaint now links that defect" eval '[ "$rc" = 0 ] && [ "$(field defect)" = "$d1" ]'
as cr1 defect add --project "$p" --complaint "$c1" --title 又一个 --kind product \
    --specialty engineering
check "a second defect from the same complaint is refused by the rule (exit 3), nothing created" \
    eval '[ "$rc" = 3 ] && grep -q "already feeds defect" <<<"$err" &&
          [ "$(sql "SELECT count(*) FROM defects")" = "$((defects_before + 1))" ] &&
          [ "$(sql "SELECT defect_id FROM complaints WHERE id = $c1")" = "$d1" ]'
as admin defect add --project "$p2" --complaint "$c1" --title x --kind product \
    --specialty engineering
check "nor from a complaint of another project (exit 1, no such complaint)" \
    eval '[ "$rc" = 1 ] && grep -q "no such complaint $c1 in the project" <<<"$err"'
as cr1 defect add --project "$p" --complaint "$c1" --source patrol --title x --kind product \
    --specialty engineering
check "a complaint's defect has source complaint (usage error, exit 2)" test "$rc" = 2

# --- scope and refusals ---------------------------------------------------------------
as prop2 complaint add --project "$p2" --channel phone --specialty other --owner 陈三 \
    --description 噪音 --format json
c_p2=$(field id)
check "prop2 takes one in on its own project" eval '[ "$rc" = 0 ] && [ -n "$c_p2" ]'
total=$(sql "SELECT count(*) FROM complaints")
in_p=$(sql "SELECT count(*) FROM complaints WHERE project_id = $p")
as hot1 complaint list --format csv
check "the hotline lists all $total" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = "$total" ]'
as cr1 complaint list --format csv
check "cr1 lists its company's $in_p" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = "$in_p" ]'
as wr1 complaint list --format csv
check "the warranty office lists its company's $in_p" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = "$in_p" ]'
as cr2 complaint list --format csv
check "cr2 lists only the other company's one" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ]'
as prop2 complaint show "$c_p2" --format json
check "prop2 shows its own" eval '[ "$rc" = 0 ] && [ "$(field id)" = "$c_p2" ]'
as prop2 complaint show "$c1"
check "prop2 cannot see a complaint of another project (exit 1, no such complaint)" \
    eval '[ "$rc" = 1 ] && grep -q "no such complaint" <<<"$err"'
as prop2 complaint reply "$c1"
check "nor act on it (exit 1, no such complaint)" \
    eval '[ "$rc" = 1 ] && grep -q "no such complaint" <<<"$err"'
as prop2 complaint add --project "$p" --channel phone --specialty other --owner x --description y
check "nor take one in on it (exit 1, no such project)" \
    eval '[ "$rc" = 1 ] && grep -q "no such project" <<<"$err"'
as ana1 complaint list --class major --format csv
check "the analyst lists the majors without owner names" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 3 ] && [ -z "$(csv_col owner)" ]'
as hot1 complaint list --class major --format csv
check "the hotline sees the owner names" eval '[ "$rc" = 0 ] && [ -n "$(csv_col owner)" ]'
as ana1 complaint reply "$c1"
check "the analyst may not act (exit 3)" test "$rc" = 3
as con1 complaint list
check "a contractor is refused (exit 3)" test "$rc" = 3
as clerk1 complaint show "$c1"
check "a handover clerk is refused (exit 3)" test "$rc" = 3
as prop1 complaint add --project "$p" --channel fax --specialty other --owner x --description y
check "an unknown channel is a usage error (exit 2)" test "$rc" = 2

report_and_exit
