#!/usr/bin/env bash
# stats_gen.sh - loads the HQ statistics benchmark's data (issue 11) into a PostgreSQL
# cluster kept in DIR (see bench_kept_postgres in lib.sh), so that stats_bench.sh can be
# run on it again and again: a group with 5 city companies of 10 projects each (50), 500
# contractors (one or two trades each, two projects a trade each, and the same number of
# stand-ins that take the reassigned tickets), buildings of 100 units with layouts TA-TD
# (a few unfilled), and per project the rounds mock1, mock2, mock3, handover and check3m
# around its move-in date (move-ins spread over the last two years and the next 100 days;
# rounds not started have no records, a running round only the units inspected so far),
# one record per unit and round inspected (handover: accepted / with items / not taken
# over with a reason), and exactly --tickets items, each with its ticket and its events up
# to now: most repaired and verified within the deadline, 8% verified late, 10% failing
# verification once (rework: repaired again in 1-3 days), 4% reassigned, 5% dispatched the
# next day, 3% not fixed; every choice a hash of the item's number, so a load is reproducible.
# Set-based SQL with the tracking triggers off (session_replication_role = replica) and the
# big tables' secondary indexes dropped during the load and built again after it; then
# SELECT cl_stats_rebuild() computes the summaries, and VACUUM ANALYZE. Refuses a cluster
# that has data already. Never loaded by quickstart.
# usage: tests/bench/stats_gen.sh --pgdata DIR [--tickets N]
#   DIR    outside the repository, reachable by the postgres user (e.g. /work/wt/benchdata)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pgdata='' tickets=10000000
bench_options --pgdata pgdata --tickets tickets -- "$@"
if [ -z "$pgdata" ]; then
    echo "$bench_name: --pgdata DIR is required" >&2
    exit 2
fi
case $tickets in '' | *[!0-9]*) echo "$bench_name: --tickets must be a number" >&2; exit 2 ;; esac
bench_build
bench_setup
# Loading settings; stats_bench.sh starts the cluster with its own.
bench_kept_postgres "$pgdata" shared_buffers=2GB maintenance_work_mem=1GB work_mem=256MB \
    max_wal_size=16GB checkpoint_timeout=30min wal_level=minimal max_wal_senders=0 \
    synchronous_commit=off
if [ "$(bench_psql -At -c 'select count(*) > 0 from companies')" = t ]; then
    echo "$bench_name: $pgdata has data already; remove it to load again" >&2
    exit 1
fi
echo "$bench_name --tickets $tickets into $pgdata; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
start=$(date +%s)
step() { echo "  $(($(date +%s) - start)) s: $*"; }

bench_psql -q -v ON_ERROR_STOP=1 -v n="$tickets" <<'SQL'
SET client_min_messages = warning;
SET session_replication_role = replica;
\timing on
-- h(x, salt, m): a reproducible pseudo-random 0..m-1 for the number x.
CREATE FUNCTION pg_temp.h(x bigint, salt int, m int) RETURNS int
LANGUAGE sql IMMUTABLE AS $$ SELECT ((hashint8(x * 64 + salt)::bigint + 2147483648) % m)::int $$;

-- ---- the organisation ---------------------------------------------------------------
INSERT INTO companies (kind, name) VALUES ('hq', '集团总部');
INSERT INTO companies (kind, name, parent_id)
SELECT 'city', c || '城市公司', (SELECT id FROM companies WHERE name = '集团总部')
  FROM unnest(ARRAY['深圳', '上海', '北京', '广州', '成都']) WITH ORDINALITY AS x(c, i)
 ORDER BY i;
