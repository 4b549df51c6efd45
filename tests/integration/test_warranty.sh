#!/usr/bin/env bash
# test_warranty.sh - warranty repairs through cloop and the real daemon (issue 12 point 6,
# docs/WARRANTY.md): a report is the project's warranty round's item and ticket,
# dispatched by trade; the key makes add idempotent; who sees which report; the repair
# loop on a warranty ticket (the first repaired is the response, verify fail goes back
# to the same contractor, pass closes); respond once; the office's letters; a deduction
# approved by another user, refused to its requester and to a clerk by code; the
# third-party hand-over with its charge; bad input as one clear line, nothing created.
# The ladder's climbs are test_warranty_ladder.sh's.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch warranty

export CLOSELOOP_WARRANTY_TICK_MS=0 # no climbs here
start_server_with_db
setup_project 万科城 2027-06-30
as admin project add --company "$city" 万科府 --city 深圳 --format csv
pb=$(csv_col id)
as admin company add 广州城市公司 --kind city --parent "$hq" --format csv
city2=$(csv_col id)
as admin project add --company "$city2" 天河府 --city 广州 --format csv
p2=$(csv_col id)
as admin building add --project "$p" 3栋 --floors 30 --format csv
b1=$(csv_col id)
for u in 3-2-1701 3-2-1702 3-2-1801; do as admin unit add --building "$b1" "$u"; done
as admin building add --project "$p2" 1栋 --floors 30 --format csv
b2=$(csv_col id)
as admin unit add --building "$b2" 1-1-101
u1=$(sql "SELECT id FROM units WHERE number = '3-2-1701'")
u2=$(sql "SELECT id FROM units WHERE number = '3-2-1702'")
u3=$(sql "SELECT id FROM units WHERE number = '3-2-1801'")
uo=$(sql "SELECT id FROM units WHERE number = '1-1-101'")
as admin contractor add 东方雨虹 --trades waterproofing,civil --format csv
cw=$(csv_col id)
as admin contractor add 第三方维修公司 --trades waterproofing --format csv
c3=$(csv_col id)
as admin trade assign --project "$p" --trade waterproofing --contractor "$cw"
add_user prop1 property --projects "$p"
add_user prop2 property --projects "$p2"
add_user cr1 cr --company "$city"
add_user cr2 cr --company "$city2"
add_user wr1 warranty --company "$city"
add_user wr2 warranty --company "$city"
add_user hot1 hotline
add_user clerk1 clerk --projects "$p"
add_user con1 contractor --contractor "$cw"
add_user con3 contractor --contractor "$c3"
cr1_id=$(sql "SELECT id FROM users WHERE username = 'cr1'")
count() { sql "SELECT count(*) FROM $1"; }
csv_rows() { python3 -c 'import csv, sys; print(len(list(csv.reader(sys.stdin))) - 1)' <<<"$out"; }

# --- take a report in ------------------------------------------------------------------
as prop1 warranty add --project "$p" --unit "$u1" --owner 张三 --phone 13800000001 \
    --category waterproofing --location 卫生间 --description 卫生间顶棚渗水 --format json
t1=$(sql "SELECT ticket_id FROM warranty_reports ORDER BY reported_at DESC, ticket_id LIMIT 1")
check "warranty add: exit 0, one report at level property (物业客服 in tables)" \
    eval '[ "$rc" = 0 ] && [ "$(count warranty_reports)" = 1 ] &&
          [ "$(sql "SELECT level FROM warranty_reports")" = property ] &&
          json_has "d[\"report\"][9][\"value\"] == \"property\""'
check "the project's warranty round was created, in progress, with the unit's record and item" \
    eval '[ "$(sql "SELECT count(*), min(status) FROM inspection_rounds WHERE project_id = $p AND kind = '"'warranty'"'")" = "1|in_progress" ] &&
          [ "$(sql "SELECT count(*) FROM inspection_items i JOIN inspection_rounds r ON r.id = i.round_id WHERE r.kind = '"'warranty'"'")" = 1 ]'
