#!/usr/bin/env bash
# search_bench.sh - Chinese text search over N inspection items (default 1,000,000) on
# the release build and a throwaway PostgreSQL: a 2-character word (渗水) and a
# 4-character word (地面渗水), each
#   daemon    through closeloopd (`cloop kb search WORD --items`: the 20 best, ranked)
#   direct    the same statements straight to PostgreSQL with libpq
#   match     every match through the GIN index (count, unranked)
#   like      every match by a plain LIKE '%WORD%' scan (count)
#   like-top  the 20 newest matches by a plain LIKE scan
# p50/p99 over --runs requests each (search_bench.c), then EXPLAIN ANALYZE of the ranked
# statement and of the LIKE scan, so the plans (Bitmap Index Scan on the GIN index vs a
# sequential scan) are on record next to the figures; last, what computing the search
# vector (the generated column) costs per item, over 100,000 items' texts.
# The items: descriptions drawn from 40 real defect phrases (5 of them hold 渗水, 2 地面渗水)
# in 8 rooms, with a size suffix, spread over 2,000 units and 120 days; loaded in SQL with
# the triggers off, the GIN index built after the load (its build time is printed).
# usage: tests/bench/search_bench.sh [--items N] [--runs R]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
items=1000000 runs=50
bench_options --items items --runs runs -- "$@"
bench_build search_bench
bench_setup
bench_postgres max_connections=50 shared_buffers=1GB work_mem=64MB
bench_daemon
bench_client
bench_project
python3 - "$work/units.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("building,unit,floor,layout\n")
    for i in range(2000):
        b, rest = divmod(i, 200)
        floor, room = divmod(rest, 4)
        f.write(f"{b + 1}栋,{b + 1}-{room // 2 + 1}-{floor + 2}{room % 2 + 1:02d},{floor + 2},"
                f"{'TA' if b % 2 else 'TB'}\n")
PY
$cloop unit import --project "$project" "$work/units.csv" >/dev/null

echo "== loading $items inspection items ($(nproc) cores)"
t0=$(date +%s.%N)
bench_psql -q -v ON_ERROR_STOP=1 <<EOF
SET session_replication_role = replica;
SET maintenance_work_mem = '512MB';
DROP INDEX inspection_items_search;
INSERT INTO inspection_rounds (project_id, kind) VALUES ($project, 'handover')
ON CONFLICT (project_id, kind) DO NOTHING;
INSERT INTO inspection_records (project_id, unit_id, round_id, inspected_on)
SELECT u.project_id, u.id, r.id, current_date FROM units u
JOIN inspection_rounds r ON r.project_id = u.project_id AND r.kind = 'handover'
ON CONFLICT (unit_id, round_id) DO NOTHING;
CREATE TEMP TABLE recs AS SELECT row_number() OVER () AS n, id, unit_id, round_id
FROM inspection_records WHERE project_id = $project;
CREATE TEMP TABLE phrases (n int, p text);
INSERT INTO phrases SELECT row_number() OVER () - 1, p FROM unnest(ARRAY[
  '卫生间地面渗水', '阳台地面渗水', '外墙窗台渗水', '天窗渗水', '地下室墙面渗水',
  '墙面空鼓', '地砖空鼓', '墙面开裂', '顶棚裂缝', '涂料起皮', '墙面污染', '门框松动',
  '入户门关闭不严', '窗扇关闭不严', '窗框密封胶开裂', '玻璃划伤', '地漏堵塞', '排水管漏水',
  '水管接头滴水', '马桶安装不稳', '插座无电', '开关面板破损', '灯具不亮', '配电箱标识不清',
  '踢脚线脱落', '木地板起拱', '瓷砖色差', '吊顶变形', '栏杆松动', '楼梯踏步破损', '烟道反味',
  '空调孔未封堵', '防水层破损', '墙面返碱', '橱柜门板划痕', '台面开裂', '门锁损坏',
  '阳台栏杆锈蚀', '外墙涂料脱落', '屋面积水']) AS p;
CREATE TEMP TABLE rooms (n int, r text);
INSERT INTO rooms SELECT row_number() OVER () - 1, r
FROM unnest(ARRAY['卫生间', '厨房', '客厅', '主卧', '次卧', '阳台', '玄关', '屋面']) AS r;
INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location, category,
                              description, severity, inspected_on, created_at)
SELECT md5('search' || g)::uuid, rc.id, $project, rc.unit_id, rc.round_id, ro.r, 'civil',
       ph.p || '，约' || (g % 97 + 3) || '厘米', 'minor', current_date - g % 120,
       now() - (g || ' seconds')::interval
FROM generate_series(1, $items) g
JOIN recs rc ON rc.n = 1 + g % (SELECT count(*) FROM recs)
JOIN phrases ph ON ph.n = (g::bigint * 7919) % 40
JOIN rooms ro ON ro.n = (g::bigint * 31) % 8;
EOF
t1=$(date +%s.%N)
bench_psql -q -v ON_ERROR_STOP=1 -c "SET maintenance_work_mem = '512MB'" \
    -c 'CREATE INDEX inspection_items_search ON inspection_items USING gin (search)' -c 'ANALYZE'
t2=$(date +%s.%N)
printf 'items=%s load (search vector computed per row) %.0fs, GIN index build %.0fs, table %s, index %s\n' \
    "$(bench_psql -At -c 'select count(*) from inspection_items')" \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" \
    "$(bench_psql -At -c "select pg_size_pretty(pg_table_size('inspection_items'))")" \
    "$(bench_psql -At -c "select pg_size_pretty(pg_relation_size('inspection_items_search'))")"

for q in 渗水 地面渗水; do
    echo "== $q: $(bench_psql -At -c "select count(*) from inspection_items where description like '%$q%'") items hold it"
    build/bin/search_bench --mode daemon --query "$q" --runs "$runs" --server "127.0.0.1:$port" \
        --ca "$work/tls/ca.crt" --user admin --password benchpass123
    for m in direct match like like-top; do
        r=$runs
        case $m in like*) r=$((runs / 5 > 5 ? runs / 5 : 5)) ;; esac
        build/bin/search_bench --mode "$m" --query "$q" --runs "$r" --conninfo "$conninfo"
    done
done

echo "== plans: the ranked statement (kb_search_items) and the LIKE scan, for 渗水"
{
    awk '/^PREPARE kb_search_items AS/ { on = 1 } on { print } on && /;$/ { exit }' \
        server/kb/kb.sql
    echo "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE kb_search_items('渗水', '', '', 0, 20, 'hq_admin', NULL, NULL, NULL);"
    echo "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT count(*) FROM inspection_items"
    echo "    WHERE description LIKE '%渗水%';"
} | bench_psql -q -v ON_ERROR_STOP=1

echo "== what the search vector costs an item when it is recorded (generated column)"
n=$((items < 100000 ? items : 100000))
bench_psql -At -v ON_ERROR_STOP=1 <<EOF2
\timing on
SELECT count(*) FROM (SELECT location || ' ' || description AS t FROM inspection_items LIMIT $n) x;
SELECT sum(length(cl_search_vector(t))) FROM (SELECT location || ' ' || description AS t
                                               FROM inspection_items LIMIT $n) x;
EOF2
