#!/usr/bin/env bash
# quickstart.sh - from a fresh Debian 12 machine (as root) to a running closeloopd in one
# command: packages, a release build, development certificates, a private PostgreSQL 15
# cluster on a unix socket, the daemon's config, the daemon itself, and the client's config.
# Everything it makes lives under $CLOSELOOP_HOME (default <repo>/var); every subcommand is
# safe to run again. See usage() below or `deploy/quickstart.sh help`.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: deploy/quickstart.sh [COMMAND]

commands:
  start [--no-build]  (default) install packages, build into build/, make dev certificates,
                      start a private PostgreSQL 15 cluster and closeloopd in the background,
                      and write ~/.config/closeloop/config for cloop. --no-build uses the
                      binaries already in build/bin.
  stop                stop closeloopd (SIGTERM, up to 15 s) and the PostgreSQL cluster
  restart [--no-build]  stop, then start
  status              show whether closeloopd and PostgreSQL run (exit 0 if both do, else 3)
  psql [ARGS...]      psql on the private cluster as role closeloop, database closeloop
  help                this text

environment:
  CLOSELOOP_HOME  where certificates, the database, logs and pid files live
                  (default: <repo>/var)
  CLOSELOOP_PORT  the daemon's TLS port on 127.0.0.1 (default: the port in an existing
                  $CLOSELOOP_HOME/closeloopd.ini, else 7443); passed to the daemon, where it
                  overrides [server] port

files under $CLOSELOOP_HOME:
  tls/             ca.crt ca.key server.crt server.key client.crt client.key
  pg/              the PostgreSQL data directory (or a symlink to /var/lib/closeloop/...)
  closeloopd.ini   the daemon's config, written once; edit it freely
  log/             closeloopd.log, build.log
  run/             closeloopd.pid, closeloopd.port
EOF
}

die() {
    echo "quickstart: $*" >&2
    exit 1
}
say() { echo "quickstart: $*"; }

caller_pwd=$PWD
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$repo"

