#!/usr/bin/env bash
# test_warranty_ladder.sh - the warranty response ladder run by the daemons' timer (issue 12
# point 6, docs/WARRANTY.md "The ladder"), on a simulated clock (closeloop.now, as
# test_complaint_clock.sh). Working hours 09:00-12:00 and 13:00-18:00, 8 a day.
#
# Two reports at 10:00 on Monday 10 November 2025: due 24 business hours on, Thursday
# 13 November 10:00. One is responded on Tuesday; the other is not. At 09:59 on Thursday
# nothing has climbed; the daemon is killed with -9 and the clock moved to 18:30, after
# hours and overdue: two daemons start and climb nothing until Friday 09:00, when the
# unanswered report climbs to 地产客服 exactly once (one event, one 'escalated' notice to
# each of the company's cr and warranty users; the new due 24 business hours from Friday
# 09:00: Tuesday 18 November 18:00), and the answered one never climbs. At 18:00 on
# Tuesday the calendar is closed; at 09:00 on Wednesday it climbs to the 400 hotline:
# one complaint (channel hotline400, specialty engineering, the ticket's category, the
# unit, the owner, the ticket linked; its 'add' event and its two clocks, the first reply
# due at 14:00), the report's complaint_id, and again one event and two notices.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch warrantyladder

export CLOSELOOP_WARRANTY_TICK_MS=200
start_server_with_db
setup_project 万科城 2027-06-30
sim_clock_init
as admin building add --project "$p" 3栋 --floors 30 --format csv
b1=$(csv_col id)
as admin unit add --building "$b1" 3-2-1701
as admin unit add --building "$b1" 3-2-1702
u1=$(sql "SELECT id FROM units WHERE number = '3-2-1701'")
u2=$(sql "SELECT id FROM units WHERE number = '3-2-1702'")
as admin contractor add 东方雨虹 --trades waterproofing --format csv
cw=$(csv_col id)
as admin trade assign --project "$p" --trade waterproofing --contractor "$cw"
add_user prop1 property --projects "$p"
add_user cr1 cr --company "$city"
add_user wr1 warranty --company "$city"
add_user hot1 hotline

level() { sql "SELECT level FROM warranty_reports WHERE ticket_id = '$1'"; }
due() { sql "SELECT to_char(response_due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') FROM warranty_reports WHERE ticket_id = '$1'"; }
climbs() { # TICKET: its climb events as from>to, comma-separated, and the notices about it
    sql "SELECT coalesce(string_agg(from_level || '>' || to_level, ',' ORDER BY id), ''),
                (SELECT count(*) FROM notices WHERE kind = 'escalated' AND subject = 'warranty:$1')
           FROM warranty_events WHERE ticket_id = '$1' AND action = 'climb'"
}

clock_at '2025-11-10 10:00'
as prop1 warranty add --project "$p" --unit "$u1" --owner 张三 --phone 13800000001 \
    --category waterproofing --location 卫生间 --description 卫生间顶棚渗水 --format csv
ta=$(sql "SELECT ticket_id FROM warranty_reports WHERE unit_id = $u1")
as prop1 warranty add --project "$p" --unit "$u2" --owner 李四 --category waterproofing \
    --location 厨房 --description 厨房地面渗水 --format csv
tb=$(sql "SELECT ticket_id FROM warranty_reports WHERE unit_id = $u2")
check "two reports at Monday 10:00, both due Thursday 10:00 (24 business hours)" \
    eval '[ -n "$ta" ] && [ -n "$tb" ] && [ "$(due "$ta")" = "2025-11-13 10:00" ] && [ "$(due "$tb")" = "2025-11-13 10:00" ]'
clock_at '2025-11-11 10:00'
as prop1 warranty respond "$tb" --note 已联系业主
check "the second is responded on Tuesday" \
    eval '[ "$rc" = 0 ] && [ "$(sql "SELECT responded_at IS NOT NULL FROM warranty_reports WHERE ticket_id = '"'$tb'"'")" = t ]'

clock_at '2025-11-13 09:59'
sleep 1.5
check "at 09:59 on Thursday nothing has climbed" \
    eval '[ "$(level "$ta")" = property ] && [ "$(climbs "$ta")" = "|0" ]'

kill -KILL "$dpid"
wait "$dpid" 2>/dev/null
pids=()
check "closeloopd killed with -9" eval '! kill -0 "$dpid" 2>/dev/null'
clock_at '2025-11-13 18:30'
port2=$(free_port)
start_daemon 127.0.0.1 "$port" "$work/daemon1.log" || bail "the first daemon restarts"
d1=$dpid
start_daemon 127.0.0.1 "$port2" "$work/daemon2.log" || bail "a second daemon starts"
d2=$dpid
sleep 1.5
as wr1 warranty list --overdue --format csv
check "18:30, overdue but after hours: the list shows it overdue, still at 物业客服" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(csv_col level)" = property ] && [ "$(csv_col ticket)" = "$ta" ]'
check "... and two daemons climbed nothing" test "$(climbs "$ta")" = "|0"

clock_at '2025-11-14 09:00'
for _ in $(seq 1 50); do [ "$(level "$ta")" = developer ] && break; sleep 0.1; done
sleep 1.5 # many more ticks of both daemons
check "Friday 09:00: climbed to developer once, one notice each to cr1 and wr1" \
    test "$(climbs "$ta")" = "property>developer|2"
