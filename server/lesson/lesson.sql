-- lesson.sql - the statements of the lessons area (server/lesson/lesson.c): a mock-1
-- round's check points (derived by migration 014's cl_checkpoints_derive), recording one
-- passed (one found is an inspection item naming its case: insp_item_record), HQ's view
-- of which lessons were looked at, each new item's most similar case, the defect
-- feedback report of a project and the periodic report of a city company.
--
-- Every statement takes the session scope as its first four parameters ($1 role,
-- $2 company, $3 contractor, $4 projects) and filters with cl_visible_project() or
-- cl_visible_company(), so what is outside the caller's scope reads like a missing one.
-- Stored names come out as they are stored; cloop shows the registry's Chinese labels.

-- The project and its round a check point request is about. Parameters: $1..$4 the
-- scope, $5 the project, $6 the round kind. One row: the project's name (title) and,
-- when the project or its round is missing, why (missing).
PREPARE lesson_target_round AS
SELECT p.name AS title,
       CASE WHEN p.id IS NULL THEN format('no such project %s', $5::bigint)
            WHEN r.id IS NULL
            THEN format('project %s has no %s round yet: plan it with cloop round add',
                        $5::bigint, $6::text)
       END AS missing
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN projects p ON p.id = $5::bigint
                      AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint,
                                             $4::bigint[])
  LEFT JOIN inspection_rounds r ON r.project_id = p.id AND r.kind = $6::text;

-- A project, or every visible project when $5 is 0. One row: its name, or why missing.
PREPARE lesson_target_project AS
SELECT CASE WHEN $5::bigint = 0 THEN '' ELSE p.name END AS title,
       CASE WHEN $5::bigint <> 0 AND p.id IS NULL
            THEN format('no such project %s', $5::bigint) END AS missing
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN projects p ON p.id = $5::bigint
                      AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint,
                                             $4::bigint[]);

-- A city company. One row: its name, or why missing.
PREPARE lesson_target_company AS
SELECT co.name AS title,
       CASE WHEN co.id IS NULL THEN format('no such company %s', $5::bigint) END AS missing
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN companies co ON co.id = $5::bigint
                        AND cl_visible_company(co.id, $1::text, $2::bigint, $3::bigint,
                                               $4::bigint[]);

-- Derives the round's check points again: adds the cases that match now, removes none.
-- Parameters: $1..$4 the scope, $5 the project, $6 the round kind. One row: how many
-- were added (NULL: no such project or round).
PREPARE lesson_checkpoint_refresh AS
SELECT (SELECT cl_checkpoints_derive(r.id)
          FROM projects p JOIN inspection_rounds r ON r.project_id = p.id AND r.kind = $6::text
         WHERE p.id = $5::bigint
           AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[]))
       AS added;

-- Records a check point passed (looked at on site, the defect not found), with a note,
-- by user $9. Parameters: $1..$4 the scope, $5 the project, $6 the round kind, $7 the
-- case code, $8 the note, $9 the user. A check point already found stays found. One row:
-- its status before (was; NULL: no such check point) and whether it changed. The check
-- point is locked and read as it is now (FOR UPDATE): an item recording it found at the
-- same moment either commits first (was = found: refused) or waits for this one.
PREPARE lesson_checkpoint_pass AS
WITH cp AS (SELECT rc.round_id, rc.case_id, rc.status
              FROM projects p
              JOIN inspection_rounds r ON r.project_id = p.id AND r.kind = $6::text
              JOIN round_checkpoints rc ON rc.round_id = r.id
              JOIN kb_cases k ON k.id = rc.case_id
             WHERE p.id = $5::bigint AND k.code = $7::text
               AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
               FOR UPDATE OF rc),
     up AS (UPDATE round_checkpoints rc
               SET status = 'passed', note = $8::text, recorded_by = $9::bigint,
                   recorded_at = now()
              FROM cp
             WHERE rc.round_id = cp.round_id AND rc.case_id = cp.case_id
               AND cp.status <> 'found'
            RETURNING 1)
SELECT (SELECT status FROM cp) AS was, (SELECT count(*) FROM up) AS changed;