CREATE TEMP TABLE gen_p AS
SELECT p, c.id AS company_id, x.city || s.stem AS name, x.city,
       -- move-in dates spread from 684 days ago to 100 days ahead, companies interleaved
       current_date - 700 + ((p * 17) % 50 + 1) * 16 AS move_in
  FROM generate_series(1, 50) p
  JOIN unnest(ARRAY['深圳', '上海', '北京', '广州', '成都']) WITH ORDINALITY AS x(city, ci)
    ON x.ci = (p - 1) / 10 + 1
  JOIN companies c ON c.name = x.city || '城市公司'
  JOIN unnest(ARRAY['万科城', '翡翠公园', '金域蓝湾', '四季花城', '第五园', '东海岸',
                    '城市花园', '金色家园', '天琴湾', '云城']) WITH ORDINALITY AS s(stem, si)
    ON s.si = (p - 1) % 10 + 1;
INSERT INTO projects (company_id, name, city, move_in_date)
SELECT company_id, name, city, move_in FROM gen_p ORDER BY p;
ALTER TABLE gen_p ADD COLUMN project_id bigint;
UPDATE gen_p g SET project_id = pr.id FROM projects pr WHERE pr.name = g.name;
DO $$
DECLARE p bigint;
BEGIN
    FOR p IN SELECT project_id FROM gen_p LOOP
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', cl_ticket_seq_name(p));
    END LOOP;
END $$;
INSERT INTO deadline_presets (project_id, severity, days)
SELECT project_id, s, d FROM gen_p,
       (VALUES ('critical', 1), ('major', 3), ('minor', 7)) AS v(s, d);

-- 500 contractors: contractor i has trade (i-1) % 10 and rank k = (i-1) / 10 (0..49);
-- every fifth a second trade. Ranks 0-24 hold the projects' trades (two projects each),
-- ranks 25-49 are the stand-ins a reassigned ticket goes to.
CREATE TEMP TABLE gen_tr AS
SELECT code, name_zh, (row_number() OVER (ORDER BY code))::int - 1 AS t FROM trades;
CREATE TEMP TABLE gen_k AS
SELECT i, (i - 1) / 10 AS k, tr.code AS trade,
       (ARRAY['东方', '中建', '华南', '金盾', '宏达', '永固', '恒信', '远大', '鸿运', '德力',
              '安居', '盛世', '长城', '海川', '同济', '天工', '新星', '广厦', '嘉和', '佳美',
              '华夏', '南山', '青山', '博远', '信达'])[((i - 1) / 10) % 25 + 1]
       || tr.name_zh
       || (ARRAY['工程有限公司', '建设有限公司'])[(i - 1) / 250 + 1] AS name
  FROM generate_series(1, 500) i JOIN gen_tr tr ON tr.t = (i - 1) % 10;
INSERT INTO contractors (name) SELECT name FROM gen_k ORDER BY i;
ALTER TABLE gen_k ADD COLUMN contractor_id bigint;
UPDATE gen_k g SET contractor_id = c.id FROM contractors c WHERE c.name = g.name;
INSERT INTO contractor_trades (contractor_id, trade)
SELECT contractor_id, trade FROM gen_k
UNION ALL
SELECT g.contractor_id, tr.code FROM gen_k g JOIN gen_tr tr ON tr.t = (g.i - 1 + 3) % 10
 WHERE g.i % 5 = 0;
CREATE TEMP TABLE gen_pt AS
SELECT p.project_id, tr.code AS trade, k1.contractor_id AS c1, k2.contractor_id AS c2
  FROM gen_p p CROSS JOIN gen_tr tr
  JOIN gen_k k1 ON k1.trade = tr.code AND k1.k = (p.p * 7 + tr.t) % 25
  JOIN gen_k k2 ON k2.trade = tr.code AND k2.k = 25 + (p.p * 7 + tr.t) % 25;
INSERT INTO project_trades (project_id, trade, contractor_id)
SELECT project_id, trade, c1 FROM gen_pt;
ANALYZE gen_pt;

