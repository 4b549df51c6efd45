# shellcheck shell=bash
# lib.sh - the setup, teardown and check helpers the cloop integration tests share.
#
# Sourced, not run: `. "$(dirname "$0")/lib.sh"`. Needs CL_BIN_DIR (this build's bin/),
# CL_SOURCE_DIR (the source tree) and CL_TEST_TMP (a scratch directory) in the
# environment, as ctest sets them; sourcing stops the script if one is missing. It sets
# no shell options and leaves the caller's (`set -u`, and -e/pipefail if the caller
# wants them) alone; everything here is `set -u` clean. Nothing runs on sourcing but the
# checks of those three variables and the settings below.
#
# Sets on sourcing:
#   CLOOP, DAEMON   the cloop and closeloopd binaries under CL_BIN_DIR
#   PGBIN           PostgreSQL's binaries (CL_PG_BINDIR, or PostgreSQL 15's)
#   pw              the password every test user gets
#   passed, failed  the check counters (0)
#   d, dpid, pids   the cluster's directory (""), the last closeloopd started (""), all
#                   closeloopd processes still to be stopped (empty)
#
# Functions:
#   setup_scratch NAME   makes the scratch directory $work (CL_TEST_TMP/NAME.XXXXXX),
#                        installs the EXIT trap (cleanup) and INT/TERM traps (exit 130),
#                        clears the person's CLOSELOOP_* and XDG_CONFIG_HOME settings and
#                        exports HOME=$work/home. Call it first.
#   cleanup              (the EXIT trap) kills every closeloopd in $pids, stops and
#                        removes the PostgreSQL cluster in $d, removes $work.
#   ok, not_ok, check    report a check: "ok - DESC" / "not ok - DESC" (not_ok also shows
#                        $out and $err, at most $diag_lines lines each, all if empty);
#                        check DESC CMD... runs CMD and reports whether it succeeded.
#   bail DESC            reports DESC as failed with the PostgreSQL and closeloopd logs,
#                        prints "N passed, M failed" and exits 1.
#   report_and_exit      prints "N passed, M failed"; exits 0 only if nothing failed.
#   free_port            prints a TCP port nothing listens on right now.
#   gen_certs DIR        makes a CA, server and client certificates in DIR.
#   start_daemon LISTEN PORT LOG   starts closeloopd with TLS on LISTEN:PORT (certificates
#                        from $certs), waits for event=listening; sets $dpid, adds it to
#                        $pids. Returns 1, with the log on stderr, if it does not start.
#   stop_daemon PID      SIGTERMs closeloopd; returns its exit status (124 if it did not
#                        exit within 20 s: then it is killed).
#   as_pg CMD...         runs CMD as the postgres user when we are root.
#   start_postgres       initdb's and starts a throwaway cluster in $d (under /tmp),
#                        creates the database closeloop, exports CLOSELOOP_DB_CONNINFO.
#   start_server_with_db the whole stack for tests that log in: certificates in
#                        $certs=$work/certs, start_postgres, closeloopd on $port
#                        (127.0.0.1), S=(--server ... --ca ...) for cloop, and
#                        `closeloopd --bootstrap-admin admin` with password $pw. Bails
#                        on any failure; reports "ok - ..." for the cluster, the daemon
#                        and the bootstrap.
#   as USER ARGS...      runs cloop "${S[@]}" ARGS with USER's session store
#                        ($work/cfg/USER), leaving stdout in $out, stderr in $err and
#                        the exit status in $rc; a sanitizer report is a failed check.
#   login USER           logs USER in with $pw (through as).
#   setup_project NAME [MOVE_IN]  logs admin in and adds 集团总部 (hq), 深圳城市公司 (city,
#                        under it) and project NAME in 深圳 (moving in on MOVE_IN); sets
#                        $hq, $city and $p. Bails on any failure.
#   csv_col COL [MCOL VALUE]  from CSV in $out, COL of the first row (whose MCOL is VALUE).
#   data_rows            the number of CSV rows in $out, header excluded.
#   json_has EXPR        true when $out is one JSON object d for which the Python EXPR holds
#                        (json_has 'd["units_inspected"] == 1'); says why on stderr if not.

: "${CL_BIN_DIR:?CL_BIN_DIR must name the bin directory of the build}"
: "${CL_SOURCE_DIR:?CL_SOURCE_DIR must name the source tree}"
: "${CL_TEST_TMP:?CL_TEST_TMP must name a scratch directory}"

# shellcheck disable=SC2034 # these are for the sourcing script
{
    CLOOP=$CL_BIN_DIR/cloop
    DAEMON=$CL_BIN_DIR/closeloopd
    PGBIN=${CL_PG_BINDIR:-/usr/lib/postgresql/15/bin}
    pw='s3cret-pass-123'
    diag_lines=20
}
work=""
d=""     # the cluster's directory (data, socket, log)
dpid=""  # the last closeloopd started
pids=()  # every closeloopd not yet stopped
passed=0
failed=0

