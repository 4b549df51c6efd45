#!/usr/bin/env bash
# demo-history.sh - gives the quickstart's demo six months of history, so that the monthly
# report (cloop report monthly) and cloop stats show a trend: for 万科城 (深圳城市公司) and
# 翡翠公园 (上海城市公司), the six whole months before the current one of the first mock
# inspection (mock1, which it moves to span those months and marks done): each month a
# sixth of the units inspected, their items and tickets, and the tickets' events (dispatch,
# reassignment, repair, verification, rework, not fixed) that have happened by now (the
# last month's late ones may still be open), backdated, improving month over month: fewer
# items per unit, less rework, fewer repairs after the deadline; and the handover round
# since the first of the month before last, two thirds of the units handed over. 翡翠公园
# gets the buildings, units, trades (civil works and waterproofing by two more contractors,
# so the scorecard ranks peers) and deadline presets it lacks. The rows are written with psql
# as an administrator would through the daemon (the actor set, so the audit, the change
# feed and the statistics' deltas see them); every choice is a hash of the row, so a run
# is reproducible. Run after deploy/demo-data.sh (it needs its organisation and users).
#
# usage: deploy/demo-history.sh        (run by deploy/quickstart.sh)
# env:   CLOSELOOP_DB_CONNINFO   libpq conninfo of the closeloop database (required)
# Safe to run again: when the history is there already it changes nothing.
set -euo pipefail
conninfo=${CLOSELOOP_DB_CONNINFO:?set CLOSELOOP_DB_CONNINFO}
say() { echo "demo-history: $*"; }

psql -X -q -v ON_ERROR_STOP=1 -d "$conninfo" <<'SQL'
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.h(x bigint, salt int, m int) RETURNS int
LANGUAGE sql IMMUTABLE AS $$ SELECT ((hashint8(x * 64 + salt)::bigint + 2147483648) % m)::int $$;

BEGIN;
SELECT set_config('closeloop.actor',
                  json_build_object('user_id', id, 'username', username)::text, true) AS actor
  FROM users WHERE username = 'admin' \gset
