-- test_stats_compare.sql - random data for the raw-versus-summary comparison of migration
-- 020 (test_stats_compare.sh): functions that make a small group of companies, projects,
-- units, rounds, records, items, tickets and events, and change them the way the daemon
-- and people do (transitions with verify_fail reopenings, reassignments, returns, nofix;
-- late entries found before rows already merged; unit layout changes; record outcome
-- changes; found days corrected), all from random() after the script's setseed, so one
-- seed makes one data set. st_compare() runs cl_stats raw and from the summaries for
-- every grouping (none, each dimension, each pair) under random filters, and
-- st_compare_scorecards() does the same for cl_scorecard; each returns the rows that
-- differ (EXCEPT ALL both ways) and the rows compared.
--
-- Statements insert and update many rows at once, as imports and batches do, so the
-- statement triggers see transition tables of many rows.
--
-- Time comes from the test's clock (st_clock, set by st_setup from the anchor the shell
-- passes), never from now(): each st_items/st_transitions call moves it on 7 minutes, so
-- one seed and anchor make the same events at the same moments on every run.
-- Every random() is drawn over rows in a fixed order (ORDER BY a key first): a table's
-- physical order changes with updates, pruning and vacuum, so drawing in scan order
-- gave the same seed other data. Rows are chosen with ORDER BY random() LIMIT n in a
-- subquery of their own and their random attributes drawn outside it: within one query
-- level the planner computes a random() of the select list after the sort by reusing
-- the sort key's random() (equal expressions), so every pick was the small sort key of
-- a chosen row (the first array elements: nearly all items 'minor' and 'civil', so few
-- deadlines; transitions mostly the first action of their state).

CREATE TABLE st_clock (t timestamptz NOT NULL);
CREATE FUNCTION st_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$ SELECT t FROM st_clock $$;
CREATE FUNCTION st_today() RETURNS date LANGUAGE sql STABLE AS $$ SELECT t::date FROM st_clock $$;
CREATE FUNCTION st_tick() RETURNS void LANGUAGE sql AS $$
    UPDATE st_clock SET t = t + interval '7 minutes'
$$;

CREATE FUNCTION st_pick(p text[]) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT p[1 + floor(random() * array_length(p, 1))::int]
$$;