setup_scratch() {
    mkdir -p "$CL_TEST_TMP"
    work=$(mktemp -d "$CL_TEST_TMP/$1.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    # A clean environment: no settings from the person running the tests.
    unset CLOSELOOP_CONFIG CLOSELOOP_SERVER CLOSELOOP_CA CLOSELOOP_CERT CLOSELOOP_KEY \
        CLOSELOOP_FORMAT CLOSELOOP_PASSWORD CLOSELOOP_NEW_PASSWORD XDG_CONFIG_HOME
    export HOME=$work/home
    mkdir -p "$HOME"
}

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ -n "$d" ] && [ -d "$d" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$d/data" -m immediate stop >/dev/null 2>&1
        rm -rf "$d"
    fi
    if [ -n "$work" ]; then rm -rf "$work"; fi
}

# --- reporting ---------------------------------------------------------------------------
ok() { echo "ok - $1"; passed=$((passed + 1)); }
_diag() { # LABEL TEXT: TEXT as "#   LABEL: ..." lines, cut to $diag_lines if set
    if [ -n "$diag_lines" ]; then
        printf '%s\n' "$2" | head -n "$diag_lines" | sed "s/^/#   $1: /"
    else
        printf '%s\n' "$2" | sed "s/^/#   $1: /"
    fi
}
not_ok() {
    echo "not ok - $1"
    failed=$((failed + 1))
    # Show what cloop said, to make the failure readable in the ctest log.
    if [ -n "${out:-}" ]; then _diag stdout "$out"; fi
    if [ -n "${err:-}" ]; then _diag stderr "$err"; fi
    return 0
}
check() { # description, then a command whose success means the check passed
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
bail() { # a step everything after it needs failed: report and stop
    not_ok "$1"
    if [ -n "$d" ] && [ -f "$d/log" ]; then tail -n 20 "$d/log" | sed 's/^/#   postgres: /'; fi
    if [ -n "$work" ] && [ -f "$work/daemon.log" ]; then
        tail -n 20 "$work/daemon.log" | sed 's/^/#   closeloopd: /'
    fi
    echo "$passed passed, $failed failed"
    exit 1
}
report_and_exit() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0
    exit 1
}

# --- closeloopd ----------------------------------------------------------------------------
free_port() { # a TCP port nothing listens on right now
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null && return
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
    done
}

gen_certs() { "$CL_SOURCE_DIR/deploy/gen-certs.sh" "$1" >/dev/null 2>&1; }

start_daemon() {
    local listen=$1 port=$2 log=$3
    env -u CLOSELOOP_CONFIG CLOSELOOP_PORT="$port" CLOSELOOP_LISTEN="$listen" \
        CLOSELOOP_TLS_CERT="$certs/server.crt" CLOSELOOP_TLS_KEY="$certs/server.key" \
        CLOSELOOP_TLS_CA="$certs/ca.crt" "$DAEMON" 2>"$log" &
    dpid=$!
    pids+=("$dpid")
    for _ in $(seq 1 300); do
        grep -q 'event=listening' "$log" 2>/dev/null && return 0
        kill -0 "$dpid" 2>/dev/null || break
        sleep 0.1
    done
    echo "# closeloopd on $listen:$port did not start:" >&2
    sed 's/^/#   /' "$log" >&2
    return 1
}

stop_daemon() {
    local p=$1 st q rest=()
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 1 200); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
        st=124
    else
        wait "$p"
        st=$?
    fi
    for q in "${pids[@]}"; do [ "$q" = "$p" ] || rest+=("$q"); done
    pids=("${rest[@]}")
    return "$st"
}

# --- PostgreSQL ----------------------------------------------------------------------------
as_pg() { # runs a PostgreSQL binary as the postgres user when we are root
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
    d=$(mktemp -d /tmp/cltest-pg.XXXXXX)
    if [ "$(id -u)" = 0 ]; then chown postgres "$d"; fi
    as_pg "$PGBIN/initdb" -D "$d/data" -E UTF8 --locale=C.UTF-8 -A trust -U postgres >/dev/null 2>&1 ||
        bail "initdb a throwaway cluster"
    as_pg "$PGBIN/pg_ctl" -D "$d/data" \
        -o "-c listen_addresses='' -c unix_socket_directories=$d -c fsync=off" -l "$d/log" -w \
        start >/dev/null || bail "start PostgreSQL"
    psql -q -h "$d" -U postgres -c 'create database closeloop' >/dev/null || bail "create database"
    ok "a throwaway PostgreSQL cluster runs in $d"
    export CLOSELOOP_DB_CONNINFO="host=$d dbname=closeloop user=postgres"
}

