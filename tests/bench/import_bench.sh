#!/usr/bin/env bash
# import_bench.sh - units/s of `cloop unit import` (TLS, daemon, validation, one
# transaction per chunk with audit and change-log rows) against `psql \copy` of the same
# rows into a plain table, in one run, on a throwaway PostgreSQL and the release build.
# Imports the file twice and checks that exactly N units exist afterwards.
# usage: tests/bench/import_bench.sh [-n UNITS] [--chunk ROWS]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$repo"
n=10000 chunk=500
while [ $# -gt 0 ]; do
    case $1 in
        -n) n=$2; shift 2 ;;
        --chunk) chunk=$2; shift 2 ;;
        -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "import_bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target closeloopd cloop >/dev/null

work=$(mktemp -d /tmp/clbench.XXXXXX)
chown postgres "$work"
pgbin=/usr/lib/postgresql/15/bin
daemon=
cleanup() {
    [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
runuser -u postgres -- "$pgbin/initdb" -D "$work/data" -E UTF8 --locale=C.UTF-8 -A trust \
    -U postgres >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/data" -l "$work/pg.log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories=$work" start >/dev/null
psql -q -h "$work" -U postgres -c 'create database closeloop'
export CLOSELOOP_DB_CONNINFO="host=$work dbname=closeloop user=postgres"
deploy/gen-certs.sh "$work/tls" >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CLOSELOOP_PASSWORD=benchpass123 build/bin/closeloopd --bootstrap-admin admin >/dev/null 2>&1
CLOSELOOP_HOME=$work CLOSELOOP_PORT=$port CLOSELOOP_LOG_LEVEL=warn build/bin/closeloopd \
    2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 100); do grep -q event=listening "$work/daemon.log" 2>/dev/null && break; sleep 0.1; done
grep -q . "$work/daemon.log" || sleep 1

export HOME=$work/home CLOSELOOP_CONFIG=$work/none CLOSELOOP_SERVER=127.0.0.1:$port \
    CLOSELOOP_CA=$work/tls/ca.crt
mkdir -p "$HOME"
cloop=build/bin/cloop
CLOSELOOP_PASSWORD=benchpass123 $cloop login admin >/dev/null
company=$($cloop company add 深圳城市公司 --kind city --format csv | tail -n 1 | cut -d, -f1)
project=$($cloop project add --company "$company" 万科城 --format csv | tail -n 1 | cut -d, -f1)

csv=$work/units.csv
python3 - "$n" "$csv" <<'EOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w", encoding="utf-8") as f:
    f.write("building,unit,floor,layout,owner_name,owner_phone\n")
    for i in range(n):
        b, rest = divmod(i, 200)
        floor, room = divmod(rest, 4)
        f.write(f"{b + 1}栋,{b + 1}-{room // 2 + 1}-{floor + 2}{room % 2 + 1:02d},{floor + 2},"
                f"T{'ABC'[i % 3]},业主{i},139{i:08d}\n")
EOF

ms() { date +%s%N | cut -c1-13; }
t0=$(ms)
$cloop unit import --project "$project" --chunk "$chunk" "$csv" >"$work/import1.txt"
t1=$(ms)
$cloop unit import --project "$project" --chunk "$chunk" "$csv" >"$work/import2.txt"
t2=$(ms)
units=$(psql -At -h "$work" -U postgres -d closeloop -c 'select count(*) from units')
psql -q -h "$work" -U postgres -d closeloop -c 'create table copy_baseline (building text,
    unit text, floor int, layout text, owner_name text, owner_phone text)'
t3=$(ms)
psql -q -h "$work" -U postgres -d closeloop -c "\\copy copy_baseline from '$csv' csv header"
t4=$(ms)

rate() { python3 -c "print(f'{$1 * 1000 / max($2, 1):,.0f}')"; }
echo "rows=$n chunk=$chunk units_after_two_imports=$units"
echo "cloop unit import (first):  $((t1 - t0)) ms  $(rate "$n" $((t1 - t0))) units/s"
echo "cloop unit import (again):  $((t2 - t1)) ms  $(rate "$n" $((t2 - t1))) units/s (all unchanged)"
echo "psql \\copy same rows:       $((t4 - t3)) ms  $(rate "$n" $((t4 - t3))) rows/s"
tail -n 3 "$work/import2.txt" | sed 's/^/second import: /'
[ "$units" = "$n" ] || { echo "import_bench: expected $n units, found $units" >&2; exit 1; }