-- The two projects, and whether the history is there already (the first item's id).
CREATE TEMP TABLE dh_p AS
SELECT p.id AS project_id, p.name, x.n
  FROM (VALUES ('万科城', 1), ('翡翠公园', 2)) AS x(name, n) JOIN projects p ON p.name = x.name;
SELECT count(*) = 2 AS ok FROM dh_p \gset
\if :ok
\else
DO $$ BEGIN RAISE EXCEPTION '万科城 or 翡翠公园 is missing: run deploy/demo-data.sh first'; END $$;
\endif
SELECT EXISTS (SELECT 1 FROM inspection_items WHERE id = md5('demo-history 1 1')::uuid) AS done
\gset
\if :done
\echo demo-history: the history is there already
ROLLBACK;
\quit
\endif

-- 翡翠公园: 2 buildings, 2 entrances, floors 2-18, 2 units a floor, layouts FA/FB; the
-- contractors of 万科城 for its trades, and the same deadline presets.
INSERT INTO buildings (project_id, name, floors)
SELECT p.project_id, b || '栋', 18 FROM dh_p p, generate_series(1, 2) b WHERE p.n = 2
ON CONFLICT (project_id, name) DO NOTHING;
INSERT INTO units (building_id, project_id, number, floor, layout)
SELECT bl.id, bl.project_id, format('%s-%s-%s%s', b, e, f, lpad(r::text, 2, '0')), f,
       CASE WHEN r = 1 THEN 'FA' ELSE 'FB' END
  FROM dh_p p JOIN buildings bl ON bl.project_id = p.project_id,
       generate_series(1, 2) b, generate_series(1, 2) e, generate_series(2, 18) f,
       generate_series(1, 2) r
 WHERE p.n = 2 AND bl.name = b || '栋'
ON CONFLICT (building_id, number) DO NOTHING;
-- Two more contractors, so that civil works and waterproofing have peers to rank among on
-- the scorecard: 翡翠公园 gives them those trades.
INSERT INTO contractors (name) VALUES ('中建八局'), ('科顺防水') ON CONFLICT (name) DO NOTHING;
INSERT INTO contractor_trades (contractor_id, trade)
SELECT k.id, v.trade FROM (VALUES ('中建八局', 'civil'), ('科顺防水', 'waterproofing')) v(name, trade)
  JOIN contractors k ON k.name = v.name
ON CONFLICT DO NOTHING;
INSERT INTO project_trades (project_id, trade, contractor_id)
SELECT p.project_id, v.trade, k.id
  FROM dh_p p, (VALUES ('中建八局', 'civil'), ('科顺防水', 'waterproofing')) v(name, trade)
  JOIN contractors k ON k.name = v.name
 WHERE p.n = 2
ON CONFLICT (project_id, trade) DO NOTHING;
INSERT INTO project_trades (project_id, trade, contractor_id)
SELECT p2.project_id, pt.trade, pt.contractor_id
  FROM dh_p p1 JOIN project_trades pt ON pt.project_id = p1.project_id, dh_p p2
 WHERE p1.n = 1 AND p2.n = 2
ON CONFLICT (project_id, trade) DO NOTHING;
INSERT INTO deadline_presets (project_id, category, severity, days)
SELECT p.project_id, '', s, d FROM dh_p p,
       (VALUES ('critical', 1), ('major', 3), ('minor', 7)) AS v(s, d)
ON CONFLICT (project_id, category, severity) DO NOTHING;

-- mock1 spans the six months, done.
CREATE TEMP TABLE dh_m AS
SELECT i, (date_trunc('month', current_date) - make_interval(months => 6 - i))::date AS first,
       (date_trunc('month', current_date) - make_interval(months => 5 - i))::date - 1 AS last
  FROM generate_series(0, 5) i;
INSERT INTO inspection_rounds (project_id, kind, planned_start, planned_end, department, status)
SELECT project_id, 'mock1', (SELECT min(first) FROM dh_m), (SELECT max(last) FROM dh_m),
       '项目部', 'done' FROM dh_p
ON CONFLICT (project_id, kind) DO UPDATE
   SET planned_start = excluded.planned_start, planned_end = excluded.planned_end,
       status = 'done';

-- Month i (0 the oldest) inspects the units whose rank is i modulo 6, on a day of it.
INSERT INTO inspection_records (project_id, unit_id, round_id, inspected_on, inspector)
SELECT u.project_id, u.id, r.id, m.first + pg_temp.h(u.id, 1, m.last - m.first + 1),
       (ARRAY['王工', '李工', '张工'])[pg_temp.h(u.id, 2, 3) + 1]
  FROM (SELECT u.*, (row_number() OVER (PARTITION BY u.project_id ORDER BY u.id) - 1) % 6 AS i
          FROM units u JOIN dh_p p ON p.project_id = u.project_id) u
  JOIN dh_m m ON m.i = u.i
  JOIN inspection_rounds r ON r.project_id = u.project_id AND r.kind = 'mock1'
ON CONFLICT (unit_id, round_id) DO NOTHING;

-- Items: per unit 1 + h % (9 - i), so from 5 a unit on average down to 2.5; rework 25% down
-- to 5%, repairs verified after the deadline 30% down to 5%; 3% not fixed, 5% reassigned.
CREATE TEMP TABLE dh_t AS
SELECT x.*, md5(format('demo-history %s %s', p.n, row_number() OVER (PARTITION BY p.n
                                                                     ORDER BY x.unit_id, x.k)))::uuid AS id,
       p.n
  FROM (SELECT rec.project_id, rec.unit_id, rec.round_id, rec.id AS record_id, rec.inspected_on,
               rec.inspector, m.i, k,
               rec.unit_id * 16 + k AS g
          FROM inspection_records rec
          JOIN inspection_rounds r ON r.id = rec.round_id AND r.kind = 'mock1'
          JOIN dh_m m ON rec.inspected_on BETWEEN m.first AND m.last
          CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.h(rec.unit_id, 3, 9 - m.i)) k
         WHERE rec.project_id IN (SELECT project_id FROM dh_p)) x
  JOIN dh_p p ON p.project_id = x.project_id;
