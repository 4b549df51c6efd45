#!/usr/bin/env bash
# test_watch.sh - notices pushed to `cloop watch` (issue 12, point 7; docs/WATCH.md), end to
# end: a throwaway PostgreSQL cluster, the real closeloopd, cloop watch running in the
# background as each role, notices made through cl_notice (psql) and by dispatching tickets.
#
# Checks: a clerk's watcher prints a notice of its project as it comes (one line per
# notice, counted; time, Chinese label, sentence) and never one of a project it cannot see
# (proved by the visible notice that was made after it arriving alone); a notice with
# neither project nor company reaches HQ only; a user's own notice reaches that user only;
# --format json prints one object a line; --since catches up with what the session may
# see (SQL: cl_notice_visible), oldest first; a watcher reconnects by itself after the
# daemon restarts and prints what was made while it was down; notices made while the
# daemon's LISTEN connection was cut are still pushed; a ticket dispatched to a contractor
# gives that contractor exactly one `assigned` notice (and an import of several tickets one
# more, not one per ticket), which other roles do not get; an idle watcher pings and stays
# connected; a logout elsewhere stops the pushes at once and ends the watch at its next
# keep-alive (exit 3); a user without a session is refused (exit 3).
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP. Prints "ok - ..." or
# "not ok - ..." per check and "N passed, M failed"; exits non-zero on any failure.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch watch

start_server_with_db

# watch_bg NAME USER ARGS...: cloop watch as USER in the background, stdout in
# $work/NAME.out, stderr in $work/NAME.err; waits until it says it is watching. Its pid
# in $wpid.
watch_bg() {
    local name=$1 user=$2
    shift 2
    mkdir -p "$work/cfg/$user"
    XDG_CONFIG_HOME=$work/cfg/$user "$CLOOP" "${S[@]}" watch "$@" \
        >"$work/$name.out" 2>"$work/$name.err" &
    wpid=$!
    for _ in $(seq 1 100); do
        grep -q '等待通知' "$work/$name.err" 2>/dev/null && return 0
        kill -0 "$wpid" 2>/dev/null || break
        sleep 0.1
    done
    not_ok "cloop watch as $user starts watching"
    sed 's/^/#   /' "$work/$name.err" >&2
    return 1
}
# lines NAME: lines printed so far. wait_lines NAME N [TENTHS]: until NAME has N lines
# (at most TENTHS tenths of a second, default 100); then its line count.
lines() { wc -l <"$work/$1.out" | tr -d ' '; }
wait_lines() {
    for _ in $(seq 1 "${3:-100}"); do
        [ "$(lines "$1")" -ge "$2" ] && break
        sleep 0.1
    done
    lines "$1"
}
# stop_watch PID NAME: Ctrl-C; its exit status in $wrc; a sanitizer report fails.
stop_watch() {
    kill -INT "$1" 2>/dev/null
    wait "$1"
    wrc=$?
    if grep -q 'Sanitizer' "$work/$2.err"; then not_ok "cloop watch ($2) runs clean under the sanitizers"; fi
}

# --- two companies, a project each, two contractors, users ---------------------------
setup_project 万科城
pa=$p
as admin company add 广州城市公司 --kind city --parent "$hq" --format csv
cb=$(csv_col id)
as admin project add --company "$cb" 天河府 --city 广州 --format csv
pb=$(csv_col id)
as admin building add --project "$pa" 3栋 --floors 30 --format csv
for u in 3-2-1701 3-2-1702; do as admin unit add --building 1 "$u"; done
as admin contractor add 东方雨虹 --trades waterproofing --format csv
cw=$(csv_col id)
as admin contractor add 中建三局 --trades doors_windows --format csv
cd_=$(csv_col id)
as admin trade assign --project "$pa" --trade waterproofing --contractor "$cw"
as admin trade assign --project "$pa" --trade doors_windows --contractor "$cd_"
export CLOSELOOP_NEW_PASSWORD=$pw
as admin user add clerk1 --role clerk --projects "$pa"
as admin user add crb --role cr --company "$cb"
as admin user add dyh --role contractor --contractor "$cw"
as admin user add zj --role contractor --contractor "$cd_"
unset CLOSELOOP_NEW_PASSWORD
for u in clerk1 crb dyh zj; do login "$u"; done
check "two companies, a project each, four users" test "$rc" = 0
clerk1_id=$(sql "SELECT id FROM users WHERE username = 'clerk1'")

# --- refusal: no session --------------------------------------------------------------
as nobody watch
check "watch without a session is refused (exit 3)" \
    eval '[ "$rc" = 3 ] && grep -q "login" <<<"$err"'
as clerk1 watch --format csv
check "watch --format csv is a usage error (exit 2)" test "$rc" = 2

