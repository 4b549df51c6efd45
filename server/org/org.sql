-- org.sql - the statements of the organisation model (server/org/org.c): companies,
-- projects, buildings, units and their owners, contractors and the trades they cover per
-- project, users, and the bulk import of buildings/units/owners.
--
-- Scoped statements take the session scope as $1..$4 (role, company, contractor, project
-- array) and filter with cl_visible_project() & co. (migrations/002_scope.sql), so a record
-- outside the caller's scope reads exactly like a missing one.
--
-- Creates are idempotent on the client's key: INSERT ... ON CONFLICT (idem_key) DO NOTHING,
-- and the existing row is returned when nothing was inserted. A create returns exactly one
-- row: the record's columns, the same as its list's (@columns-of), NULL when nothing was
-- created or found; then `missing` (what does not exist, for "no such ...") and `invalid`
-- (a sentence). Times are milliseconds since the epoch.

-- Creates a company. HQ admin only, by role. Parameters: $1 the idempotency key, $2 the
-- name, $3 the kind (hq, city, project), $4 the parent company's id (NULL: none).
-- @columns-of org_company_list
PREPARE org_company_create AS
WITH parent AS (SELECT $4::bigint IS NULL
                       OR EXISTS (SELECT 1 FROM companies WHERE id = $4::bigint) AS found),
     ins AS (INSERT INTO companies (kind, name, parent_id, idem_key)
             SELECT $3::text, $2::text, $4::bigint, $1::text FROM parent WHERE found
             ON CONFLICT (idem_key) DO NOTHING RETURNING *),
     rec AS (SELECT * FROM ins UNION ALL
             SELECT * FROM companies c
              WHERE c.idem_key = $1::text AND NOT EXISTS (SELECT 1 FROM ins))
SELECT rec.id, rec.version,
       (extract(epoch FROM rec.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM rec.updated_at) * 1000)::bigint AS updated_ms,
       rec.name, rec.kind, coalesce(rec.parent_id, 0) AS parent_id,
       CASE WHEN NOT (SELECT found FROM parent) THEN 'parent company' END AS missing,
       NULL::text AS invalid
  FROM (VALUES (1)) AS one (x) LEFT JOIN rec ON true;

-- The companies the caller sees, by name. Parameters: $1..$4 the session scope.
PREPARE org_company_list AS
SELECT c.id, c.version,
       (extract(epoch FROM c.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM c.updated_at) * 1000)::bigint AS updated_ms,
       c.name, c.kind, coalesce(c.parent_id, 0) AS parent_id
  FROM companies c
 WHERE cl_visible_company(c.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 ORDER BY c.name, c.id;

-- Creates a project of a company the caller manages. Parameters: $1..$4 the session
-- scope, $5 the idempotency key, $6 the company, $7 the name, $8 the city, $9 the move-in
-- date (NULL: none), $10 the defect code prefix (NULL: none).
-- @columns-of org_project_list
PREPARE org_project_create AS
WITH target AS (SELECT c.id FROM companies c
                 WHERE c.id = $6::bigint AND cl_manages_company(c.id, $1::text, $2::bigint)),
     ins AS (INSERT INTO projects (company_id, name, city, move_in_date, idem_key,
                                   defect_prefix)
             SELECT t.id, $7::text, $8::text, $9::date, $5::text, $10::text FROM target t
             ON CONFLICT (idem_key) DO NOTHING RETURNING *),
     rec AS (SELECT * FROM ins UNION ALL
             SELECT * FROM projects p
              WHERE p.idem_key = $5::text AND NOT EXISTS (SELECT 1 FROM ins)
                AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[]))
SELECT rec.id, rec.version,
       (extract(epoch FROM rec.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM rec.updated_at) * 1000)::bigint AS updated_ms,
       rec.company_id, rec.name, rec.city,
       coalesce(to_char(rec.move_in_date, 'YYYY-MM-DD'), '') AS move_in_date,
       co.name AS company_name, coalesce(rec.defect_prefix, '') AS defect_prefix,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'company' END AS missing,
       NULL::text AS invalid
  FROM (VALUES (1)) AS one (x) LEFT JOIN rec ON true
  LEFT JOIN companies co ON co.id = rec.company_id;

