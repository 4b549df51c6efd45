-- 022_service_base.sql - what owner complaints and warranty repairs (issue 12) stand on:
-- two roles, the business calendar and the notices pushed to connected clients.
--
-- Roles:
--   hotline   the group's 400 hotline (400热线): sees every project, like HQ
--   warranty  a city company's warranty office (保修办): sees its company, like cr
--
-- Business calendar: working hours and days off / make-up working days (调休), national
-- (company_id NULL) and per city company. A company's effective calendar is its own hours
-- when it has any, else the national hours; its own days override the national days of
-- the same date. Local time is China Standard Time (UTC+8, no daylight saving). The
-- arithmetic over it is common/bizcal.c; server/calendar/ loads it. The national 2025 and
-- 2026 schedules of the State Council ship here:
--   2025 (国办发明电〔2024〕12号, 12 November 2024) and 2026 (4 November 2025), as
--   published by Xinhua: each holiday's days off and the make-up working days.
--
-- Notices: one row per thing a person should hear about now (a new assignment, a warning
-- before a deadline, a breach, an escalation), addressed to a user or to everyone who sees
-- the project; cl_notice() inserts it and NOTIFYs closeloop_notices with its id, so each
-- daemon pushes it to the connections watching (cloop watch).

ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('hq_admin', 'hq_analyst', 'cr', 'clerk', 'contractor', 'verifier',
                    'property', 'dept', 'hotline', 'warranty'));
ALTER TABLE users ADD CHECK (role <> 'warranty' OR company_id IS NOT NULL);

-- 011's scope functions, with 'hotline' beside the HQ roles and 'warranty' beside 'cr'.
CREATE OR REPLACE FUNCTION cl_visible_project(p_project bigint, p_role text, p_company bigint,
                                   p_contractor bigint, p_projects bigint[])
RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF p_project IS NULL THEN
        RETURN false;
    END IF;
    CASE p_role
        WHEN 'hq_admin', 'hq_analyst', 'hotline' THEN
            RETURN true;
        WHEN 'cr', 'dept', 'warranty' THEN
            RETURN EXISTS (SELECT 1 FROM projects p
                           WHERE p.id = p_project AND p.company_id = p_company);
        WHEN 'contractor' THEN
            RETURN EXISTS (SELECT 1 FROM project_trades pt
                           WHERE pt.project_id = p_project AND pt.contractor_id = p_contractor);
        WHEN 'clerk', 'verifier', 'property' THEN
            RETURN coalesce(p_project = ANY (p_projects), false);
        ELSE
            RETURN false;
    END CASE;
END $$;

CREATE OR REPLACE FUNCTION cl_visible_projects(p_role text, p_company bigint, p_contractor bigint,
                                    p_projects bigint[])
RETURNS TABLE (project_id bigint) LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT p.id FROM projects p
     WHERE p_role IN ('hq_admin', 'hq_analyst', 'hotline')
    UNION ALL
    SELECT p.id FROM projects p
     WHERE p_role IN ('cr', 'dept', 'warranty') AND p.company_id = p_company
    UNION ALL
    SELECT DISTINCT pt.project_id FROM project_trades pt
     WHERE p_role = 'contractor' AND pt.contractor_id = p_contractor
    UNION ALL
    SELECT p.id FROM projects p
     WHERE p_role IN ('clerk', 'verifier', 'property') AND p.id = ANY (p_projects)
$$;

CREATE OR REPLACE FUNCTION cl_visible_company(p_company_id bigint, p_role text, p_company bigint,
                                   p_contractor bigint, p_projects bigint[])
RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF p_company_id IS NULL THEN
        RETURN false;
    END IF;
    CASE p_role
        WHEN 'hq_admin', 'hq_analyst', 'hotline' THEN
            RETURN true;
        WHEN 'cr', 'dept', 'warranty' THEN
            RETURN p_company_id = p_company;
        WHEN 'contractor' THEN
            RETURN EXISTS (SELECT 1 FROM project_trades pt JOIN projects p ON p.id = pt.project_id
                           WHERE pt.contractor_id = p_contractor
                             AND p.company_id = p_company_id);
        WHEN 'clerk', 'verifier', 'property' THEN
            RETURN EXISTS (SELECT 1 FROM projects p
                           WHERE p.id = ANY (p_projects) AND p.company_id = p_company_id);
        ELSE
            RETURN false;
    END CASE;
END $$;

-- ---------------------------------------------------------------- business calendar

-- Working hours: spans of minutes after local midnight, [start_min, end_min).
CREATE TABLE calendar_hours (
    company_id  bigint REFERENCES companies (id),   -- NULL: national
    start_min   integer NOT NULL CHECK (start_min >= 0 AND start_min < 1440),
    end_min     integer NOT NULL CHECK (end_min > start_min AND end_min <= 1440),
    UNIQUE NULLS NOT DISTINCT (company_id, start_min)
);