-- ---- buildings and units: --tickets / 5000 units a project (at least 4), 100 a building
CREATE TEMP TABLE gen_u AS
SELECT p.p, p.project_id, u, (u - 1) / 100 + 1 AS b, ((u - 1) % 100) / 4 + 2 AS floor,
       (u - 1) % 4 + 1 AS door
  FROM gen_p p, generate_series(1, greatest(round(:n / 5000.0)::int, 4)) u;
INSERT INTO buildings (project_id, name, floors)
SELECT DISTINCT project_id, b || '栋', 26 FROM gen_u;
INSERT INTO units (building_id, project_id, number, floor, layout)
SELECT bl.id, g.project_id, format('%s-%s%s', g.b, g.floor, lpad(g.door::text, 2, '0')),
       g.floor,
       CASE WHEN pg_temp.h(g.p * 100000 + g.u, 1, 200) = 0 THEN ''
            ELSE (ARRAY['TA', 'TB', 'TC', 'TD'])[(g.b + g.p + (g.door / 4)) % 4 + 1] END
  FROM gen_u g JOIN buildings bl ON bl.project_id = g.project_id AND bl.name = g.b || '栋';

-- ---- rounds around the move-in date, and one record per unit inspected ---------------
CREATE TEMP TABLE gen_rk AS
SELECT * FROM (VALUES ('mock1', -180, 15, '项目部'), ('mock2', -70, 21, '客户关系部'),
                      ('mock3', -35, 7, '物业公司'), ('handover', 0, 21, '客户关系部'),
                      ('check3m', 90, 14, '物业公司')) AS v(kind, off, len, dept);
INSERT INTO inspection_rounds (project_id, kind, planned_start, planned_end, department, status)
SELECT p.project_id, r.kind, p.move_in + r.off, p.move_in + r.off + r.len - 1, r.dept,
       CASE WHEN p.move_in + r.off + r.len - 1 < current_date THEN 'done'
            WHEN p.move_in + r.off <= current_date THEN 'in_progress' ELSE 'planned' END
  FROM gen_p p CROSS JOIN gen_rk r;
INSERT INTO inspection_records (project_id, unit_id, round_id, inspected_on, inspector,
                                scheduled_on, outcome, not_taken_reason, keys_handed, signoff)
SELECT x.project_id, x.unit_id, x.round_id, x.day,
       (ARRAY['王工', '李工', '张工', '刘工', '陈工', '杨工'])[pg_temp.h(x.unit_id, 3, 6) + 1],
       CASE WHEN x.kind = 'handover' THEN x.day END,
       CASE WHEN x.kind <> 'handover' THEN NULL
            WHEN x.o < 85 THEN 'accepted' WHEN x.o < 95 THEN 'accepted_with_items'
            ELSE 'not_taken_over' END,
       CASE WHEN x.kind = 'handover' AND x.o >= 95
            THEN (ARRAY['房屋质量问题', '业主资金未到位', '业主出差', '对面积有异议'])
                 [(x.o - 95) % 4 + 1] ELSE '' END,
       CASE WHEN x.kind = 'handover' AND x.o < 95 THEN 2 ELSE 0 END,
       CASE WHEN x.kind = 'handover' AND x.o < 95 THEN 'signed' END
  FROM (SELECT u.project_id, u.id AS unit_id, r.id AS round_id, r.kind,
               r.planned_start + pg_temp.h(u.id, r.id::int, r.planned_end - r.planned_start + 1)
                   AS day,
               pg_temp.h(u.id, 7, 100) AS o
          FROM units u JOIN inspection_rounds r ON r.project_id = u.project_id
         WHERE r.planned_start <= current_date) x
 WHERE x.day <= current_date;
CREATE UNLOGGED TABLE gen_r AS
SELECT (row_number() OVER (ORDER BY id))::bigint AS rn, id AS record_id, project_id, unit_id,
       round_id, inspected_on, inspector
  FROM inspection_records;
CREATE INDEX ON gen_r (rn);
ANALYZE gen_r;

