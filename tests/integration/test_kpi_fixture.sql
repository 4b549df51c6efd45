-- test_kpi_fixture.sql - the hand-counted fixture of test_kpi.sh: complaints, warranty
-- reports and move-in tickets of two city companies over October and November 2026, with
-- explicit China-time instants. psql variables: pa, pb (a project of company A and of
-- company B), ua, ub (two users, for the deductions' requester and decider), k (a
-- contractor). test_kpi.sh says, next to each expected figure, which rows make it.
\set ON_ERROR_STOP 1
SET closeloop.actor = '{"user_id": 1, "username": "admin"}';
BEGIN;

INSERT INTO buildings (project_id, name) VALUES (:pa, '1栋'), (:pb, '1栋');
INSERT INTO units (building_id, project_id, number)
SELECT b.id, b.project_id, '101' FROM buildings b WHERE b.project_id IN (:pa, :pb);

-- ---------------------------------------------------------------- complaints
-- c(name, project, created, class, state, closed_at, paused_since): one complaint.
CREATE FUNCTION pg_temp.c(p_name text, p_project bigint, p_created timestamptz,
                          p_class text, p_state text, p_closed timestamptz,
                          p_paused timestamptz) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO complaints (project_id, owner_name, channel, specialty, description, class,
                            state, closed_at, paused_since, created_at)
    VALUES (p_project, p_name, 'phone', 'property', '物业问题 ' || p_name, p_class, p_state,
            p_closed, p_paused, p_created)
    RETURNING id
$$;
-- fr(complaint, used_s, running_since, due_at, breached_at, stopped_at): its first-reply
-- clock (budget 4 business hours).
CREATE FUNCTION pg_temp.fr(p_id bigint, p_used bigint, p_running timestamptz,
                           p_due timestamptz, p_breached timestamptz, p_stopped timestamptz)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO complaint_clocks (complaint_id, kind, budget_s, used_s, running_since, due_at,
                                  breached_at, stopped_at)
    VALUES (p_id, 'first_reply', 14400, p_used, p_running, p_due, p_breached, p_stopped)
$$;
CREATE FUNCTION pg_temp.rv(p_id bigint, p_at timestamptz, p_score integer)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO complaint_events (complaint_id, at, action, satisfaction)
    VALUES (p_id, p_at, 'revisit', p_score)
$$;

-- Company A.
SELECT pg_temp.c('A1', :pa, '2026-11-03 10:00+08', 'ordinary', 'closed', '2026-11-05 10:00+08', NULL) AS a1 \gset
SELECT pg_temp.fr(:a1, 3600, NULL, NULL, NULL, '2026-11-03 11:00+08');
SELECT pg_temp.rv(:a1, '2026-11-06 10:00+08', 5);

SELECT pg_temp.c('A2', :pa, '2026-11-10 10:00+08', 'hot', 'closed', '2026-11-20 10:00+08', NULL) AS a2 \gset
SELECT pg_temp.fr(:a2, 18000, NULL, NULL, '2026-11-10 15:00+08', '2026-11-10 16:00+08');
SELECT pg_temp.rv(:a2, '2026-11-21 10:00+08', 3);

SELECT pg_temp.c('A3', :pa, '2026-11-15 10:00+08', 'major', 'open', NULL, NULL) AS a3 \gset
SELECT pg_temp.fr(:a3, 0, '2026-11-15 10:00+08', '2026-11-15 15:00+08', NULL, NULL);

SELECT pg_temp.c('A4', :pa, '2026-10-28 10:00+08', 'important', 'closed', '2026-11-02 10:00+08', NULL) AS a4 \gset
SELECT pg_temp.fr(:a4, 3600, NULL, NULL, NULL, '2026-10-28 11:00+08');

SELECT pg_temp.c('A5', :pa, '2026-11-20 10:00+08', 'important', 'waiting', NULL, '2026-11-20 11:00+08') AS a5 \gset
SELECT pg_temp.fr(:a5, 3600, NULL, NULL, NULL, NULL);

