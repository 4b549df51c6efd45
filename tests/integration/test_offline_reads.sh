#!/usr/bin/env bash
# test_offline_reads.sh - "Identical output" (issue 10): `ticket todo`, `ticket toverify`,
# `ticket show`, `report daily` and `report readiness` answered from a desktop's mirror
# print byte for byte what the server's answers print, in every format, with the same
# exit status; the mirror's age goes to standard error only. On a demo-like day: two
# projects, several contractors and buildings, tickets in every state, reworks, overdue
# and in-time tickets, a to-repair list longer than one 500-ticket page, not-taken-over
# units with two reasons, a returned ticket waiting for dispatch.
#
# Three users' mirrors, an HQ admin's, a clerk's (one project) and a contractor's (its own
# tickets), made by `cloop sync`, and the same three filled straight from PostgreSQL with
# the sync contract's columns and scope (mirror_fill.py), so the reads are also checked
# independently of the pull. Then: --offline while the server runs, from both; the
# automatic fallback once the daemon is stopped; no mirror -> the usual "cannot reach"
# (exit 4). Local days are Asia/Shanghai for the cluster, the daemon and cloop alike (TZ),
# as on one machine.
# REFs lists are split into words on purpose ($(sed ...)).
# shellcheck disable=SC2016,SC2034,SC2046,SC2317
set -u
export TZ=Asia/Shanghai

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch offline
start_server_with_db

TD=$(date +%F)
OLD=$(date -d '-40 days' +%F)
RECENT=$(date -d '-2 days' +%F)

# --- the organisation ------------------------------------------------------------------
setup_project 万科城 2027-06-30
p1=$p
as admin project add --company "$city" 翡翠公园 --city 深圳 --format csv
p2=$(csv_col id)
as admin building add --project "$p1" 1栋 --floors 30 --format csv
b1=$(csv_col id)
as admin building add --project "$p1" 2号楼 --floors 30 --format csv
b2=$(csv_col id)
as admin building add --project "$p2" A座 --floors 20 --format csv
b3=$(csv_col id)
units1=() units2=()
for i in $(seq 1 12); do
    u=$(printf '1-1-%02d01' "$i")
    as admin unit add --building "$b1" "$u"
    units1+=("$u")
done
for u in 2-1-0101 2-1-0102 2-1-0201; do as admin unit add --building "$b2" "$u"; done
for u in A-0101 A-0102; do as admin unit add --building "$b3" "$u"; units2+=("$u"); done
declare -A con=()
for spec in 东方雨虹:waterproofing 中建三局:civil,plumbing 坚朗门窗:doors_windows; do
    as admin contractor add "${spec%%:*}" --trades "${spec#*:}" --format csv
    id=$(csv_col id)
    IFS=, read -ra ts <<<"${spec#*:}"
    for t in "${ts[@]}"; do
        con[$t]=$id
        as admin trade assign --project "$p1" --trade "$t" --contractor "$id"
        as admin trade assign --project "$p2" --trade "$t" --contractor "$id"
    done
done
cw=${con[waterproofing]} cc=${con[civil]} cd_=${con[doors_windows]}
for r in handover mock1 mock2; do
    as admin round add --project "$p1" --kind "$r" --start "$OLD" --end "$TD" --format csv
done
as admin round add --project "$p2" --kind mock1 --start "$OLD" --end "$TD" --format csv
as admin deadline set --project "$p1" --severity minor --days 7
as admin deadline set --project "$p1" --severity major --days 3
as admin deadline set --project "$p2" --severity minor --days 5
add_user clerk clerk --projects "$p1"
add_user verifier verifier --projects "$p1,$p2"
add_user cr cr --company "$city"
add_user dyh contractor --contractor "$cw"
check "the organisation is set up (2 projects, 3 contractors, rounds, presets, users)" \
    test -n "$p2" -a -n "$cd_"

