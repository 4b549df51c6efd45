#!/usr/bin/env bash
# test_complaint_clock.sh - complaint warnings and breaches by the daemons' timer (issue 12,
# part B; docs/COMPLAINTS.md "Warnings and breaches"), on a simulated clock: a phone
# complaint at 10:00 on 9 October 2025 warns at 14:00 (75 % of 4 business hours) and breaks
# at 15:00. Nothing goes out before; the daemon is killed with -9 before 14:00 and the
# clock moved past both to 18:30, outside working hours; two daemons then start and send
# nothing until the next working morning (09:00 on 10 October), when exactly one warning
# and one breach go out: one event and one notice each, to the complaint's named owner.
# Then time alone raises the class: 7 days and a minute open through our fault make it hot,
# 30 days major (not on a Saturday: the next working morning), each once (two daemons), while a complaint that waited on its owner all
# along stays ordinary.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch complaintclock

export CLOSELOOP_COMPLAINT_TICK_MS=200
start_server_with_db
setup_project 万科城 2027-06-30
sim_clock_init
alerts() { # KIND: events and notices of that kind for the complaint, as "events|notices"
    sql "SELECT (SELECT count(*) FROM complaint_events WHERE complaint_id = $cid AND action = '$1'),
                (SELECT count(*) FROM notices WHERE kind = '$1' AND subject = 'complaint:$cid')"
}
add_user prop1 property --projects "$p"
prop1_id=$(sql "SELECT id FROM users WHERE username = 'prop1'")

clock_at '2025-10-09 10:00'
as prop1 complaint add --project "$p" --channel phone --specialty property --owner 冯二 \
    --description 电梯故障 --format csv
cid=$(sql "SELECT max(id) FROM complaints")
as prop1 complaint add --project "$p" --channel phone --specialty property --owner 钱一 \
    --description 门禁故障 --format csv
cwait=$(sql "SELECT max(id) FROM complaints")
as prop1 complaint pause "$cwait" --format csv
check "a second complaint waits on its owner from 10:00" \
    test "$(sql "SELECT state FROM complaints WHERE id = $cwait")" = waiting
check "a phone complaint at 10:00: warn at 14:00, due at 15:00" \
    test "$(sql "SELECT to_char(warn_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI'), to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') FROM complaint_clocks WHERE complaint_id = $cid AND kind = 'first_reply'")" = '14:00|15:00'
clock_at '2025-10-09 13:59'
sleep 1.5
check "at 13:59 nothing has gone out (the complaint is there, no warning, no breach)" \
    eval '[ "$(sql "SELECT count(*) FROM complaint_events WHERE complaint_id = $cid")" = 1 ] &&
          [ "$(alerts warning)" = "0|0" ] && [ "$(alerts breach)" = "0|0" ]'

kill -KILL "$dpid"
wait "$dpid" 2>/dev/null
pids=()
check "closeloopd killed with -9" eval '! kill -0 "$dpid" 2>/dev/null'
clock_at '2025-10-09 18:30'
port2=$(free_port)
start_daemon 127.0.0.1 "$port" "$work/daemon1.log" || bail "the first daemon restarts"
d1=$dpid
start_daemon 127.0.0.1 "$port2" "$work/daemon2.log" || bail "a second daemon starts"
d2=$dpid
sleep 1.5
check "two daemons at 18:30, outside working hours: the warning and breach wait" \
    eval '[ "$(alerts warning)" = "0|0" ] && [ "$(alerts breach)" = "0|0" ]'

clock_at '2025-10-10 09:00'
for _ in $(seq 1 50); do
    [ "$(alerts breach)" = "1|1" ] && [ "$(alerts warning)" = "1|1" ] && break
    sleep 0.1
done
sleep 1.5 # many more ticks of both daemons
check "at 09:00 the next working day: exactly one warning (event and notice)" \
    test "$(alerts warning)" = '1|1'
check "and exactly one breach (event and notice)" test "$(alerts breach)" = '1|1'
check "both notices are addressed to the complaint's named owner, prop1" \
    test "$(sql "SELECT count(*) FROM notices WHERE subject = 'complaint:$cid' AND user_id = $prop1_id AND kind IN ('warning', 'breach')")" = 2
check "the warning says when the clock runs out" \
    test "$(sql "SELECT body FROM notices WHERE kind = 'warning' AND subject = 'complaint:$cid'")" = "投诉${cid}的首次答复时限已用去75%，将于2025-10-09 15:00到期"