-- ---- items, tickets and their lives --------------------------------------------------
-- Big tables: their secondary indexes (not those of constraints) go during the load.
CREATE TEMP TABLE gen_ix AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
  FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
 WHERE t.relname IN ('inspection_items', 'tickets', 'ticket_events')
   AND t.relnamespace = 'public'::regnamespace
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$
DECLARE x record;
BEGIN
    FOR x IN SELECT name FROM gen_ix LOOP EXECUTE 'DROP INDEX ' || x.name; END LOOP;
END $$;

CREATE TEMP TABLE gen_desc AS
SELECT * FROM (VALUES
    ('civil', 0, '墙面空鼓开裂'), ('civil', 1, '地面找平不合格，有积水'), ('civil', 2, '顶棚裂缝'),
    ('waterproofing', 0, '地面渗水，墙角返潮'), ('waterproofing', 1, '窗台渗漏'),
    ('waterproofing', 2, '天窗渗水'),
    ('doors_windows', 0, '窗扇关闭不严'), ('doors_windows', 1, '入户门变形，开关异响'),
    ('doors_windows', 2, '玻璃划伤'),
    ('decoration', 0, '墙纸起鼓'), ('decoration', 1, '地板缝隙过大'), ('decoration', 2, '踢脚线脱落'),
    ('electrical', 0, '插座无电'), ('electrical', 1, '开关面板松动'), ('electrical', 2, '灯具不亮'),
    ('plumbing', 0, '下水不畅'), ('plumbing', 1, '水管接口滴水'), ('plumbing', 2, '地漏返味'),
    ('hvac', 0, '空调冷凝水管倒坡'), ('hvac', 1, '新风口松动'), ('hvac', 2, '地暖分水器漏水'),
    ('fire', 0, '烟感探头缺失'), ('fire', 1, '消防栓箱门变形'), ('fire', 2, '喷淋头歪斜'),
    ('low_voltage', 0, '可视对讲无画面'), ('low_voltage', 1, '网络面板不通'),
    ('low_voltage', 2, '门禁刷卡无反应'),
    ('landscaping', 0, '草坪枯黄'), ('landscaping', 1, '园路铺装松动'), ('landscaping', 2, '树木倾斜'))
    AS v(category, i, text);

-- One row per ticket with every choice made: gen_t, dropped at the end.
CREATE UNLOGGED TABLE gen_t AS
WITH nrec AS (SELECT count(*) AS n FROM gen_r),
     g AS (SELECT g, r.record_id, r.project_id, r.unit_id, r.round_id, r.inspected_on,
                  r.inspector, pg_temp.h(g, 1, 100) AS c, pg_temp.h(g, 4, 100) AS s
             FROM generate_series(1, :n) g CROSS JOIN nrec
             JOIN gen_r r ON r.rn = (g - 1) % nrec.n + 1),
     c AS (SELECT g.*,
                  CASE WHEN c < 25 THEN 'civil' WHEN c < 40 THEN 'waterproofing'
                       WHEN c < 55 THEN 'doors_windows' WHEN c < 70 THEN 'decoration'
                       WHEN c < 78 THEN 'electrical' WHEN c < 86 THEN 'plumbing'
                       WHEN c < 90 THEN 'hvac' WHEN c < 93 THEN 'fire'
                       WHEN c < 97 THEN 'low_voltage' ELSE 'landscaping' END AS category,
                  CASE WHEN s < 5 THEN 'critical' WHEN s < 30 THEN 'major' ELSE 'minor' END
                      AS severity,
                  CASE WHEN s < 5 THEN 1 WHEN s < 30 THEN 3 ELSE 7 END AS days,
                  pg_temp.h(g, 10, 100) < 5 AS disp_first,
                  pg_temp.h(g, 11, 100) < 4 AS reassign,
                  pg_temp.h(g, 12, 100) < 3 AS nofix,
                  pg_temp.h(g, 13, 100) < 8 AS late,
                  pg_temp.h(g, 15, 100) < 10 AS fail,
                  least(g.inspected_on + make_interval(secs => 8 * 3600 + pg_temp.h(g, 5, 36000)),
                        now() - interval '1 minute') AS t0
             FROM g),
     -- v_days: from the item to the first verification (within the deadline unless
     -- late); the repair reported 0-2 days before it.
     t AS (SELECT c.*,
                  CASE WHEN late THEN days + 1 + pg_temp.h(g, 14, 20) ELSE pg_temp.h(g, 14, days)
                  END AS v_days,
                  pg_temp.h(g, 16, 3) AS v_wait
             FROM c)
