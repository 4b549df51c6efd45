-- calendar.sql - the business calendar people manage (server/calendar/calendar_ops.c and
-- calendar_check.c; docs/CALENDAR.md): import special days, list them, read or set the
-- working hours, the daemon's December check. The tables and cl_calendar_hours() /
-- cl_calendar_days() are migration 022's; calendar_warnings is 023's.
--
-- A request names a calendar by text: '' the national one, else a company's id or name.
-- Statements that take the session scope take it as $1..$4 (role, company, contractor,
-- projects); a company outside it reads exactly like a missing one.

-- The company p_ref names, among those the scope sees: 0 for the national calendar (''),
-- NULL when there is no such company or it is out of scope.
CREATE OR REPLACE FUNCTION cl_calendar_company(p_ref text, p_role text, p_company bigint,
                                               p_contractor bigint, p_projects bigint[])
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_ref = '' THEN 0::bigint
                ELSE (SELECT c.id FROM companies c
                       WHERE (c.name = p_ref OR c.id::text = p_ref)
                         AND cl_visible_company(c.id, p_role, p_company, p_contractor, p_projects)
                       ORDER BY c.name = p_ref DESC LIMIT 1)
           END
$$;

-- The year after p_today's when p_today is in December and that year has no national day
-- off; NULL otherwise. The daemon's calendar check and the hours reply's warning.
CREATE OR REPLACE FUNCTION cl_calendar_missing_year(p_today date)
RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT y.next FROM (SELECT extract(year FROM p_today)::int + 1 AS next) y
     WHERE extract(month FROM p_today) = 12
       AND NOT EXISTS (SELECT 1 FROM calendar_days d
                        WHERE d.company_id IS NULL AND d.kind = 'off'
                          AND d.day >= make_date(y.next, 1, 1)
                          AND d.day < make_date(y.next + 1, 1, 1))
$$;

-- Imports special days, all or nothing (the handler has checked every row). Parameters:
-- $1..$4 the session scope, $5 the calendar, $6 the days (text[] of YYYY-MM-DD), $7 their
-- kinds ('off' | 'work'), $8 their names. A day held with the same kind and name is left
-- alone, so importing a file twice changes nothing. One row: company_id (0 national,
-- NULL: missing = 'company'), inserted, changed, total.
PREPARE calendar_import AS
WITH co AS (SELECT cl_calendar_company($5::text, $1::text, $2::bigint, $3::bigint,
                                       $4::bigint[]) AS id),
     src AS (SELECT r.day::date AS day, r.kind, r.name
               FROM unnest($6::text[], $7::text[], $8::text[]) AS r (day, kind, name)),
     up AS (INSERT INTO calendar_days AS d (company_id, day, kind, name)
            SELECT nullif(co.id, 0), src.day, src.kind, src.name
              FROM co, src WHERE co.id IS NOT NULL
            ON CONFLICT (company_id, day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name
             WHERE (d.kind, d.name) IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.name)
            RETURNING (xmax = 0) AS inserted)
SELECT co.id AS company_id,
       (SELECT count(*) FROM up WHERE up.inserted) AS inserted,
       (SELECT count(*) FROM up WHERE NOT up.inserted) AS changed,
       (SELECT count(*) FROM src) AS total,
       CASE WHEN co.id IS NULL THEN 'company' END AS missing
  FROM co;

-- A calendar's special days from $6 to $7 (dates), as its clocks see them: the company's
-- own and the national ones it does not override. Parameters: $1..$4 the session scope,
-- $5 the calendar. No row at all: no such company; one row of NULLs: no special days.
PREPARE calendar_list AS
SELECT to_char(d.day, 'YYYY-MM-DD') AS day, d.kind, d.name,
       (co.id > 0 AND EXISTS (SELECT 1 FROM calendar_days o
                               WHERE o.company_id = co.id AND o.day = d.day)) AS own,
       extract(isodow FROM d.day)::int AS weekday
  FROM (SELECT cl_calendar_company($5::text, $1::text, $2::bigint, $3::bigint, $4::bigint[])
               AS id) co
  LEFT JOIN LATERAL cl_calendar_days(nullif(co.id, 0), $6::date, $7::date) d ON true
 WHERE co.id IS NOT NULL
 ORDER BY d.day;

