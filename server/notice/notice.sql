-- notice.sql - the notices of server/notice/notice.c (tables: migrations 022 and 025).

-- Whether a session (role, company, contractor, projects, user) may see a notice: the
-- notice's user when it names one; else the users of its contractor when it names one;
-- else everyone who sees its project (cl_visible_project); else, with only a company,
-- the HQ roles and the company's cr, dept and warranty staff; with neither, the HQ roles
-- (hq_admin, hq_analyst, hotline). notice.c's notice_visible() is the same rule in C for
-- the pushes; tests/integration/test_watch.sh holds both to it.
CREATE OR REPLACE FUNCTION cl_notice_visible(n_user bigint, n_contractor bigint,
                                             n_project bigint, n_company bigint,
                                             p_role text, p_company bigint,
                                             p_contractor bigint, p_projects bigint[],
                                             p_user bigint)
RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN n_user IS NOT NULL THEN n_user = p_user
        WHEN n_contractor IS NOT NULL THEN p_role = 'contractor' AND n_contractor = p_contractor
        WHEN n_project IS NOT NULL THEN
            cl_visible_project(n_project, p_role, p_company, p_contractor, p_projects)
        WHEN n_company IS NOT NULL THEN
            p_role IN ('hq_admin', 'hq_analyst', 'hotline')
            OR (p_role IN ('cr', 'dept', 'warranty') AND n_company = p_company)
        ELSE p_role IN ('hq_admin', 'hq_analyst', 'hotline')
    END
$$;

-- The notices a listener was told of ($1: their ids), and with $2 those after id $2 (the
-- LISTEN connection came back: what was sent meanwhile), oldest first, at most 1000. With
-- what notice.c needs to decide who may see each: the contractors with a trade on its
-- project (cl_visible_project's rule for a contractor).
PREPARE notice_read AS
SELECT n.id, (extract(epoch FROM n.at) * 1000)::bigint AS at_ms, n.kind,
       coalesce(n.company_id, 0) AS company_id, coalesce(n.project_id, 0) AS project_id,
       coalesce(n.user_id, 0) AS user_id, coalesce(n.contractor_id, 0) AS contractor_id,
       n.subject, n.body,
       array(SELECT DISTINCT pt.contractor_id FROM project_trades pt
              WHERE pt.project_id = n.project_id ORDER BY 1)::text AS project_contractors
  FROM notices n
 WHERE n.id = ANY ($1::bigint[]) OR n.id > $2::bigint
 ORDER BY n.id
 LIMIT 1000;

-- A watcher's catch-up: the newest notice id now (last_id: where a watcher resumes),
-- and the notices after id $6 the session (scope $1..$4, user $5) may see, oldest first, at
-- most $7 (0: none); one row with a NULL id when there are none.
PREPARE notice_since AS
SELECT l.last_id, c.id, c.at_ms, c.kind, c.project_id, c.subject, c.body
  FROM (SELECT coalesce(max(n.id), 0) AS last_id FROM notices n) l
  LEFT JOIN LATERAL (
        SELECT n.id, (extract(epoch FROM n.at) * 1000)::bigint AS at_ms, n.kind,
               coalesce(n.project_id, 0) AS project_id, n.subject, n.body
          FROM notices n
         WHERE n.id > $6::bigint
           AND cl_notice_visible(n.user_id, n.contractor_id, n.project_id, n.company_id,
                                 $1::text, $2::bigint, $3::bigint, $4::bigint[], $5::bigint)
         ORDER BY n.id
         LIMIT $7::int) c ON true
 ORDER BY c.id;
