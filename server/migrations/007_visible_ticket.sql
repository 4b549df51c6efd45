-- 007_visible_ticket.sql - who sees a ticket, defined once: a contractor the tickets
-- assigned to it now, every other role the tickets of the projects in its scope. A plain
-- SQL expression, so the planner inlines it into the statements that filter with it.
CREATE FUNCTION cl_visible_ticket(p_project bigint, p_ticket_contractor bigint, p_role text,
                                  p_company bigint, p_contractor bigint, p_projects bigint[])
RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_role = 'contractor' THEN p_ticket_contractor = p_contractor
                ELSE cl_visible_project(p_project, p_role, p_company, p_contractor, p_projects)
           END
$$;