-- Days that are not what their weekday says: 'off' a holiday (no working hours), 'work' a
-- make-up working day on a weekend (调休上班).
CREATE TABLE calendar_days (
    company_id  bigint REFERENCES companies (id),   -- NULL: national
    day         date NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('off', 'work')),
    name        text NOT NULL DEFAULT '' CHECK (length(name) <= 40),
    UNIQUE NULLS NOT DISTINCT (company_id, day)
);

-- A company's working hours: its own, or the national ones when it has none.
CREATE FUNCTION cl_calendar_hours(p_company bigint)
RETURNS TABLE (start_min integer, end_min integer) LANGUAGE sql STABLE AS $$
    SELECT h.start_min, h.end_min FROM calendar_hours h
     WHERE h.company_id IS NOT DISTINCT FROM
           (CASE WHEN EXISTS (SELECT 1 FROM calendar_hours o WHERE o.company_id = p_company)
                 THEN p_company END)
     ORDER BY h.start_min
$$;

-- A company's special days from p_from to p_to: its own, and the national ones it does not
-- override.
CREATE FUNCTION cl_calendar_days(p_company bigint, p_from date, p_to date)
RETURNS TABLE (day date, kind text, name text) LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (d.day) d.day, d.kind, d.name FROM calendar_days d
     WHERE (d.company_id = p_company OR d.company_id IS NULL)
       AND d.day BETWEEN p_from AND p_to
     ORDER BY d.day, d.company_id NULLS LAST
$$;

INSERT INTO calendar_hours (company_id, start_min, end_min) VALUES
    (NULL, 9 * 60, 12 * 60), (NULL, 13 * 60, 18 * 60);

INSERT INTO calendar_days (company_id, day, kind, name)
SELECT NULL, d::date, 'off', x.name
  FROM (VALUES ('2025-01-01', '2025-01-01', '元旦'), ('2025-01-28', '2025-02-04', '春节'),
               ('2025-04-04', '2025-04-06', '清明节'), ('2025-05-01', '2025-05-05', '劳动节'),
               ('2025-05-31', '2025-06-02', '端午节'),
               ('2025-10-01', '2025-10-08', '国庆节、中秋节'),
               ('2026-01-01', '2026-01-03', '元旦'), ('2026-02-15', '2026-02-23', '春节'),
               ('2026-04-04', '2026-04-06', '清明节'), ('2026-05-01', '2026-05-05', '劳动节'),
               ('2026-06-19', '2026-06-21', '端午节'), ('2026-09-25', '2026-09-27', '中秋节'),
               ('2026-10-01', '2026-10-07', '国庆节')) AS x (first, last, name),
       generate_series(x.first::date, x.last::date, interval '1 day') AS d;

INSERT INTO calendar_days (company_id, day, kind, name) VALUES
    (NULL, '2025-01-26', 'work', '春节调休上班'), (NULL, '2025-02-08', 'work', '春节调休上班'),
    (NULL, '2025-04-27', 'work', '劳动节调休上班'),
    (NULL, '2025-09-28', 'work', '国庆节调休上班'), (NULL, '2025-10-11', 'work', '国庆节调休上班'),
    (NULL, '2026-01-04', 'work', '元旦调休上班'),
    (NULL, '2026-02-14', 'work', '春节调休上班'), (NULL, '2026-02-28', 'work', '春节调休上班'),
    (NULL, '2026-05-09', 'work', '劳动节调休上班'),
    (NULL, '2026-09-20', 'work', '国庆节调休上班'), (NULL, '2026-10-10', 'work', '国庆节调休上班');

-- ---------------------------------------------------------------- notices

CREATE TABLE notices (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL CHECK (kind IN ('assigned', 'warning', 'breach', 'escalated',
                                              'severity', 'calendar')),
    company_id  bigint REFERENCES companies (id),
    project_id  bigint REFERENCES projects (id),
    user_id     bigint REFERENCES users (id),       -- NULL: everyone who sees the project
    subject     text NOT NULL CHECK (length(subject) <= 80),   -- 'complaint:12', 'ticket:<uuid>'
    body        text NOT NULL CHECK (length(body) <= 400)      -- one sentence, in Chinese
);
CREATE INDEX notices_at ON notices (at);

-- Records a notice and wakes every daemon's listener (closeloop_notices, payload: its id).
-- A notice about a project belongs to the project's company.
CREATE FUNCTION cl_notice(p_kind text, p_project bigint, p_user bigint, p_subject text,
                          p_body text) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    nid bigint;
BEGIN
    INSERT INTO notices (kind, company_id, project_id, user_id, subject, body)
    VALUES (p_kind, (SELECT p.company_id FROM projects p WHERE p.id = p_project), p_project,
            p_user, p_subject, p_body)
    RETURNING id INTO nid;
    PERFORM pg_notify('closeloop_notices', nid::text);
    RETURN nid;
END $$;