home=${CLOSELOOP_HOME:-$repo/var}
case $home in
    /*) ;;
    *) home=$caller_pwd/$home ;;
esac
home=$(realpath -m -- "$home")

PGBIN=/usr/lib/postgresql/15/bin
bin_dir=$repo/build/bin
ini=$home/closeloopd.ini
logfile=$home/log/closeloopd.log
pidfile=$home/run/closeloopd.pid
portfile=$home/run/closeloopd.port # the port the running daemon was given
# A short, stable name for this CLOSELOOP_HOME, for paths outside it.
home_hash=$(printf '%s' "$home" | sha256sum | cut -c1-12)

need_root() {
    [ "$(id -u)" -eq 0 ] || die "'$1' must run as root (it runs PostgreSQL as the postgres user through runuser)"
}

# The port: the environment wins, then an existing ini, then 7443.
ini_port() {
    [ -f "$ini" ] || return 0
    awk -F= '/^[ \t]*\[/ { s = $0; gsub(/[ \t]/, "", s) }
             s == "[server]" && $1 ~ /^[ \t]*port[ \t]*$/ { v = $2; gsub(/[ \t\r]/, "", v); print v; exit }' "$ini"
}
port=${CLOSELOOP_PORT:-}
if [ -z "$port" ]; then
    port=$(ini_port)
    port=${port:-7443}
fi
case $port in
    '' | *[!0-9]*) die "CLOSELOOP_PORT must be a port number, not '$port'" ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then die "CLOSELOOP_PORT $port is out of range"; fi

# ---------------------------------------------------------------------------------------
# PostgreSQL: a private cluster run by the postgres user (PostgreSQL refuses to run as
# root). It listens on a unix socket only, in a directory owned by postgres with mode 0700,
# so only root and postgres can connect at all; that is why local "trust" authentication is
# acceptable for this development cluster, and only for it.

# Runs a command as postgres from /, since the caller's directory may be closed to it.
as_pg() { (cd / && runuser -u postgres -- "$@"); }

# Sets pgdata (the data directory, symlinks resolved) and sockdir; pgdata is empty when no
# cluster has been set up for this home yet.
pg_locate() {
    pgdata=
    if [ -L "$home/pg" ]; then
        pgdata=$(readlink -f -- "$home/pg")
    elif [ -d "$home/pg" ]; then
        pgdata=$home/pg
    fi
    pg_sockdir
}

# The socket directory: <pgdata>/run, unless its socket path would pass the 107-byte limit
# of a unix socket or the path has characters PostgreSQL's and libpq's settings would need
# quoted; then a short directory under /tmp owned by postgres.
pg_sockdir() {
    sockdir=
    [ -n "$pgdata" ] || return 0
    sockdir=$pgdata/run
    local sock=$sockdir/.s.PGSQL.5432
    if [ ${#sock} -gt 107 ] || [[ $sockdir == *[!A-Za-z0-9/._+-]* ]]; then
        sockdir=/tmp/closeloop-pg-$home_hash
    fi
}

pg_running() { [ -n "$pgdata" ] && [ -f "$pgdata/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; }

# Creates the socket directory if missing (it may be under /tmp, emptied at boot) and makes
# sure nobody else owns it.
pg_make_sockdir() {
    if [ ! -e "$sockdir" ]; then
        mkdir -m 0700 -- "$sockdir"
        chown postgres:postgres -- "$sockdir"
    fi
    if [ -L "$sockdir" ] || [ ! -d "$sockdir" ] || [ "$(stat -c %U -- "$sockdir")" != postgres ]; then
        die "socket directory $sockdir exists but is not a directory owned by postgres; remove it"
    fi
    chmod 0700 -- "$sockdir"
}

pg_setup() {
    [ -x "$PGBIN/initdb" ] || die "PostgreSQL 15 is not installed ($PGBIN/initdb missing); run deploy/install-deps.sh"
    getent passwd postgres >/dev/null || die "there is no postgres user; reinstall postgresql-15"

    if [ -L "$home/pg" ]; then
        pgdata=$(readlink -f -- "$home/pg")
        mkdir -p -- "$pgdata"
    else
        # An empty leftover directory is no cluster yet: decide afresh where it goes.
        if [ -d "$home/pg" ]; then rmdir -- "$home/pg" 2>/dev/null || true; fi
        if [ -d "$home/pg" ]; then
            pgdata=$home/pg
        elif as_pg test -x "$home"; then
            pgdata=$home/pg
            mkdir -p -- "$pgdata"
        else
            # postgres cannot enter $CLOSELOOP_HOME (say a clone under /root, mode 0700): keep
            # the cluster where it can, and leave a symlink behind.
            pgdata=/var/lib/closeloop/$home_hash/pg
            say "postgres cannot enter $home; putting the cluster in $pgdata"
            mkdir -p -- "$pgdata"
            ln -sfn -- "$pgdata" "$home/pg"
        fi
    fi
    chown postgres:postgres -- "$pgdata"
    chmod 0700 -- "$pgdata"
    pg_sockdir

    if [ ! -f "$pgdata/PG_VERSION" ]; then
        local locale=C
        if locale -a 2>/dev/null | grep -qiE '^C\.utf-?8$'; then locale=C.UTF-8; fi
        say "initdb $pgdata (UTF8, locale $locale)"
        # Local trust only: see the comment above as_pg. TCP is refused in any case.
        if ! as_pg "$PGBIN/initdb" -D "$pgdata" -U postgres -E UTF8 --locale="$locale" \
            --auth-local=trust --auth-host=reject --no-instructions >"$home/log/initdb.log" 2>&1; then
            tail -n 20 "$home/log/initdb.log" >&2
            die "initdb failed (log: $home/log/initdb.log)"
        fi
    fi

    # Our settings live in one file, rewritten on every start; postgresql.conf includes it.
    cat >"$pgdata/closeloop.conf" <<EOF
# written by closeloop deploy/quickstart.sh on every start; edit postgresql.conf instead
listen_addresses = ''
unix_socket_directories = '$sockdir'
unix_socket_permissions = 0700
EOF
    chown postgres:postgres -- "$pgdata/closeloop.conf"
    grep -q "^include_if_exists = 'closeloop.conf'" "$pgdata/postgresql.conf" ||
        echo "include_if_exists = 'closeloop.conf'" >>"$pgdata/postgresql.conf"
    if [ "$sockdir" = "$pgdata/run" ]; then
        [ -d "$sockdir" ] || as_pg mkdir -m 0700 -- "$sockdir"
    fi
    pg_make_sockdir

    if pg_running; then
        say "PostgreSQL already running ($pgdata)"
    else
        say "starting PostgreSQL ($pgdata, socket in $sockdir)"
        if ! as_pg "$PGBIN/pg_ctl" -D "$pgdata" -l "$pgdata/postgres.log" -w -t 60 start >/dev/null; then
            tail -n 20 "$pgdata/postgres.log" >&2 || true
            die "PostgreSQL did not start (log: $pgdata/postgres.log)"
        fi
    fi

    local q=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sockdir" -U postgres -d postgres)
    if [ "$(as_pg "${q[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'closeloop'")" != 1 ]; then
        as_pg "${q[@]}" -c "CREATE ROLE closeloop LOGIN"
        say "created role closeloop"
    fi
    if [ "$(as_pg "${q[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'closeloop'")" != 1 ]; then
        as_pg "${q[@]}" -c "CREATE DATABASE closeloop OWNER closeloop"
        say "created database closeloop"
    fi
}

pg_stop() {
    pg_locate
    if [ -z "$pgdata" ] || [ ! -f "$pgdata/PG_VERSION" ]; then
        say "PostgreSQL: no cluster under $home"
    elif pg_running; then
        as_pg "$PGBIN/pg_ctl" -D "$pgdata" -m fast -w -t 60 stop >/dev/null ||
            die "PostgreSQL did not stop (log: $pgdata/postgres.log)"
        say "PostgreSQL stopped"
    else
        say "PostgreSQL: not running"
    fi
}

# ---------------------------------------------------------------------------------------
# closeloopd

# Prints the daemon's pid if the pid file names a live closeloopd, else nothing.
daemon_pid() {
    local pid
    [ -f "$pidfile" ] || return 0
    pid=$(head -n 1 -- "$pidfile" 2>/dev/null || true)
    case $pid in '' | *[!0-9]*) return 0 ;; esac
    kill -0 "$pid" 2>/dev/null || return 0
    # Guard against a recycled pid.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q closeloopd || return 0
    echo "$pid"
}

write_ini() {
    if [ -f "$ini" ]; then
        say "keeping existing $ini"
        return 0
    fi
    local host=$sockdir
    cat >"$ini" <<EOF
; closeloopd configuration, written once by deploy/quickstart.sh; edit freely.
; Environment variables CLOSELOOP_<SECTION>_<KEY> (and CLOSELOOP_PORT) override it.
[server]
listen = 127.0.0.1
port = $port

[tls]
cert = $home/tls/server.crt
key = $home/tls/server.key
ca = $home/tls/ca.crt
allow_tls12 = false
require_client_cert = false

[log]
level = info

[db]
conninfo = host=$host dbname=closeloop user=closeloop
EOF
    say "wrote $ini"
}

daemon_start() {
    local pid bin=$bin_dir/closeloopd
    pid=$(daemon_pid)
    if [ -n "$pid" ]; then
        local running_port
        running_port=$(cat -- "$portfile" 2>/dev/null || true)
        if [ -n "$running_port" ] && [ "$running_port" != "$port" ]; then
            say "closeloopd already running (pid $pid) on port $running_port, not $port; 'deploy/quickstart.sh restart' restarts it"
            port=$running_port
        else
            say "closeloopd already running (pid $pid); 'deploy/quickstart.sh restart' restarts it"
        fi
        return 0
    fi
    rm -f -- "$pidfile" "$portfile"
    [ -x "$bin" ] || die "$bin is missing; build first (cmake --build build)"
    if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
        ss -Hltnp "sport = :$port" >&2 || true
        die "port $port is already in use; stop that program or set CLOSELOOP_PORT"
    fi

    touch -- "$logfile"
    local offset
    offset=$(stat -c %s -- "$logfile")
    CLOSELOOP_HOME=$home CLOSELOOP_PORT=$port \
        nohup "$bin" --config "$ini" </dev/null >>"$logfile" 2>&1 &
    pid=$!
    echo "$pid" >"$pidfile"
    echo "$port" >"$portfile"

    # Wait for this run's "event=listening" line: the log is appended to across runs.
    local i
    for ((i = 0; i < 150; i++)); do
        if tail -c +"$((offset + 1))" -- "$logfile" | grep -q 'event=listening'; then
            say "closeloopd listening on 127.0.0.1:$port (pid $pid)"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$pid" 2>/dev/null || true
        echo "quickstart: closeloopd did not report event=listening within 15 s; stopped it" >&2
    fi
    wait "$pid" 2>/dev/null || true
    rm -f -- "$pidfile" "$portfile"
    echo "quickstart: closeloopd did not start; last log lines ($logfile):" >&2
    tail -c +"$((offset + 1))" -- "$logfile" | tail -n 20 | sed 's/^/  /' >&2
    exit 1
}

daemon_stop() {
    local pid i
    pid=$(daemon_pid)
    if [ -z "$pid" ]; then
        if [ -f "$pidfile" ]; then
            rm -f -- "$pidfile" "$portfile"
            say "closeloopd: not running (removed stale $pidfile)"
        else
            say "closeloopd: not running"
        fi
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "quickstart: closeloopd (pid $pid) is still running 15 s after SIGTERM;" \
            "see $logfile, or force it with: kill -KILL $pid" >&2
        return 1
    fi
    rm -f -- "$pidfile" "$portfile"
    say "closeloopd stopped (was pid $pid)"
}

# ---------------------------------------------------------------------------------------
# The client's config, unless the user wrote their own.
write_client_config() {
    local marker='# written by closeloop quickstart'
    if [ -z "${HOME:-}" ]; then
        say "HOME is not set; not writing the cloop config"
        return 0
    fi
    local dir=$HOME/.config/closeloop
    local f=$dir/config
    if [ -f "$f" ] && [ "$(head -n 1 -- "$f")" != "$marker" ]; then
        say "keeping your $f (it lacks the quickstart marker); it should say server = 127.0.0.1:$port, ca = $home/tls/ca.crt"
        return 0
    fi
    mkdir -p -- "$dir"
    cat >"$f" <<EOF
$marker
server = 127.0.0.1:$port
ca = $home/tls/ca.crt
cert = $home/tls/client.crt
key = $home/tls/client.key
EOF
    say "wrote $f"
}

# ---------------------------------------------------------------------------------------
# Demo data: the first administrator, then the demo organisation through cloop.
demo_setup() {
    local pwfile=$home/demo-password marker=$home/run/demo-data-loaded
    local pw=${CLOSELOOP_DEMO_PASSWORD:-}
    if [ -z "$pw" ] && [ -s "$pwfile" ]; then pw=$(cat -- "$pwfile"); fi
    if [ -z "$pw" ]; then
        pw=$(openssl rand -base64 18 | tr -d '/+=' | cut -c1-16)
        (umask 077 && printf '%s\n' "$pw" >"$pwfile")
        say "generated the demo password (kept in $pwfile)"
    fi
    demo_password=$pw
    if [ -f "$marker" ]; then
        say "demo data already loaded"
        demo_history
        return 0
    fi
    CLOSELOOP_PASSWORD=$pw CLOSELOOP_HOME=$home "$bin_dir/closeloopd" --config "$ini" \
        --bootstrap-admin admin >>"$logfile" 2>&1 ||
        die "could not create the admin user; see $logfile"
    # The demo loader logs in with its own session store, so yours is untouched.
    mkdir -p -- "$home/demo-home"
    if HOME=$home/demo-home XDG_CONFIG_HOME=$home/demo-home CLOSELOOP_CONFIG=/dev/null \
        CLOSELOOP_SERVER=127.0.0.1:$port CLOSELOOP_CA=$home/tls/ca.crt \
        CLOSELOOP_DEMO_PASSWORD=$pw CLOOP=$bin_dir/cloop "$repo/deploy/demo-data.sh" \
        >"$home/log/demo-data.log" 2>&1; then
        touch -- "$marker"
        say "loaded the demo data (log: $home/log/demo-data.log)"
    else
        tail -n 20 -- "$home/log/demo-data.log" >&2
        die "loading the demo data failed (log: $home/log/demo-data.log)"
    fi
    demo_history
}

# Six months of backdated inspections and tickets for the monthly report's trends, once.
demo_history() {
    local marker=$home/run/demo-history-loaded
    [ -f "$marker" ] && return 0
    if CLOSELOOP_DB_CONNINFO="host=$sockdir dbname=closeloop user=closeloop" \
        "$repo/deploy/demo-history.sh" >"$home/log/demo-history.log" 2>&1; then
        touch -- "$marker"
        say "loaded six months of demo history (log: $home/log/demo-history.log)"
    else
        tail -n 20 -- "$home/log/demo-history.log" >&2
        die "loading the demo history failed (log: $home/log/demo-history.log)"
    fi
}

build() {
    local blog=$home/log/build.log
    # Only the two programs: a test that does not compile yet must not stop the quickstart
    # (tests/run.sh builds everything).
    say "building closeloopd and cloop into build/ (log: $blog)"
    if ! { cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
        cmake --build "$repo/build" -j"$(nproc)" --target closeloopd cloop; } >"$blog" 2>&1; then
        tail -n 30 -- "$blog" >&2
        die "the build failed (full log: $blog)"
    fi
}

cmd_start() {
    local do_build=1
    for a in "$@"; do
        case $a in
            --no-build) do_build=0 ;;
            *) die "start: unknown option '$a' (try help)" ;;
        esac
    done
    need_root start
    "$repo/deploy/install-deps.sh"
    mkdir -p -- "$home/log" "$home/run"
    if [ "$do_build" = 1 ]; then build; fi
    if [ ! -x "$bin_dir/closeloopd" ] || [ ! -x "$bin_dir/cloop" ]; then
        die "build/bin/closeloopd or build/bin/cloop is missing; build first (cmake --build build)"
    fi
    "$repo/deploy/gen-certs.sh" "$home/tls" >/dev/null 2>&1 ||
        die "deploy/gen-certs.sh $home/tls failed"
    pg_setup
    write_ini
    daemon_start
    write_client_config
    demo_setup
    cat <<EOF

closeloop is running:
  closeloopd   127.0.0.1:$port, pid $(cat -- "$pidfile"), log $logfile
  PostgreSQL   data $pgdata, socket dir $sockdir, database closeloop
  config       $ini
Demo users: admin analyst cr cr2 clerk verifier property contractor
  password: $demo_password  (CLOSELOOP_DEMO_PASSWORD sets it on a fresh var/)
Try, from $repo:
  build/bin/cloop ping
  build/bin/cloop login admin
  build/bin/cloop project list
  build/bin/cloop kb search 天窗渗水
  deploy/quickstart.sh psql
  deploy/quickstart.sh stop
EOF
}

cmd_stop() {
    need_root stop
    local rc=0
    daemon_stop || rc=1
    pg_stop
    return "$rc"
}

cmd_status() {
    need_root status
    local rc=0 pid
    pid=$(daemon_pid)
    if [ -n "$pid" ]; then
        echo "closeloopd: running, pid $pid, port $(cat -- "$portfile" 2>/dev/null || echo "$port"), log $logfile"
    else
        echo "closeloopd: not running"
        rc=3
    fi
    pg_locate
    if [ -z "$pgdata" ] || [ ! -f "$pgdata/PG_VERSION" ]; then
        echo "PostgreSQL: no cluster under $home (run deploy/quickstart.sh)"
        rc=3
    elif pg_running; then
        echo "PostgreSQL: running, pid $(head -n 1 -- "$pgdata/postmaster.pid"), data $pgdata, socket dir $sockdir"
    else
        echo "PostgreSQL: stopped, data $pgdata"
        rc=3
    fi
    return "$rc"
}

cmd_psql() {
    need_root psql
    pg_locate
    pg_running || die "PostgreSQL is not running for $home; start it with deploy/quickstart.sh"
    # Root may use the postgres-only socket directory; the role is closeloop.
    exec "$PGBIN/psql" -h "$sockdir" -U closeloop -d closeloop "$@"
}

cmd=${1:-start}
[ $# -gt 0 ] && shift
case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop ;;
    restart)
        cmd_stop
        cmd_start "$@"
        ;;
    status) cmd_status ;;
    psql) cmd_psql "$@" ;;
    help | -h | --help) usage ;;
    --no-build) cmd_start "$cmd" "$@" ;;
    *)
        usage >&2
        die "unknown command '$cmd'"
        ;;
esac