# --- a clerk hears of its project, never of another's ---------------------------------
watch_bg w1 clerk1 || bail "clerk1's watcher"
w1=$wpid
watch_bg h1 admin || bail "admin's watcher"
h1=$wpid
watch_bg c1 crb || bail "crb's watcher"
c1=$wpid
nb=$(sql "SELECT cl_notice('warning', $pb, NULL, 'complaint:1', '天河府的投诉首次回复还剩 1 小时。')")
na=$(sql "SELECT cl_notice('warning', $pa, NULL, 'complaint:2', '万科城的投诉首次回复还剩 1 小时。')")
check "cl_notice made two notices (of 天河府, then of 万科城)" \
    eval '[ -n "$nb" ] && [ -n "$na" ] && [ "$na" -gt "$nb" ]'
check "the clerk's watcher prints the notice of its project as it comes" \
    test "$(wait_lines w1 1)" = 1
check "... one line: time, Chinese label 临期预警, the sentence" \
    grep -qE '^20[0-9-]+ [0-9:]+ .*  临期预警  万科城的投诉首次回复还剩 1 小时。$' "$work/w1.out"
check "... and not the notice of 天河府, made before it (1 line in all)" \
    eval '[ "$(lines w1)" = 1 ] && ! grep -q 天河府 "$work/w1.out"'
check "HQ's watcher prints both, in order" \
    eval '[ "$(wait_lines h1 2)" = 2 ] && head -n 1 "$work/h1.out" | grep -q 天河府 &&
          tail -n 1 "$work/h1.out" | grep -q 万科城'
check "广州's cr prints 天河府's only" \
    eval '[ "$(wait_lines c1 1)" = 1 ] && grep -q 天河府 "$work/c1.out"'

# A notice of no project and no company: HQ only. A user's own: that user only.
sql "SELECT cl_notice('calendar', NULL, NULL, 'calendar:2027', '2027 年的法定节假日尚未导入。')" >/dev/null
sql "SELECT cl_notice('escalated', $pa, $clerk1_id, 'complaint:3', '投诉 3 已升级给您处理。')" >/dev/null
sql "SELECT cl_notice('breach', $pb, NULL, 'complaint:4', '天河府的投诉 4 已超时。')" >/dev/null
check "HQ gets the calendar notice and 天河府's breach, not clerk1's own (4 lines)" \
    eval '[ "$(wait_lines h1 4)" = 4 ] && sleep 0.5 && [ "$(lines h1)" = 4 ] &&
          grep -q "日历  2027" "$work/h1.out" && ! grep -q "投诉 3" "$work/h1.out"'
check "clerk1 gets its own notice, not the calendar's nor 天河府's (2 lines)" \
    eval '[ "$(wait_lines w1 2)" = 2 ] && sed -n 2p "$work/w1.out" | grep -q "已升级  投诉 3 已升级给您处理。" &&
          ! grep -q "日历\|天河府" "$work/w1.out"'
check "广州's cr gets 天河府's breach, nothing else (2 lines)" \
    eval '[ "$(wait_lines c1 2)" = 2 ] && grep -q "已超时" "$work/c1.out" && ! grep -q "万科城\|日历\|投诉 3" "$work/c1.out"'

# --- the daemon's LISTEN connection is cut: what is made meanwhile is still pushed --------
# One transaction: the listener is gone (pg_terminate_backend waits for it) when the
# notice commits, so its NOTIFY reaches nobody; the daemon must read it on reconnecting.
cut=$(psql "$CLOSELOOP_DB_CONNINFO" -qAtX -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
 WHERE application_name = 'closeloopd-notices';
SELECT cl_notice('warning', $pa, NULL, 'complaint:5', '万科城的投诉 5 还剩 2 小时。') IS NULL;
COMMIT;
SQL
)
cut=${cut%%$'\n'*}
check "with its LISTEN connection cut ($cut), the daemon still pushes the next notice" \
    eval '[ "$cut" = 1 ] && [ "$(wait_lines w1 3)" = 3 ] && grep -q "投诉 5" "$work/w1.out"'
check "the daemon logged the lost LISTEN and listened again" \
    eval 'grep -q "event=notice_lost" "$work/daemon.log" &&
          [ "$(grep -c "event=notice_listening" "$work/daemon.log")" -ge 2 ]'