SELECT pg_temp.c('A6', :pa, '2026-11-25 10:00+08', 'ordinary', 'closed', '2026-11-26 10:00+08', NULL) AS a6 \gset
SELECT pg_temp.fr(:a6, 7200, NULL, NULL, NULL, '2026-11-26 10:00+08');
SELECT pg_temp.rv(:a6, '2026-12-01 09:00+08', 4);

SELECT pg_temp.c('A7', :pa, '2026-10-05 10:00+08', 'ordinary', 'closed', '2026-10-08 10:00+08', NULL) AS a7 \gset
SELECT pg_temp.fr(:a7, 3600, NULL, NULL, NULL, '2026-10-05 11:00+08');
SELECT pg_temp.rv(:a7, '2026-11-01 07:00+08', 2);   -- 31 October 23:00 UTC

SELECT pg_temp.c('A8', :pa, '2026-10-10 10:00+08', 'important', 'closed', '2026-11-08 10:00+08', NULL) AS a8 \gset
UPDATE complaints SET reopened = 1 WHERE id = :a8;
SELECT pg_temp.fr(:a8, 3600, NULL, NULL, NULL, '2026-10-10 11:00+08');
SELECT pg_temp.rv(:a8, '2026-10-13 10:00+08', 5);   -- before its reopening on 4 November

-- Company B.
SELECT pg_temp.c('B1', :pb, '2026-11-02 09:30+08', 'ordinary', 'closed', '2026-11-03 10:00+08', NULL) AS b1 \gset
SELECT pg_temp.fr(:b1, 1800, NULL, NULL, NULL, '2026-11-02 10:00+08');
SELECT pg_temp.rv(:b1, '2026-11-04 10:00+08', 4);

SELECT pg_temp.c('B2', :pb, '2026-11-12 10:00+08', 'ordinary', 'closed', '2026-11-13 10:00+08', NULL) AS b2 \gset
SELECT pg_temp.fr(:b2, 3600, NULL, NULL, NULL, '2026-11-12 11:00+08');
SELECT pg_temp.rv(:b2, '2026-11-14 10:00+08', 5);

SELECT pg_temp.c('B4', :pb, '2026-11-16 10:00+08', 'ordinary', 'open', NULL, NULL) AS b4 \gset
SELECT pg_temp.fr(:b4, 18000, NULL, NULL, NULL, '2026-11-16 16:00+08');   -- late, no breach recorded

SELECT pg_temp.c('B3', :pb, '2026-10-31 23:30+08', 'ordinary', 'open', NULL, NULL) AS b3 \gset
SELECT pg_temp.fr(:b3, 1800, NULL, NULL, NULL, '2026-11-02 09:30+08');

-- ---------------------------------------------------------------- tickets
-- t(project, round kind, raised, deadline, state, closed_at): a ticket of that round on the
-- project's unit, with its create event; its id.
CREATE FUNCTION pg_temp.t(p_project bigint, p_kind text, p_raised timestamptz, p_deadline date,
                          p_state text, p_closed timestamptz, p_contractor bigint)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    v_round bigint;
    v_unit bigint;
    v_record bigint;
    v_id uuid := md5(random()::text || clock_timestamp()::text)::uuid;
