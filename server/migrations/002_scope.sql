-- 002_scope.sql - what a session may see, as SQL predicates every scoped query uses.
--
-- The daemon passes the session's scope to each statement as four parameters, always in
-- this order: role name (users.role), company id, contractor id, project id array
-- (NULL/empty when the role has none). The role was already checked against the
-- operation before the statement runs; these functions only narrow the rows. A row
-- outside the scope is filtered out exactly like a missing one, so the caller cannot
-- tell "exists but not yours" from "does not exist" (docs/AUTHZ.md).
--
-- Use them on a key that is already fixed (a parameter, or the one row an index lookup
-- found): with only parameters as arguments the planner evaluates the call once, as a
-- one-time filter, and the query stays an index scan. To enumerate the visible projects
-- use cl_visible_projects(), which is inlined and reads only the index of the role's
-- branch, instead of calling cl_visible_project() on every row of projects.

-- The projects a role sees:
--   hq_admin, hq_analyst          every project
--   cr                            the projects of their company
--   contractor                    the projects where their contractor has a trade
--   clerk, verifier, property     their assigned projects
--   anything else                 none
CREATE FUNCTION cl_visible_project(p_project bigint, p_role text, p_company bigint,
                                   p_contractor bigint, p_projects bigint[])
RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF p_project IS NULL THEN
        RETURN false;
    END IF;
    CASE p_role
        WHEN 'hq_admin', 'hq_analyst' THEN
            RETURN true;
        WHEN 'cr' THEN
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

-- The same set as rows, for lists. A single SQL query without a sub-select, so the
-- planner inlines it: the role tests become one-time filters and only the matching
-- branch runs (projects by company: projects_company_id_name_key; by contractor:
-- project_trades_contractor; by assignment: the primary key).
CREATE FUNCTION cl_visible_projects(p_role text, p_company bigint, p_contractor bigint,
                                    p_projects bigint[])
RETURNS TABLE (project_id bigint) LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT p.id FROM projects p
     WHERE p_role IN ('hq_admin', 'hq_analyst')
    UNION ALL
    SELECT p.id FROM projects p
     WHERE p_role = 'cr' AND p.company_id = p_company
    UNION ALL
    SELECT DISTINCT pt.project_id FROM project_trades pt
     WHERE p_role = 'contractor' AND pt.contractor_id = p_contractor
    UNION ALL
    SELECT p.id FROM projects p
     WHERE p_role IN ('clerk', 'verifier', 'property') AND p.id = ANY (p_projects)
$$;

-- The companies a role sees: HQ every company; cr their own; the others the companies
-- owning a project they see.
CREATE FUNCTION cl_visible_company(p_company_id bigint, p_role text, p_company bigint,
                                   p_contractor bigint, p_projects bigint[])
RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF p_company_id IS NULL THEN
        RETURN false;
    END IF;
    CASE p_role
        WHEN 'hq_admin', 'hq_analyst' THEN
            RETURN true;
        WHEN 'cr' THEN
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

-- The companies a role may create projects and users in: HQ admin any, cr their own.
-- Seeing a company (a clerk sees the company of their project) is not managing it.
CREATE FUNCTION cl_manages_company(p_company_id bigint, p_role text, p_company bigint)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p_role = 'hq_admin' OR (p_role = 'cr' AND p_company_id = p_company), false)
$$;

-- The users a role sees: HQ every user; cr the users of their company and the users
-- working on its projects; a contractor the users of their contractor; everyone
-- themselves (p_self).
CREATE FUNCTION cl_visible_user(p_user bigint, p_role text, p_company bigint,
                                p_contractor bigint, p_self bigint)
RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF p_user IS NULL THEN
        RETURN false;
    END IF;
    IF p_user = p_self OR p_role IN ('hq_admin', 'hq_analyst') THEN
        RETURN true;
    END IF;
    CASE p_role
        WHEN 'cr' THEN
            RETURN EXISTS (SELECT 1 FROM users u WHERE u.id = p_user AND u.company_id = p_company)
                OR EXISTS (SELECT 1 FROM user_projects up JOIN projects p ON p.id = up.project_id
                           WHERE up.user_id = p_user AND p.company_id = p_company);
        WHEN 'contractor' THEN
            RETURN EXISTS (SELECT 1 FROM users u
                           WHERE u.id = p_user AND u.contractor_id = p_contractor);
        ELSE
            RETURN false;
    END CASE;
END $$;

-- Aborts the statement with SQLSTATE 40001, which the daemon reports as a retryable
-- conflict: for a statement that finds the database changed under it mid-way (a row a
-- concurrent transaction committed after this statement's snapshot).
CREATE FUNCTION cl_retry(p_message text) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', p_message USING ERRCODE = '40001';
END $$;