SELECT t.g, md5('stats' || t.g)::uuid AS id, t.record_id, t.project_id, t.unit_id,
       t.round_id, t.inspected_on, t.inspector, t.category, t.severity,
       t.inspected_on + t.days AS deadline, t.disp_first, t.reassign, t.nofix, t.fail,
       pt.c1, pt.c2, CASE WHEN t.reassign THEN pt.c2 ELSE pt.c1 END AS cur, t.t0,
       CASE WHEN t.disp_first THEN t.t0 + interval '1 hour' END AS t_disp,
       CASE WHEN t.reassign THEN t.t0 + interval '2 hours' END AS t_reas,
       CASE WHEN t.nofix THEN t.t0 + interval '3 days' END AS t_nofix,
       CASE WHEN NOT t.nofix
            THEN t.t0 + make_interval(days => t.v_days - least(t.v_wait, t.v_days), hours => 3)
       END AS t_rep1,
       CASE WHEN NOT t.nofix THEN t.t0 + make_interval(days => t.v_days, hours => 5) END
           AS t_ver1,
       CASE WHEN t.fail AND NOT t.nofix
            THEN t.t0 + make_interval(days => t.v_days + 1 + pg_temp.h(t.g, 17, 3), hours => 3)
       END AS t_rep2,
       CASE WHEN t.fail AND NOT t.nofix
            THEN t.t0 + make_interval(days => t.v_days + 1 + pg_temp.h(t.g, 17, 3)
                                              + pg_temp.h(t.g, 18, 2), hours => 5) END
           AS t_ver2
  FROM t JOIN gen_pt pt ON pt.project_id = t.project_id AND pt.trade = t.category;

INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location, category,
                              description, severity, inspected_on, inspector, created_at,
                              updated_at)
SELECT t.id, t.record_id, t.project_id, t.unit_id, t.round_id,
       (ARRAY['客厅', '主卧', '次卧', '厨房', '卫生间', '阳台', '入户门', '外立面'])
           [pg_temp.h(t.g, 2, 8) + 1],
       t.category, d.text, t.severity, t.inspected_on, t.inspector, t.t0, t.t0
  FROM gen_t t JOIN gen_desc d ON d.category = t.category AND d.i = pg_temp.h(t.g, 3, 3);

-- The state now follows from which of its events have happened by now.
INSERT INTO tickets (id, project_id, number, state, contractor_id, category, severity, deadline,
                     rework_count, last_note, raised_at, closed_at, created_at, updated_at,
                     found_on)
