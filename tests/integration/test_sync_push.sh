#!/usr/bin/env bash
# test_sync_push.sh - idempotency keys and the server push (issue 10, part A2), end to end:
# a throwaway PostgreSQL cluster, two closeloopd on it, cloop for the set-up and
# sync_probe (tests/integration/sync_probe.c) for what cloop never does on purpose: send
# the same request with the same idempotency key again, and sit on a following
# connection counting SyncNotice pushes.
#
# Keys: a transition and a handover form retried with the same key change nothing
# (ticket_events, versions and the record's content counted in PostgreSQL) and answer
# success with the record as it is now, even after someone else changed it; another
# user's identical key is another key; a conflict or a refusal does not keep its key (a
# retry with the right expected_version then works); a bad key and a key reused for
# another kind of request are refused. Push: a follower on daemon 1 gets a SyncNotice for
# a commit made through daemon 2, within a second; a connection that does not follow gets
# none; a follower of company B gets none for a change in company A (and one for a change
# in B); a push that comes while libcloop waits for a reply is kept; one commit that
# notifies three times reaches a follower as two notices (coalescing); a follower is told
# when the daemon's LISTEN connection was cut and came back.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP. Prints "ok - ..." or
# "not ok - ..." per check and "N passed, M failed"; exits non-zero on any failure.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch syncpush
PROBE=$CL_BIN_DIR/sync_probe

start_server_with_db
S1=("${S[@]}")
# probe USER ARGS...: sync_probe as USER on daemon 1; $out, $rc.
probe() {
    local u=$1
    shift
    out=$(CLOSELOOP_PASSWORD=$pw "$PROBE" --server "127.0.0.1:$port" --ca "$certs/ca.crt" \
        --user "$u" "$@" 2>"$work/probe.err")
    rc=$?
    err=$(cat "$work/probe.err")
    if grep -q 'Sanitizer' <<<"$err"; then not_ok "sync_probe $* runs clean under the sanitizers"; fi
}
today=$(date +%F)

# --- two city companies, a project each, one contractor, users ---------------------------
login admin
as admin company add 集团总部 --kind hq --format csv
hq=$(csv_col id)
as admin company add 深圳城市公司 --kind city --parent "$hq" --format csv
ca=$(csv_col id)
as admin company add 广州城市公司 --kind city --parent "$hq" --format csv
cb=$(csv_col id)
as admin project add --company "$ca" 万科城 --city 深圳 --format csv
pa=$(csv_col id)
as admin project add --company "$cb" 天河府 --city 广州 --format csv
pb=$(csv_col id)
as admin building add --project "$pa" 3栋 --floors 30 --format csv
ba=$(csv_col id)
for u in 3-2-1701 3-2-1702; do as admin unit add --building "$ba" "$u"; done
as admin contractor add 东方雨虹 --trades waterproofing --format csv
cw=$(csv_col id)
as admin trade assign --project "$pa" --trade waterproofing --contractor "$cw"
[ "$rc" = 0 ] && [ -n "$pa" ] && [ -n "$pb" ] && [ -n "$cw" ] || bail "companies, projects, contractor"
add_user dyh contractor --contractor "$cw"
add_user dyh2 contractor --contractor "$cw"
add_user clerk1 clerk --projects "$pa"
add_user clerk2 clerk --projects "$pa"
add_user ver1 verifier --projects "$pa"
add_user cra cr --company "$ca"
add_user crb cr --company "$cb"
for i in 1 2 3; do
    as clerk1 inspect record --project "$pa" --unit 3-2-1701 --round mock1 --date "$today" \
        --inspector 王工 --location 卫生间 --category waterproofing --severity minor "渗水 $i"
done
check "three items raise tickets #1-#3, each with the contractor" \
    test "$(sql "SELECT count(*) FROM tickets WHERE project_id = $pa AND state = 'open' AND contractor_id = $cw")" = 3
