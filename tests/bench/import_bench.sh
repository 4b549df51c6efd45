#!/usr/bin/env bash
# import_bench.sh - units/s of `cloop unit import` (TLS, daemon, validation, one
# transaction per chunk with audit and change-log rows) against `psql \copy` of the same
# rows into a plain table, in one run, on a throwaway PostgreSQL and the release build.
# Imports the file twice and checks that exactly N units exist afterwards.
# usage: tests/bench/import_bench.sh [-n UNITS] [--chunk ROWS]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=10000 chunk=500
bench_options -n n --chunk chunk -- "$@"
bench_build
bench_setup
bench_postgres
bench_daemon
bench_client
bench_project

csv=$work/units.csv
python3 - "$n" "$csv" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w", encoding="utf-8") as f:
    f.write("building,unit,floor,layout,owner_name,owner_phone\n")
    for i in range(n):
        b, rest = divmod(i, 200)
        floor, room = divmod(rest, 4)
        f.write(f"{b + 1}栋,{b + 1}-{room // 2 + 1}-{floor + 2}{room % 2 + 1:02d},{floor + 2},"
                f"T{'ABC'[i % 3]},业主{i},139{i:08d}\n")
PY

ms() { date +%s%N | cut -c1-13; }
t0=$(ms)
$cloop unit import --project "$project" --chunk "$chunk" "$csv" >"$work/import1.txt"
t1=$(ms)
$cloop unit import --project "$project" --chunk "$chunk" "$csv" >"$work/import2.txt"
t2=$(ms)
units=$(bench_psql -At -c 'select count(*) from units')
bench_psql -q -c 'create table copy_baseline (building text,
    unit text, floor int, layout text, owner_name text, owner_phone text)'
t3=$(ms)
bench_psql -q -c "\\copy copy_baseline from '$csv' csv header"
t4=$(ms)

rate() { python3 -c "print(f'{$1 * 1000 / max($2, 1):,.0f}')"; }
echo "rows=$n chunk=$chunk units_after_two_imports=$units"
echo "cloop unit import (first):  $((t1 - t0)) ms  $(rate "$n" $((t1 - t0))) units/s"
echo "cloop unit import (again):  $((t2 - t1)) ms  $(rate "$n" $((t2 - t1))) units/s (all unchanged)"
echo "psql \\copy same rows:       $((t4 - t3)) ms  $(rate "$n" $((t4 - t3))) rows/s"
tail -n 3 "$work/import2.txt" | sed 's/^/second import: /'
[ "$units" = "$n" ] || { echo "import_bench: expected $n units, found $units" >&2; exit 1; }
