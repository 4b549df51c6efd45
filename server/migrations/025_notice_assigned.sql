-- 025_notice_assigned.sql - notices addressed to a contractor, and the `assigned` notice
-- a contractor's users get when tickets become theirs (issue 12, docs/WATCH.md).
--
-- notices.contractor_id: a notice for every user of that contractor (and nobody else),
-- beside 022's user_id (one user) and project (everyone who sees the project).
--
-- When a statement makes tickets a contractor's (create with a dispatch by trade,
-- dispatch, reassign: a ticket_events row with action create|dispatch|reassign, to_state
-- 'open' and its contractor), a statement trigger writes ONE INSERT: one notice per
-- contractor and project the statement touched, however many tickets (an import of 2,000
-- items is one notice per contractor and project, not 2,000), and NOTIFYs
-- closeloop_notices with each new id, as cl_notice does. The notice commits, and wakes the
-- daemons, with the change itself.

ALTER TABLE notices ADD COLUMN contractor_id bigint REFERENCES contractors (id);
ALTER TABLE notices ADD CHECK (user_id IS NULL OR contractor_id IS NULL);

-- As cl_notice, addressed to every user of one contractor.
CREATE FUNCTION cl_notice_contractor(p_kind text, p_project bigint, p_contractor bigint,
                                     p_subject text, p_body text)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    nid bigint;
BEGIN
    INSERT INTO notices (kind, company_id, project_id, contractor_id, subject, body)
    VALUES (p_kind, (SELECT p.company_id FROM projects p WHERE p.id = p_project), p_project,
            p_contractor, p_subject, p_body)
    RETURNING id INTO nid;
    PERFORM pg_notify('closeloop_notices', nid::text);
    RETURN nid;
END $$;

CREATE FUNCTION cl_notice_assigned() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    nid bigint;
BEGIN
    FOR nid IN
    WITH made AS (
        SELECT e.project_id, e.contractor_id, count(*) AS n,
               min(t.number) AS first_no, max(t.number) AS last_no,
               min(e.ticket_id::text) AS ticket
          FROM assigned_rows e
          JOIN tickets t ON t.id = e.ticket_id
         WHERE e.action IN ('create', 'dispatch', 'reassign') AND e.to_state = 'open'
           AND e.contractor_id IS NOT NULL
         GROUP BY e.project_id, e.contractor_id),
    ins AS (
        INSERT INTO notices (kind, company_id, project_id, contractor_id, subject, body)
        SELECT 'assigned', p.company_id, m.project_id, m.contractor_id,
               CASE WHEN m.n = 1 THEN 'ticket:' || m.ticket
                    ELSE 'tickets:' || m.project_id || ':' || m.n END,
               left(CASE WHEN m.n = 1
                         THEN format('项目「%s」第 %s 号工单派给了您。', p.name, m.first_no)
                         ELSE format('项目「%s」%s 张工单派给了您（第 %s 至 %s 号）。',
                                     p.name, m.n, m.first_no, m.last_no) END, 400)
          FROM made m JOIN projects p ON p.id = m.project_id
        RETURNING id)
    SELECT ins.id FROM ins
    LOOP
        PERFORM pg_notify('closeloop_notices', nid::text);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER ticket_events_assigned AFTER INSERT ON ticket_events
    REFERENCING NEW TABLE AS assigned_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cl_notice_assigned();