CREATE FUNCTION st_setup(p_anchor timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    hq bigint; c bigint; p bigint; b bigint; k bigint;
    trades text[] := ARRAY['civil', 'plumbing', 'electrical', 'doors_windows', 'waterproofing'];
    t text;
BEGIN
    INSERT INTO st_clock VALUES (p_anchor);
    INSERT INTO companies (kind, name) VALUES ('hq', '集团') RETURNING id INTO hq;
    FOR ci IN 1..2 LOOP
        INSERT INTO companies (kind, name, parent_id) VALUES ('city', '城市公司' || ci, hq)
        RETURNING id INTO c;
        FOR pi IN 1..2 LOOP
            INSERT INTO projects (company_id, name) VALUES (c, '项目' || ci || '-' || pi)
            RETURNING id INTO p;
            INSERT INTO buildings (project_id, name) VALUES (p, '1栋') RETURNING id INTO b;
            INSERT INTO units (building_id, project_id, number, layout)
            SELECT b, p, (100 + g)::text, st_pick(ARRAY['TA', 'TB', 'TC', ''])
              FROM generate_series(1, 12 + floor(random() * 8)::int) g;
            INSERT INTO inspection_rounds (project_id, kind)
            VALUES (p, 'mock1'), (p, 'handover'), (p, 'check3m');
            INSERT INTO deadline_presets (project_id, category, severity, days)
            VALUES (p, '', 'major', 7 + floor(random() * 10)::int),
                   (p, 'plumbing', 'minor', 3 + floor(random() * 20)::int),
                   (p, '', 'critical', 2);
        END LOOP;
    END LOOP;
    INSERT INTO contractors (name) SELECT '施工单位' || g FROM generate_series(1, 7) g;
    -- every contractor covers two or three trades
    INSERT INTO contractor_trades (contractor_id, trade)
    SELECT DISTINCT k.id, trades[1 + (k.id + g * 2) % 5]
      FROM contractors k, generate_series(0, 1 + floor(random() * 2)::int) g;
    -- each project has a contractor for four of the five trades (the fifth is dispatched
    -- by hand), chosen among those covering it when one does
    FOR p IN SELECT id FROM projects LOOP
        FOREACH t IN ARRAY trades[1:4] LOOP
            SELECT coalesce((SELECT ct.contractor_id
                               FROM (SELECT * FROM contractor_trades ORDER BY contractor_id, trade) ct
                              WHERE ct.trade = t ORDER BY random() LIMIT 1),
                            (SELECT k.id FROM (SELECT id FROM contractors ORDER BY id) k
                              ORDER BY random() LIMIT 1))
              INTO k;
            INSERT INTO project_trades (project_id, trade, contractor_id) VALUES (p, t, k);
        END LOOP;
    END LOOP;
    INSERT INTO defects (project_id, code, title, source, kind, specialty, category)
    SELECT p.id, 'D' || p.id || '-' || g, '缺陷' || g, 'patrol', 'product', 'engineering',
           CASE WHEN g % 2 = 0 THEN 'civil' END
      FROM projects p, generate_series(1, 2) g;
END $$;

-- Inspection records for up to n units and rounds that have none: most inspected on a
-- day of the last 120, handover ones with an outcome.
CREATE FUNCTION st_records(n integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO inspection_records (project_id, unit_id, round_id, inspected_on, outcome,
                                    not_taken_reason)
    SELECT x.project_id, x.unit_id, x.round_id, x.day,
           CASE WHEN x.kind = 'handover' AND x.day IS NOT NULL THEN x.outcome END,
           CASE WHEN x.kind = 'handover' AND x.day IS NOT NULL AND x.outcome = 'not_taken_over'
                THEN st_pick(ARRAY['钥匙未到', '业主拒收', '质量问题']) ELSE '' END
      FROM (SELECT y.*,
                   CASE WHEN random() < 0.9 THEN st_today() - floor(random() * 120)::int END AS day,
                   st_pick(ARRAY['accepted', 'accepted_with_items', 'not_taken_over', 'accepted'])
                       AS outcome
              FROM (SELECT z.* FROM (SELECT u.project_id, u.id AS unit_id, r.id AS round_id, r.kind
                                       FROM units u JOIN inspection_rounds r ON r.project_id = u.project_id
                                      WHERE NOT EXISTS (SELECT 1 FROM inspection_records ir
                                                         WHERE ir.unit_id = u.id AND ir.round_id = r.id)
                                      ORDER BY u.id, r.id) z
                     ORDER BY random() LIMIT n) y) x
$$;

-- n items on records with a day, and their tickets with 'create' events in the same
-- statement (as cl_ticket_raise does): found on the record's day or a few days later, or
-- with p_late 10-40 days before it (typed in late, before rows already merged); the
-- create event a little after the found day.
CREATE FUNCTION st_items(n integer, p_late boolean) RETURNS bigint LANGUAGE sql AS $$
    SELECT st_tick();
    WITH src AS (SELECT ir.id AS record_id, ir.project_id, ir.unit_id, ir.round_id,
                        CASE WHEN p_late THEN ir.inspected_on - 10 - floor(random() * 30)::int
                             ELSE ir.inspected_on + floor(random() * 4)::int END AS day,
                        st_pick(ARRAY['civil', 'plumbing', 'electrical', 'doors_windows',
                                      'waterproofing', 'civil']) AS category,
                        st_pick(ARRAY['minor', 'major', 'critical', 'major']) AS severity
                   FROM (SELECT z.* FROM (SELECT ir.* FROM inspection_records ir, generate_series(1, 3) g
                                           WHERE ir.inspected_on IS NOT NULL ORDER BY ir.id, g) z
                          ORDER BY random() LIMIT n) ir),
         it AS (INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id,
                                              location, category, description, severity,
                                              inspected_on)
                SELECT md5(random()::text || record_id)::uuid, record_id, project_id, unit_id, round_id, '客厅',
                       category, '问题', severity, day FROM src
                RETURNING *),
         tix AS (INSERT INTO tickets (id, project_id, number, state, contractor_id, category,
                                      severity, deadline, raised_at, found_on)
                 SELECT i.id, i.project_id, cl_next_ticket_number(i.project_id),
                        CASE WHEN pt.contractor_id IS NULL THEN 'dispatch' ELSE 'open' END,
                        pt.contractor_id, i.category, i.severity,
                        cl_ticket_deadline(i.project_id, i.category, i.severity,
                                           i.inspected_on::timestamptz),
                        st_now(), i.inspected_on
                   FROM it i LEFT JOIN project_trades pt
                          ON pt.project_id = i.project_id AND pt.trade = i.category
                  ORDER BY i.id
                 RETURNING *),
         ev AS (INSERT INTO ticket_events (ticket_id, project_id, at, actor, action, from_state,
                                           to_state, contractor_id)
                SELECT t.id, t.project_id,
                       least(st_now(), t.found_on + interval '2 hours' + random() * interval '3 days'),
                       'test', 'create', NULL, t.state, t.contractor_id
                  FROM (SELECT * FROM tix ORDER BY id) t
                RETURNING 1)
    SELECT count(*) FROM ev
$$;

-- One transition on up to n live tickets, in one statement: an action each, allowed by
-- the state machine (common/ticket_fsm.c), at a time after the ticket's last event.
CREATE FUNCTION st_transitions(n integer) RETURNS bigint LANGUAGE sql AS $$
    SELECT st_tick();
    WITH pick AS (SELECT t.id, t.state, t.contractor_id, t.category, random() AS r,
                         (SELECT max(e.at) FROM ticket_events e WHERE e.ticket_id = t.id) AS last
                    FROM (SELECT z.* FROM (SELECT t.* FROM tickets t
                                            WHERE t.state IN ('dispatch', 'open', 'repaired')
                                            ORDER BY t.id) z
                           ORDER BY random() LIMIT n) t),
         act AS (SELECT p.*,
                        CASE p.state
                            WHEN 'dispatch' THEN CASE WHEN p.r < 0.85 THEN 'dispatch' ELSE 'nofix' END
                            WHEN 'open' THEN CASE WHEN p.r < 0.7 THEN 'repaired'
                                                  WHEN p.r < 0.82 THEN 'reassign'
                                                  WHEN p.r < 0.92 THEN 'return'
                                                  ELSE 'nofix' END
                            ELSE CASE WHEN p.r < 0.55 THEN 'verify_pass'
                                      WHEN p.r < 0.88 THEN 'verify_fail'
                                      WHEN p.r < 0.95 THEN 'reassign'
                                      ELSE 'nofix' END END AS action,
                        (SELECT k.id FROM (SELECT * FROM contractors ORDER BY id) k
                          WHERE k.id <> coalesce(p.contractor_id, 0) AND p.r >= 0
                          ORDER BY random() LIMIT 1) AS other,
                        least(st_now(), greatest(p.last, st_now() - interval '100 days')
                                     + interval '1 hour' + random() * interval '12 days') AS at
                   FROM pick p),
         upd AS (UPDATE tickets t
                    SET state = CASE a.action WHEN 'dispatch' THEN 'open' WHEN 'repaired' THEN 'repaired'
                                              WHEN 'verify_pass' THEN 'closed'
                                              WHEN 'verify_fail' THEN 'open'
                                              WHEN 'reassign' THEN 'open'
                                              WHEN 'return' THEN 'dispatch' ELSE 'nofix' END,
                        contractor_id = CASE WHEN a.action IN ('dispatch', 'reassign') THEN a.other
                                             WHEN a.action = 'return' THEN NULL
                                             ELSE t.contractor_id END,
                        rework_count = t.rework_count + (a.action = 'verify_fail')::int,
                        closed_at = CASE WHEN a.action IN ('verify_pass', 'nofix') THEN a.at END
                   FROM act a
                  WHERE t.id = a.id
                 RETURNING t.id, t.project_id, t.state, t.contractor_id, a.state AS from_state,
                           a.contractor_id AS old_contractor, a.action, a.at),
         ev AS (INSERT INTO ticket_events (ticket_id, project_id, at, actor, action, from_state,
                                           to_state, contractor_id)
                SELECT id, project_id, at, 'test', action, from_state, state,
                       coalesce(contractor_id, old_contractor)
                  FROM upd ORDER BY id
                RETURNING 1)
    SELECT count(*) FROM ev
$$;

-- People's corrections: n units change layout, n handover records change outcome (and
-- some their day), n items have their found day corrected, n tickets' deadlines move.
CREATE FUNCTION st_corrections(n integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH x AS MATERIALIZED (
        SELECT y.id, st_pick(ARRAY['TA', 'TB', 'TC', 'TD', '']) AS layout
          FROM (SELECT z.id FROM (SELECT id FROM units ORDER BY id) z
                 ORDER BY random() LIMIT n) y)
    UPDATE units u SET layout = x.layout FROM x WHERE u.id = x.id;
    WITH x AS (SELECT y.id, y.outcome, random() AS r,
                      CASE WHEN y.outcome = 'not_taken_over'
                           THEN st_pick(ARRAY['钥匙未到', '业主拒收']) ELSE '' END AS reason
                 FROM (SELECT w.id, st_pick(ARRAY['accepted', 'accepted_with_items', 'not_taken_over'])
                                        AS outcome
                         FROM (SELECT z.id FROM (SELECT ir.id FROM inspection_records ir
                                                   JOIN inspection_rounds r ON r.id = ir.round_id
                                                  WHERE r.kind = 'handover' AND ir.inspected_on IS NOT NULL
                                                  ORDER BY ir.id) z
                                ORDER BY random() LIMIT n) w) y)
    UPDATE inspection_records ir
       SET outcome = x.outcome,
           not_taken_reason = x.reason,
           inspected_on = CASE WHEN x.r < 0.3 THEN ir.inspected_on - 3 ELSE ir.inspected_on END
      FROM x WHERE ir.id = x.id;
    WITH x AS MATERIALIZED (
        SELECT y.id, 1 + floor(random() * 20)::int AS back
          FROM (SELECT z.id FROM (SELECT id FROM inspection_items ORDER BY id) z
                 ORDER BY random() LIMIT n) y)
    UPDATE inspection_items i SET inspected_on = i.inspected_on - x.back FROM x WHERE i.id = x.id;
    WITH x AS MATERIALIZED (
        SELECT y.id, random() AS r, floor(random() * 9)::int - 4 AS shift
          FROM (SELECT z.id FROM (SELECT id FROM tickets ORDER BY id) z
                 ORDER BY random() LIMIT n) y)
    UPDATE tickets t SET deadline = CASE WHEN x.r < 0.2 THEN NULL
                                         ELSE coalesce(t.deadline, t.found_on) + x.shift END
      FROM x WHERE t.id = x.id;
END $$;

-- Two units swap layouts while each has a repaired report on the same day, by the same
-- contractor, of the same category and round, made at different delays: in the swap
-- one report enters the key (project, day, contractor, category, layout, round) the
-- other leaves. The data clock first moves a day on, so no other event shares those keys
-- (else the move's net row keeps other counts and a wrong netting hides). Picks two open
-- tickets of one round, category and contractor on different units whose last
-- assignments differ, puts the units on layouts X1 and X2, reports both repaired in one
-- statement, swaps the layouts in one statement and compares cl_stats raw and from the
-- summaries, ungrouped and by layout, before any merge: (a pair was found, differing rows).
CREATE FUNCTION st_layout_swap(OUT paired boolean, OUT differ bigint) LANGUAGE plpgsql AS $$
DECLARE
    a uuid; b uuid; ua bigint; ub bigint; g text;
BEGIN
    UPDATE st_clock SET t = t + interval '1 day';
    SELECT ta.id, tb.id, ia.unit_id, ib.unit_id INTO a, b, ua, ub
      FROM tickets ta JOIN inspection_items ia ON ia.id = ta.id
      JOIN inspection_items ib ON ib.round_id = ia.round_id AND ib.unit_id <> ia.unit_id
      JOIN tickets tb ON tb.id = ib.id AND tb.category = ta.category
                     AND tb.contractor_id = ta.contractor_id AND tb.state = 'open'
     WHERE ta.state = 'open'
       -- different response times: resp_ms runs from the latest event to 'open'
       AND (SELECT max(e.at) FROM ticket_events e WHERE e.ticket_id = ta.id AND e.to_state = 'open')
           <> (SELECT max(e.at) FROM ticket_events e WHERE e.ticket_id = tb.id AND e.to_state = 'open')
     ORDER BY ta.id, tb.id LIMIT 1;
    paired := a IS NOT NULL;
    differ := 0;
    IF NOT paired THEN
        RETURN;
    END IF;
    UPDATE units SET layout = CASE WHEN id = ua THEN 'X1' ELSE 'X2' END WHERE id IN (ua, ub);
    WITH upd AS (UPDATE tickets SET state = 'repaired' WHERE id IN (a, b)
                 RETURNING id, project_id, contractor_id)
    INSERT INTO ticket_events (ticket_id, project_id, at, actor, action, from_state, to_state,
                               contractor_id)
    SELECT id, project_id, st_now(), 'test', 'repaired', 'open', 'repaired', contractor_id
      FROM upd;
    UPDATE units SET layout = CASE WHEN id = ua THEN 'X2' ELSE 'X1' END WHERE id IN (ua, ub);
    FOREACH g IN ARRAY ARRAY['', 'layout'] LOOP
        differ := differ + (SELECT count(*) FROM (
            (SELECT * FROM cl_stats('hq_admin', 0, 0, NULL, 0, 0, 0, '', '', '', NULL, NULL, g, '', false)
             EXCEPT ALL
             SELECT * FROM cl_stats('hq_admin', 0, 0, NULL, 0, 0, 0, '', '', '', NULL, NULL, g, '', true))
            UNION ALL
            (SELECT * FROM cl_stats('hq_admin', 0, 0, NULL, 0, 0, 0, '', '', '', NULL, NULL, g, '', true)
             EXCEPT ALL
             SELECT * FROM cl_stats('hq_admin', 0, 0, NULL, 0, 0, 0, '', '', '', NULL, NULL, g, '', false))) x);
    END LOOP;
END $$;

-- Rows that differ between cl_stats raw and from the summaries, for every grouping (none,
-- each dimension, each unordered pair) under p_filters random filters each plus none, as
-- role p_role of company p_company: (differing rows, rows compared).
CREATE FUNCTION st_compare(p_role text, p_company bigint, p_filters integer,
                           OUT differ bigint, OUT compared bigint) LANGUAGE plpgsql AS $$
DECLARE
    dims text[] := ARRAY['company', 'project', 'contractor', 'category', 'layout', 'round',
                         'month', 'week'];
    g1 text; g2 text; i int; j int; f int;
    fco bigint; fpr bigint; fc bigint; fcat text; flay text; frd text; dfrom date; dto date;
    d bigint; c bigint;
BEGIN
    differ := 0; compared := 0;
    FOR i IN 0..8 LOOP
        FOR j IN i..8 LOOP
            CONTINUE WHEN j = i AND i > 0;
            g1 := CASE WHEN i = 0 THEN '' ELSE dims[i] END;
            g2 := CASE WHEN j = i THEN '' ELSE dims[j] END;
            FOR f IN 0..p_filters LOOP
                fco := 0; fpr := 0; fc := 0; fcat := ''; flay := ''; frd := '';
                dfrom := NULL; dto := NULL;
                IF f > 0 THEN
                    IF random() < 0.2 THEN SELECT z.id INTO fco FROM (SELECT id FROM companies WHERE kind = 'city' ORDER BY id) z ORDER BY random() LIMIT 1; END IF;
                    IF random() < 0.2 THEN SELECT z.id INTO fpr FROM (SELECT id FROM projects ORDER BY id) z ORDER BY random() LIMIT 1; END IF;
                    IF random() < 0.2 THEN SELECT z.id INTO fc FROM (SELECT id FROM contractors ORDER BY id) z ORDER BY random() LIMIT 1; END IF;
                    IF random() < 0.2 THEN fcat := st_pick(ARRAY['civil', 'plumbing', 'waterproofing']); END IF;
                    IF random() < 0.2 THEN flay := st_pick(ARRAY['TA', 'TB', 'TD']); END IF;
                    IF random() < 0.2 THEN frd := st_pick(ARRAY['mock1', 'handover']); END IF;
                    IF random() < 0.5 THEN dfrom := st_today() - floor(random() * 150)::int; END IF;
                    IF random() < 0.5 THEN dto := st_today() - floor(random() * 60)::int; END IF;
                    -- whole months half the time (the summaries' month rollups answer)
                    IF random() < 0.5 THEN
                        dfrom := date_trunc('month', dfrom)::date;
                        dto := (date_trunc('month', dto) + interval '1 month')::date - 1;
                    END IF;
                END IF;
                SELECT count(*) INTO d FROM (
                    (SELECT * FROM cl_stats(p_role, p_company, 0, NULL, fco, fpr, fc, fcat, flay,
                                            frd, dfrom, dto, g1, g2, false)
                     EXCEPT ALL
                     SELECT * FROM cl_stats(p_role, p_company, 0, NULL, fco, fpr, fc, fcat, flay,
                                            frd, dfrom, dto, g1, g2, true))
                    UNION ALL
                    (SELECT * FROM cl_stats(p_role, p_company, 0, NULL, fco, fpr, fc, fcat, flay,
                                            frd, dfrom, dto, g1, g2, true)
                     EXCEPT ALL
                     SELECT * FROM cl_stats(p_role, p_company, 0, NULL, fco, fpr, fc, fcat, flay,
                                            frd, dfrom, dto, g1, g2, false))) x;
                SELECT count(*) INTO c FROM cl_stats(p_role, p_company, 0, NULL, fco, fpr, fc,
                                                     fcat, flay, frd, dfrom, dto, g1, g2, true);
                IF d > 0 THEN
                    RAISE NOTICE 'differ: % rows, grouping %/%, filters company % project % contractor % category % layout % round % from % to %',
                        d, g1, g2, fco, fpr, fc, fcat, flay, frd, dfrom, dto;
                    RAISE NOTICE 'summary only: %', (SELECT string_agg(x::text, E'\n') FROM (
                        SELECT * FROM cl_stats(p_role, p_company, 0, NULL, fco, fpr, fc, fcat, flay,
                                               frd, dfrom, dto, g1, g2, false)
                        EXCEPT ALL
                        SELECT * FROM cl_stats(p_role, p_company, 0, NULL, fco, fpr, fc, fcat, flay,
                                               frd, dfrom, dto, g1, g2, true) LIMIT 3) x);
                    RAISE NOTICE 'raw only: %', (SELECT string_agg(x::text, E'\n') FROM (
                        SELECT * FROM cl_stats(p_role, p_company, 0, NULL, fco, fpr, fc, fcat, flay,
                                               frd, dfrom, dto, g1, g2, true)
                        EXCEPT ALL
                        SELECT * FROM cl_stats(p_role, p_company, 0, NULL, fco, fpr, fc, fcat, flay,
                                               frd, dfrom, dto, g1, g2, false) LIMIT 3) x);
                END IF;
                differ := differ + d;
                compared := compared + c;
            END LOOP;
        END LOOP;
    END LOOP;
END $$;

-- The same for cl_scorecard: each of the last five months, every trade and one, every
-- company and one.
CREATE FUNCTION st_compare_scorecards(p_role text, p_company bigint,
                                      OUT differ bigint, OUT compared bigint)
LANGUAGE plpgsql AS $$
DECLARE
    m date; ftr text; fco bigint; d bigint; c bigint;
BEGIN
    differ := 0; compared := 0;
    FOR i IN 0..4 LOOP
        m := (date_trunc('month', st_today()) - i * interval '1 month')::date + floor(random() * 27)::int;
        FOR v IN 0..2 LOOP
            ftr := CASE WHEN v = 1 THEN st_pick(ARRAY['civil', 'plumbing', 'electrical']) ELSE '' END;
            fco := 0;
            IF v = 2 THEN SELECT z.id INTO fco FROM (SELECT id FROM companies WHERE kind = 'city' ORDER BY id) z ORDER BY random() LIMIT 1; END IF;
            SELECT count(*) INTO d FROM (
                (SELECT * FROM cl_scorecard(p_role, p_company, 0, NULL, fco, ftr, m, false)
                 EXCEPT ALL SELECT * FROM cl_scorecard(p_role, p_company, 0, NULL, fco, ftr, m, true))
                UNION ALL
                (SELECT * FROM cl_scorecard(p_role, p_company, 0, NULL, fco, ftr, m, true)
                 EXCEPT ALL SELECT * FROM cl_scorecard(p_role, p_company, 0, NULL, fco, ftr, m, false))) x;
            SELECT count(*) INTO c FROM cl_scorecard(p_role, p_company, 0, NULL, fco, ftr, m, true);
            IF d > 0 THEN
                RAISE NOTICE 'scorecard differs: % rows, month % trade % company %', d, m, ftr, fco;
            END IF;
            differ := differ + d;
            compared := compared + c;
        END LOOP;
    END LOOP;
END $$;

-- The summaries as merged now, to compare with a rebuild.
CREATE FUNCTION st_snapshot() RETURNS TABLE (tbl text, row_text text) LANGUAGE sql AS $$
    SELECT 'units', s::text FROM stat_units s
    UNION ALL SELECT 'tickets', s::text FROM stat_tickets s
    UNION ALL SELECT 'activity', s::text FROM stat_activity s
    UNION ALL SELECT 'units_w', s::text FROM stat_units_w s
    UNION ALL SELECT 'tickets_w', s::text FROM stat_tickets_w s
    UNION ALL SELECT 'activity_w', s::text FROM stat_activity_w s
    UNION ALL SELECT 'units_m', s::text FROM stat_units_m s
    UNION ALL SELECT 'tickets_m', s::text FROM stat_tickets_m s
    UNION ALL SELECT 'activity_m', s::text FROM stat_activity_m s
$$;