# --- the items: old (overdue), recent (in time), today's handover, one with no trade ----
{
    echo "project,unit,round,inspected_on,inspector,location,category,description,severity"
    for i in $(seq 1 560); do # one contractor's list past a page, found on two days
        u=${units1[$((i % 12))]}
        d=$OLD
        [ "$i" -gt 300 ] && d=$RECENT
        echo "$p1,$u,mock1,$d,王工,卫生间,waterproofing,\"渗水, 第$i处\",minor"
    done
    for i in $(seq 1 30); do
        u=${units1[$((i % 12))]}
        echo "$p1,$u,mock2,$RECENT,李工,客厅,civil,墙面空鼓 $i,major"
        echo "$p1,$u,mock2,$OLD,李工,厨房,doors_windows,窗框缝隙 $i,minor"
    done
    for i in $(seq 1 8); do
        echo "$p1,${units1[$((i % 12))]},handover,$TD,王工,阳台,plumbing,下水管漏水 $i,critical"
    done
    echo "$p1,2-1-0101,mock1,$RECENT,王工,配电箱,fire,消防喷淋头缺失,major"
} >"$work/items.csv"
{
    echo "project,unit,round,inspected_on,inspector,location,category,description,severity"
    for i in $(seq 1 6); do
        echo "$p2,${units2[$((i % 2))]},mock1,$OLD,赵工,卫生间,waterproofing,<b>地漏</b> & $i,minor"
    done
} >"$work/items2.csv"
as clerk inspect import "$work/items.csv"
irc=$rc
as admin inspect import "$work/items2.csv"
check "inspect import of the items of both projects exits 0" test "$irc" = 0 -a "$rc" = 0

# --- the loop: repaired, reworked, closed, not to fix, returned, reassigned ------------
as admin ticket todo --contractor "$cw" --project "$p1" --format csv
wnums=$(printf '%s\n' "$out" | sed '1d' | cut -d, -f1)
as admin ticket todo --contractor "$cc" --project "$p1" --format csv
cnums=$(printf '%s\n' "$out" | sed '1d' | cut -d, -f1)
check "560 waterproofing and 38 civil/plumbing tickets are open" \
    test "$(grep -c . <<<"$wnums")" = 560 -a "$(grep -c . <<<"$cnums")" = 38
pick() { sed -n "$1p" <<<"$2"; }
trfail=0
act() { # USER ARGS...: as, counting failures
    as "$@"
    [ "$rc" = 0 ] || { trfail=$((trfail + 1)); echo "# failed: $*: $err"; }
}
act dyh ticket repaired --project "$p1" $(sed -n '1,40p' <<<"$wnums") --note 已重做防水
act verifier ticket verify --project "$p1" $(sed -n '1,10p' <<<"$wnums") --fail --note 仍渗水
act verifier ticket verify --project "$p1" $(sed -n '11,25p' <<<"$wnums") --pass
act dyh ticket repaired --project "$p1" $(sed -n '1,4p' <<<"$wnums") --note 二次修复
act cr ticket nofix --project "$p1" $(sed -n '41,43p' <<<"$wnums") --note 属正常现象
act dyh ticket return --project "$p1" "$(pick 44 "$wnums")" --note 非本单位专业
act cr ticket reassign --project "$p1" "$(pick 1 "$cnums")" --contractor "$cd_" --note 转门窗
act admin ticket repaired --project "$p1" $(sed -n '2,6p' <<<"$cnums") --note 已修补
act verifier ticket verify --project "$p1" "$(pick 2 "$cnums")" --pass
check "the day's transitions went through" test "$trfail" = 0

# --- handover: scheduled units, forms with and without taking over ------------------------
printf '%s\n' "${units1[@]}" >"$work/sched.txt"
as clerk inspect schedule --project "$p1" --date "$TD" --file "$work/sched.txt"
hok=0
for i in $(seq 0 8); do
    u=${units1[$i]}
    if [ "$i" -lt 3 ]; then
        set -- --outcome not_taken_over --reason 卫生间渗水 --signoff refused --refusal 渗水未修复
    elif [ "$i" -lt 5 ]; then
        set -- --outcome not_taken_over --reason 业主未到场
    else
        set -- --outcome accepted_with_items --keys 4 --water 00012.3 --power 00231.0 \
            --signoff signed --satisfaction 85
    fi
    as clerk inspect handover --project "$p1" --unit "$u" --date "$TD" --inspector 王工 "$@"
    [ "$rc" = 0 ] && hok=$((hok + 1))
done
check "9 handover forms recorded (5 not taken over)" test "$hok" = 9

# --- the mirrors, straight from PostgreSQL ----------------------------------------------
server=127.0.0.1:$port
uid() { psql -X -At "$CLOSELOOP_DB_CONNINFO" -c "SELECT id FROM users WHERE username = '$1'"; }
synced=$(($(date +%s) * 1000 - 5 * 60000))
fill() { # MIRROR USER ROLE CONTRACTOR PROJECTS
    python3 "$CL_SOURCE_DIR/tests/integration/mirror_fill.py" "$1" "$2" "$server" "$3" \
        "$(uid "$2")" "$4" "$5" "$synced" >"$work/fill.out" 2>&1
}
mkdir -p "$work/m" "$work/pg"
fill "$work/pg/admin.sqlite" admin hq_admin 0 "" &&
    fill "$work/pg/clerk.sqlite" clerk clerk 0 "$p1" &&
    fill "$work/pg/dyh.sqlite" dyh contractor "$cw" ""