repaired_events() { # NUMBER: repaired events of ticket NUMBER of project A
    sql "SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
          WHERE t.project_id = $pa AND t.number = $1 AND e.action = 'repaired'"
}
version_of() { sql "SELECT version FROM tickets WHERE project_id = $pa AND number = $1"; }

# --- a transition retried with the same key ------------------------------------------------
probe dyh transition --project "$pa" --number 1 --action repaired --note 已修复 --key rep-1 --times 3
v1=$(version_of 1)
check "repaired sent 3 times with one key: 3 successes" \
    test "$rc" = 0 -a "$(grep -c "^ok repaired $v1\$" <<<"$out")" = 3
check "... the ticket was repaired once (1 repaired event in PostgreSQL)" test "$(repaired_events 1)" = 1
check "... one key is recorded" \
    test "$(sql "SELECT count(*) FROM request_keys WHERE key = 'rep-1'")" = 1
as ver1 ticket verify --project "$pa" 1 --fail --note 仍渗水
check "the verifier fails the repair: #1 is open again" test "$rc" = 0 -a "$(version_of 1)" -gt "$v1"
v1b=$(version_of 1)
probe dyh transition --project "$pa" --number 1 --action repaired --note 已修复 --key rep-1
check "the old repair retried after that answers success with the ticket as it is now (open)" \
    test "$rc" = 0 -a "$out" = "ok open $v1b"
check "... and changes nothing (still 1 repaired event, same version)" \
    test "$(repaired_events 1)" = 1 -a "$(version_of 1)" = "$v1b"

# --- keys are per user -----------------------------------------------------------------------
probe dyh2 transition --project "$pa" --number 2 --action repaired --note 已修复 --key rep-1
check "another user's identical key is another key: #2 repaired" \
    test "$rc" = 0 -a "$(grep -c '^ok repaired ' <<<"$out")" = 1 -a "$(repaired_events 2)" = 1
check "... two keys rep-1 now, one per user" \
    test "$(sql "SELECT count(DISTINCT user_id) FROM request_keys WHERE key = 'rep-1'")" = 2

# --- a conflict keeps no key --------------------------------------------------------------------
v3=$(version_of 3)
probe dyh transition --project "$pa" --number 3 --action repaired --note 已修复 --key rep-3 \
    --expected $((v3 + 5))
check "repaired with a wrong expected_version is a conflict (ERR_CONFLICT = 12)" \
    eval '[ "$rc" = 0 ] && grep -q "^error 12 " <<<"$out"'
check "... which changed nothing and kept no key" \
    test "$(repaired_events 3)" = 0 -a "$(version_of 3)" = "$v3" -a \
    "$(sql "SELECT count(*) FROM request_keys WHERE key = 'rep-3'")" = 0
probe dyh transition --project "$pa" --number 3 --action repaired --note 已修复 --key rep-3 \
    --expected "$v3"
check "... so the retry with the right expected_version and the same key works" \
    test "$rc" = 0 -a "$(grep -c '^ok repaired ' <<<"$out")" = 1 -a "$(repaired_events 3)" = 1

# --- bad keys ---------------------------------------------------------------------------------------
long=$(printf 'k%.0s' $(seq 1 101))
probe dyh2 transition --project "$pa" --number 2 --action repaired --note x --key "$long"
check "a key of 101 characters is refused (ERR_INVALID_ARGUMENT = 4)" \
    eval '[ "$rc" = 0 ] && grep -q "^error 4 .*idempotency_key" <<<"$out"'
probe dyh2 transition --project "$pa" --number 2 --action repaired --note x --key 钥匙
check "a key that is not printable ASCII is refused" \
    eval '[ "$rc" = 0 ] && grep -q "^error 4 .*idempotency_key" <<<"$out"'

