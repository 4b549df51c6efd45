-- deadline.sql - the repair deadline presets of a project (server/ticket/deadline.c): how
-- many days a ticket of a category ('' = any) and severity gets, read by
-- cl_ticket_deadline() when a ticket is raised (raise.sql). Both statements take the
-- session scope as their first four parameters ($1 role, $2 company, $3 contractor,
-- $4 projects); a project outside it reads exactly like a missing one.

-- Sets a preset. Parameters: $1..$4 the session scope, $5 the project, $6 the category
-- ('' = any), $7 the severity, $8 the days. Existing tickets keep their deadline; the
-- preset applies to tickets raised from now on. One row: the preset, or NULLs with
-- missing = 'project' or invalid = the unknown trade.
-- @columns-of ticket_deadline_list
PREPARE ticket_deadline_set AS
WITH target AS (SELECT p.id FROM projects p
                 WHERE p.id = $5::bigint
                   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     cat AS (SELECT $6::text = '' OR EXISTS (SELECT 1 FROM trades tr WHERE tr.code = $6::text)
                    AS known),
     up AS (INSERT INTO deadline_presets AS d (project_id, category, severity, days)
            SELECT t.id, $6::text, $7::text, $8::int FROM target t, cat WHERE cat.known
            ON CONFLICT (project_id, category, severity) DO UPDATE SET days = EXCLUDED.days
             WHERE d.days <> EXCLUDED.days
            RETURNING d.project_id, d.category, d.severity, d.days),
     rec AS (SELECT * FROM up UNION ALL
             SELECT d.project_id, d.category, d.severity, d.days
               FROM deadline_presets d JOIN target t ON d.project_id = t.id
              WHERE d.category = $6::text AND d.severity = $7::text
                AND NOT EXISTS (SELECT 1 FROM up))
SELECT rec.project_id, rec.category, rec.severity, rec.days,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project' END AS missing,
       CASE WHEN NOT (SELECT known FROM cat) THEN format('unknown trade %s', $6::text)
       END AS invalid
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN rec ON true;

-- A project's presets by category, then severity from minor to critical. Parameters:
-- $1..$4 the session scope, $5 the project. No row at all: no such project; one row of
-- NULLs: no presets.
PREPARE ticket_deadline_list AS
SELECT d.project_id, d.category, d.severity, d.days
  FROM projects p
  LEFT JOIN deadline_presets d ON d.project_id = p.id
 WHERE p.id = $5::bigint
   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 ORDER BY d.category, array_position(ARRAY['minor', 'major', 'critical'], d.severity);
