-- dept.sql - departments (部门) of a company with their function (kind), superior
-- department and leader (server/defect/dept.c): the defect workflow asks them who acts.
-- Scoped statements take the session scope first ($1..$4, as org.sql). A department is
-- returned as dept_list's columns.

-- Creates a department of a company the caller manages. Parameters: $1..$4 the session
-- scope, $5 the idempotency key, $6 the company, $7 the name, $8 the kind, $9 the superior
-- department (NULL: none; of the same company or of its parent company).
-- @columns-of dept_list
PREPARE dept_create AS
WITH target AS (SELECT c.id, c.parent_id FROM companies c
                 WHERE c.id = $6::bigint AND cl_manages_company(c.id, $1::text, $2::bigint)),
     parent AS (SELECT d.id FROM departments d, target t
                 WHERE d.id = $9::bigint
                   AND (d.company_id = t.id OR d.company_id = t.parent_id)),
     ins AS (INSERT INTO departments (company_id, name, kind, parent_id, idem_key)
             SELECT t.id, $7::text, $8::text, $9::bigint, $5::text FROM target t
              WHERE $9::bigint IS NULL OR EXISTS (SELECT 1 FROM parent)
             ON CONFLICT (idem_key) DO NOTHING RETURNING *),
     rec AS (SELECT * FROM ins UNION ALL
             SELECT * FROM departments d
              WHERE d.idem_key = $5::text AND NOT EXISTS (SELECT 1 FROM ins)
                AND cl_visible_company(d.company_id, $1::text, $2::bigint, $3::bigint,
                                       $4::bigint[]))
SELECT rec.id, rec.version,
       (extract(epoch FROM rec.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM rec.updated_at) * 1000)::bigint AS updated_ms,
       rec.company_id, rec.name, rec.kind, coalesce(rec.parent_id, 0) AS parent_id,
       coalesce(pd.name, '') AS parent_name, coalesce(rec.leader_user_id, 0) AS leader_user_id,
       coalesce(lu.username, '') AS leader,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'company'
            WHEN $9::bigint IS NOT NULL AND NOT EXISTS (SELECT 1 FROM parent)
                THEN 'superior department of that company or its parent company' END AS missing,
       NULL::text AS invalid
  FROM (VALUES (1)) AS one (x) LEFT JOIN rec ON true
  LEFT JOIN departments pd ON pd.id = rec.parent_id
  LEFT JOIN users lu ON lu.id = rec.leader_user_id;

-- The departments the caller sees, by company and name. Parameters: $1..$4 the session
-- scope, $5 the company (0: every company in scope).
PREPARE dept_list AS
SELECT d.id, d.version,
       (extract(epoch FROM d.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM d.updated_at) * 1000)::bigint AS updated_ms,
       d.company_id, d.name, d.kind, coalesce(d.parent_id, 0) AS parent_id,
       coalesce(pd.name, '') AS parent_name, coalesce(d.leader_user_id, 0) AS leader_user_id,
       coalesce(lu.username, '') AS leader
  FROM departments d
  LEFT JOIN departments pd ON pd.id = d.parent_id
  LEFT JOIN users lu ON lu.id = d.leader_user_id
 WHERE cl_visible_company(d.company_id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
   AND ($5::bigint = 0 OR d.company_id = $5::bigint)
 ORDER BY d.company_id, d.name, d.id;

-- Sets the leader (主管领导) of a department of a company the caller manages: a member of
-- that department (role dept, department_id), so that the leader who approves a
-- non-repairable defect is of the superior department and never of the responsible one
-- (nor customer relations making itself the approver). Parameters: $1..$4 the session
-- scope, $5 the department, $6 the username.
-- @columns-of dept_list
PREPARE dept_leader AS
WITH target AS (SELECT d.id, d.company_id FROM departments d
                 WHERE d.id = $5::bigint AND cl_manages_company(d.company_id, $1::text, $2::bigint)
                   AND cl_visible_company(d.company_id, $1::text, $2::bigint, $3::bigint,
                                          $4::bigint[])),
     who AS (SELECT u.id FROM users u, target t
              WHERE u.username = $6::text AND u.role = 'dept' AND u.department_id = t.id
                AND NOT u.disabled),
     upd AS (UPDATE departments d SET leader_user_id = who.id FROM who, target t
              WHERE d.id = t.id RETURNING d.*)
SELECT upd.id, upd.version,
       (extract(epoch FROM upd.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM upd.updated_at) * 1000)::bigint AS updated_ms,
       upd.company_id, upd.name, upd.kind, coalesce(upd.parent_id, 0) AS parent_id,
       coalesce(pd.name, '') AS parent_name, coalesce(upd.leader_user_id, 0) AS leader_user_id,
       coalesce(lu.username, '') AS leader,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'department'
            WHEN NOT EXISTS (SELECT 1 FROM who)
                 THEN 'member of the department (role dept, --department) named ' || $6::text
            END AS missing,
       NULL::text AS invalid
  FROM (VALUES (1)) AS one (x) LEFT JOIN upd ON true
  LEFT JOIN departments pd ON pd.id = upd.parent_id
  LEFT JOIN users lu ON lu.id = upd.leader_user_id;
