#!/usr/bin/env bash
# ping_bench.sh - `cloop ping` throughput and latency against closeloopd, and against the
# raw baseline (tls_echo_bench: the same TLS engine and settings echoing each frame, no
# libuv, protobuf or dispatch), in one run, on the release build.
# usage: tests/bench/ping_bench.sh [-n REQUESTS] [-c CONNECTIONS] [--depth D]
# Output: the two cloop ping summaries, then one comparison line each.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$repo"
n=100000 c=32 depth=1
while [ $# -gt 0 ]; do
    case $1 in
        -n) n=$2; shift 2 ;;
        -c) c=$2; shift 2 ;;
        --depth) depth=$2; shift 2 ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        *) echo "ping_bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target closeloopd cloop tls_echo_bench >/dev/null
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
deploy/gen-certs.sh "$work/tls" >/dev/null 2>&1
# The user's ~/.config/closeloop/config (from quickstart) must not leak in a client cert.
export CLOSELOOP_CONFIG=$work/no-config
unset CLOSELOOP_SERVER CLOSELOOP_CA CLOSELOOP_CERT CLOSELOOP_KEY CLOSELOOP_FORMAT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run_ping() { # label
    build/bin/cloop ping --server "127.0.0.1:$port" --ca "$work/tls/ca.crt" \
        -n "$n" -c "$c" --depth "$depth" --format csv | tail -n 1 | sed "s/^/$1,/"
}
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && return 0; sleep 0.1; done; return 1; }

echo "cloop ping -n $n -c $c --depth $depth; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
CLOSELOOP_HOME=$work CLOSELOOP_PORT=$port CLOSELOOP_LOG_LEVEL=warn build/bin/closeloopd &
daemon=$!
wait_port
header=$(build/bin/cloop ping --server "127.0.0.1:$port" --ca "$work/tls/ca.crt" -n 1 -c 1 --format csv | head -n 1)
echo "target,$header"
run_ping closeloopd
kill -TERM "$daemon"; wait "$daemon" || true
build/bin/tls_echo_bench --port "$port" --cert "$work/tls/server.crt" --key "$work/tls/server.key" 2>/dev/null &
echo_pid=$!
wait_port
run_ping tls_echo_baseline
kill -TERM "$echo_pid"; wait "$echo_pid" || true