check "warned_at and breached_at are the morning's 09:00" \
    test "$(sql "SELECT to_char(warned_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI'), to_char(breached_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') FROM complaint_clocks WHERE complaint_id = $cid AND kind = 'first_reply'")" = '10-10 09:00|10-10 09:00'

# --- the class as time passes, raised by the timer of either daemon, once -------------
classes() { # COMPLAINT: its class events' to_class, comma-separated, and their actors
    sql "SELECT string_agg(to_class || ':' || coalesce(actor_user_id::text, 'timer'), ',' ORDER BY id)
           FROM complaint_events WHERE complaint_id = $1 AND action = 'class'"
}
clock_at '2025-10-16 10:01'
for _ in $(seq 1 50); do [ "$(classes "$cid")" = hot:timer ] && break; sleep 0.1; done
sleep 1 # more ticks of both daemons
check "7 days and a minute open through our fault: hot, raised once by the timer" \
    eval '[ "$(classes "$cid")" = hot:timer ] &&
          [ "$(sql "SELECT class_reason FROM complaints WHERE id = $cid")" = 因我方原因超过7天未解决 ] &&
          [ "$(sql "SELECT count(*) FROM notices WHERE kind = '"'severity'"' AND subject = '"'complaint:$cid'"'")" = 1 ]'
check "the complaint waiting on its owner all along stays ordinary, no class event" \
    eval '[ "$(sql "SELECT class FROM complaints WHERE id = $cwait")" = ordinary ] && [ -z "$(classes "$cwait")" ]'
clock_at '2025-11-08 10:01' # a Saturday: no working hours
sleep 1
check "30 days and a minute on a Saturday: nothing yet" test "$(classes "$cid")" = hot:timer
clock_at '2025-11-10 09:00'
for _ in $(seq 1 50); do [ "$(classes "$cid")" = hot:timer,major:timer ] && break; sleep 0.1; done
sleep 1
check "the next working morning: major, once" test "$(classes "$cid")" = hot:timer,major:timer

# Later complaints of the same issue raise the earlier ones, through the timer.
for who in 13700000001 13700000002 13700000003; do
    as prop1 complaint add --project "$p" --channel phone --specialty engineering \
        --category waterproofing --owner "业主$who" --phone "$who" --description 外墙渗水 --format csv
done
first=$(sql "SELECT min(id) FROM complaints WHERE description = '外墙渗水'")
last=$(sql "SELECT max(id) FROM complaints WHERE description = '外墙渗水'")
for _ in $(seq 1 50); do [ "$(classes "$first")" = hot:timer ] && break; sleep 0.1; done
sleep 1
check "a third complainant of the issue: the new one hot at intake, the first two by the timer, once" \
    eval '[ "$(classes "$last")" = "hot:$prop1_id" ] && [ "$(classes "$first")" = hot:timer ] &&
          [ "$(classes "$((first + 1))")" = hot:timer ] &&
          [ "$(sql "SELECT class_reason FROM complaints WHERE id = $first")" = "30天内同一问题3位不同投诉人" ]'

S=(--server "127.0.0.1:$port2" --ca "$certs/ca.crt")
login prop1
as prop1 complaint show "$cid" --format json
nw=$(sql "SELECT count(*) FROM complaint_events WHERE complaint_id = $cid AND action = 'warning'")
nb=$(sql "SELECT count(*) FROM complaint_events WHERE complaint_id = $cid AND action = 'breach'")
check "show through the second daemon lists the $nw warnings and $nb breaches (both clocks' by now)" \
    eval '[ "$rc" = 0 ] && [ "$nw" = 2 ] && [ "$nb" = 2 ] && python3 -c "import json,sys; d=json.load(sys.stdin); a=[e[\"action\"] for e in d[\"history\"]]; sys.exit(not (a.count(\"warning\") == 2 and a.count(\"breach\") == 2))" <<<"$out"'
as prop1 complaint reply "$cid" --format json
check "the next action gives the closure clock the major class's 16 h" \
    eval '[ "$rc" = 0 ] && [ "$(sql "SELECT budget_s FROM complaint_clocks WHERE complaint_id = $cid AND kind = '"'closure'"'")" = 57600 ]'
check "the second daemon stops cleanly" stop_daemon "$d2"
check "the first daemon stops cleanly" stop_daemon "$d1"
report_and_exit