-- The check points of a project's round, by case code: the case (code, title, specialty,
-- category, layouts, the revision pushed), its status, note, who recorded it and when,
-- and how many items of the round name the case. Parameters: $1..$4 the scope, $5 the
-- project, $6 the round kind.
PREPARE lesson_checkpoints AS
SELECT k.code AS case_code, k.title, k.specialty, coalesce(k.category, '') AS category,
       array_to_string(k.layouts, ' ') AS layouts, rc.case_revision AS revision, rc.status,
       rc.note, coalesce(u.username, '') AS recorded_by,
       coalesce(to_char(rc.recorded_at, 'YYYY-MM-DD HH24:MI'), '') AS recorded_at,
       (SELECT count(*) FROM inspection_items i
         WHERE i.round_id = rc.round_id AND i.case_id = rc.case_id) AS items
  FROM projects p
  JOIN inspection_rounds r ON r.project_id = p.id AND r.kind = $6::text
  JOIN round_checkpoints rc ON rc.round_id = r.id
  JOIN kb_cases k ON k.id = rc.case_id
  LEFT JOIN users u ON u.id = rc.recorded_by
 WHERE p.id = $5::bigint
   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 ORDER BY k.code;

-- HQ's view of the lessons, per project: check points in all, passed (looked at, not
-- found), found again, never looked at (pending). Parameters: $1..$4 the scope, $5 the
-- project (0: every visible project).
PREPARE lesson_lessons_projects AS
SELECT p.id AS project_id, p.name AS project, count(*) AS checkpoints,
       count(*) FILTER (WHERE rc.status = 'passed') AS passed,
       count(*) FILTER (WHERE rc.status = 'found') AS found,
       count(*) FILTER (WHERE rc.status = 'pending') AS pending
  FROM round_checkpoints rc
  JOIN projects p ON p.id = rc.project_id
 WHERE ($5::bigint = 0 OR p.id = $5::bigint)
   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 GROUP BY p.id, p.name
 ORDER BY p.id;

-- The same, per case: each project's check points with their status, who and when.
PREPARE lesson_lessons_cases AS
SELECT p.id AS project_id, p.name AS project, r.kind AS round, k.code AS case_code, k.title,
       rc.status, coalesce(u.username, '') AS recorded_by,
       coalesce(to_char(rc.recorded_at, 'YYYY-MM-DD HH24:MI'), '') AS recorded_at
  FROM round_checkpoints rc
  JOIN projects p ON p.id = rc.project_id
  JOIN inspection_rounds r ON r.id = rc.round_id
  JOIN kb_cases k ON k.id = rc.case_id
  LEFT JOIN users u ON u.id = rc.recorded_by
 WHERE ($5::bigint = 0 OR p.id = $5::bigint)
   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 ORDER BY p.id, k.code;

-- Each item of a project recorded on or after $6 (the latest 500), with the active case
-- it most resembles, when at least $7 alike. Candidates come from the cases' search
-- index (kb_cases.search, GIN) by any bigram or word of the item's text, the 10 that
-- share the most (ts_rank); the score is the better of the item description's
-- similarity (cl_text_similarity) to the candidate's title and to its description. Parameters: $1..$4 the scope, $5 the project, $6 the date,
-- $7 the least score.
PREPARE lesson_case_match AS
WITH it AS (SELECT i.id, i.description, i.location, i.category, i.search, i.inspected_on,
                   u.number AS unit, t.number
              FROM inspection_items i
              JOIN units u ON u.id = i.unit_id
              LEFT JOIN tickets t ON t.id = i.id
             WHERE i.project_id = $5::bigint AND i.inspected_on >= $6::date
               AND cl_visible_project(i.project_id, $1::text, $2::bigint, $3::bigint,
                                      $4::bigint[])
             ORDER BY i.inspected_on DESC, t.number DESC
             LIMIT 500)
SELECT it.number, it.unit, it.location, it.category, it.description,
       to_char(it.inspected_on, 'YYYY-MM-DD') AS inspected_on, m.code AS case_code,
       m.title AS case_title, round(m.score::numeric, 2) AS score
  FROM it
  CROSS JOIN LATERAL (
      SELECT string_agg(quote_literal(l), ' | ')::tsquery AS q
        FROM unnest(tsvector_to_array(it.search)) AS l
       WHERE l ~ '^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2}$' OR l ~ '^[0-9a-z]{2,}$') q
  CROSS JOIN LATERAL (
      SELECT k.code, k.title,
             greatest(cl_text_similarity(it.description, k.title),
                      cl_text_similarity(it.description, k.description)) AS score
        FROM (SELECT k.code, k.title, k.description FROM kb_cases k
               WHERE k.status = 'active' AND k.search @@ q.q
               ORDER BY ts_rank(k.search, q.q) DESC, k.code
               LIMIT 10) k
       ORDER BY score DESC, k.code
       LIMIT 1) m
 WHERE m.score >= $7::real
 ORDER BY it.number;