check "three mirrors filled from PostgreSQL (admin, clerk, contractor)" \
    eval '[ $? = 0 ] && grep -q "tickets=" "$work/fill.out"'
# The mirrors people have: made by cloop sync.
srcs=pg
if "$CLOOP" sync --help >/dev/null 2>&1; then
    src_ok=1
    for u in admin clerk dyh; do
        as "$u" sync --mirror "$work/m/$u.sqlite"
        [ "$rc" = 0 ] || src_ok=0
    done
    check "cloop sync makes the three users' mirrors" test "$src_ok" = 1
    srcs="m pg"
else
    cp "$work/pg/"*.sqlite "$work/m/"
fi

# --- online and offline, byte for byte ---------------------------------------------------
# run NAME USER ARGS...: cloop as USER with stdout and stderr in $work/r/NAME.{out,err},
# the exit status in $work/r/NAME.rc.
mkdir -p "$work/r"
run() {
    local name=$1 user=$2
    shift 2
    XDG_CONFIG_HOME=$work/cfg/$user "$CLOOP" "${S[@]}" "$@" >"$work/r/$name.out" \
        2>"$work/r/$name.err"
    echo $? >"$work/r/$name.rc"
    if grep -q Sanitizer "$work/r/$name.err"; then not_ok "cloop $* runs clean"; fi
}
age_re='^离线：本地镜像，更新于 [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}（[0-9]+ 分钟前）/ offline: local mirror as of .* \([0-9]+ minutes? ago\)$'
# same NAME MODE: the online run NAME and its offline twin NAME.MODE print the same bytes,
# exit the same, and the twin's standard error is the age line, then the online one's.
# An HTML page says when it was made ("生成时间 Generated: ... HH:MM"): that line is the
# clock's, not the data's, and the two runs may fall in different minutes.
noclock() { grep -v '^<div class="gen">生成时间 Generated: ' "$1" || true; }
same() {
    local a=$work/r/$1 b=$work/r/$1.$2
    out=$(head -c 600 "$a.out") err=$(cat "$b.err")
    if cmp -s <(noclock "$a.out") <(noclock "$b.out") && cmp -s "$a.rc" "$b.rc" &&
        head -n 1 "$b.err" | grep -Eq "$age_re" &&
        [ "$(sed 1d "$b.err")" = "$(cat "$a.err")" ]; then
        return 0
    fi
    echo "#   $1: rc $(cat "$a.rc") vs $(cat "$b.rc")"
    diff "$a.out" "$b.out" | head -n 10 | sed 's/^/#   /'
    diff "$a.err" "$b.err" | head -n 6 | sed 's/^/#   /'
    return 1
}
lines() { grep -c . "$work/r/$1.out"; }

# CASES: NAME USER MIRROR ARGS...; every format of each command.
cases=()
add_case() { cases+=("$*"); }
for f in table csv json html; do
    add_case "todo_w_$f" clerk clerk ticket todo --contractor "$cw" --project "$p1" --format "$f"
    add_case "todo_all_$f" admin admin ticket todo --contractor "$cw" --format "$f"
    add_case "todo_own_$f" dyh dyh ticket todo --format "$f"
    add_case "toverify_$f" clerk clerk ticket toverify --project "$p1" --format "$f"
    add_case "toverify_dyh_$f" dyh dyh ticket toverify --project "$p1" --format "$f"
    add_case "daily_$f" admin admin report daily --project "$p1" --date "$TD" --format "$f"
    add_case "daily_clerk_$f" clerk clerk report daily --project "$p1" --format "$f"
    add_case "daily_old_$f" admin admin report daily --project "$p1" --date "$OLD" --format "$f"
    add_case "ready_$f" admin admin report readiness --project "$p1" --building 1 --format "$f"
    add_case "ready2_$f" clerk clerk report readiness --project "$p1" --building 2号楼 --format "$f"
    add_case "ready_p2_$f" admin admin report readiness --project "$p2" --building A --format "$f"
    for n in 1 11 41 44; do
        add_case "show_w${n}_$f" clerk clerk ticket show "$p1:$(pick "$n" "$wnums")" --format "$f"
    done
    add_case "show_c1_$f" admin admin ticket show "$(pick 1 "$cnums")" --project "$p1" --format "$f"
    add_case "show_dyh_$f" dyh dyh ticket show "$(pick 2 "$wnums")" --project "$p1" --format "$f"