check "its ticket is dispatched to the project's waterproofing contractor (open, 东方雨虹)" \
    test "$(sql "SELECT state, contractor_id FROM tickets WHERE id = '$t1'")" = "open|$cw"
check "one 'report' event, and the due is 24 business hours on" \
    eval '[ "$(sql "SELECT count(*) FROM warranty_events WHERE ticket_id = '"'$t1'"' AND action = '"'report'"'")" = 1 ] &&
          [ "$(sql "SELECT response_due_at > reported_at FROM warranty_reports WHERE ticket_id = '"'$t1'"'")" = t ]'
as prop1 warranty show "$t1"
check "show prints the level's Chinese label 物业客服 and the ticket's 待维修" \
    eval '[ "$rc" = 0 ] && grep -q "物业客服" <<<"$out" && grep -q "待维修" <<<"$out"'

as prop1 warranty add --project "$p" --unit "$u1" --owner 张三 --category 防水 --location 厨房 \
    --description 厨房地面渗水 --request-key owner-call-0001 --format csv
first_rc=$rc
t2=$(sql "SELECT ticket_id FROM warranty_reports WHERE ticket_id <> '$t1'")
as prop1 warranty add --project "$p" --unit "$u1" --owner 张三 --category 防水 --location 厨房 \
    --description 厨房地面渗水 --request-key owner-call-0001 --format csv
check "the same key twice: exit 0 both times, one more report, item and ticket only" \
    eval '[ "$first_rc" = 0 ] && [ "$rc" = 0 ] && [ "$(count warranty_reports)" = 2 ] &&
          [ "$(sql "SELECT count(*) FROM inspection_items i JOIN inspection_rounds r ON r.id = i.round_id WHERE r.kind = '"'warranty'"'")" = 2 ]'
check "the second report of the unit reuses its round and record (the Chinese trade name resolved)" \
    eval '[ "$(sql "SELECT count(*) FROM inspection_rounds WHERE kind = '"'warranty'"'")" = 1 ] &&
          [ "$(sql "SELECT count(*) FROM inspection_records WHERE unit_id = $u1")" = 1 ] &&
          [ "$(sql "SELECT category FROM tickets WHERE id = '"'$t2'"'")" = waterproofing ]'
as hot1 warranty add --project "$p" --unit "$u2" --owner 李四 --category waterproofing \
    --location 客厅 --description 外墙渗水 --format csv
t3=$(sql "SELECT ticket_id FROM warranty_reports WHERE unit_id = $u2")
check "the hotline takes a report in too" eval '[ "$rc" = 0 ] && [ -n "$t3" ]'
as cr2 warranty add --project "$p2" --unit "$uo" --owner 王五 --category civil --location 客厅 \
    --description 墙面开裂 --contractor "$c3" --format csv
t4=$(sql "SELECT ticket_id FROM warranty_reports WHERE unit_id = $uo")
check "--contractor dispatches to that contractor (no trade contractor in 天河府)" \
    eval '[ "$rc" = 0 ] && [ "$(sql "SELECT state, contractor_id FROM tickets WHERE id = '"'$t4'"'")" = "open|$c3" ]'

as admin round add --project "$pb" --kind warranty
round_rc=$rc
check "round add --kind warranty is refused: exit 1, the round is warranty add's, none made" \
    eval '[ "$round_rc" = 1 ] && grep -q "created by the first warranty add" <<<"$err" &&
          [ "$(sql "SELECT count(*) FROM inspection_rounds WHERE project_id = $pb")" = 0 ]'
as clerk1 inspect record --project "$p" --unit 3-2-1801 --round warranty --date 2026-11-20 \
    --inspector 王工 --location 卫生间 --category waterproofing --severity minor 渗水
check "nor is an inspection item recorded in the warranty round: refused, no item" \
    eval '[ "$rc" != 0 ] && grep -q "taken in by warranty add" <<<"$err$out" &&
          [ "$(sql "SELECT count(*) FROM inspection_items WHERE unit_id = $u3")" = 0 ]'