ALTER TABLE dh_t ADD COLUMN category text, ADD COLUMN severity text, ADD COLUMN location text,
    ADD COLUMN description text, ADD COLUMN t0 timestamptz, ADD COLUMN days int,
    ADD COLUMN fail boolean, ADD COLUMN late boolean, ADD COLUMN nofix boolean,
    ADD COLUMN reassign boolean;
UPDATE dh_t SET
    category = (ARRAY['civil', 'civil', 'waterproofing', 'doors_windows', 'doors_windows',
                      'electrical', 'plumbing', 'low_voltage'])[pg_temp.h(g, 4, 8) + 1],
    severity = CASE WHEN pg_temp.h(g, 5, 100) < 5 THEN 'critical'
                    WHEN pg_temp.h(g, 5, 100) < 30 THEN 'major' ELSE 'minor' END,
    t0 = inspected_on + make_interval(secs => 9 * 3600 + pg_temp.h(g, 6, 8 * 3600)),
    fail = pg_temp.h(g, 7, 100) < 25 - 4 * i,
    late = pg_temp.h(g, 8, 100) < 30 - 5 * i,
    nofix = pg_temp.h(g, 9, 100) < 3,
    reassign = pg_temp.h(g, 10, 100) < 5;
UPDATE dh_t SET days = CASE severity WHEN 'critical' THEN 1 WHEN 'major' THEN 3 ELSE 7 END,
    location = (ARRAY['客厅', '主卧', '次卧', '厨房', '卫生间', '阳台'])[pg_temp.h(g, 11, 6) + 1],
    description = CASE category
        WHEN 'civil' THEN (ARRAY['墙面空鼓开裂', '顶棚裂缝', '地面起砂'])[pg_temp.h(g, 12, 3) + 1]
        WHEN 'waterproofing' THEN (ARRAY['地面渗水，墙角返潮', '窗台渗漏'])[pg_temp.h(g, 12, 2) + 1]
        WHEN 'doors_windows' THEN (ARRAY['窗扇关闭不严', '入户门变形，开关异响'])[pg_temp.h(g, 12, 2) + 1]
        WHEN 'electrical' THEN (ARRAY['插座无电', '开关面板松动'])[pg_temp.h(g, 12, 2) + 1]
        WHEN 'plumbing' THEN (ARRAY['下水不畅', '水管接口滴水'])[pg_temp.h(g, 12, 2) + 1]
        ELSE '可视对讲无画面' END;

INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location, category,
                              description, severity, inspected_on, inspector, created_at)
SELECT id, record_id, project_id, unit_id, round_id, location, category, description,
       severity, inspected_on, inspector, t0
  FROM dh_t ORDER BY n, g;

-- The lives: v the days to the first verification (within the deadline unless late),
-- the repair reported up to 2 days before it; a failed one repaired again 1-3 days later
-- and verified the day after.
CREATE TEMP TABLE dh_l AS
SELECT t.id, t.project_id, t.g, t.nofix, t.fail, t.reassign, t.t0, pt.contractor_id AS c1,
       alt.contractor_id AS c2, v,
       t.t0 + make_interval(days => v - least(pg_temp.h(t.g, 14, 3), v), hours => 4) AS t_rep1,
       t.t0 + make_interval(days => v, hours => 6) AS t_ver1,
       t.t0 + make_interval(days => v + 1 + pg_temp.h(t.g, 15, 3), hours => 4) AS t_rep2,
       t.t0 + make_interval(days => v + 2 + pg_temp.h(t.g, 15, 3), hours => 6) AS t_ver2
  FROM (SELECT dh_t.*, CASE WHEN late THEN days + 1 + pg_temp.h(g, 13, 10)
                            ELSE pg_temp.h(g, 13, days) END AS v FROM dh_t) t
  JOIN project_trades pt ON pt.project_id = t.project_id AND pt.trade = t.category
  -- the stand-in for a reassignment: another contractor of the trade, or the same one
  LEFT JOIN LATERAL (SELECT ct.contractor_id FROM contractor_trades ct
                      WHERE ct.trade = t.category AND ct.contractor_id <> pt.contractor_id
                      ORDER BY ct.contractor_id LIMIT 1) alt ON true;
