#!/usr/bin/env bash
# test_complaint_clock.sh - complaint warnings and breaches by the daemons' timer (issue 12,
# part B; docs/COMPLAINTS.md "Warnings and breaches"), on a simulated clock: a phone
# complaint at 10:00 on 9 October 2025 warns at 14:00 (75 % of 4 business hours) and breaks
# at 15:00. Nothing goes out before; the daemon is killed with -9 before 14:00 and the
# clock moved past both to 18:30, outside working hours; two daemons then start and send
# nothing until the next working morning (09:00 on 10 October), when exactly one warning
# and one breach go out: one event and one notice each, to the complaint's named owner.
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
sql() { psql "$CLOSELOOP_DB_CONNINFO" -qAtX -c "$1"; }
echo "include_if_exists = 'closeloop_clock.conf'" >>"$d/data/postgresql.conf"
clock_at() { # China time 'YYYY-MM-DD HH:MM' for every complaint statement from now on
    echo "closeloop.now = '$1:00+08'" >"$d/data/closeloop_clock.conf"
    sql "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 1 50); do
        [ "$(sql "SELECT to_char(cl_complaint_now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')")" = "$1" ] && break
        sleep 0.1
    done
}
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
S=(--server "127.0.0.1:$port2" --ca "$certs/ca.crt")
login prop1
as prop1 complaint show "$cid" --format json
check "show through the second daemon lists the alerts in the history" \
    eval '[ "$rc" = 0 ] && python3 -c "import json,sys; d=json.load(sys.stdin); a=[e[\"action\"] for e in d[\"history\"]]; sys.exit(not (a.count(\"warning\") == 1 and a.count(\"breach\") == 1))" <<<"$out"'
check "the second daemon stops cleanly" stop_daemon "$d2"
check "the first daemon stops cleanly" stop_daemon "$d1"
report_and_exit
