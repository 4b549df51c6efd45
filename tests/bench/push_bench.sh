#!/usr/bin/env bash
# push_bench.sh - latency of the server push (issue 10): from a commit that writes the
# change feed to the SyncNotice at a desktop that follows it (push_bench: a libcloop
# connection to closeloopd, SyncFollow on), next to the baseline of the same commits'
# notifications read by a plain libpq LISTEN connection, in one run, on the release build.
# The commits go straight to PostgreSQL (an update of one building, with an actor), one
# every --gap-ms (beyond the daemon's 20 ms coalescing), so each gets its own notice.
# With --mirror 1 (the default) a second desktop connection runs cl_mirror_follow into a
# mirror file, and each round also waits until the new version can be read there: commit
# to arrival in a following desktop's mirror. The clock starts when COMMIT is sent;
# p50/p99/max over the rounds.
# usage: tests/bench/push_bench.sh [-n ROUNDS] [--gap-ms MS] [--mirror 0|1]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=1000 gap=25 mirror=1
bench_options -n n --gap-ms gap --mirror mirror -- "$@"
bench_build push_bench
bench_setup
bench_postgres
bench_daemon
bench_client
bench_project
building=$($cloop building add --project "$project" 3栋 --floors 30 --format csv | id_of)
CLOSELOOP_NEW_PASSWORD=benchpass123 $cloop user add cr1 --role cr --company "$company" >/dev/null
echo "push_bench -n $n --gap-ms $gap --mirror $mirror; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
extra=()
if [ "$mirror" = 1 ]; then extra=(--mirror "$work/mirror.sqlite"); fi
CLOSELOOP_PASSWORD=benchpass123 build/bin/push_bench --server "127.0.0.1:$port" \
    --ca "$work/tls/ca.crt" --user cr1 --conninfo "$conninfo" --building "$building" \
    -n "$n" --gap-ms "$gap" "${extra[@]}"