start_server_with_db() {
    [ -x "$PGBIN/initdb" ] || bail "PostgreSQL binaries in $PGBIN (set CL_PG_BINDIR)"
    certs=$work/certs
    gen_certs "$certs" || bail "generate certificates"
    start_postgres
    port=$(free_port)
    start_daemon 127.0.0.1 "$port" "$work/daemon.log" || bail "closeloopd starts with a database"
    ok "closeloopd starts with a database and listens on port $port"
    S=(--server "127.0.0.1:$port" --ca "$certs/ca.crt")
    CLOSELOOP_PASSWORD=$pw "$DAEMON" --bootstrap-admin admin >"$work/bootstrap.out" 2>&1 ||
        { cat "$work/bootstrap.out" >&2; bail "closeloopd --bootstrap-admin admin exits 0"; }
    ok "closeloopd --bootstrap-admin admin exits 0"
}

# --- cloop as a user -----------------------------------------------------------------------
as() {
    local user=$1
    shift
    mkdir -p "$work/cfg/$user"
    out=$(XDG_CONFIG_HOME=$work/cfg/$user "$CLOOP" "${S[@]}" "$@" 2>"$work/stderr")
    # shellcheck disable=SC2034 # $rc is for the caller
    rc=$?
    err=$(cat "$work/stderr")
    if grep -q 'Sanitizer' <<<"$err"; then
        not_ok "cloop $* (as $user) runs clean under the sanitizers"
    fi
}

login() {
    CLOSELOOP_PASSWORD=$pw as "$1" login "$1"
}

# add_user USERNAME ROLE-ARGS...: the admin adds the user (password $pw), who logs in;
# a failure of either stops the test (bail), since what follows needs the user.
add_user() {
    local u=$1
    shift
    CLOSELOOP_NEW_PASSWORD=$pw as admin user add "$u" --role "$@" --format csv
    [ "$rc" = 0 ] || bail "user add $u --role $1"
    login "$u"
    [ "$rc" = 0 ] || bail "login $u"
}

csv_col() {
    python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
col = sys.argv[1]
for r in rows[1:]:
    rec = dict(zip(rows[0], r))
    if len(sys.argv) < 4 or rec.get(sys.argv[2]) == sys.argv[3]:
        print(rec.get(col, "")); break
' "$@" <<<"$out"
}

setup_project() {
    login admin
    [ "$rc" = 0 ] || bail "login admin"
    as admin company add 集团总部 --kind hq --format csv
    hq=$(csv_col id)
    as admin company add 深圳城市公司 --kind city --parent "$hq" --format csv
    city=$(csv_col id)
    as admin project add --company "$city" "$1" --city 深圳 ${2:+--move-in "$2"} --format csv
    p=$(csv_col id)
    [ "$rc" = 0 ] && [ -n "$p" ] || bail "project add $1"
}

# record UNIT DATE CATEGORY SEVERITY DESCRIPTION [ROUND] [PROJECT]: one inspection item
# recorded by clerk1 (round mock1, project $p1 unless given); its client id in $id.
record() {
    id=$(python3 -c 'import uuid; print(uuid.uuid4())')
    as clerk1 inspect record --project "${7:-$p1}" --unit "$1" --round "${6:-mock1}" \
        --date "$2" --inspector 王工 --location 卫生间 --category "$3" --severity "$4" \
        --item-id "$id" --format csv -- "$5"
}

json_has() {
    python3 -c 'import json, sys
d = json.load(sys.stdin)
if not eval(sys.argv[1]):
    sys.exit("json_has: %s does not hold for %s" % (sys.argv[1], d))' "$1" <<<"$out"
}

data_rows() { printf '%s\n' "$out" | sed '1d' | grep -c .; }
# sql STATEMENTS: run on the test database ($CLOSELOOP_DB_CONNINFO), unaligned tuples only.
sql() { psql -X "$CLOSELOOP_DB_CONNINFO" -qAt -v ON_ERROR_STOP=1 -c "$1"; }
# sim_clock_init, then clock_at 'YYYY-MM-DD HH:MM': China time as "now" for every statement
# reading cl_complaint_now() (complaints, warranty), from the next statement on. The
# setting lives in a file the cluster's postgresql.conf includes (ALTER SYSTEM refuses a
# custom setting); clock_at reloads and waits until the database reads it.
sim_clock_init() { echo "include_if_exists = 'closeloop_clock.conf'" >>"$d/data/postgresql.conf"; }
clock_at() {
    echo "closeloop.now = '$1:00+08'" >"$d/data/closeloop_clock.conf"
    sql "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 1 50); do
        [ "$(sql "SELECT to_char(cl_complaint_now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')")" = "$1" ] && break
        sleep 0.1
    done
}