# --- who sees what -----------------------------------------------------------------------
for who_n in prop1:3 cr2:1 wr1:3 hot1:4; do
    as "${who_n%%:*}" warranty list --format csv
    check "${who_n%%:*} lists ${who_n#*:} reports (its scope)" \
        eval '[ "$rc" = 0 ] && [ "$(data_rows)" = "${who_n#*:}" ]'
done
as prop2 warranty list --format csv
check "prop2's list succeeds and holds only 天河府's report" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && grep -q "$t4" <<<"$out"'
as prop2 warranty show "$t1"
check "prop2 cannot show 万科城's report: exit 1, no such warranty report" \
    eval '[ "$rc" = 1 ] && grep -q "no such warranty report" <<<"$err"'
as con1 warranty list
check "a contractor is refused warranty_read: exit 3" test "$rc" = 3
as con1 ticket todo --format csv
check "... but sees its warranty tickets in ticket todo (3 of them)" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 3 ] && grep -q "$t1" <<<"$out"'
as clerk1 warranty add --project "$p" --unit "$u1" --owner x --category waterproofing \
    --location x --description x
check "a clerk may not take a report in: exit 3" test "$rc" = 3

# --- the repair loop on a warranty ticket --------------------------------------------------
responds() { sql "SELECT count(*) FROM warranty_events WHERE ticket_id = '$1' AND action = 'respond'"; }
as con1 ticket repaired "$t1" --note 已更换防水层
check "the contractor reports it repaired: the first repaired is the report's response" \
    eval '[ "$rc" = 0 ] && [ "$(sql "SELECT responded_at IS NOT NULL FROM warranty_reports WHERE ticket_id = '"'$t1'"'")" = t ] &&
          [ "$(responds "$t1")" = 1 ]'
responded=$(sql "SELECT responded_at FROM warranty_reports WHERE ticket_id = '$t1'")
as cr1 ticket verify "$t1" --fail --note 仍有渗水
check "verify fail: back to the same contractor, open, one rework" \
    eval '[ "$rc" = 0 ] && [ "$(sql "SELECT state, contractor_id, rework_count FROM tickets WHERE id = '"'$t1'"'")" = "open|$cw|1" ]'
as con1 ticket repaired "$t1" --note 重新施工
as cr1 ticket verify "$t1" --pass
check "repaired again and verified: closed, the response still the first one (1 respond event)" \
    eval '[ "$rc" = 0 ] && [ "$(sql "SELECT state FROM tickets WHERE id = '"'$t1'"'")" = closed ] &&
          [ "$(responds "$t1")" = 1 ] &&
          [ "$(sql "SELECT responded_at FROM warranty_reports WHERE ticket_id = '"'$t1'"'")" = "$responded" ]'
as prop1 warranty show "$t1" --format json
hist='[(e["source"], e["action"]) for e in d["history"]]'
want='[("warranty", "report"), ("ticket", "create"), ("ticket", "repaired"), ("warranty", "respond"), ("ticket", "verify_fail"), ("ticket", "repaired"), ("ticket", "verify_pass")]'
check "show lists the ticket's history with the report's, in order" \
    eval '[ "$rc" = 0 ] && json_has "$hist == $want"'

as prop1 warranty respond "$t2" --note 已电话联系业主
check "warranty respond: exit 0, responded, one respond event by prop1" \
    eval '[ "$rc" = 0 ] && [ "$(responds "$t2")" = 1 ] &&
          [ "$(sql "SELECT u.username FROM warranty_events e JOIN users u ON u.id = e.actor_user_id WHERE e.ticket_id = '"'$t2'"' AND e.action = '"'respond'"'")" = prop1 ]'
as cr1 warranty respond "$t2"
check "a second respond changes nothing (still one respond event)" \
    eval '[ "$rc" = 0 ] && [ "$(responds "$t2")" = 1 ]'
as hot1 warranty respond "$t3"
check "the hotline does not respond: exit 3, the report unanswered" \
    eval '[ "$rc" = 3 ] && [ "$(responds "$t3")" = 0 ]'

