#!/usr/bin/env bash
# stats_bench.sh - HQ statistics at scale (issue 11): on the cluster stats_gen.sh loaded
# into DIR (10,000,000 tickets by default), closeloopd (release build) answers each
# documented query of stats_bench.c as an hq_analyst over TLS (StatsRequest or
# ScorecardRequest), and the same query runs straight to PostgreSQL from the summaries and
# raw (cl_stats(..., p_raw => true), the base tables), in one run: p50/p99 of each and
# whether summaries and raw agree. Then `cloop stats --by company,month` for 12 months as a
# person runs it (a new process, connection and TLS handshake each time): p50/p99 of the
# whole command. First the data's size: rows and bytes of the base tables and summaries.
# Periods are relative to today: the 12 whole months before this one, and the last month.
# PostgreSQL runs with shared_buffers=2GB, work_mem=64MB, effective_cache_size=12GB, the
# rest default; closeloopd with statement_timeout_ms=600000 (not 5000), so that slow
# answers are measured rather than cut. The cluster is left on disk, stopped. Each way of
# each query stops early once it has used --budget-s seconds (at least 3 calls), and so
# does the cloop loop; a raw call is cut after --raw-timeout-s seconds (shown "> N s").
# usage: tests/bench/stats_bench.sh --pgdata DIR [-n RUNS] [--raw-runs RUNS] [--cli-runs RUNS]
#                                   [--budget-s SECONDS] [--raw-timeout-s SECONDS]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pgdata='' n=30 raw_runs=5 cli_runs=20 budget=60 raw_timeout=600
bench_options --pgdata pgdata -n n --raw-runs raw_runs --cli-runs cli_runs --budget-s budget \
    --raw-timeout-s raw_timeout -- "$@"
if [ -z "$pgdata" ] || [ ! -f "$pgdata/data/PG_VERSION" ]; then
    echo "$bench_name: --pgdata DIR must hold a cluster loaded by stats_gen.sh" >&2
    exit 2
fi
bench_build stats_bench
bench_setup
bench_kept_postgres "$pgdata" shared_buffers=2GB work_mem=64MB effective_cache_size=12GB
# Figures above 5 s would be cut by the default statement timeout: let them be measured.
bench_daemon CLOSELOOP_DB_STATEMENT_TIMEOUT_MS=600000
bench_client
CLOSELOOP_PASSWORD=benchpass123 $cloop login admin >/dev/null
if ! $cloop user list --format csv | grep -q '^[0-9]*,analyst,'; then
    CLOSELOOP_NEW_PASSWORD=benchpass123 $cloop user add analyst --role hq_analyst >/dev/null
fi
CLOSELOOP_PASSWORD=benchpass123 $cloop login analyst >/dev/null

q() { bench_psql -At -v ON_ERROR_STOP=1 -c "$1"; }
year_from=$(q "select (date_trunc('month', current_date) - interval '12 months')::date")
year_to=$(q "select (date_trunc('month', current_date) - interval '1 day')::date")
month_from=$(q "select (date_trunc('month', current_date) - interval '1 month')::date")
month=${month_from:0:7}
month_to=$year_to
company=$(q "select id from companies where name = '深圳城市公司'")
project=$(q "select id from projects where name = '深圳万科城'")
# The contractor with the most tickets found in the 12 months.
contractor=$(q "select contractor_id from tickets where found_on between '$year_from' and
    '$year_to' and contractor_id is not null group by 1 order by count(*) desc limit 1")

echo "stats_bench -n $n --raw-runs $raw_runs --cli-runs $cli_runs --budget-s $budget" \
    "--raw-timeout-s $raw_timeout on $pgdata;" \
    "$(nproc) cores (load average $(cut -d' ' -f1-3 /proc/loadavg));" \
    "$(free -g | awk '/^Mem/ { print $2 }') GB RAM; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "12 months: $year_from..$year_to; month: $month; company $company (深圳城市公司)," \
    "project $project (深圳万科城), contractor $contractor"
echo
echo "| table | rows | size |"
echo "|---|---:|---:|"
for t in tickets ticket_events inspection_items inspection_records units stat_tickets \
    stat_activity stat_units stat_tickets_delta stat_activity_delta stat_units_delta; do
    q "select '| $t | ' || to_char(count(*), 'FM999,999,999') || ' | ' ||
        pg_size_pretty(pg_total_relation_size('$t')) || ' |' from $t"
done
echo

CLOSELOOP_PASSWORD=benchpass123 build/bin/stats_bench --server "127.0.0.1:$port" \
    --ca "$work/tls/ca.crt" --user analyst --conninfo "$conninfo" -n "$n" \
    --raw-runs "$raw_runs" --budget-s "$budget" --raw-timeout-s "$raw_timeout" --year-from "$year_from" --year-to "$year_to" \
    --month-from "$month_from" --month-to "$month_to" --month "$month" \
    --company "$company" --project "$project" --contractor "$contractor"
echo

# The whole command as a person runs it, its output checked once.
groups=$($cloop stats --by company,month --from "$year_from" --to "$year_to" --format csv |
    sed 1d | wc -l)
ms=()
began=$(date +%s)
while [ "${#ms[@]}" -lt "$cli_runs" ] &&
    { [ "${#ms[@]}" -lt 3 ] || [ $(($(date +%s) - began)) -lt "$budget" ]; }; do
    t0=$(date +%s%N)
    $cloop stats --by company,month --from "$year_from" --to "$year_to" --format csv >/dev/null
    ms+=($((($(date +%s%N) - t0) / 1000000)))
done
printf '%s\n' "${ms[@]}" | sort -n | awk -v runs="${#ms[@]}" -v g="$groups" '
    { v[NR] = $1 }
    END { p99 = int((NR * 99 + 99) / 100)
          printf "cloop stats --by company,month (12 months, %d groups, table of %d runs): " \
                 "p50 %d ms, p99 %d ms\n", g, runs, v[int(NR / 2) + 1], v[p99] }'