BEGIN
    SELECT r.id INTO v_round FROM inspection_rounds r
     WHERE r.project_id = p_project AND r.kind = p_kind;
    IF v_round IS NULL THEN
        INSERT INTO inspection_rounds (project_id, kind, status)
        VALUES (p_project, p_kind, 'in_progress') RETURNING id INTO v_round;
    END IF;
    SELECT u.id INTO v_unit FROM units u WHERE u.project_id = p_project ORDER BY u.id LIMIT 1;
    SELECT r.id INTO v_record FROM inspection_records r
     WHERE r.unit_id = v_unit AND r.round_id = v_round;
    IF v_record IS NULL THEN
        INSERT INTO inspection_records (project_id, unit_id, round_id, inspected_on)
        VALUES (p_project, v_unit, v_round, p_raised::date) RETURNING id INTO v_record;
    END IF;
    INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location,
                                  category, description, severity, inspected_on)
    VALUES (v_id, v_record, p_project, v_unit, v_round, '客厅', 'civil', '墙面开裂', 'minor',
            p_raised::date);
    INSERT INTO tickets (id, project_id, number, state, contractor_id, category, severity,
                         deadline, raised_at, found_on, closed_at)
    VALUES (v_id, p_project, cl_next_ticket_number(p_project), p_state, p_contractor, 'civil',
            'minor', p_deadline, p_raised, p_raised::date, p_closed);
    INSERT INTO ticket_events (ticket_id, project_id, at, actor, action, from_state, to_state,
                               contractor_id)
    VALUES (v_id, p_project, p_raised, 'fixture', 'create', NULL, 'open', p_contractor);
    RETURN v_id;
