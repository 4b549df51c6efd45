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