-- Sets a project's defect code prefix (SJ: SJ01, SJ02 ...); codes already given stay.
-- Parameters: $1..$4 the session scope, $5 the project, $6 the prefix. A project of a
-- company the caller does not manage reads like a missing one. A prefix under which
-- another project already numbered defects (it had SJ before it changed) is refused:
-- defect codes are unique across the group (015), and SJ01 must name one defect.
-- @columns-of org_project_list
PREPARE org_project_prefix AS
WITH target AS (SELECT p.id FROM projects p
                 WHERE p.id = $5::bigint AND cl_manages_company(p.company_id, $1::text, $2::bigint)
                   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     taken AS (SELECT d.code FROM defects d
                WHERE d.project_id <> $5::bigint
                  AND left(d.code, length($6::text)) = $6::text
                  AND substr(d.code, length($6::text) + 1) ~ '^[0-9]+$'
                LIMIT 1),
     upd AS (UPDATE projects p SET defect_prefix = $6::text FROM target t
              WHERE p.id = t.id AND NOT EXISTS (SELECT 1 FROM taken) RETURNING p.*)
SELECT upd.id, upd.version,
       (extract(epoch FROM upd.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM upd.updated_at) * 1000)::bigint AS updated_ms,
       upd.company_id, upd.name, upd.city,
       coalesce(to_char(upd.move_in_date, 'YYYY-MM-DD'), '') AS move_in_date,
       co.name AS company_name, coalesce(upd.defect_prefix, '') AS defect_prefix,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project' END AS missing,
       (SELECT format('prefix %s is taken: another project numbered defect %s under it',
                      $6::text, taken.code) FROM taken) AS invalid
  FROM (VALUES (1)) AS one (x) LEFT JOIN upd ON true
  LEFT JOIN companies co ON co.id = upd.company_id;

-- The projects the caller sees, by name. Parameters: $1..$4 the session scope, $5 the
-- company (0: every company in scope).
PREPARE org_project_list AS
SELECT p.id, p.version,
       (extract(epoch FROM p.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM p.updated_at) * 1000)::bigint AS updated_ms,
       p.company_id, p.name, p.city,
       coalesce(to_char(p.move_in_date, 'YYYY-MM-DD'), '') AS move_in_date,
       co.name AS company_name, coalesce(p.defect_prefix, '') AS defect_prefix
  FROM cl_visible_projects($1::text, $2::bigint, $3::bigint, $4::bigint[]) v
  JOIN projects p ON p.id = v.project_id
  JOIN companies co ON co.id = p.company_id
 WHERE $5::bigint = 0 OR p.company_id = $5::bigint
 ORDER BY p.name, p.id;

-- Creates a building of a project the caller sees. Parameters: $1..$4 the session scope,
-- $5 the idempotency key, $6 the project, $7 the name, $8 the floors.
-- @columns-of org_building_list
PREPARE org_building_create AS
WITH target AS (SELECT p.id FROM projects p
                 WHERE p.id = $6::bigint
                   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     ins AS (INSERT INTO buildings (project_id, name, floors, idem_key)
             SELECT t.id, $7::text, $8::int, $5::text FROM target t
             ON CONFLICT (idem_key) DO NOTHING RETURNING *),
     rec AS (SELECT * FROM ins UNION ALL
             SELECT * FROM buildings b
              WHERE b.idem_key = $5::text AND NOT EXISTS (SELECT 1 FROM ins)
                AND cl_visible_project(b.project_id, $1::text, $2::bigint, $3::bigint,
                                       $4::bigint[]))
SELECT rec.id, rec.version,
       (extract(epoch FROM rec.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM rec.updated_at) * 1000)::bigint AS updated_ms,
       rec.project_id, rec.name, rec.floors,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project' END AS missing,
       NULL::text AS invalid
  FROM (VALUES (1)) AS one (x) LEFT JOIN rec ON true;

-- A project's buildings, by name. Parameters: $1..$4 the session scope, $5 the project.
-- No row at all: no such project; one row of NULLs: no buildings.
PREPARE org_building_list AS
SELECT b.id, b.version,
       (extract(epoch FROM b.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM b.updated_at) * 1000)::bigint AS updated_ms,
       b.project_id, b.name, b.floors
  FROM projects p
  LEFT JOIN buildings b ON b.project_id = p.id
 WHERE p.id = $5::bigint
   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 ORDER BY b.name, b.id;

-- Creates a unit, and its owner when one is given. Parameters: $1..$4 the session scope,
-- $5 the idempotency key, $6 the building, $7 the number, $8 the floor, $9 the layout,
-- $10 the owner's name (NULL: no owner), $11 the owner's phone, $12 the owner's id number,
-- $13 whether the caller sees owners (false: the owner columns are NULL).
-- @columns-of org_unit_list
PREPARE org_unit_create AS
WITH target AS (SELECT b.id, b.project_id FROM buildings b
                 WHERE b.id = $6::bigint
                   AND cl_visible_project(b.project_id, $1::text, $2::bigint, $3::bigint,
                                          $4::bigint[])),
     ins AS (INSERT INTO units (building_id, project_id, number, floor, layout, idem_key)
             SELECT t.id, t.project_id, $7::text, $8::int, $9::text, $5::text FROM target t
             ON CONFLICT (idem_key) DO NOTHING RETURNING *),
     ins_owner AS (INSERT INTO owners (unit_id, project_id, name, phone, id_number)
                   SELECT i.id, i.project_id, $10::text, $11::text, $12::text FROM ins i
                    WHERE $10::text IS NOT NULL
                   RETURNING unit_id, name, phone, id_number),
     rec AS (SELECT * FROM ins UNION ALL
             SELECT * FROM units u
              WHERE u.idem_key = $5::text AND NOT EXISTS (SELECT 1 FROM ins)
                AND cl_visible_project(u.project_id, $1::text, $2::bigint, $3::bigint,
                                       $4::bigint[])),
     o AS (SELECT * FROM ins_owner WHERE $13::boolean UNION ALL
           SELECT ow.unit_id, ow.name, ow.phone, ow.id_number
             FROM owners ow JOIN rec ON ow.unit_id = rec.id WHERE $13::boolean)
SELECT rec.id, rec.version,
       (extract(epoch FROM rec.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM rec.updated_at) * 1000)::bigint AS updated_ms,
       rec.building_id, rec.number, rec.floor, rec.layout,
       b.name AS building_name,
       o.name AS owner_name, o.phone AS owner_phone, o.id_number AS owner_id_number,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'building' END AS missing,
       NULL::text AS invalid
  FROM (VALUES (1)) AS one (x) LEFT JOIN rec ON true
  LEFT JOIN buildings b ON b.id = rec.building_id
  LEFT JOIN o ON o.unit_id = rec.id;

-- A project's units, by building and number. Parameters: $1..$4 the session scope, $5 the
-- project, $6 the building (0: all), $7 whether the caller sees owners (false: the owner
-- columns are NULL). No row at all: no such project, or the building is not one of its
-- buildings; one row of NULLs: no units.
PREPARE org_unit_list AS
SELECT u.id, u.version,
       (extract(epoch FROM u.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM u.updated_at) * 1000)::bigint AS updated_ms,
       u.building_id, u.number, u.floor, u.layout,
       b.name AS building_name,
       o.name AS owner_name, o.phone AS owner_phone, o.id_number AS owner_id_number
  FROM projects p
  LEFT JOIN (units u JOIN buildings b ON b.id = u.building_id)
         ON u.project_id = p.id AND ($6::bigint = 0 OR u.building_id = $6::bigint)
  LEFT JOIN owners o ON o.unit_id = u.id AND $7::boolean
 WHERE p.id = $5::bigint
   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
   AND ($6::bigint = 0 OR EXISTS (SELECT 1 FROM buildings x
                                   WHERE x.id = $6::bigint AND x.project_id = p.id))
 ORDER BY b.name, u.number, u.id;

-- Imports one chunk of buildings, units and owners into a project. Parameters: $1..$4 the
-- session scope, $5 the project, then the rows as parallel arrays: $6 building names, $7
-- unit numbers, $8 floors, $9 layouts, $10 owner names ('' = no owner data), $11 owner
-- phones, $12 owner id numbers. The rows are distinct on (building, number). Creates
-- missing buildings and units, updates units and owners that differ, and touches nothing
-- that is equal, so no trigger fires for an unchanged row. A row counts as updated when
-- its unit or its owner changed (xmax = 0 tells a fresh insert from an ON CONFLICT
-- update). If a building created concurrently after this statement's snapshot hides from
-- it, the statement fails as retryable (40001) rather than skip rows (placed is always 0
-- otherwise). projects is 0 when the project is missing or out of scope. $13 check only:
-- true finds the project and changes nothing (r is empty; the counts are 0).
PREPARE org_unit_import AS
WITH target AS (SELECT p.id FROM projects p
                 WHERE p.id = $5::bigint
                   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     r AS (SELECT x.* FROM target
             JOIN LATERAL
                  unnest($6::text[], $7::text[], $8::int[], $9::text[],
                         $10::text[], $11::text[], $12::text[])
                    AS x (building, number, floor, layout, owner_name, owner_phone,
                          owner_id_number) ON NOT $13::boolean),
     new_buildings AS (INSERT INTO buildings (project_id, name)
                       SELECT DISTINCT t.id, r.building FROM target t, r
                       ON CONFLICT (project_id, name) DO NOTHING RETURNING id, name),
     bld AS (SELECT id, name FROM new_buildings UNION ALL
             SELECT b.id, b.name FROM buildings b, target t
              WHERE b.project_id = t.id AND b.name IN (SELECT building FROM r)),
     rb AS (SELECT r.*, bld.id AS building_id FROM r JOIN bld ON bld.name = r.building),
     up AS (INSERT INTO units AS u (building_id, project_id, number, floor, layout)
            SELECT rb.building_id, t.id, rb.number, rb.floor, rb.layout FROM rb, target t
            ON CONFLICT (building_id, number) DO UPDATE
               SET floor = EXCLUDED.floor, layout = EXCLUDED.layout
             WHERE (u.floor, u.layout) IS DISTINCT FROM (EXCLUDED.floor, EXCLUDED.layout)
            RETURNING u.id, u.building_id, u.number, u.xmax = 0 AS inserted),
     unit_ids AS (SELECT id, building_id, number FROM up UNION ALL
                  SELECT u.id, u.building_id, u.number FROM rb
                    JOIN units u ON u.building_id = rb.building_id AND u.number = rb.number
                   WHERE NOT EXISTS (SELECT 1 FROM up WHERE up.id = u.id)),
     own AS (INSERT INTO owners AS o (unit_id, project_id, name, phone, id_number)
             SELECT k.id, t.id, rb.owner_name, rb.owner_phone, rb.owner_id_number
               FROM rb JOIN unit_ids k ON k.building_id = rb.building_id
                                      AND k.number = rb.number, target t
              WHERE rb.owner_name <> ''
             ON CONFLICT (unit_id) DO UPDATE
                SET name = EXCLUDED.name, phone = EXCLUDED.phone, id_number = EXCLUDED.id_number
              WHERE (o.name, o.phone, o.id_number)
                    IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.phone, EXCLUDED.id_number)
             RETURNING o.unit_id)
SELECT (SELECT count(*) FROM target) AS projects,
       (SELECT count(*) FROM up WHERE inserted) AS inserted,
       (SELECT count(*) FROM (SELECT id FROM up WHERE NOT inserted UNION
                              SELECT unit_id FROM own
                               WHERE unit_id NOT IN (SELECT id FROM up WHERE inserted)) AS c)
           AS updated,
       (SELECT count(*) FROM new_buildings) AS buildings_created,
       CASE WHEN (SELECT count(*) FROM rb) = (SELECT count(*) FROM r) THEN 0
            ELSE cl_retry('a building of this import was created concurrently; retry')
       END AS placed;

-- Creates a contractor and the trades it covers. HQ admin only, by role. Parameters: $1
-- the idempotency key, $2 the name, $3 the trade codes (text[]).
-- @columns-of org_contractor_list
PREPARE org_contractor_create AS
WITH wanted AS (SELECT DISTINCT t AS trade FROM unnest($3::text[]) AS t),
     unknown AS (SELECT w.trade FROM wanted w
                  WHERE NOT EXISTS (SELECT 1 FROM trades tr WHERE tr.code = w.trade)
                  ORDER BY w.trade LIMIT 1),
     ins AS (INSERT INTO contractors (name, idem_key)
             SELECT $2::text, $1::text WHERE NOT EXISTS (SELECT 1 FROM unknown)
             ON CONFLICT (idem_key) DO NOTHING RETURNING *),
     ins_trades AS (INSERT INTO contractor_trades (contractor_id, trade)
                    SELECT i.id, w.trade FROM ins i, wanted w RETURNING trade),
     rec AS (SELECT * FROM ins UNION ALL
             SELECT * FROM contractors c
              WHERE c.idem_key = $1::text AND NOT EXISTS (SELECT 1 FROM ins)),
     rec_trades AS (SELECT trade FROM ins_trades UNION ALL
                    SELECT ct.trade FROM contractor_trades ct
                      JOIN rec ON ct.contractor_id = rec.id)
SELECT rec.id, rec.version,
       (extract(epoch FROM rec.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM rec.updated_at) * 1000)::bigint AS updated_ms,
       rec.name,
       (SELECT coalesce(string_agg(trade, ',' ORDER BY trade), '') FROM rec_trades) AS trades,
       NULL::text AS missing,
       (SELECT format('unknown trade %s', trade) FROM unknown) AS invalid
  FROM (VALUES (1)) AS one (x) LEFT JOIN rec ON true;

-- Contractors by name, with their trade codes comma-separated. Parameters: $1 whether
-- only the caller's own contractor is listed, $2 the caller's contractor.
PREPARE org_contractor_list AS
SELECT c.id, c.version,
       (extract(epoch FROM c.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM c.updated_at) * 1000)::bigint AS updated_ms,
       c.name,
       coalesce((SELECT string_agg(ct.trade, ',' ORDER BY ct.trade)
                   FROM contractor_trades ct WHERE ct.contractor_id = c.id), '') AS trades
  FROM contractors c
 WHERE NOT $1::boolean OR c.id = $2::bigint
 ORDER BY c.name, c.id;

-- Creates a user and the projects it works on. Parameters: $1..$4 the session scope, $5
-- the idempotency key, $6 the username, $7 the display name, $8 the role, $9 the company
-- (NULL: none), $10 the contractor (NULL: none), $11 the project ids (bigint[]), $12 the
-- Argon2id hash of the password, $13 the department (role dept; NULL: none), which must
-- be one of the user's company. The hash goes into the INSERT and nowhere else.
-- @columns-of org_user_list
PREPARE org_user_create AS
WITH missing AS (SELECT CASE
        WHEN $9::bigint IS NOT NULL AND NOT EXISTS (SELECT 1 FROM companies c
             WHERE c.id = $9::bigint AND cl_manages_company(c.id, $1::text, $2::bigint))
             THEN 'company'
        WHEN $10::bigint IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM contractors k WHERE k.id = $10::bigint)
             THEN 'contractor'
        WHEN $13::bigint IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM departments d
                              WHERE d.id = $13::bigint AND d.company_id = $9::bigint)
             THEN 'department of that company'
        ELSE (SELECT format('project %s', x) FROM unnest($11::bigint[]) AS x
               WHERE NOT EXISTS (SELECT 1 FROM projects p
                                  WHERE p.id = x
                                    AND cl_visible_project(p.id, $1::text, $2::bigint,
                                                           $3::bigint, $4::bigint[]))
               ORDER BY x LIMIT 1)
        END AS what),
     ins AS (INSERT INTO users (username, display_name, role, company_id, contractor_id,
                                password_hash, idem_key, department_id)
             SELECT $6::text, $7::text, $8::text, $9::bigint, $10::bigint, $12::text, $5::text,
                    $13::bigint
               FROM missing WHERE what IS NULL
             ON CONFLICT (idem_key) DO NOTHING
             RETURNING id, version, created_at, updated_at, username, display_name, role,
                       company_id, contractor_id, disabled, department_id),
     ins_projects AS (INSERT INTO user_projects (user_id, project_id)
                      SELECT i.id, x.id FROM ins i,
                             (SELECT DISTINCT unnest($11::bigint[]) AS id) AS x
                      RETURNING project_id),
     rec AS (SELECT * FROM ins UNION ALL
             SELECT u.id, u.version, u.created_at, u.updated_at, u.username, u.display_name,
                    u.role, u.company_id, u.contractor_id, u.disabled, u.department_id
               FROM users u
              WHERE u.idem_key = $5::text AND NOT EXISTS (SELECT 1 FROM ins)
                AND cl_visible_user(u.id, $1::text, $2::bigint, $3::bigint, NULL)),
     rec_projects AS (SELECT project_id FROM ins_projects UNION ALL
                      SELECT up.project_id FROM user_projects up JOIN rec ON up.user_id = rec.id)