END $$;
CREATE FUNCTION pg_temp.e(p_ticket uuid, p_at timestamptz, p_action text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO ticket_events (ticket_id, project_id, at, actor, action, from_state, to_state,
                               contractor_id)
    SELECT t.id, t.project_id, p_at, 'fixture', p_action,
           CASE p_action WHEN 'repaired' THEN 'open' ELSE 'repaired' END,
           CASE p_action WHEN 'repaired' THEN 'repaired' WHEN 'verify_fail' THEN 'open'
                         ELSE 'closed' END, t.contractor_id
      FROM tickets t WHERE t.id = p_ticket
$$;
-- w(ticket, reported, level, responded, due): its warranty report.
CREATE FUNCTION pg_temp.w(p_ticket uuid, p_reported timestamptz, p_level text,
                          p_responded timestamptz, p_due timestamptz)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO warranty_reports (ticket_id, project_id, unit_id, owner_name, reported_at,
                                  level, response_due_at, responded_at)
    SELECT t.id, t.project_id, i.unit_id, '业主', p_reported, p_level, p_due, p_responded
      FROM tickets t JOIN inspection_items i ON i.id = t.id WHERE t.id = p_ticket
$$;
CREATE FUNCTION pg_temp.we(p_ticket uuid, p_at timestamptz, p_action text, p_from text,
                           p_to text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO warranty_events (ticket_id, at, action, from_level, to_level)
    VALUES (p_ticket, p_at, p_action, p_from, p_to)
$$;

-- Company A, warranty reports.
SELECT pg_temp.t(:pa, 'warranty', '2026-11-02 10:00+08', '2026-11-10', 'closed', '2026-11-04 10:00+08', :k) AS w1 \gset
SELECT pg_temp.w(:'w1', '2026-11-02 10:00+08', 'property', '2026-11-02 14:00+08', '2026-11-05 10:00+08');
SELECT pg_temp.e(:'w1', '2026-11-03 10:00+08', 'repaired');
SELECT pg_temp.e(:'w1', '2026-11-04 10:00+08', 'verify_pass');

SELECT pg_temp.t(:pa, 'warranty', '2026-11-05 10:00+08', '2026-11-11', 'closed', '2026-11-18 10:00+08', :k) AS w2 \gset
SELECT pg_temp.w(:'w2', '2026-11-05 10:00+08', 'developer', '2026-11-12 10:00+08', '2026-11-13 10:00+08');
SELECT pg_temp.we(:'w2', '2026-11-10 10:00+08', 'climb', 'property', 'developer');
SELECT pg_temp.e(:'w2', '2026-11-12 10:00+08', 'repaired');
SELECT pg_temp.e(:'w2', '2026-11-13 10:00+08', 'verify_fail');
SELECT pg_temp.e(:'w2', '2026-11-13 16:00+08', 'repaired');
SELECT pg_temp.e(:'w2', '2026-11-16 10:00+08', 'verify_fail');
SELECT pg_temp.e(:'w2', '2026-11-17 10:00+08', 'repaired');
SELECT pg_temp.e(:'w2', '2026-11-18 10:00+08', 'verify_pass');

SELECT pg_temp.t(:pa, 'warranty', '2026-11-20 10:00+08', '2026-11-27', 'open', NULL, :k) AS w3 \gset
SELECT pg_temp.w(:'w3', '2026-11-20 10:00+08', 'hotline', NULL, NULL);
SELECT pg_temp.we(:'w3', '2026-11-25 10:00+08', 'climb', 'property', 'developer');
SELECT pg_temp.we(:'w3', '2026-11-30 10:00+08', 'climb', 'developer', 'hotline');
SELECT pg_temp.we(:'w3', '2026-11-30 11:00+08', 'third_party', 'hotline', 'hotline');

SELECT pg_temp.t(:pa, 'warranty', '2026-10-28 10:00+08', '2026-11-05', 'open', NULL, :k) AS w4 \gset
SELECT pg_temp.w(:'w4', '2026-10-28 10:00+08', 'property', '2026-10-28 11:00+08', '2026-10-30 10:00+08');
SELECT pg_temp.e(:'w4', '2026-10-29 10:00+08', 'repaired');
SELECT pg_temp.e(:'w4', '2026-11-03 10:00+08', 'verify_fail');

SELECT pg_temp.t(:pa, 'warranty', '2026-11-30 17:00+08', '2026-12-07', 'open', NULL, :k) AS w5 \gset
SELECT pg_temp.w(:'w5', '2026-11-30 17:00+08', 'property', NULL, '2026-12-03 17:00+08');

-- Company A, a move-in repair.
SELECT pg_temp.t(:pa, 'handover', '2026-11-03 10:00+08', '2026-11-03', 'closed', '2026-11-04 10:00+08', :k) AS h1 \gset
SELECT pg_temp.e(:'h1', '2026-11-03 15:00+08', 'repaired');
SELECT pg_temp.e(:'h1', '2026-11-04 10:00+08', 'verify_pass');

-- Company B, move-in repairs only.
SELECT pg_temp.t(:pb, 'handover', '2026-11-09 09:00+08', '2026-11-08', 'closed', '2026-11-11 10:00+08', :k) AS h2 \gset
SELECT pg_temp.e(:'h2', '2026-11-09 18:00+08', 'repaired');
SELECT pg_temp.e(:'h2', '2026-11-10 10:00+08', 'verify_fail');
SELECT pg_temp.e(:'h2', '2026-11-10 12:00+08', 'repaired');
SELECT pg_temp.e(:'h2', '2026-11-11 10:00+08', 'verify_pass');

SELECT pg_temp.t(:pb, 'handover', '2026-10-30 10:00+08', '2026-11-06', 'closed', '2026-11-02 10:00+08', :k) AS h3 \gset
SELECT pg_temp.e(:'h3', '2026-10-30 16:00+08', 'repaired');
SELECT pg_temp.e(:'h3', '2026-11-02 10:00+08', 'verify_pass');

-- ---------------------------------------------------------------- deductions (company A)
INSERT INTO warranty_deductions (company_id, contractor_id, amount, reason, kind, state,
                                 requested_by, requested_at, decided_by, decided_at)
SELECT p.company_id, :k, x.amount, '维修拖延', 'penalty', x.state, :ua, x.req, x.dec_by, x.dec_at
  FROM projects p,
       (VALUES (1200.50, 'approved', '2026-11-14 10:00+08'::timestamptz, :ub::bigint,
                '2026-11-15 10:00+08'::timestamptz),
               (500.00, 'approved', '2026-10-19 10:00+08', :ub, '2026-10-20 10:00+08'),
               (300.00, 'requested', '2026-11-16 10:00+08', NULL, NULL),
               (100.00, 'rejected', '2026-11-15 10:00+08', :ub, '2026-11-16 10:00+08'))
           AS x (amount, state, req, dec_by, dec_at)
 WHERE p.id = :pa;

COMMIT;