# --- a handover form retried with the same key ----------------------------------------------------
hrec() { sql "SELECT r.version || ' ' || r.inspector || ' ' || r.keys_handed FROM inspection_records r
               JOIN units u ON u.id = r.unit_id WHERE u.project_id = $pa AND u.number = '3-2-1702'"; }
probe clerk1 handover --project "$pa" --unit 3-2-1702 --date "$today" --outcome accepted \
    --inspector 张三 --keys 2 --key ho-1 --times 2
h1=$(hrec)
check "a handover form sent twice with one key: 2 successes, the same record" \
    test "$rc" = 0 -a -n "$h1" -a "$(grep -c "^ok ${h1}\$" <<<"$out")" = 2
probe clerk2 handover --project "$pa" --unit 3-2-1702 --date "$today" --outcome accepted \
    --inspector 李四 --keys 3 --key ho-2
h2=$(hrec)
check "another clerk's form for the unit changes it" test "$rc" = 0 -a "$out" = "ok $h2" -a "$h2" != "$h1"
probe clerk1 handover --project "$pa" --unit 3-2-1702 --date "$today" --outcome accepted \
    --inspector 张三 --keys 2 --key ho-1
check "the first form retried answers success with the record as it is now (李四's)" \
    test "$rc" = 0 -a "$out" = "ok $h2"
check "... and overwrote nothing in PostgreSQL (still 李四's, same version)" \
    test -n "$h2" -a "$(hrec)" = "$h2"
probe clerk1 handover --project "$pa" --unit 9-9-9999 --date "$today" --outcome accepted --key ho-3
check "a refused form (no such unit, ERR_NOT_FOUND = 11) keeps no key" \
    eval '[ "$rc" = 0 ] && grep -q "^error 11 " <<<"$out" &&
          [ "$(sql "SELECT count(*) FROM request_keys WHERE key = '"'ho-3'"'")" = 0 ]'
probe clerk1 transition --project "$pa" --number 2 --action repaired --note x --key ho-1
check "a key reused for another kind of request is refused" \
    eval '[ "$rc" = 0 ] && grep -q "^error 4 .*another kind of request" <<<"$out"'

# --- the server push across daemons ----------------------------------------------------------------
port2=$(free_port)
start_daemon 127.0.0.1 "$port2" "$work/daemon2.log" || bail "a second closeloopd on the same database"
S2=(--server "127.0.0.1:$port2" --ca "$certs/ca.crt")
S=("${S2[@]}")
login ver1
login admin
S=("${S1[@]}")
# follow NAME USER ARGS...: sync_probe follow in the background, output in $work/NAME.
follow() {
    local name=$1 u=$2
    shift 2
    CLOSELOOP_PASSWORD=$pw "$PROBE" --server "127.0.0.1:$port" --ca "$certs/ca.crt" --user "$u" \
        follow "$@" >"$work/$name" 2>"$work/$name.err" &
    eval "pid_$name=$!"
}
wait_ready() { # NAMES...: until each has printed "ready" (10 s at most)
    for _ in $(seq 1 100); do
        local all=1
        for n in "$@"; do grep -qx ready "$work/$n" 2>/dev/null || all=0; done
        [ "$all" = 1 ] && return 0
        sleep 0.1
    done
    return 1
}
notices() { sed -n 's/^notices //p' "$work/$1"; }
follow fa cra --ms 3000
follow fb crb --ms 3000
follow fn cra --ms 3000 --no-follow
wait_ready fa fb fn || bail "three listeners are ready"
t0=$(date +%s%3N)
XDG_CONFIG_HOME=$work/cfg/ver1 "$CLOOP" "${S2[@]}" ticket verify --project "$pa" 2 --pass >/dev/null 2>&1
vrc=$?
t1=$(date +%s%3N)
wait "$pid_fa"
rfa=$?
wait "$pid_fb"
rfb=$?
wait "$pid_fn"
rfn=$?
check "a commit in company A through daemon 2 (verify #2)" test "$vrc" = 0
first=$(grep -m1 '^notice ' "$work/fa")
check "the follower of company A on daemon 1 got a SyncNotice naming company A" \
    test "$rfa" = 0 -a "$(notices fa)" -ge 1 -a "$(cut -d' ' -f2 <<<"$first")" = "$ca"
check "... within a second of the commit" test "$(cut -d' ' -f3 <<<"$first")" -le $((t1 + 1000))
check "... and not before the commit began" test "$(cut -d' ' -f3 <<<"$first")" -ge "$t0"
check "a connection that does not follow got no push (listened to the end: notices 0)" \
    test "$rfn" = 0 -a "$(notices fn)" = 0 -a "$(grep -c '^notice ' "$work/fn")" = 0
check "the follower of company B got nothing for company A's change (notices 0)" \
    test "$rfb" = 0 -a "$(notices fb)" = 0

follow fb2 crb --ms 3000
wait_ready fb2 || bail "the follower of company B is ready again"
XDG_CONFIG_HOME=$work/cfg/admin "$CLOOP" "${S2[@]}" building add --project "$pb" 1栋 --floors 20 >/dev/null 2>&1
brc=$?
wait "$pid_fb2"
check "a change in company B (a building, through daemon 2) reaches the follower of company B" \
    test "$brc" = 0 -a "$(notices fb2)" -ge 1 -a "$(grep -m1 '^notice ' "$work/fb2" | cut -d' ' -f2)" = "$cb"

# --- a push that comes while the client waits for a reply is kept ---------------------------------
follow fk cra --ms 1000 --ping-ms 2000
wait_ready fk || bail "a follower that pings is ready"
XDG_CONFIG_HOME=$work/cfg/admin "$CLOOP" "${S2[@]}" building add --project "$pa" 5栋 --floors 20 >/dev/null 2>&1
krc=$?
wait "$pid_fk"
pinged=$(sed -n 's/^pinged //p' "$work/fk")
kept=$(grep -m1 '^notice ' "$work/fk" | cut -d' ' -f4)
check "a notice pushed while libcloop waited for a Ping's reply is kept for later" \
    test "$krc" = 0 -a -n "$pinged" -a "$(notices fk)" -ge 1 -a -n "$kept" -a "${kept:-0}" -lt "${pinged:-0}"

# --- coalescing: one transaction notifying three times is two notices ------------------------------
follow fh admin --ms 1500
wait_ready fh || bail "the admin follows"
sql "BEGIN; SELECT set_config('closeloop.actor', '{\"user_id\": null, \"username\": \"test\"}', true);
     UPDATE buildings SET floors = floors WHERE project_id = $pa;
     UPDATE buildings SET floors = floors WHERE project_id = $pb;
     UPDATE contractors SET name = name WHERE id = $cw; COMMIT;" >/dev/null
src=$?
wait "$pid_fh"
check "one commit notifying companies A, B and '*' at once reaches an HQ follower as 2 notices (the first, then the rest folded)" \
    test "$src" = 0 -a "$(notices fh)" = 2
check "... the folded one naming no single company (0)" \
    test "$(grep '^notice ' "$work/fh" | sed -n 2p | cut -d' ' -f2)" = 0

# --- a lost LISTEN connection: every follower is told after the reconnect ----------------------------
follow fr cra --ms 4000
wait_ready fr || bail "a follower is ready"
cut=$(sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE application_name = 'closeloopd-changes'")
wait "$pid_fr"
check "both daemons' LISTEN connections are cut ($cut), and the follower still gets a notice" \
    test "$cut" = 2 -a "$(notices fr)" -ge 1
check "... saying it is not one company's (company 0)" \
    test "$(grep -m1 '^notice ' "$work/fr" | cut -d' ' -f2)" = 0

for l in "$work/daemon.log" "$work/daemon2.log"; do
    check "$(basename "$l") has no sanitizer report" eval '! grep -q Sanitizer "$l"'
done
report_and_exit