-- The defect feedback report (缺陷信息反馈报告) of a project: its defects found from $6
-- to $7 (both included), by code, with the impact in units counted from their items.
-- Parameters: $1..$4 the scope, $5 the project, $6 and $7 the dates.
PREPARE lesson_defect_feedback AS
SELECT d.code, d.title, d.source, d.kind, d.specialty, coalesce(d.grade, '') AS grade,
       CASE d.repairable WHEN true THEN 'yes' WHEN false THEN 'no' ELSE '' END AS repairable,
       (SELECT count(DISTINCT i.unit_id) FROM defect_items di
          JOIN inspection_items i ON i.id = di.item_id
         WHERE di.defect_id = d.id) AS impact_units,
       coalesce(dep.name, '') AS department, d.cause_analysis,
       concat_ws(' ', nullif(d.corrective_measures, ''), nullif(d.preventive_measures, ''))
           AS measures,
       d.state, to_char(d.found_on, 'YYYY-MM-DD') AS found_on
  FROM defects d
  LEFT JOIN departments dep ON dep.id = d.responsible_dept_id
 WHERE d.project_id = $5::bigint AND d.found_on BETWEEN $6::date AND $7::date
   AND cl_visible_project(d.project_id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 ORDER BY d.code;

-- The periodic report of a city company to HQ, for defects found from $6 to $7 in the
-- company's projects: counts by state, grade, source and specialty (the dimension's
-- stored name in key), one summary row (defects, cases accepted from them in the period,
-- check points recorded passed or found in the period, never looked at now).
-- Parameters: $1..$4 the scope, $5 the company, $6 and $7 the dates.
PREPARE lesson_periodic_counts AS
WITH d AS (SELECT d.* FROM defects d JOIN projects p ON p.id = d.project_id
            WHERE p.company_id = $5::bigint AND d.found_on BETWEEN $6::date AND $7::date
              AND cl_visible_company(p.company_id, $1::text, $2::bigint, $3::bigint,
                                     $4::bigint[]))
SELECT x.dimension, x.key, x.defects
  FROM (SELECT 'state' AS dimension, d.state AS key, count(*) AS defects FROM d GROUP BY d.state
        UNION ALL
        SELECT 'grade', coalesce(d.grade, ''), count(*) FROM d GROUP BY d.grade
        UNION ALL
        SELECT 'source', d.source, count(*) FROM d GROUP BY d.source
        UNION ALL
        SELECT 'specialty', d.specialty, count(*) FROM d GROUP BY d.specialty) x
 ORDER BY x.dimension, x.key;

PREPARE lesson_periodic_summary AS
WITH cp AS (SELECT rc.* FROM round_checkpoints rc JOIN projects p ON p.id = rc.project_id
             WHERE p.company_id = $5::bigint
               AND cl_visible_company(p.company_id, $1::text, $2::bigint, $3::bigint,
                                      $4::bigint[]))
SELECT (SELECT count(*) FROM defects d JOIN projects p ON p.id = d.project_id
         WHERE p.company_id = $5::bigint AND d.found_on BETWEEN $6::date AND $7::date
           AND cl_visible_company(p.company_id, $1::text, $2::bigint, $3::bigint,
                                  $4::bigint[])) AS defects,
       (SELECT count(*) FROM kb_cases k JOIN defects d ON d.id = k.defect_id
          JOIN projects p ON p.id = d.project_id
         WHERE p.company_id = $5::bigint
           AND k.created_at::date BETWEEN $6::date AND $7::date
           AND cl_visible_company(p.company_id, $1::text, $2::bigint, $3::bigint,
                                  $4::bigint[])) AS cases_accepted,
       (SELECT count(*) FROM cp WHERE cp.status = 'passed'
           AND cp.recorded_at::date BETWEEN $6::date AND $7::date) AS checkpoints_passed,
       (SELECT count(*) FROM cp WHERE cp.status = 'found'
           AND cp.recorded_at::date BETWEEN $6::date AND $7::date) AS checkpoints_found,
       (SELECT count(*) FROM cp WHERE cp.status = 'pending') AS checkpoints_never_looked;
