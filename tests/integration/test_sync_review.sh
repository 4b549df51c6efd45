#!/usr/bin/env bash
# test_sync_review.sh - an outside review of the server side of desktop sync (issue 10):
# the holes it found, each as a check that failed before its fix.
#
# Idempotency keys: a key already used for one ticket (or one action), sent again with
# another ticket or another action, is refused (ERR_INVALID_ARGUMENT) and changes nothing;
# before, the replay answered success with the other ticket as it is now, so an outbox
# that reused a key by mistake would believe a transition was made that never was.
#
# A handover form's key names its unit (migration 019): the same key sent with the form of
# another unit is refused; before, it answered with that unit's record and wrote nothing.
#
# Pushes: a contractor follows every change (it works for every company), but the notice
# names a company only to a user who sees that company (HQ, or its own); a change in a
# company where the contractor has no project reaches it as company 0. Before, it named
# the other company, so a contractor learned which companies were at work, and when.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP. Prints "ok - ..." or
# "not ok - ..." per check and "N passed, M failed"; exits non-zero on any failure.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch syncreview
PROBE=$CL_BIN_DIR/sync_probe

start_server_with_db
# probe USER ARGS...: sync_probe as USER; $out, $rc.
probe() {
    local u=$1
    shift
    out=$(CLOSELOOP_PASSWORD=$pw "$PROBE" --server "127.0.0.1:$port" --ca "$certs/ca.crt" \
        --user "$u" "$@" 2>"$work/probe.err")
    rc=$?
    if grep -q 'Sanitizer' "$work/probe.err"; then not_ok "sync_probe $* runs clean under the sanitizers"; fi
}
today=$(date +%F)

login admin
as admin company add 深圳城市公司 --kind city --format csv
ca=$(csv_col id)
as admin project add --company "$ca" 万科城 --city 深圳 --format csv
pa=$(csv_col id)
as admin building add --project "$pa" 3栋 --floors 30 --format csv
ba=$(csv_col id)
for u in 3-2-1701 3-2-1702; do as admin unit add --building "$ba" "$u"; done
as admin contractor add 东方雨虹 --trades waterproofing --format csv
cw=$(csv_col id)
as admin trade assign --project "$pa" --trade waterproofing --contractor "$cw"
[ "$rc" = 0 ] && [ -n "$pa" ] && [ -n "$cw" ] || bail "company, project, contractor"
add_user dyh contractor --contractor "$cw"
add_user clerk1 clerk --projects "$pa"
for i in 1 2; do
    as clerk1 inspect record --project "$pa" --unit 3-2-1701 --round mock1 --date "$today" \
        --inspector 王工 --location 卫生间 --category waterproofing --severity minor "渗水 $i"
done
check "two items raise tickets #1 and #2, open, with the contractor" \
    test "$(sql "SELECT count(*) FROM tickets WHERE project_id = $pa AND state = 'open' AND contractor_id = $cw")" = 2
events() { # NUMBER: events of ticket NUMBER
    sql "SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
          WHERE t.project_id = $pa AND t.number = $1"
}
state_of() { sql "SELECT state || ' ' || version FROM tickets WHERE project_id = $pa AND number = $1"; }

# --- a key used for one ticket, sent with another -------------------------------------------
probe dyh transition --project "$pa" --number 1 --action repaired --note 已修复 --key same-key
check "#1 repaired with key same-key" test "$rc" = 0 -a "$(grep -c '^ok repaired ' <<<"$out")" = 1
s2=$(state_of 2)
e2=$(events 2)
probe dyh transition --project "$pa" --number 2 --action repaired --note 已修复 --key same-key
check "the same key sent for #2 is refused (ERR_INVALID_ARGUMENT = 4), not answered as done" \
    eval '[ "$rc" = 0 ] && grep -q "^error 4 .*idempotency_key" <<<"$out"'
check "... and #2 is unchanged (still open, same version, no event)" \
    test "$(state_of 2)" = "$s2" -a "$(events 2)" = "$e2" -a "${s2%% *}" = open
probe dyh transition --project "$pa" --number 1 --action repaired --note 已修复 --key same-key
check "the key retried for #1 itself still answers success (repaired)" \
    test "$rc" = 0 -a "$(grep -c '^ok repaired ' <<<"$out")" = 1
probe dyh transition --project "$pa" --number 2 --action repaired --note 已修复 --key key-2
check "#2 repaired with its own key" test "$rc" = 0 -a "$(grep -c '^ok repaired ' <<<"$out")" = 1

# --- a handover form's key used for one unit, sent with the form of another ---------------
rec_of() { sql "SELECT coalesce(max(r.inspector || ' ' || r.version), 'none') FROM inspection_records r
                 JOIN units u ON u.id = r.unit_id WHERE u.project_id = $pa AND u.number = '$1'"; }
probe clerk1 handover --project "$pa" --unit 3-2-1701 --date "$today" --outcome accepted \
    --inspector 王工 --key ho-a
check "the form of 3-2-1701 recorded with key ho-a" test "$rc" = 0 -a "$(grep -c '^ok ' <<<"$out")" = 1
r2=$(rec_of 3-2-1702)
probe clerk1 handover --project "$pa" --unit 3-2-1702 --date "$today" --outcome accepted \
    --inspector 李四 --key ho-a
check "the same key sent with the form of 3-2-1702 is refused (ERR_INVALID_ARGUMENT = 4)" \
    eval '[ "$rc" = 0 ] && grep -q "^error 4 .*idempotency_key" <<<"$out"'
check "... and 3-2-1702 has no record written ($r2)" test "$(rec_of 3-2-1702)" = "$r2" -a "$r2" = none
probe clerk1 handover --project "$pa" --unit 3-2-1701 --date "$today" --outcome accepted \
    --inspector 王工 --key ho-a
check "the key retried with 3-2-1701's own form still answers success" \
    test "$rc" = 0 -a "$(grep -c '^ok ' <<<"$out")" = 1
check "request_keys holds the form's target (project/unit)" \
    test "$(sql "SELECT target FROM request_keys k JOIN users u ON u.id = k.user_id
                  WHERE u.username = 'clerk1' AND k.key = 'ho-a'")" = "$pa/3-2-1701"

# --- a contractor's notice names no company it does not work in ------------------------------
as admin company add 广州城市公司 --kind city --format csv
cb=$(csv_col id)
as admin project add --company "$cb" 天河府 --city 广州 --format csv
pb=$(csv_col id)
[ "$rc" = 0 ] && [ -n "$pb" ] || bail "a second company and project"
CLOSELOOP_PASSWORD=$pw "$PROBE" --server "127.0.0.1:$port" --ca "$certs/ca.crt" --user dyh \
    follow --ms 2500 >"$work/fk" 2>"$work/fk.err" &
pid_fk=$!
for _ in $(seq 1 100); do grep -qx ready "$work/fk" 2>/dev/null && break; sleep 0.1; done
as admin building add --project "$pb" 1栋 --floors 10 --format csv
brc=$rc
wait "$pid_fk"
rfk=$?
check "a change in company B (a building, where the contractor has no project)" test "$brc" = 0
check "... reaches the following contractor as one notice at least" \
    test "$rfk" = 0 -a "$(sed -n 's/^notices //p' "$work/fk")" -ge 1
check "... and no notice names company B (every one names company 0)" \
    test "$(grep -c '^notice ' "$work/fk")" -ge 1 -a \
    "$(grep '^notice ' "$work/fk" | cut -d' ' -f2 | grep -cvx 0)" = 0

report_and_exit