UPDATE dh_l SET c2 = c1, reassign = false WHERE c2 IS NULL;

-- The state now follows from which events have happened by now: the last month's late
-- tickets may still be open.
INSERT INTO tickets (id, project_id, number, state, contractor_id, category, severity, deadline,
                     rework_count, last_note, raised_at, closed_at, found_on)
SELECT t.id, t.project_id, cl_next_ticket_number(t.project_id), x.state,
       CASE WHEN l.reassign THEN l.c2 ELSE l.c1 END, t.category, t.severity,
       t.inspected_on + t.days, CASE WHEN l.fail AND l.t_ver1 <= now() THEN 1 ELSE 0 END,
       CASE WHEN x.state = 'nofix' THEN '属业主自行改造，不予维修'
            WHEN l.t_rep1 <= now() THEN '已维修' ELSE '' END, t.t0,
       CASE x.state WHEN 'nofix' THEN t.t0 + interval '3 days'
                    WHEN 'closed' THEN CASE WHEN l.fail THEN l.t_ver2 ELSE l.t_ver1 END END,
       t.inspected_on
  FROM dh_t t JOIN dh_l l ON l.id = t.id
 CROSS JOIN LATERAL (SELECT CASE
        WHEN l.nofix AND t.t0 + interval '3 days' <= now() THEN 'nofix'
        WHEN l.nofix THEN 'open'
        WHEN l.fail AND l.t_ver2 <= now() THEN 'closed'
        WHEN l.fail AND l.t_rep2 <= now() THEN 'repaired'
        WHEN l.fail AND l.t_ver1 <= now() THEN 'open'
        WHEN NOT l.fail AND l.t_ver1 <= now() THEN 'closed'
        WHEN l.t_rep1 <= now() THEN 'repaired'
        ELSE 'open' END AS state) x
 ORDER BY t.n, t.g;

INSERT INTO ticket_events (ticket_id, project_id, at, actor_user_id, actor, action, from_state,
                           to_state, note, contractor_id)
SELECT l.id, l.project_id, e.at, u.id, e.actor, e.action, e.from_state, e.to_state, e.note,
       e.contractor
  FROM dh_l l
 CROSS JOIN LATERAL (VALUES
     (1, true, 'create', l.t0, 'clerk', NULL, 'open', '', l.c1),
     (2, l.reassign, 'reassign', l.t0 + interval '2 hours', 'admin', 'open', 'open',
      '原单位无法进场，改派', l.c2),
     (3, l.nofix, 'nofix', l.t0 + interval '3 days', 'verifier', 'open', 'nofix',
      '属业主自行改造，不予维修', CASE WHEN l.reassign THEN l.c2 ELSE l.c1 END),
     (4, NOT l.nofix, 'repaired', l.t_rep1, 'admin', 'open', 'repaired', '已维修',
      CASE WHEN l.reassign THEN l.c2 ELSE l.c1 END),
     (5, NOT l.nofix, CASE WHEN l.fail THEN 'verify_fail' ELSE 'verify_pass' END, l.t_ver1,
      'verifier', 'repaired', CASE WHEN l.fail THEN 'open' ELSE 'closed' END,
      CASE WHEN l.fail THEN '复验不合格，返工' ELSE '' END,
      CASE WHEN l.reassign THEN l.c2 ELSE l.c1 END),
     (6, l.fail AND NOT l.nofix, 'repaired', l.t_rep2, 'admin', 'open', 'repaired', '已返工',
      CASE WHEN l.reassign THEN l.c2 ELSE l.c1 END),
     (7, l.fail AND NOT l.nofix, 'verify_pass', l.t_ver2, 'verifier', 'repaired', 'closed', '',
      CASE WHEN l.reassign THEN l.c2 ELSE l.c1 END))
     AS e(o, present, action, at, actor, from_state, to_state, note, contractor)
  LEFT JOIN users u ON u.username = e.actor
 WHERE e.present AND e.at <= now()
 ORDER BY l.project_id, l.g, e.o;

