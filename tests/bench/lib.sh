# lib.sh - what the benchmarks in tests/bench share, sourced by each after `set -euo
# pipefail`: their options and --help, the release build, a scratch directory in which
# everything they start is stopped and removed on exit, a throwaway PostgreSQL with the
# closeloop database and its admin, certificates, a free port, closeloopd, and cloop
# logged in with a project. Runs in the repository root (it changes there).
# Not a benchmark itself: it does nothing until its functions are called.
# shellcheck shell=bash disable=SC2034 # sets variables for the scripts that source it

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$repo" || exit
bench_name=$(basename "$0")
pgbin=/usr/lib/postgresql/15/bin
work='' daemon='' kept=''

# bench_usage: the script's header comment (after the #! line), its usage.
bench_usage() {
    awk 'NR > 1 { if (!/^#/) exit; print }' "$0"
}

# bench_options OPTION VARIABLE ... -- ARGS...: sets each VARIABLE from "OPTION VALUE" in
# ARGS; -h or --help prints the usage and exits 0; anything else exits 2.
bench_options() {
    local -A var=()
    while [ "$1" != -- ]; do
        var[$1]=$2
        shift 2
    done
    shift
    while [ $# -gt 0 ]; do
        case $1 in -h | --help) bench_usage; exit 0 ;; esac
        if [ -z "${var[$1]:-}" ]; then
            echo "$bench_name: unknown argument $1" >&2
            exit 2
        fi
        if [ $# -lt 2 ]; then
            echo "$bench_name: $1 needs a value" >&2
            exit 2
        fi
        printf -v "${var[$1]}" %s "$2"
        shift 2
    done
}

# bench_build TARGET...: the release tree build/ with closeloopd, cloop and the TARGETs.
bench_build() {
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$(nproc)" --target closeloopd cloop "$@" >/dev/null
}

# bench_setup: $work, a scratch directory, with certificates in $work/tls, and $port, a
# free port. On exit, background jobs get SIGTERM, the cluster stops, $work goes.
bench_setup() {
    work=$(mktemp -d /tmp/clbench.XXXXXX)
    trap bench_cleanup EXIT
    deploy/gen-certs.sh "$work/tls" >/dev/null 2>&1
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
}

bench_cleanup() {
    local pids
    pids=$(jobs -p)
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086 # one pid a word
        kill -TERM $pids 2>/dev/null || true
        wait 2>/dev/null || true
    fi
    if [ -d "$work/data" ]; then
        runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 ||
            true
    fi
    if [ -n "$kept" ]; then
        runuser -u postgres -- "$pgbin/pg_ctl" -D "$kept/data" -m fast -t 600 stop >/dev/null \
            2>&1 || true
    fi
    rm -rf "$work"
}

# bench_postgres [SETTING...]: a cluster in $work/data listening on a socket in $work only
# (each SETTING, e.g. max_connections=200, a postgres -c option), the database closeloop
# with its admin (password benchpass123); exports CLOSELOOP_DB_CONNINFO, as $conninfo.
bench_postgres() {
    local opts="-c listen_addresses='' -c unix_socket_directories=$work" s
    for s in "$@"; do opts+=" -c $s"; done
    chown postgres "$work"
    runuser -u postgres -- "$pgbin/initdb" -D "$work/data" -E UTF8 --locale=C.UTF-8 -A trust \
        -U postgres >/dev/null
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/data" -l "$work/pg.log" -w -o "$opts" \
        start >/dev/null
    psql -q -h "$work" -U postgres -c 'create database closeloop'
    conninfo="host=$work dbname=closeloop user=postgres"
    export CLOSELOOP_DB_CONNINFO=$conninfo
    CLOSELOOP_PASSWORD=benchpass123 build/bin/closeloopd --bootstrap-admin admin >/dev/null 2>&1
}

# bench_kept_postgres DIR [SETTING...]: like bench_postgres, but the cluster is kept in
# DIR/data (socket in DIR/run, log DIR/pg.log) across runs, for data that takes long to
# load: created (with the closeloop database, migrated, and its admin) only when DIR has
# none yet, started now, stopped on exit and left on disk. DIR must be outside the
# repository and reachable by the postgres user. Sets $fresh to 1 when it was just created.
bench_kept_postgres() {
    local dir=$1 opts s
    shift
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    opts="-c listen_addresses='' -c unix_socket_directories=$dir/run"
    for s in "$@"; do opts+=" -c $s"; done
    fresh=0
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        mkdir -p "$dir/data" "$dir/run"
        chown postgres "$dir" "$dir/data" "$dir/run"
        runuser -u postgres -- "$pgbin/initdb" -D "$dir/data" -E UTF8 --locale=C.UTF-8 -A trust \
            -U postgres >/dev/null
        fresh=1
    fi
    kept=$dir
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 600 -o "$opts" \
        start >/dev/null
    conninfo="host=$dir/run dbname=closeloop user=postgres"
    export CLOSELOOP_DB_CONNINFO=$conninfo
    if [ "$fresh" = 1 ]; then
        psql -q -h "$dir/run" -U postgres -d postgres -c 'create database closeloop'
        CLOSELOOP_PASSWORD=benchpass123 build/bin/closeloopd --bootstrap-admin admin >/dev/null 2>&1
    fi
}

# bench_psql ARGS...: psql on the bench cluster's closeloop database.
bench_psql() {
    psql -X -d "$conninfo" "$@"
}

# bench_wait_port: waits (10 s at most) until something accepts connections on $port.
bench_wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# bench_daemon [VAR=VALUE...]: closeloopd in the background on $port with the bench
# certificates, log level warn and the VARs, its standard error in $work/daemon.log;
# returns once it listens. Its pid in $daemon.
bench_daemon() {
    env CLOSELOOP_HOME="$work" CLOSELOOP_PORT="$port" CLOSELOOP_LOG_LEVEL=warn "$@" \
        build/bin/closeloopd 2>"$work/daemon.log" &
    daemon=$!
    if ! bench_wait_port; then
        echo "$bench_name: closeloopd does not listen on port $port; its log:" >&2
        cat "$work/daemon.log" >&2
        exit 1
    fi
}

# bench_stop PID: SIGTERM, and waits until it has gone.
bench_stop() {
    kill -TERM "$1"
    wait "$1" || true
}

# bench_client: cloop's environment for the bench daemon, away from the user's own
# configuration and client certificate; the client in $cloop.
bench_client() {
    export HOME=$work/home CLOSELOOP_CONFIG=$work/none CLOSELOOP_SERVER=127.0.0.1:$port \
        CLOSELOOP_CA=$work/tls/ca.crt
    unset CLOSELOOP_CERT CLOSELOOP_KEY CLOSELOOP_FORMAT
    mkdir -p "$HOME"
    cloop=build/bin/cloop
}

# id_of: the id (first field) of the last CSV line on standard input.
id_of() {
    tail -n 1 | cut -d, -f1
}

# bench_project: cloop logged in as the admin, with a city company and one project of it;
# their ids in $company and $project.
bench_project() {
    CLOSELOOP_PASSWORD=benchpass123 $cloop login admin >/dev/null
    company=$($cloop company add 深圳城市公司 --kind city --format csv | id_of)
    project=$($cloop project add --company "$company" 万科城 --format csv | id_of)
}