# --- the watcher reconnects by itself and prints what it missed ------------------------
stop_daemon "$dpid"
check "the daemon stops" test $? = 0
sql "SELECT cl_notice('breach', $pa, NULL, 'complaint:6', '万科城的投诉 6 已超时。')" >/dev/null
sql "SELECT cl_notice('breach', $pb, NULL, 'complaint:7', '天河府的投诉 7 已超时。')" >/dev/null
# Started again with a small output budget (2 MiB a connection), for the flood below.
CLOSELOOP_SERVER_MAX_FRAME=1048576 CLOSELOOP_SERVER_MAX_OUTPUT=2097152 \
    start_daemon 127.0.0.1 "$port" "$work/daemon2.log" || bail "closeloopd starts again"
check "clerk1's watcher reconnects and prints the notice made while the daemon was down" \
    eval '[ "$(wait_lines w1 4 400)" = 4 ] && sed -n 4p "$work/w1.out" | grep -q "已超时  万科城的投诉 6 已超时。"'
check "... saying it reconnected" grep -q 'reconnecting' "$work/w1.err"
sql "SELECT cl_notice('warning', $pa, NULL, 'complaint:8', '万科城的投诉 8 还剩 3 小时。')" >/dev/null
check "... and goes on with the pushes (5 lines, none of 天河府)" \
    eval '[ "$(wait_lines w1 5)" = 5 ] && ! grep -q 天河府 "$work/w1.out"'
stop_watch "$w1" w1
check "Ctrl-C ends the watcher with exit 0" test "$wrc" = 0
stop_watch "$h1" h1
stop_watch "$c1" c1

# --- --since: the catch-up, by SQL's rule ----------------------------------------------
XDG_CONFIG_HOME=$work/cfg/clerk1 "$CLOOP" "${S[@]}" watch --since 0 --format json \
    >"$work/s1.out" 2>"$work/s1.err" &
w2=$!
check "watch --since 0 --format json: clerk1's 5 notices so far, one JSON object a line" \
    eval '[ "$(wait_lines s1 5)" = 5 ] && sleep 0.5 && [ "$(lines s1)" = 5 ]'
check "... oldest first, only its project's and its own" \
    python3 -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ids = [r["id"] for r in rows]
assert ids == sorted(ids), ids
assert [r["subject"] for r in rows] == ["complaint:2", "complaint:3", "complaint:5", "complaint:6", "complaint:8"], rows
assert rows[0]["kind"] == "warning" and rows[0]["kind_label"] == "临期预警", rows[0]
assert rows[0]["project_id"] == int(sys.argv[2]) and "万科城" in rows[0]["body"], rows[0]
' "$work/s1.out" "$pa"
stop_watch "$w2" s1
since=$(sql "SELECT id FROM notices WHERE subject = 'complaint:5'")
XDG_CONFIG_HOME=$work/cfg/clerk1 "$CLOOP" "${S[@]}" watch --since "$since" \
    >"$work/s2.out" 2>"$work/s2.err" &
w3=$!
check "watch --since (the id of complaint 5) prints the 2 after it, nothing more" \
    eval '[ "$(wait_lines s2 2)" = 2 ] && sleep 0.5 && [ "$(lines s2)" = 2 ] &&
          grep -q "投诉 6" "$work/s2.out" && grep -q "投诉 8" "$work/s2.out"'
stop_watch "$w3" s2

# --- assigned: a dispatched ticket tells its contractor, once --------------------------
watch_bg k1 dyh || bail "dyh's watcher"
k1=$wpid
watch_bg k2 zj || bail "zj's watcher"
k2=$wpid
watch_bg w4 clerk1 || bail "clerk1's second watcher"
w4=$wpid
as clerk1 inspect record --project "$pa" --unit 3-2-1701 --round mock1 --date 2026-11-20 \
    --inspector 王工 --location 卫生间 --category waterproofing --severity major 地漏周边渗水
check "a waterproofing item makes ticket 1, dispatched to 东方雨虹" test "$rc" = 0
check "东方雨虹's watcher prints one 新派单 line for ticket 1" \
    eval '[ "$(wait_lines k1 1)" = 1 ] &&
          grep -qE "  新派单  项目「万科城」第 1 号工单派给了您。$" "$work/k1.out"'
check "... one assigned notice in the database, addressed to 东方雨虹" \
    test "$(sql "SELECT count(*) FROM notices WHERE kind = 'assigned' AND contractor_id = $cw")" = 1
{
    echo "project,unit,round,inspected_on,inspector,location,category,description,severity"
    for i in 1 2 3 4 5; do echo "$pa,3-2-1702,mock1,2026-11-21,王工,厨房,waterproofing,问题$i 渗水,minor"; done
} >"$work/day.csv"
as clerk1 inspect import "$work/day.csv"
check "an import of 5 waterproofing items exits 0" test "$rc" = 0
check "... gives 东方雨虹 one more notice, for the 5 tickets (2 lines)" \
    eval '[ "$(wait_lines k1 2)" = 2 ] && sed -n 2p "$work/k1.out" | grep -q "5 张工单派给了您（第 2 至 6 号）"'