check "the notices go to the company's cr and warranty office users" \
    test "$(sql "SELECT string_agg(u.username, ',' ORDER BY u.username) FROM notices n JOIN users u ON u.id = n.user_id WHERE n.subject = 'warranty:$ta'")" = cr1,wr1
check "the new due: 24 business hours from Friday 09:00, Tuesday 18:00" \
    test "$(due "$ta")" = "2025-11-18 18:00"
as prop1 warranty list --format csv
check "the list succeeds with both reports" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2 ]'
check "the report responded in time never climbs: at property, no climb event, no notice" \
    eval '[ "$(level "$tb")" = property ] && [ "$(climbs "$tb")" = "|0" ]'

clock_at '2025-11-18 18:00'
sleep 1.5
check "Tuesday 18:00, due but the calendar closed: still developer" test "$(level "$ta")" = developer
clock_at '2025-11-19 09:00'
for _ in $(seq 1 50); do [ "$(level "$ta")" = hotline ] && break; sleep 0.1; done
sleep 1.5
cid=$(sql "SELECT complaint_id FROM warranty_reports WHERE ticket_id = '$ta'")
check "Wednesday 09:00: climbed to the hotline once, one complaint linked to the ticket" \
    eval '[ "$(climbs "$ta")" = "property>developer,developer>hotline|4" ] && [ -n "$cid" ] &&
          [ "$(sql "SELECT count(*) FROM complaints WHERE ticket_id = '"'$ta'"'")" = 1 ]'
check "the complaint: hotline400, engineering, waterproofing, the unit, the owner, the description" \
    test "$(sql "SELECT channel, specialty, category, unit_id, owner_name, owner_phone, description, state FROM complaints WHERE id = $cid")" = "hotline400|engineering|waterproofing|$u1|张三|13800000001|卫生间顶棚渗水|open"
check "it was taken in like complaint add: one 'add' event, two clocks, the first reply due 14:00" \
    eval '[ "$(sql "SELECT count(*) FROM complaint_events WHERE complaint_id = $cid AND action = '"'add'"'")" = 1 ] &&
          [ "$(sql "SELECT count(*) FROM complaint_clocks WHERE complaint_id = $cid")" = 2 ] &&
          [ "$(sql "SELECT to_char(due_at AT TIME ZONE '"'Asia/Shanghai'"', '"'MM-DD HH24:MI'"') FROM complaint_clocks WHERE complaint_id = $cid AND kind = '"'first_reply'"'")" = "11-19 14:00" ]'
check "the report has no due at the hotline level" test "$(due "$ta")" = ""
S=(--server "127.0.0.1:$port2" --ca "$certs/ca.crt")
login hot1
as hot1 warranty show "$ta" --format json
check "show through the second daemon: level hotline, the complaint linked, 2 climbs in the history" \
    eval '[ "$rc" = 0 ] && json_has "d[\"report\"][9][\"value\"] == \"hotline\" and d[\"report\"][16][\"value\"] == \"$cid\" and [e[\"action\"] for e in d[\"history\"]].count(\"climb\") == 2"'
as hot1 complaint show "$cid" --format csv
check "the hotline sees the complaint" test "$rc" = 0

# A backlog: 12 reports overdue at once climb in one tick's pass, each in its own
# transaction (a tick once put all their calendars in one batch, over its 16 statements).
clock_at '2025-11-19 10:00'
login prop1
for i in $(seq 1 12); do
    as prop1 warranty add --project "$p" --unit "$u2" --owner "业主$i" --category waterproofing \
        --location "房间$i" --description "渗水$i" >/dev/null
done
n12=$(sql "SELECT count(*) FROM warranty_reports WHERE level = 'property' AND responded_at IS NULL")
check "12 more reports taken in, due Monday 24 November 10:00" \
    eval '[ "$n12" = 12 ] && [ "$(sql "SELECT count(DISTINCT response_due_at AT TIME ZONE '"'Asia/Shanghai'"') FROM warranty_reports WHERE level = '"'property'"' AND responded_at IS NULL AND response_due_at = '"'2025-11-24 10:00+08'"'")" = 1 ]'
clock_at '2025-11-24 10:00'
for _ in $(seq 1 50); do
    [ "$(sql "SELECT count(*) FROM warranty_reports WHERE level = 'developer'")" = 12 ] && break
    sleep 0.1
done
sleep 1.5
check "all 12 climb to developer, each once (12 climb events, 24 notices)" \
    eval '[ "$(sql "SELECT count(*) FROM warranty_reports WHERE level = '"'developer'"'")" = 12 ] &&
          [ "$(sql "SELECT count(*) FROM warranty_events WHERE action = '"'climb'"' AND to_level = '"'developer'"' AND at >= '"'2025-11-24 10:00+08'"'")" = 12 ] &&
          [ "$(sql "SELECT count(*) FROM notices n JOIN warranty_events e ON n.subject = '"'warranty:'"' || e.ticket_id WHERE e.action = '"'climb'"' AND e.at >= '"'2025-11-24 10:00+08'"'")" = 24 ]'
check "the second daemon stops cleanly" stop_daemon "$d2"
check "the first daemon stops cleanly" stop_daemon "$d1"
report_and_exit