SELECT rec.id, rec.version,
       (extract(epoch FROM rec.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM rec.updated_at) * 1000)::bigint AS updated_ms,
       rec.username, rec.display_name, rec.role,
       coalesce(rec.company_id, 0) AS company_id,
       coalesce(rec.contractor_id, 0) AS contractor_id,
       (SELECT coalesce(string_agg(project_id::text, ',' ORDER BY project_id), '')
          FROM rec_projects) AS project_ids,
       rec.disabled, coalesce(rec.department_id, 0) AS department_id,
       (SELECT what FROM missing) AS missing,
       NULL::text AS invalid
  FROM (VALUES (1)) AS one (x) LEFT JOIN rec ON true;

-- The users the caller sees, by username, with their project ids comma-separated; ids
-- outside the caller's scope are left out. Never a password hash. Parameters: $1..$4 the
-- session scope, $5 the caller's user id.
PREPARE org_user_list AS
SELECT u.id, u.version,
       (extract(epoch FROM u.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM u.updated_at) * 1000)::bigint AS updated_ms,
       u.username, u.display_name, u.role,
       coalesce(u.company_id, 0) AS company_id,
       coalesce(u.contractor_id, 0) AS contractor_id,
       coalesce((SELECT string_agg(up.project_id::text, ',' ORDER BY up.project_id)
                   FROM user_projects up
                  WHERE up.user_id = u.id
                    AND cl_visible_project(up.project_id, $1::text, $2::bigint, $3::bigint,
                                           $4::bigint[])), '') AS project_ids,
       u.disabled, coalesce(u.department_id, 0) AS department_id
  FROM users u
 WHERE cl_visible_user(u.id, $1::text, $2::bigint, $3::bigint, $5::bigint)
 ORDER BY u.username;