# --- letters ------------------------------------------------------------------------------
as wr1 warranty letter --contractor "$cw" --ticket "$t3" --subject 维修超期函 --body 请于三日内完成维修 --format csv
check "the office sends a letter about a report: exit 0, a 'letter' event on the report" \
    eval '[ "$rc" = 0 ] && [ "$(count warranty_letters)" = 1 ] &&
          [ "$(sql "SELECT count(*) FROM warranty_events WHERE ticket_id = '"'$t3'"' AND action = '"'letter'"'")" = 1 ]'
printf '致东方雨虹：\n贵司本月保修维修多次超期，特此函告。\n' >"$work/letter.txt"
as wr1 warranty letter --contractor "$cw" --subject 月度保修函 --body-file "$work/letter.txt" --format csv
check "a general letter from --body-file keeps its two lines" \
    eval '[ "$rc" = 0 ] && [ "$(sql "SELECT body FROM warranty_letters WHERE subject = '"'月度保修函'"'")" = "$(cat "$work/letter.txt")" ]'
as cr1 warranty letter --contractor "$cw" --subject x --body y
check "customer relations sends no letters: exit 3, still 2 letters" \
    eval '[ "$rc" = 3 ] && [ "$(count warranty_letters)" = 2 ]'
as cr1 warranty letters --format csv
check "cr1 lists the company's 2 letters" eval '[ "$rc" = 0 ] && [ "$(csv_rows)" = 2 ]'
as cr2 warranty letters --format csv
check "cr2's list succeeds with none of them" eval '[ "$rc" = 0 ] && [ "$(csv_rows)" = 0 ]'

# --- deductions ----------------------------------------------------------------------------
as wr1 warranty deduct --contractor "$cw" --amount 1200.50 --reason 维修超期 --ticket "$t3" --format csv
did=$(sql "SELECT max(id) FROM warranty_deductions")
check "the office requests a deduction of 1200.50: requested, penalty, the report's deduct event" \
    eval '[ "$rc" = 0 ] && [ "$(sql "SELECT amount, kind, state FROM warranty_deductions WHERE id = $did")" = "1200.50|penalty|requested" ] &&
          [ "$(sql "SELECT count(*) FROM warranty_events WHERE ticket_id = '"'$t3'"' AND action = '"'deduct'"'")" = 1 ]'
as wr1 warranty approve "$did"
check "its requester may not approve it: exit 3, the four-eyes sentence, still requested" \
    eval '[ "$rc" = 3 ] && grep -q "was requested by you" <<<"$err" &&
          [ "$(sql "SELECT state FROM warranty_deductions WHERE id = $did")" = requested ]'
as clerk1 warranty approve "$did"
check "a clerk may not approve: exit 3 (the role), still requested" \
    eval '[ "$rc" = 3 ] && ! grep -q "was requested by you" <<<"$err" &&
          [ "$(sql "SELECT state FROM warranty_deductions WHERE id = $did")" = requested ]'
as cr2 warranty approve "$did"
check "another company's cr: no such deduction (exit 1), still requested" \
    eval '[ "$rc" = 1 ] && [ "$(sql "SELECT state FROM warranty_deductions WHERE id = $did")" = requested ]'
as cr1 warranty approve "$did" --note 同意 --format csv
check "the company's cr approves it: approved, decided by cr1, an approve event" \
    eval '[ "$rc" = 0 ] && [ "$(sql "SELECT state, decided_by FROM warranty_deductions WHERE id = $did")" = "approved|$cr1_id" ] &&
          [ "$(sql "SELECT count(*) FROM warranty_events WHERE ticket_id = '"'$t3'"' AND action = '"'approve'"'")" = 1 ]'
as wr2 warranty reject "$did"
check "a decided deduction is not decided again: exit 1, still approved" \
    eval '[ "$rc" = 1 ] && [ "$(sql "SELECT state FROM warranty_deductions WHERE id = $did")" = approved ]'