SELECT x.id, x.project_id, row_number() OVER (PARTITION BY x.project_id ORDER BY x.g),
       x.state, CASE WHEN x.state <> 'dispatch' THEN x.contractor END, x.category,
       x.severity, x.deadline, x.rework, x.note, x.t0,
       CASE x.state WHEN 'nofix' THEN x.t_nofix
                    WHEN 'closed' THEN coalesce(x.t_ver2, x.t_ver1) END,
       x.t0, x.t0, x.inspected_on
  FROM (SELECT t.*,
               CASE WHEN t.reassign AND t.t_reas <= now() THEN t.c2 ELSE t.c1 END AS contractor,
               CASE WHEN t.fail AND t.t_ver1 <= now() THEN 1 ELSE 0 END AS rework,
               CASE WHEN t.nofix AND t.t_nofix <= now() THEN 'nofix'
                    WHEN t.fail AND t.t_ver2 <= now() THEN 'closed'
                    WHEN t.fail AND t.t_rep2 <= now() THEN 'repaired'
                    WHEN t.fail AND t.t_ver1 <= now() THEN 'open'
                    WHEN NOT t.fail AND t.t_ver1 <= now() THEN 'closed'
                    WHEN t.t_rep1 <= now() THEN 'repaired'
                    WHEN t.disp_first AND t.t_disp > now() THEN 'dispatch'
                    ELSE 'open' END AS state,
               CASE WHEN t.nofix AND t.t_nofix <= now() THEN '属业主自行改造，不予维修'
                    WHEN t.t_rep1 <= now() THEN '已维修'
                    ELSE '' END AS note
          FROM gen_t t) x;

INSERT INTO ticket_events (ticket_id, project_id, at, actor_user_id, actor, action, from_state,
                           to_state, note, contractor_id)
SELECT t.id, t.project_id, e.at, NULL, 'stats_gen', e.action, e.from_state, e.to_state, e.note,
       e.contractor
  FROM gen_t t
 CROSS JOIN LATERAL (VALUES
     (1, 'create', t.t0, NULL, CASE WHEN t.disp_first THEN 'dispatch' ELSE 'open' END, '',
      CASE WHEN t.disp_first THEN NULL ELSE t.c1 END),
     (2, 'dispatch', t.t_disp, 'dispatch', 'open', '', t.c1),
     (3, 'reassign', t.t_reas, 'open', 'open', '原单位无法进场，改派', t.c2),
     (4, 'nofix', t.t_nofix, 'open', 'nofix', '属业主自行改造，不予维修', t.cur),
     (5, 'repaired', t.t_rep1, 'open', 'repaired', '已维修', t.cur),
     (6, CASE WHEN t.fail THEN 'verify_fail' ELSE 'verify_pass' END, t.t_ver1, 'repaired',
      CASE WHEN t.fail THEN 'open' ELSE 'closed' END,
      CASE WHEN t.fail THEN '复验不合格，返工' ELSE '' END, t.cur),
     (7, 'repaired', t.t_rep2, 'open', 'repaired', '已返工', t.cur),
     (8, 'verify_pass', t.t_ver2, 'repaired', 'closed', '', t.cur))
     AS e(o, action, at, from_state, to_state, note, contractor)
 WHERE e.at IS NOT NULL AND e.at <= now();

DO $$
DECLARE x record;
BEGIN
    FOR x IN SELECT project_id, max(number) AS n FROM tickets GROUP BY project_id LOOP
        PERFORM setval(cl_ticket_seq_name(x.project_id)::regclass, x.n);
    END LOOP;
    FOR x IN SELECT def FROM gen_ix LOOP EXECUTE x.def; END LOOP;
END $$;
DROP TABLE gen_t;
DROP TABLE gen_r;
SQL
step "loaded: $(bench_psql -At -c "select (select count(*) from tickets) || ' tickets, ' ||
    (select count(*) from ticket_events) || ' events, ' ||
    (select count(*) from inspection_records) || ' records, ' ||
    (select count(*) from units) || ' units'")"
bench_psql -q -v ON_ERROR_STOP=1 -c 'VACUUM ANALYZE'
step "vacuum analyze"
if [ "$(bench_psql -At -c "select to_regproc('cl_stats_rebuild') is not null")" = t ]; then
    bench_psql -q -v ON_ERROR_STOP=1 -c 'SELECT cl_stats_rebuild()'
    step "cl_stats_rebuild()"
else
    step "no cl_stats_rebuild() in this build: summaries not computed"
fi
bench_psql -q -v ON_ERROR_STOP=1 -c 'VACUUM ANALYZE'
step "done; database $(bench_psql -At -c "select pg_size_pretty(pg_database_size('closeloop'))")"