done
# refusals and errors: the same sentence and exit status
add_case todo_nocon admin admin ticket todo --contractor 999
add_case todo_noproj clerk clerk ticket todo --contractor "$cw" --project "$p2"
add_case toverify_noproj clerk clerk ticket toverify --project "$p2"
add_case show_none clerk clerk ticket show "$p1:99999"
add_case show_other dyh dyh ticket show "$p1:$(pick 1 "$cnums")"
add_case daily_noproj clerk clerk report daily --project "$p2" --date "$TD"
add_case daily_dyh dyh dyh report daily --project "$p1" --date "$TD"
add_case ready_nob admin admin report readiness --project "$p1" --building 9栋
add_case ready_dyh dyh dyh report readiness --project "$p1" --building 1

for c in "${cases[@]}"; do
    # shellcheck disable=SC2086 # the case's words
    set -- $c
    run "$1" "$2" "${@:4}"
done
# 560 waterproofing: 40 repaired, 10 of them failed back (reworks), 4 of those repaired
# again, 15 closed, 3 not to fix, 1 returned: 522 open, more than one 500-ticket page.
check "online: the clerk's to-repair list of 东方雨虹 in 万科城 has the 522 open tickets" \
    eval '[ "$(cat $work/r/todo_w_csv.rc)" = 0 ] && [ "$(lines todo_w_csv)" = 523 ] &&
          [ "$(lines todo_all_csv)" = 529 ] && [ "$(lines todo_own_csv)" = 529 ]'
check "online: the contractor's own list spans both projects" \
    eval 'grep -q 翡翠公园 "$work/r/todo_own_table.out" && grep -q 万科城 "$work/r/todo_own_table.out"'
check "online: the to-verify list has the 23 reported repairs (19 of them 东方雨虹's)" \
    eval '[ "$(cat $work/r/toverify_csv.rc)" = 0 ] && [ "$(lines toverify_csv)" = 24 ] &&
          [ "$(lines toverify_dyh_csv)" = 20 ]'
check "online: the daily report counts 5 not taken over, 2 reasons, reworks and closures" \
    eval 'out=$(cat $work/r/daily_json.out); json_has "d[\"units_not_taken_over\"] == 5 and len(d[\"not_taken_reasons\"]) == 2 and d[\"reworks\"] == 10 and d[\"tickets_closed\"] == 19 and d[\"dispatch_waiting\"] == 2 and d[\"timeliness\"][\"overdue_open\"] > 0 and d[\"timeliness\"][\"in_time_open\"] > 0"'
check "online: readiness of 1栋 is NOT ready (exit 5) with blockers" \
    eval '[ "$(cat $work/r/ready_table.rc)" = 5 ] && grep -q "^NOT ready" "$work/r/ready_table.out"'
check "online: the refusals are refusals (exit 1 not found, 3 a contractor's report)" \
    eval '[ "$(cat $work/r/show_none.rc)" = 1 ] && [ "$(cat $work/r/daily_dyh.rc)" = 3 ] &&
          [ "$(cat $work/r/ready_nob.rc)" = 1 ] && [ "$(cat $work/r/todo_nocon.rc)" = 1 ]'

# --offline while the server runs: from the synced mirrors, every case; from the ones
# filled straight from PostgreSQL (the reads do not depend on how the mirror was filled)
# the table and JSON formats and the refusals, to keep the test short.
few() { case $1 in *_csv | *_html) return 1 ;; esac; }
for src in $srcs; do
    bad=() n=0
    for c in "${cases[@]}"; do
        # shellcheck disable=SC2086
        set -- $c
        [ "$src" = m ] || [ "$srcs" = pg ] || few "$1" || continue
        n=$((n + 1))
        run "$1.$src" "$2" "${@:4}" --offline --mirror "$work/$src/$3.sqlite"
        same "$1" "$src" || bad+=("$1")
    done
    check "--offline ($src mirrors): $n commands print the same bytes, exit the same, age on stderr (${bad[*]:-})" \
        test "${#bad[@]}" = 0 -a "$n" -gt 30
done