as wr1 warranty deduct --contractor "$cw" --amount 300 --reason 资料不全 --format csv
d2=$(sql "SELECT max(id) FROM warranty_deductions")
as wr2 warranty reject "$d2" --note 证据不足
check "another warranty officer rejects the next one" \
    test "$(sql "SELECT state, amount FROM warranty_deductions WHERE id = $d2")" = "rejected|300.00"
as wr1 warranty deductions --state approved --format csv
check "deductions --state approved lists 1, in yuan" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(csv_col amount)" = 1200.50 ]'

as cr1 warranty deductions
check "the table shows the registry's labels: 已批准 (1200.50, 罚款) and 已驳回 (300.00)" \
    eval '[ "$rc" = 0 ] && grep "1200.50" <<<"$out" | grep -q "已批准" && grep "1200.50" <<<"$out" | grep -q "罚款" &&
          grep "300.00" <<<"$out" | grep -q "已驳回"'

# --- the third-party hand-over -------------------------------------------------------------
as wr1 warranty third-party "$t3" --repairer "$c3" --cost 800 --reason 原单位超期未修 --format csv
dt=$(sql "SELECT max(id) FROM warranty_deductions")
check "third-party: exit 0, the ticket open with the repairer, a reassign event" \
    eval '[ "$rc" = 0 ] && [ "$(sql "SELECT state, contractor_id FROM tickets WHERE id = '"'$t3'"'")" = "open|$c3" ] &&
          [ "$(sql "SELECT count(*) FROM ticket_events WHERE ticket_id = '"'$t3'"' AND action = '"'reassign'"'")" = 1 ]'
check "... the report names the repairer and charges the original contractor" \
    test "$(sql "SELECT third_party_contractor_id, charged_contractor_id FROM warranty_reports WHERE ticket_id = '$t3'")" = "$c3|$cw"
check "... a third_party deduction of 800.00 requested against 东方雨虹 about the ticket" \
    test "$(sql "SELECT contractor_id, amount, kind, state, ticket_id FROM warranty_deductions WHERE id = $dt")" = "$cw|800.00|third_party|requested|$t3"
as con3 ticket repaired "$t3" --note 已修复
as cr1 ticket verify "$t3" --pass
check "the repairer repairs it and the same verify loop closes it" \
    eval '[ "$rc" = 0 ] && [ "$(sql "SELECT state FROM tickets WHERE id = '"'$t3'"'")" = closed ]'
as cr1 warranty third-party "$t2" --repairer "$c3" --cost 100
check "only the office hands over: cr1 exit 3, the ticket still 东方雨虹's" \
    eval '[ "$rc" = 3 ] && [ "$(sql "SELECT contractor_id FROM tickets WHERE id = '"'$t2'"'")" = "$cw" ]'

# --- bad input: one clear line, nothing created ----------------------------------------------
n_rep=$(count warranty_reports)
n_items=$(count inspection_items)
as prop1 warranty add --project "$p" --unit 999999 --owner 张三 --category waterproofing \
    --location 卫生间 --description 渗水
check "an unknown unit: exit 1, one line naming it, no report, no item" \
    eval '[ "$rc" = 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "no unit 999999 in this project" <<<"$err" &&
          [ "$(count warranty_reports)" = "$n_rep" ] && [ "$(count inspection_items)" = "$n_items" ]'
as prop1 warranty add --project "$p" --unit "$u3" --owner 张三 --category 不存在的专业 \
    --location 卫生间 --description 渗水
check "an unknown category: exit 1, one line, nothing created" \
    eval '[ "$rc" = 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "unknown category" <<<"$err" &&
          [ "$(count warranty_reports)" = "$n_rep" ] && [ "$(count inspection_items)" = "$n_items" ]'
n_ded=$(count warranty_deductions)
for a in 0 -1 1e12 abc 10000000.01 1.234; do
    as wr1 warranty deduct --contractor "$cw" --amount "$a" --reason x
    check "--amount $a: exit 2, one line saying what an amount is, no deduction" \
        eval '[ "$rc" = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -qF "is not an amount" <<<"$err" &&
              [ "$(count warranty_deductions)" = "$n_ded" ]'
