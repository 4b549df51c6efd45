#!/usr/bin/env bash
# ping_bench.sh - `cloop ping` throughput and latency against closeloopd, and against the
# raw baseline (tls_echo_bench: the same TLS engine and settings echoing each frame, no
# libuv, protobuf or dispatch), in one run, on the release build.
# usage: tests/bench/ping_bench.sh [-n REQUESTS] [-c CONNECTIONS] [--depth D]
# Output: the two cloop ping summaries, then one comparison line each.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=100000 c=32 depth=1
bench_options -n n -c c --depth depth -- "$@"
bench_build tls_echo_bench
bench_setup
bench_client # the user's ~/.config/closeloop/config must not leak in a client cert
run_ping() { # label
    $cloop ping --server "127.0.0.1:$port" --ca "$work/tls/ca.crt" \
        -n "$n" -c "$c" --depth "$depth" --format csv | tail -n 1 | sed "s/^/$1,/"
}

echo "cloop ping -n $n -c $c --depth $depth; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
bench_daemon
header=$($cloop ping --server "127.0.0.1:$port" --ca "$work/tls/ca.crt" -n 1 -c 1 --format csv | head -n 1)
echo "target,$header"
run_ping closeloopd
bench_stop "$daemon"
build/bin/tls_echo_bench --port "$port" --cert "$work/tls/server.crt" --key "$work/tls/server.key" 2>/dev/null &
echo_pid=$!
bench_wait_port
run_ping tls_echo_baseline
bench_stop "$echo_pid"