-- The handover: from the first of the month before last, most units handed over (the
-- units of ranks 0-3 modulo 6, on a day of the last two months and this month so far):
-- 85% accepted, 10% accepted with items, 5% not taken over with a reason.
INSERT INTO inspection_rounds (project_id, kind, planned_start, planned_end, department, status)
SELECT project_id, 'handover', (SELECT first FROM dh_m WHERE i = 4), current_date + 30,
       '客服中心', 'in_progress' FROM dh_p
ON CONFLICT (project_id, kind) DO NOTHING;
INSERT INTO inspection_records (project_id, unit_id, round_id, inspected_on, inspector,
                                scheduled_on, outcome, not_taken_reason, keys_handed, signoff)
SELECT u.project_id, u.id, r.id, d.day, '客服 ' || (ARRAY['陈', '刘'])[pg_temp.h(u.id, 20, 2) + 1],
       d.day, o.outcome,
       CASE WHEN o.outcome = 'not_taken_over'
            THEN (ARRAY['渗水未修复', '面积不符', '业主未到场'])[pg_temp.h(u.id, 22, 3) + 1]
            ELSE '' END,
       CASE WHEN o.outcome = 'not_taken_over' THEN 0 ELSE 3 END,
       CASE WHEN o.outcome = 'not_taken_over' THEN NULL ELSE 'signed' END
  FROM (SELECT u.*, (row_number() OVER (PARTITION BY u.project_id ORDER BY u.id) - 1) % 6 AS i
          FROM units u JOIN dh_p p ON p.project_id = u.project_id) u
  JOIN inspection_rounds r ON r.project_id = u.project_id AND r.kind = 'handover'
 CROSS JOIN LATERAL (SELECT least((SELECT first FROM dh_m WHERE i = 4)
                                  + pg_temp.h(u.id, 19, current_date - (SELECT first FROM dh_m WHERE i = 4)),
                                  current_date - 1) AS day) d
 CROSS JOIN LATERAL (SELECT CASE WHEN pg_temp.h(u.id, 21, 100) < 5 THEN 'not_taken_over'
                                 WHEN pg_temp.h(u.id, 21, 100) < 15 THEN 'accepted_with_items'
                                 ELSE 'accepted' END AS outcome) o
 WHERE u.i < 4
ON CONFLICT (unit_id, round_id) DO NOTHING;

-- 万科城's check points of mock1 (the demo cases): each checked on a day of the six months.
UPDATE round_checkpoints c
   SET status = CASE WHEN pg_temp.h(c.case_id, 16, 4) = 0 THEN 'found' ELSE 'passed' END,
       recorded_by = (SELECT id FROM users WHERE username = 'verifier'),
       recorded_at = (SELECT min(first) FROM dh_m)
                     + make_interval(days => pg_temp.h(c.case_id, 17, 180), hours => 10)
  FROM inspection_rounds r
 WHERE r.id = c.round_id AND r.kind = 'mock1' AND c.status = 'pending'
   AND r.project_id IN (SELECT project_id FROM dh_p);
COMMIT;
SQL
say "six months of mock1 history for 万科城 and 翡翠公园:" \
    "$(psql -X -At -d "$conninfo" -c "SELECT count(*) || ' tickets, ' ||
        count(*) FILTER (WHERE state = 'closed') || ' closed'
      FROM tickets t JOIN projects p ON p.id = t.project_id
     WHERE p.name IN ('万科城', '翡翠公园')")"