done
as wr1 warranty deduct --contractor "$cw" --amount 10000000.00 --reason 上限
check "the largest amount, 10000000.00, is taken" \
    eval '[ "$rc" = 0 ] && [ "$(count warranty_deductions)" = "$((n_ded + 1))" ]'
as wr1 warranty third-party "$t2" --repairer "$c3" --cost abc
check "third-party --cost abc: exit 2, the ticket unchanged" \
    eval '[ "$rc" = 2 ] && [ "$(sql "SELECT contractor_id FROM tickets WHERE id = '"'$t2'"'")" = "$cw" ]'

# --- a repairer that fails too: handed on, still charged to the original contractor -----------
as admin contractor add 二次维修公司 --trades waterproofing --format csv
c4=$(csv_col id)
as wr1 warranty third-party "$t2" --repairer "$c3" --cost 100 --format csv
as wr1 warranty third-party "$t2" --repairer "$c4" --cost 150 --format csv
check "handed on to a second repairer: both charges are 东方雨虹's, the report says so" \
    eval '[ "$rc" = 0 ] && [ -n "$c4" ] &&
          [ "$(sql "SELECT string_agg(contractor_id || '"':'"' || amount, '"','"' ORDER BY id) FROM warranty_deductions WHERE ticket_id = '"'$t2'"' AND kind = '"'third_party'"'")" = "$cw:100.00,$cw:150.00" ] &&
          [ "$(sql "SELECT third_party_contractor_id, charged_contractor_id FROM warranty_reports WHERE ticket_id = '"'$t2'"'")" = "$c4|$cw" ]'
as wr1 warranty third-party "$t2" --repairer "$cw" --cost 10
check "the contractor charged cannot be its own third party (exit 1), nothing changed" \
    eval '[ "$rc" = 1 ] && grep -q "the one charged" <<<"$err" &&
          [ "$(sql "SELECT contractor_id FROM tickets WHERE id = '"'$t2'"'")" = "$c4" ]'

# --- --contractor where the project has a contractor of the trade: only the chosen one hears --
as wr1 warranty add --project "$p" --unit "$u1" --owner 赵六 --category waterproofing \
    --location 阳台 --description 阳台渗水 --contractor "$c4" --format csv
t5=$(sql "SELECT ticket_id FROM warranty_reports WHERE owner_name = '赵六'")
check "--contractor over the trade's contractor: the ticket is the chosen one's, one create event" \
    eval '[ "$rc" = 0 ] && [ -n "$t5" ] &&
          [ "$(sql "SELECT state, contractor_id FROM tickets WHERE id = '"'$t5'"'")" = "open|$c4" ] &&
          [ "$(sql "SELECT string_agg(action || '"':'"' || contractor_id, '"','"') FROM ticket_events WHERE ticket_id = '"'$t5'"'")" = "create:$c4" ]'
check "... and only the chosen contractor gets the assigned notice (东方雨虹 none)" \
    test "$(sql "SELECT string_agg(contractor_id::text, ',') FROM notices WHERE kind = 'assigned' AND subject = 'ticket:$t5'")" = "$c4"

# --- an unknown contractor: one clear line, nothing written --------------------------------
n_ded=$(count warranty_deductions)
n_let=$(count warranty_letters)
as wr1 warranty deduct --contractor 999999 --amount 10 --reason 测试
check "deduct from an unknown contractor: exit 1, 'no contractor 999999', nothing requested" \
    eval '[ "$rc" = 1 ] && [ "$(grep -c "no contractor 999999" <<<"$err")" = 1 ] &&
          [ -n "$n_ded" ] && [ "$(count warranty_deductions)" = "$n_ded" ]'
as wr1 warranty letter --contractor 999999 --subject 函 --body 内容
check "a letter to an unknown contractor: exit 1, 'no contractor 999999', nothing recorded" \
    eval '[ "$rc" = 1 ] && [ "$(grep -c "no contractor 999999" <<<"$err")" = 1 ] &&
          [ -n "$n_let" ] && [ "$(count warranty_letters)" = "$n_let" ]'
report_and_exit
