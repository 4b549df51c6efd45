-- 027_kpi.sql - KPIs per city company and month (issue 12 point 8; docs/STATS.md "Complaint
-- KPIs" and "Repair-service scorecard"). Only functions: each KPI has its one definition
-- here, read by server/stats/kpi.sql on the analytics pool. Every function takes the
-- session's scope first (p_role, p_company, p_contractor, p_projects, as cl_stats) and
-- counts only the projects cl_visible_projects gives it; then f_company (0: every company
-- seen) and f_month (any day of the month).
--
-- A month is a calendar month in China Standard Time (Asia/Shanghai, the business
-- calendar's time, docs/CALENDAR.md), whatever the server's or the session's TimeZone:
-- an instant counts in month M when M-01 00:00 <= t < (M+1)-01 00:00, China time.

-- The targets of the complaint KPIs (seed 001: 投诉处理客户满意率大于80%, 及时率90%,
-- 封闭率100%, 回访率100%): a rate meets its target when rate > target (strict) or
-- rate >= target (not strict).
CREATE FUNCTION cl_kpi_targets()
RETURNS TABLE (kpi text, target numeric, strict boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES ('satisfaction', 0.80, true), ('timeliness', 0.90, false),
           ('closure', 1.00, false), ('revisit', 1.00, false)
$$;

-- Whether num / den meets the target of kpi; NULL when den is 0 (no data: neither).
-- Compared in numeric, so 9 / 10 meets 0.90 exactly.
CREATE FUNCTION cl_kpi_met(p_kpi text, p_num bigint, p_den bigint)
RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN coalesce(p_den, 0) = 0 THEN NULL
                WHEN t.strict THEN p_num::numeric / p_den > t.target
                ELSE p_num::numeric / p_den >= t.target END
      FROM cl_kpi_targets() t WHERE t.kpi = p_kpi
$$;

-- The first and the last-plus-one instant of the month holding f_month, China time.
CREATE FUNCTION cl_kpi_month(f_month date, OUT m_from timestamptz, OUT m_to timestamptz)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc('month', f_month::timestamp) AT TIME ZONE 'Asia/Shanghai',
           (date_trunc('month', f_month::timestamp) + interval '1 month')
               AT TIME ZONE 'Asia/Shanghai'
$$;

-- The companies a KPI answer has one row each for: those owning a project the scope sees
-- (narrowed to f_company unless 0), with the projects.
CREATE FUNCTION cl_kpi_projects(p_role text, p_company bigint, p_contractor bigint,
                                p_projects bigint[], f_company bigint)
RETURNS TABLE (project_id bigint, company_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT p.id, p.company_id FROM projects p
     WHERE p.id IN (SELECT v.project_id
                      FROM cl_visible_projects(p_role, p_company, p_contractor, p_projects) v)
       AND (coalesce(f_company, 0) = 0 OR p.company_id = f_company)
$$;

-- Complaint KPIs of month M per city company (complaints of the company's projects):
--   taken_in          complaints taken in (created_at) during M;
--   closed            complaints whose current closure (closed_at, state closed) is in M;
--   open_now          of those taken in during M, not closed now (open or waiting);
--   major, hot, important: of those taken in during M, the class now (exactly that class);
--   satisfaction      revisit events recorded in M scoring 4 or 5 / revisit events in M;
--   timeliness        first-reply clocks decided in M that were met / decided in M. A
--                     clock is decided at the earliest of: when it stopped (the reply,
--                     or the close that stopped it), when the timer recorded its breach,
--                     and, still running, its due when that has passed. It is met when it
--                     stopped, never breached, within its budget (used_s <= budget_s;
--                     pauses waiting on the owner are not in used_s). A paused clock not
--                     yet due or stopped is decided later;
--   closure           of those taken in during M, closed now / taken in during M;
--   revisit           of those closed in M, revisited after that closure (a revisit event
--                     at or after closed_at) / closed in M.
-- Rates are NULL when the denominator is 0; *_met compares with cl_kpi_targets.
-- plpgsql, so its body is planned at the first call: cl_complaint_now() is the complaint
-- area's (server/complaint/complaint.sql), defined after the migrations at every start.
CREATE FUNCTION cl_complaint_kpi(p_role text, p_company bigint, p_contractor bigint,
                                 p_projects bigint[], f_company bigint, f_month date)
RETURNS TABLE (company_id bigint, company_name text,
               taken_in bigint, closed bigint, open_now bigint,
               major bigint, hot bigint, important bigint,
               revisits bigint, revisits_satisfied bigint,
               satisfaction_rate double precision, satisfaction_met boolean,
               reply_clocks bigint, replies_in_time bigint,
               timeliness_rate double precision, timeliness_met boolean,
               closed_of_taken bigint, closure_rate double precision, closure_met boolean,
               closed_revisited bigint, revisit_rate double precision, revisit_met boolean)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH b AS (SELECT m.m_from, m.m_to, cl_complaint_now() AS now FROM cl_kpi_month(f_month) m),
    vp AS (SELECT * FROM cl_kpi_projects(p_role, p_company, p_contractor, p_projects, f_company)),
    c AS (SELECT c.id, c.state, c.class, c.created_at, c.closed_at, vp.company_id AS co
            FROM complaints c JOIN vp ON vp.project_id = c.project_id),
    intake AS (
        SELECT c.co, count(*) AS taken_in,
               count(*) FILTER (WHERE c.state = 'closed') AS closed_of_taken,
               count(*) FILTER (WHERE c.state <> 'closed') AS open_now,
               count(*) FILTER (WHERE c.class = 'major') AS major,
               count(*) FILTER (WHERE c.class = 'hot') AS hot,
               count(*) FILTER (WHERE c.class = 'important') AS important
          FROM c, b WHERE c.created_at >= b.m_from AND c.created_at < b.m_to
         GROUP BY c.co),
    clo AS (
        SELECT c.co, count(*) AS closed,
               count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM complaint_events e
                    WHERE e.complaint_id = c.id AND e.action = 'revisit'
                      AND e.at >= c.closed_at)) AS closed_revisited
          FROM c, b
         WHERE c.state = 'closed' AND c.closed_at >= b.m_from AND c.closed_at < b.m_to
         GROUP BY c.co),
    rev AS (
        SELECT c.co, count(*) AS revisits,
               count(*) FILTER (WHERE e.satisfaction >= 4) AS satisfied
          FROM c JOIN complaint_events e ON e.complaint_id = c.id, b
         WHERE e.action = 'revisit' AND e.at >= b.m_from AND e.at < b.m_to
         GROUP BY c.co),
    fr AS (
        SELECT c.co, count(*) AS clocks,
               count(*) FILTER (WHERE k.stopped_at IS NOT NULL AND k.breached_at IS NULL
                                  AND k.used_s <= k.budget_s) AS in_time
          FROM c JOIN complaint_clocks k ON k.complaint_id = c.id AND k.kind = 'first_reply', b
         WHERE least(k.stopped_at, k.breached_at,
                     CASE WHEN k.running_since IS NOT NULL AND k.due_at <= b.now
                          THEN k.due_at END) >= b.m_from
           AND least(k.stopped_at, k.breached_at,
                     CASE WHEN k.running_since IS NOT NULL AND k.due_at <= b.now
                          THEN k.due_at END) < b.m_to
         GROUP BY c.co),
    r AS (
        SELECT co.id AS cid, co.name AS cname,
               coalesce(i.taken_in, 0) AS taken_in, coalesce(l.closed, 0) AS closed,
               coalesce(i.open_now, 0) AS open_now, coalesce(i.major, 0) AS major,
               coalesce(i.hot, 0) AS hot, coalesce(i.important, 0) AS important,
               coalesce(v.revisits, 0) AS revisits, coalesce(v.satisfied, 0) AS satisfied,
               coalesce(f.clocks, 0) AS clocks, coalesce(f.in_time, 0) AS in_time,
               coalesce(i.closed_of_taken, 0) AS closed_of_taken,
               coalesce(l.closed_revisited, 0) AS closed_revisited
          FROM companies co
          LEFT JOIN intake i ON i.co = co.id
          LEFT JOIN clo l ON l.co = co.id
          LEFT JOIN rev v ON v.co = co.id
          LEFT JOIN fr f ON f.co = co.id
         WHERE co.id IN (SELECT vp.company_id FROM vp))
    SELECT r.cid, r.cname, r.taken_in, r.closed, r.open_now, r.major, r.hot, r.important,
           r.revisits, r.satisfied,
           r.satisfied::float8 / nullif(r.revisits, 0), cl_kpi_met('satisfaction', r.satisfied, r.revisits),
           r.clocks, r.in_time,
           r.in_time::float8 / nullif(r.clocks, 0), cl_kpi_met('timeliness', r.in_time, r.clocks),
           r.closed_of_taken,
           r.closed_of_taken::float8 / nullif(r.taken_in, 0),
           cl_kpi_met('closure', r.closed_of_taken, r.taken_in),
           r.closed_revisited,
           r.closed_revisited::float8 / nullif(r.closed, 0),
           cl_kpi_met('revisit', r.closed_revisited, r.closed)
      FROM r ORDER BY r.cid;
END
$$;

-- Business seconds between two instants over a company's calendar (its working hours on
-- its working days, China time; 0 when p_to <= p_from): the SQL twin of common/bizcal.c's
-- cl_bizcal_between, for the scorecard's response hours, read in one statement.
CREATE FUNCTION cl_kpi_business_s(p_company bigint, p_from timestamptz, p_to timestamptz)
RETURNS bigint LANGUAGE sql STABLE AS $$
    WITH l AS (SELECT p_from AT TIME ZONE 'Asia/Shanghai' AS f,
                      p_to AT TIME ZONE 'Asia/Shanghai' AS t),
         d AS (SELECT g::date AS day
                 FROM l, generate_series(l.f::date, l.t::date, interval '1 day') AS g
                WHERE l.t > l.f),
         w AS (SELECT d.day FROM d
                 LEFT JOIN cl_calendar_days(p_company, p_from::date - 1, p_to::date + 1) x
                   ON x.day = d.day
                WHERE coalesce(x.kind = 'work', extract(isodow FROM d.day) < 6))
    SELECT coalesce(sum(greatest(0, extract(epoch FROM
               least(l.t, w.day + make_interval(mins => h.end_min))
               - greatest(l.f, w.day + make_interval(mins => h.start_min))))), 0)::bigint
      FROM l, w, cl_calendar_hours(p_company) h
$$;

-- The repair-service scorecard of month M per city company (seed 004's named failures),
-- in two sections of the same figures, over the tickets of the company's projects whose
-- inspection round is of that kind:
--   section 'warranty'  owners' warranty reports (round kind warranty, migration 026);
--   section 'handover'  move-in repairs (round kind handover), so a company without
--                       warranty data still gets a score.
-- A ticket's start is its report's reported_at (warranty) or its raised_at (handover);
-- its response is the report's responded_at (warranty respond, or the first repaired) or
-- the ticket's first 'repaired' event (handover).
--   reports             tickets started in M;
--   responded           of those, responded now;
--   response_hours_mean mean business hours (cl_kpi_business_s) from start to response,
--                       over those responded;
--   in_budget           warranty: of the reports of M, responded within the property
--                       level's budget (warranty_targets, business hours);
--   budget_decided      warranty: of the reports of M, responded, or unresponded with that
--                       budget used up by now; in_budget_rate = in_budget / budget_decided;
--   climbs_developer, climbs_hotline   warranty: 'climb' events in M to that level;
--   late_repairs        'repaired' events in M on a China day after the ticket's deadline;
--   verifications       verify_pass and verify_fail events in M; verify_fails of those;
--   repeat_rework       tickets whose second verify_fail was in M (each ticket once);
--   first_verifications each ticket's first verification, when it was in M;
--   first_passes        of those, passed; first_pass_rate = first_passes /
--                       first_verifications;
--   deductions_approved, deducted_amount   warranty: the company's deductions approved
--                       (decided_at) in M, their count and amount (any kind);
--   third_party_jobs    warranty: 'third_party' events in M.
-- Figures a section does not have are NULL; rates and means are NULL with nothing to rate.
CREATE FUNCTION cl_repair_scorecard(p_role text, p_company bigint, p_contractor bigint,
                                    p_projects bigint[], f_company bigint, f_month date)
RETURNS TABLE (company_id bigint, company_name text, section text,
               reports bigint, responded bigint, response_hours_mean double precision,
               in_budget bigint, budget_decided bigint, in_budget_rate double precision,
               climbs_developer bigint, climbs_hotline bigint, late_repairs bigint,
               verifications bigint, verify_fails bigint, repeat_rework bigint,
               first_verifications bigint, first_passes bigint,
               first_pass_rate double precision, deductions_approved bigint,
               deducted_amount numeric, third_party_jobs bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH b AS (SELECT m.m_from, m.m_to, cl_complaint_now() AS now,
                      (SELECT w.response_hours::bigint * 3600 FROM warranty_targets w
                        WHERE w.level = 'property') AS budget_s
                 FROM cl_kpi_month(f_month) m),
    vp AS (SELECT * FROM cl_kpi_projects(p_role, p_company, p_contractor, p_projects, f_company)),
    sec AS (SELECT s.section FROM (VALUES ('warranty'), ('handover')) AS s (section)),
    t AS (SELECT t.id, t.deadline, vp.company_id AS co, r.kind AS section,
                 coalesce(wr.reported_at, t.raised_at) AS start_at,
                 CASE WHEN r.kind = 'warranty' THEN wr.responded_at
                      ELSE (SELECT min(e.at) FROM ticket_events e
                             WHERE e.ticket_id = t.id AND e.action = 'repaired') END AS resp_at
            FROM tickets t
            JOIN vp ON vp.project_id = t.project_id
            JOIN inspection_items i ON i.id = t.id
            JOIN inspection_rounds r ON r.id = i.round_id AND r.kind IN ('warranty', 'handover')
            LEFT JOIN warranty_reports wr ON wr.ticket_id = t.id AND r.kind = 'warranty'),
    cohort AS (
        SELECT t.co, t.section, count(*) AS reports,
               count(t.resp_at) AS responded,
               avg(cl_kpi_business_s(t.co, t.start_at, t.resp_at))
                   FILTER (WHERE t.resp_at IS NOT NULL) / 3600.0 AS resp_h,
               count(*) FILTER (WHERE t.resp_at IS NOT NULL
                                  AND cl_kpi_business_s(t.co, t.start_at, t.resp_at)
                                      <= b.budget_s) AS in_budget,
               count(*) FILTER (WHERE t.resp_at IS NOT NULL
                                   OR cl_kpi_business_s(t.co, t.start_at, b.now) >= b.budget_s)
                   AS decided
          FROM t, b WHERE t.start_at >= b.m_from AND t.start_at < b.m_to
         GROUP BY t.co, t.section),
    ev AS (
        SELECT t.co, t.section,
               count(*) FILTER (WHERE e.action = 'repaired' AND t.deadline IS NOT NULL
                                  AND (e.at AT TIME ZONE 'Asia/Shanghai')::date > t.deadline)
                   AS late,
               count(*) FILTER (WHERE e.action IN ('verify_pass', 'verify_fail')) AS ver,
               count(*) FILTER (WHERE e.action = 'verify_fail') AS fails
          FROM t JOIN ticket_events e ON e.ticket_id = t.id, b
         WHERE e.at >= b.m_from AND e.at < b.m_to
         GROUP BY t.co, t.section),
    nth AS (
        SELECT t.co, t.section, e.action, e.at,
               row_number() OVER (PARTITION BY t.id, e.action = 'verify_fail'
                                  ORDER BY e.at, e.id) AS n_fail,
               row_number() OVER (PARTITION BY t.id ORDER BY e.at, e.id) AS n_ver
          FROM t JOIN ticket_events e ON e.ticket_id = t.id
         WHERE e.action IN ('verify_pass', 'verify_fail')),
    qual AS (
        SELECT n.co, n.section,
               count(*) FILTER (WHERE n.action = 'verify_fail' AND n.n_fail = 2) AS repeat_rework,
               count(*) FILTER (WHERE n.n_ver = 1) AS first_ver,
               count(*) FILTER (WHERE n.n_ver = 1 AND n.action = 'verify_pass') AS first_pass
          FROM nth n, b WHERE n.at >= b.m_from AND n.at < b.m_to
         GROUP BY n.co, n.section),
    climb AS (
        SELECT t.co,
               count(*) FILTER (WHERE w.action = 'climb' AND w.to_level = 'developer') AS dev,
               count(*) FILTER (WHERE w.action = 'climb' AND w.to_level = 'hotline') AS hot,
               count(*) FILTER (WHERE w.action = 'third_party') AS third
          FROM t JOIN warranty_events w ON w.ticket_id = t.id, b
         WHERE t.section = 'warranty' AND w.action IN ('climb', 'third_party')
           AND w.at >= b.m_from AND w.at < b.m_to
         GROUP BY t.co),
    -- a deduction as its lists show it (cl_warranty_visible): the company's for HQ, the
    -- hotline, cr and the warranty office; for the roles of projects, only those about a
    -- ticket of their projects
    ded AS (
        SELECT d.company_id AS co, count(*) AS n, sum(d.amount) AS amount
          FROM warranty_deductions d LEFT JOIN tickets tk ON tk.id = d.ticket_id, b
         WHERE d.state = 'approved' AND d.decided_at >= b.m_from AND d.decided_at < b.m_to
           AND d.company_id IN (SELECT vp.company_id FROM vp)
           AND (p_role IN ('hq_admin', 'hq_analyst', 'hotline', 'cr', 'warranty')
                OR tk.project_id IN (SELECT vp.project_id FROM vp))
         GROUP BY d.company_id)
    SELECT co.id, co.name, s.section,
           coalesce(c.reports, 0), coalesce(c.responded, 0), c.resp_h::float8,
           CASE WHEN w THEN coalesce(c.in_budget, 0) END,
           CASE WHEN w THEN coalesce(c.decided, 0) END,
           CASE WHEN w THEN c.in_budget::float8 / nullif(c.decided, 0) END,
           CASE WHEN w THEN coalesce(cl.dev, 0) END,
           CASE WHEN w THEN coalesce(cl.hot, 0) END,
           coalesce(e.late, 0), coalesce(e.ver, 0), coalesce(e.fails, 0),
           coalesce(q.repeat_rework, 0), coalesce(q.first_ver, 0), coalesce(q.first_pass, 0),
           q.first_pass::float8 / nullif(q.first_ver, 0),
           CASE WHEN w THEN coalesce(d.n, 0) END,
           CASE WHEN w THEN coalesce(d.amount, 0) END,
           CASE WHEN w THEN coalesce(cl.third, 0) END
      FROM companies co
     CROSS JOIN sec s
     CROSS JOIN LATERAL (SELECT s.section = 'warranty' AS w) AS x
      LEFT JOIN cohort c ON c.co = co.id AND c.section = s.section
      LEFT JOIN ev e ON e.co = co.id AND e.section = s.section
      LEFT JOIN qual q ON q.co = co.id AND q.section = s.section
      LEFT JOIN climb cl ON cl.co = co.id AND s.section = 'warranty'
      LEFT JOIN ded d ON d.co = co.id AND s.section = 'warranty'
     WHERE co.id IN (SELECT vp.company_id FROM vp)
     ORDER BY co.id, s.section = 'handover';
END
$$;