# CLOSELOOP_MIRROR names the mirror too; and the default place, when it is the only one
CLOSELOOP_MIRROR=$work/m/clerk.sqlite run todo_w_csv.env clerk ticket todo --contractor "$cw" \
    --project "$p1" --format csv --offline
check "CLOSELOOP_MIRROR names the mirror" same todo_w_csv env
mkdir -p "$HOME/.local/share/closeloop"
cp "$work/m/admin.sqlite" "$HOME/.local/share/closeloop/mirror-admin@127.0.0.1_$port.sqlite"
run daily_csv.def admin report daily --project "$p1" --date "$TD" --format csv --offline
check "the default mirror of this server is found" same daily_csv def
# Two users of one computer, each with a mirror of this server in the default place: each
# finds their own offline, by the tag of their session that 'cloop sync' records.
as clerk sync
check "the clerk's own sync writes its default mirror beside the admin's" \
    test "$rc" = 0 -a -f "$HOME/.local/share/closeloop/mirror-clerk@127.0.0.1_$port.sqlite"
as admin sync
check "the admin's sync into its default mirror" test "$rc" = 0
run daily_csv.two admin report daily --project "$p1" --date "$TD" --format csv --offline
check "with two users' mirrors of this server, the admin's report reads its own" same daily_csv two
run todo_w_csv.two clerk ticket todo --contractor "$cw" --project "$p1" --format csv --offline
check "... and the clerk's list its own" same todo_w_csv two

# --- the server goes away: the fallback ------------------------------------------------
stop_daemon "$dpid"
check "the daemon is stopped" eval '! kill -0 $dpid 2>/dev/null'
bad=() n=0
for c in "${cases[@]}"; do
    # shellcheck disable=SC2086
    set -- $c
    few "$1" || continue
    n=$((n + 1))
    run "$1.down" "$2" "${@:4}" --mirror "$work/m/$3.sqlite"
    same "$1" down || bad+=("$1")
done
check "server down: $n commands (table, JSON, refusals) fall back to the mirror, same bytes (${bad[*]:-})" \
    test "${#bad[@]}" = 0 -a "$n" -gt 30
run daily_csv.down2 admin report daily --project "$p1" --date "$TD" --format csv
check "... with the default mirror too" same daily_csv down2

# A repair reported while the server is away goes to the outbox with its change to the
# mirror (part C); the offline lists show the mirror as it now is.
tid=$(sed -n 2p "$work/r/todo_w_csv.out" | cut -d, -f2) # its oldest in 万科城
run queued dyh ticket repaired "$tid" --note 离线修复 --mirror "$work/m/dyh.sqlite"
check "server down: a repair reported by the contractor is queued in the outbox (exit 0)" \
    eval '[ "$(cat $work/r/queued.rc)" = 0 ] && grep -q 已存入离线待发队列 "$work/r/queued.err"'
run todo_q dyh ticket todo --format csv --mirror "$work/m/dyh.sqlite"
run toverify_q dyh ticket toverify --project "$p1" --format csv --mirror "$work/m/dyh.sqlite"
run show_q dyh ticket show "$tid" --format csv --mirror "$work/m/dyh.sqlite"
check "... offline, the to-repair list no longer holds it, the to-verify list does" \
    eval '[ "$(cat $work/r/todo_q.rc)" = 0 ] && [ "$(lines todo_q)" = $(($(lines todo_own_csv) - 1)) ] &&
          ! grep -q "$tid" "$work/r/todo_q.out" &&
          [ "$(lines toverify_q)" = $(($(lines toverify_dyh_csv) + 1)) ] &&
          grep -q "$tid" "$work/r/toverify_q.out" && grep -qx "state,repaired" "$work/r/show_q.out" &&
          grep -qx "last_note,离线修复" "$work/r/show_q.out"'

rm -f "$HOME/.local/share/closeloop/"*.sqlite
run nomirror clerk ticket todo --contractor "$cw" --project "$p1"
check "no mirror and no server: the usual cannot-reach error, exit 4" \
    eval '[ "$(cat $work/r/nomirror.rc)" = 4 ] && [ ! -s "$work/r/nomirror.out" ] &&
          ! grep -q 离线 "$work/r/nomirror.err" && grep -q "^cloop: " "$work/r/nomirror.err"'
run nomirror2 clerk ticket todo --contractor "$cw" --project "$p1" --offline
check "--offline with no mirror: exit 4, says to sync" \
    eval '[ "$(cat $work/r/nomirror2.rc)" = 4 ] && grep -q "cloop sync" "$work/r/nomirror2.err"'

report_and_exit