-- Assigns a project's trade to a contractor that covers it; an unchanged assignment is not
-- written. Parameters: $1..$4 the session scope, $5 the project, $6 the trade code, $7 the
-- contractor.
-- @columns-of org_trade_list
PREPARE org_trade_assign AS
WITH target AS (SELECT p.id FROM projects p
                 WHERE p.id = $5::bigint
                   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     who AS (SELECT k.id, k.name,
                    EXISTS (SELECT 1 FROM contractor_trades ct
                             WHERE ct.contractor_id = k.id AND ct.trade = $6::text) AS covers
               FROM contractors k WHERE k.id = $7::bigint),
     up AS (INSERT INTO project_trades (project_id, trade, contractor_id)
            SELECT t.id, $6::text, w.id FROM target t, who w WHERE w.covers
            ON CONFLICT (project_id, trade) DO UPDATE SET contractor_id = EXCLUDED.contractor_id
             WHERE project_trades.contractor_id <> EXCLUDED.contractor_id
            RETURNING project_id, trade, contractor_id, version),
     rec AS (SELECT * FROM up UNION ALL
             SELECT pt.project_id, pt.trade, pt.contractor_id, pt.version
               FROM project_trades pt, target t, who w
              WHERE pt.project_id = t.id AND pt.trade = $6::text AND pt.contractor_id = w.id
                AND w.covers AND NOT EXISTS (SELECT 1 FROM up))
SELECT rec.project_id, rec.trade, rec.contractor_id, k.name AS contractor_name, rec.version,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project'
            WHEN NOT EXISTS (SELECT 1 FROM who) THEN 'contractor' END AS missing,
       (SELECT format('contractor %s does not cover trade %s', left(w.name, 60), $6::text)
          FROM who w WHERE NOT w.covers) AS invalid
  FROM (VALUES (1)) AS one (x) LEFT JOIN rec ON true
  LEFT JOIN contractors k ON k.id = rec.contractor_id;

-- A project's trade assignments, by trade. Parameters: $1..$4 the session scope, $5 the
-- project, $6 whether only the caller's own contractor's assignments are listed. No row at
-- all: no such project; one row of NULLs: no assignments.
PREPARE org_trade_list AS
SELECT pt.project_id, pt.trade, pt.contractor_id, k.name AS contractor_name, pt.version
  FROM projects p
  LEFT JOIN (project_trades pt JOIN contractors k ON k.id = pt.contractor_id)
         ON pt.project_id = p.id AND (NOT $6::boolean OR pt.contractor_id = $3::bigint)
 WHERE p.id = $5::bigint
   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 ORDER BY pt.trade;

-- Adds what site staff call a trade on a project (an alias, 涂料 -> decoration), or points
-- an existing alias at another trade. Parameters: $1..$4 the session scope, $5 the
-- project, $6 the alias, $7 the trade as its code or Chinese name. An alias that is a
-- trade's code or Chinese name itself is refused (invalid): it already names a trade.
-- One row: the alias, or NULLs with missing (project) or invalid.
-- @columns-of org_trade_alias_list
PREPARE org_trade_alias_add AS
WITH target AS (SELECT p.id FROM projects p
                 WHERE p.id = $5::bigint
                   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     tr AS (SELECT t.code, t.name_zh FROM trades t
             WHERE t.code = $7::text OR t.name_zh = $7::text
             ORDER BY t.code = $7::text DESC LIMIT 1),
     taken AS (SELECT t.code FROM trades t WHERE t.code = $6::text OR t.name_zh = $6::text
               LIMIT 1),
     up AS (INSERT INTO trade_aliases AS a (project_id, alias, trade)
            SELECT t.id, $6::text, tr.code FROM target t, tr
             WHERE NOT EXISTS (SELECT 1 FROM taken)
            ON CONFLICT (project_id, alias) DO UPDATE SET trade = EXCLUDED.trade
             WHERE a.trade <> EXCLUDED.trade
            RETURNING a.project_id, a.alias, a.trade, a.version),
     rec AS (SELECT * FROM up UNION ALL
             SELECT a.project_id, a.alias, a.trade, a.version
               FROM trade_aliases a, target t, tr
              WHERE a.project_id = t.id AND a.alias = $6::text AND a.trade = tr.code
                AND NOT EXISTS (SELECT 1 FROM up) AND NOT EXISTS (SELECT 1 FROM taken))
SELECT rec.project_id, rec.alias, rec.trade, k.name_zh AS trade_name, rec.version,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project' END AS missing,
       CASE WHEN EXISTS (SELECT 1 FROM target) AND EXISTS (SELECT 1 FROM taken)
            THEN format('%s already names the trade %s; an alias is another word for a trade',
                        $6::text, (SELECT code FROM taken))
            WHEN EXISTS (SELECT 1 FROM target) AND NOT EXISTS (SELECT 1 FROM tr)
            THEN format('no such trade %s; use one of %s', left($7::text, 40),
                        (SELECT string_agg(format('%s (%s)', t.code, t.name_zh), ', '
                                           ORDER BY t.code) FROM trades t))
       END AS invalid
  FROM (VALUES (1)) AS one (x) LEFT JOIN rec ON true
  LEFT JOIN trades k ON k.code = rec.trade;

-- A project's trade aliases, by alias. Parameters: $1..$4 the session scope, $5 the
-- project. No row at all: no such project; one row of NULLs: no aliases.
PREPARE org_trade_alias_list AS
SELECT a.project_id, a.alias, a.trade, k.name_zh AS trade_name, a.version
  FROM projects p
  LEFT JOIN (trade_aliases a JOIN trades k ON k.code = a.trade) ON a.project_id = p.id
 WHERE p.id = $5::bigint
   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 ORDER BY a.alias;