-- Replacing a calendar's working hours is two statements of one batch, then
-- calendar_hours_get: calendar_hours_clear deletes them, calendar_hours_add writes the
-- spans $6 (starts) and $7 (ends), minutes after local midnight, checked by the handler.
-- Parameters: $1..$4 the session scope, $5 the calendar (a missing one changes nothing;
-- calendar_hours_get then has no row). The national hours go only with hq_admin's call
-- (the handler checks the role). Each returns the number of spans it touched.
PREPARE calendar_hours_clear AS
WITH gone AS (DELETE FROM calendar_hours h
               WHERE h.company_id IS NOT DISTINCT FROM
                     nullif(cl_calendar_company($5::text, $1::text, $2::bigint, $3::bigint,
                                                $4::bigint[]), 0)
                 AND cl_calendar_company($5::text, $1::text, $2::bigint, $3::bigint,
                                         $4::bigint[]) IS NOT NULL
              RETURNING h.start_min)
SELECT count(*) AS spans FROM gone;

PREPARE calendar_hours_add AS
WITH co AS (SELECT cl_calendar_company($5::text, $1::text, $2::bigint, $3::bigint,
                                       $4::bigint[]) AS id),
     ins AS (INSERT INTO calendar_hours (company_id, start_min, end_min)
             SELECT nullif(co.id, 0), s.start_min, s.end_min
               FROM co, unnest($6::int[], $7::int[]) AS s (start_min, end_min)
              WHERE co.id IS NOT NULL
             RETURNING start_min)
SELECT count(*) AS spans FROM ins;

-- A calendar's working hours, and the calendar check's warning for $6 (today, a date).
-- Parameters: $1..$4 the session scope, $5 the calendar. No row: no such company; else
-- one row per span, ordered.
PREPARE calendar_hours_get AS
SELECT co.id AS company_id,
       (co.id > 0 AND EXISTS (SELECT 1 FROM calendar_hours o WHERE o.company_id = co.id)) AS own,
       h.start_min, h.end_min, cl_calendar_missing_year($6::date) AS missing_year
  FROM (SELECT cl_calendar_company($5::text, $1::text, $2::bigint, $3::bigint, $4::bigint[])
               AS id) co
  LEFT JOIN LATERAL cl_calendar_hours(nullif(co.id, 0)) h ON true
 WHERE co.id IS NOT NULL
 ORDER BY h.start_min;

-- The calendar check's notice for p_today: when p_year (the year without national days
-- off) is given, claims today's calendar_warnings row and sends the `calendar` notice
-- (project and user NULL: HQ) with p_body ('%s' the year). Returns the notice's id, or
-- NULL when a daemon already sent today's (the row lock makes a second daemon wait for the
-- first's commit, then find the row).
CREATE OR REPLACE FUNCTION cl_calendar_warn(p_today date, p_year integer, p_body text)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    nid bigint;
BEGIN
    IF p_year IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO calendar_warnings (day, year) VALUES (p_today, p_year)
        ON CONFLICT (day) DO NOTHING;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    nid := cl_notice('calendar', NULL, NULL, 'calendar:' || p_year, format(p_body, p_year));
    UPDATE calendar_warnings SET notice_id = nid WHERE day = p_today;
    RETURN nid;
END $$;

-- The daemon's calendar check for $1 (today, a date) with the notice's body $2 ('%s' the
-- year): whether next year has no national day off, and if so today's notice, sent once
-- a day whatever the number of daemons (cl_calendar_warn). One row: missing_year (NULL:
-- all is well) and notice_id (NULL: not sent by this call).
PREPARE calendar_check AS
SELECT m.year AS missing_year, cl_calendar_warn($1::date, m.year, $2::text) AS notice_id
  FROM (SELECT cl_calendar_missing_year($1::date) AS year) m;

-- A calendar's working hours as bizcal reads them (calendar.h): start_min, end_min, in
-- order. Parameters: $1..$4 the session scope, $5 the calendar; no row for a missing one
-- (calendar_hours_get, in the same batch, tells it apart).
PREPARE calendar_spans AS
SELECT h.start_min, h.end_min
  FROM (SELECT cl_calendar_company($5::text, $1::text, $2::bigint, $3::bigint, $4::bigint[])
               AS id) co
  CROSS JOIN LATERAL cl_calendar_hours(nullif(co.id, 0)) h
 WHERE co.id IS NOT NULL
 ORDER BY h.start_min;

-- A calendar's special days from $6 to $7 as bizcal reads them (calendar.h): day, kind,
-- ordered by day. Parameters: $1..$4 the session scope, $5 the calendar.
PREPARE calendar_days_range AS
SELECT to_char(d.day, 'YYYY-MM-DD') AS day, d.kind
  FROM (SELECT cl_calendar_company($5::text, $1::text, $2::bigint, $3::bigint, $4::bigint[])
               AS id) co
  CROSS JOIN LATERAL cl_calendar_days(nullif(co.id, 0), $6::date, $7::date) d
 WHERE co.id IS NOT NULL
 ORDER BY d.day;
