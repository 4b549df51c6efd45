#!/usr/bin/env bash
# repair_bench.sh - the repair loop's hot paths on the release build and a throwaway
# PostgreSQL, each next to its baseline in the same run:
#  1. recording inspection items through closeloopd (item_bench --mode record) against
#     the same prepared statements and parameters sent straight to PostgreSQL with libpq
#     (item_bench --mode record-direct), at 32 connections;
#  2. one contractor's to-repair list through closeloopd with 1,000,000 tickets loaded
#     (item_bench --mode todo), next to EXPLAIN ANALYZE of the list's statement.
# usage: tests/bench/repair_bench.sh [-c CONNS] [--seconds S] [--tickets N]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$repo"
conns=32 seconds=10 tickets=1000000 pool=8
while [ $# -gt 0 ]; do
    case $1 in
        -c) conns=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --tickets) tickets=$2; shift 2 ;;
        --pool) pool=$2; shift 2 ;;
        -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "repair_bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target closeloopd cloop item_bench >/dev/null

work=$(mktemp -d /tmp/clrepair.XXXXXX)
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
    -o "-c listen_addresses='' -c unix_socket_directories=$work -c max_connections=200" \
    start >/dev/null
psql -q -h "$work" -U postgres -c 'create database closeloop'
conninfo="host=$work dbname=closeloop user=postgres"
export CLOSELOOP_DB_CONNINFO=$conninfo
deploy/gen-certs.sh "$work/tls" >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CLOSELOOP_PASSWORD=benchpass123 build/bin/closeloopd --bootstrap-admin admin >/dev/null 2>&1
CLOSELOOP_HOME=$work CLOSELOOP_PORT=$port CLOSELOOP_LOG_LEVEL=warn CLOSELOOP_DB_POOL_SIZE=$pool \
    build/bin/closeloopd 2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 100); do grep -q event=listening "$work/daemon.log" 2>/dev/null && break; sleep 0.1; done

export HOME=$work/home CLOSELOOP_CONFIG=$work/none CLOSELOOP_SERVER=127.0.0.1:$port \
    CLOSELOOP_CA=$work/tls/ca.crt
mkdir -p "$HOME"
cloop=build/bin/cloop
id_of() { tail -n 1 | cut -d, -f1; }
CLOSELOOP_PASSWORD=benchpass123 $cloop login admin >/dev/null
company=$($cloop company add 深圳城市公司 --kind city --format csv | id_of)
project=$($cloop project add --company "$company" 万科城 --format csv | id_of)
water=$($cloop contractor add 东方雨虹防水 --trades waterproofing --format csv | id_of)
$cloop trade assign --project "$project" --trade waterproofing --contractor "$water" >/dev/null
python3 - "$work/units.csv" "$work/units.txt" <<'EOF'
import sys
with open(sys.argv[1], "w") as f, open(sys.argv[2], "w") as g:
    f.write("building,unit,floor,layout\n")
    for i in range(2000):
        b, rest = divmod(i, 200)
        floor, room = divmod(rest, 4)
        u = f"{b + 1}-{room // 2 + 1}-{floor + 2}{room % 2 + 1:02d}"
        f.write(f"{b + 1}栋,{u},{floor + 2},TA\n")
        g.write(u + "\n")
EOF
$cloop unit import --project "$project" "$work/units.csv" >/dev/null
CLOSELOOP_NEW_PASSWORD=benchpass123 $cloop user add clerk --role clerk --projects "$project" \
    >/dev/null
clerk_id=$(psql -At -h "$work" -U postgres -d closeloop -c "select id from users where username='clerk'")

echo "== 1. recording items, $conns connections, ${seconds}s each ($(nproc) cores)"
build/bin/item_bench --mode record --server "127.0.0.1:$port" --ca "$work/tls/ca.crt" \
    --user clerk --password benchpass123 --project "$project" --units "$work/units.txt" \
    --conns "$conns" --seconds "$seconds"
build/bin/item_bench --mode record-direct --conninfo "$conninfo" --user clerk \
    --user-id "$clerk_id" --project "$project" --units "$work/units.txt" --conns "$conns" \
    --seconds "$seconds"

echo "== 2. one contractor's to-repair list with $tickets tickets loaded"
# Bulk load with triggers off (session_replication_role): 200 contractors, 5% of the
# tickets open and spread evenly over them (about 250 each at 1,000,000), the rest
# closed. The list measured is that of one of these contractors.
psql -q -h "$work" -U postgres -d closeloop -v ON_ERROR_STOP=1 <<EOF
SET session_replication_role = replica;
INSERT INTO contractors (name) SELECT 'bench contractor ' || g FROM generate_series(1, 199) g;
INSERT INTO inspection_records (project_id, unit_id, round_id, inspected_on)
SELECT u.project_id, u.id, r.id, current_date FROM units u
JOIN inspection_rounds r ON r.project_id = u.project_id AND r.kind = 'handover'
ON CONFLICT (unit_id, round_id) DO NOTHING;
CREATE TEMP TABLE recs AS SELECT row_number() OVER () AS n, id, unit_id, round_id
FROM inspection_records WHERE project_id = $project;
CREATE TEMP TABLE ks AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM contractors;
INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location, category,
                              description, severity, inspected_on, created_at)
SELECT md5('bench' || g)::uuid, r.id, $project, r.unit_id, r.round_id, '卫生间', 'waterproofing',
       '渗水 ' || g, 'minor', current_date, now() - (g || ' seconds')::interval
FROM generate_series(1, $tickets) g JOIN recs r ON r.n = 1 + g % (SELECT count(*) FROM recs);
INSERT INTO tickets (id, project_id, number, state, contractor_id, category, severity, deadline,
                     raised_at, closed_at)
SELECT md5('bench' || g)::uuid, $project, 1000000 + g,
       CASE WHEN g % 20 = 0 THEN 'open' ELSE 'closed' END,
       (SELECT id FROM ks WHERE ks.n = (g / 20) % 200), 'waterproofing', 'minor',
       current_date + 7, now() - (g || ' seconds')::interval,
       CASE WHEN g % 20 = 0 THEN NULL ELSE now() END
FROM generate_series(1, $tickets) g;
ANALYZE;
EOF
bench_k=$(psql -At -h "$work" -U postgres -d closeloop -c \
    "select id from contractors where name = 'bench contractor 1'")
open=$(psql -At -h "$work" -U postgres -d closeloop -c \
    "select count(*) from tickets where state='open' and contractor_id=$bench_k")
echo "tickets=$(psql -At -h "$work" -U postgres -d closeloop -c 'select count(*) from tickets') open_for_contractor=$open"
CLOSELOOP_NEW_PASSWORD=benchpass123 $cloop user add repairer --role contractor \
    --contractor "$bench_k" >/dev/null
build/bin/item_bench --mode todo --server "127.0.0.1:$port" --ca "$work/tls/ca.crt" \
    --user repairer --password benchpass123 --conns 4 --seconds "$seconds"