check "... 2 assigned notices in all in the database" \
    test "$(sql "SELECT count(*) FROM notices WHERE kind = 'assigned'")" = 2
as clerk1 inspect record --project "$pa" --unit 3-2-1702 --round mock1 --date 2026-11-21 \
    --inspector 王工 --location 客厅 --category doors_windows --severity minor 窗框缝隙
check "a doors_windows item makes ticket 7 for 中建三局" test "$rc" = 0
check "中建三局's watcher prints its one notice (ticket 7), none of 东方雨虹's" \
    eval '[ "$(wait_lines k2 1)" = 1 ] && sleep 0.5 && [ "$(lines k2)" = 1 ] &&
          grep -q "第 7 号工单" "$work/k2.out"'
check "东方雨虹's watcher still has 2 lines" test "$(lines k1)" = 2
sql "SELECT cl_notice('warning', $pa, NULL, 'complaint:9', '万科城的投诉 9 还剩 1 小时。')" >/dev/null
check "clerk1 got none of the assigned notices (its next line is complaint 9's)" \
    eval '[ "$(wait_lines w4 1)" = 1 ] && grep -q "投诉 9" "$work/w4.out"'
for w in "$k1:k1" "$k2:k2" "$w4:w4"; do stop_watch "${w%%:*}" "${w#*:}"; done

# --- an idle watcher pings (CLOSELOOP_WATCH_PING_S: every second here) and stays -------
CLOSELOOP_WATCH_PING_S=1 watch_bg p1 clerk1 || bail "clerk1's pinging watcher"
p1=$wpid
sleep 3.5
sql "SELECT cl_notice('warning', $pa, NULL, 'complaint:10', '万科城的投诉 10 还剩 1 小时。')" >/dev/null
check "a watcher idle for 3 pings is still running and prints the next notice" \
    eval 'kill -0 "$p1" && [ "$(wait_lines p1 1)" = 1 ] && grep -q "投诉 10" "$work/p1.out"'
check "... without an error on stderr" \
    eval '! grep -q "^cloop:" "$work/p1.err"'
stop_watch "$p1" p1
check "... and Ctrl-C ends it with exit 0" test "$wrc" = 0

# --- a watcher that does not read: never an unbounded queue, and nothing lost ----------
# 15,000 notices of ~900 bytes (13 MB) while the watcher is stopped: past the socket's
# buffers and half the 2 MiB budget the daemon drops its pushes; the next one says
# gap_before and cloop watch catches up. Every notice is printed once.
CLOSELOOP_WATCH_PING_S=3600 watch_bg f1 clerk1 --format json || bail "clerk1's flooded watcher"
f1=$wpid
kill -STOP "$f1"
flood=$(sql "SELECT count(cl_notice('warning', $pa, NULL, 'flood:' || i, repeat('满', 300)))
               FROM generate_series(1, 15000) i")
sleep 3
kill -CONT "$f1"
sql "SELECT cl_notice('warning', $pa, NULL, 'flood:end', '洪水之后的一条。')" >/dev/null
check "15,000 notices made while the watcher was stopped" test "$flood" = 15000
got=$(wait_lines f1 15001 900)
sleep 1
out="lines: $got; ids, distinct: $(python3 -c 'import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
print(len(ids), len(set(ids)))' "$work/f1.out")"
check "the watcher prints all 15,001 once it reads again, each once" \
    eval '[ "$(lines f1)" = 15001 ] && [ "${out##*: }" = "15001 15001" ]'
check "... after the daemon dropped pushes to it rather than queue them (event=notice_gap)" \
    grep -q "event=notice_gap conn=" "$work/daemon2.log"
stop_watch "$f1" f1

# --- a logout elsewhere: nothing more is pushed, and the next keep-alive ends the watch ---
CLOSELOOP_WATCH_PING_S=4 watch_bg l1 clerk1 || bail "clerk1's watcher before the logout"
l1=$wpid
as clerk1 logout
check "clerk1 logs out (the watcher's session, same token)" test "$rc" = 0
sql "SELECT cl_notice('warning', $pa, NULL, 'complaint:11', '万科城的投诉 11 还剩 1 小时。')" >/dev/null
sleep 1
check "the logged-out session's watcher prints nothing more" test "$(lines l1)" = 0
for _ in $(seq 1 100); do kill -0 "$l1" 2>/dev/null || break; sleep 0.1; done
wait "$l1"
wrc=$?
check "... and at its next keep-alive it ends, refused (exit 3)" \
    eval '[ "$wrc" = 3 ] && [ "$(lines l1)" = 0 ]'

report_and_exit
