-- raise.sql - raising the repair tickets of newly recorded inspection items: dispatch to
-- the project's contractor of the item's trade, the deadline from the project's presets,
-- the project's next ticket number and the 'create' event. It is a function of the ticket
-- area, cl_ticket_raise, that the item statement (insp_item_record in
-- server/inspection/inspection.sql) calls with the ids of the items it has just inserted,
-- so that recording a batch stays one statement. The daemon defines it at every start,
-- after the migrations (see "Functions" in server/engine/sqlgen.py).
--
-- Every inspection item has its ticket (same UUID): the only statement that inserts items
-- calls this function for them in the same statement. The function is VOLATILE, so each
-- of its statements runs with a new snapshot and sees what ran before it: the first sees
-- the caller's new items, the second the tickets the first raised. It takes no scope, because the caller has checked each item's project against the session.

-- Raises the ticket of every item of p_items that has none yet: dispatched ('open') to the
-- project's contractor of the item's trade, else 'dispatch' for manual dispatch; found on
-- the item's day (found_on = inspected_on), and the deadline counted from that day by the
-- project's presets (cl_ticket_deadline), however late it is typed in (raised_at is the
-- typing time); the next number of the project's sequence, in p_items' order; and the
-- ticket's 'create' event by p_actor (p_actor_name).
-- Returns the tickets raised, in p_items' order, as the view ticket_rows shows them: a
-- second statement of this VOLATILE function, so it sees the first one's inserts.
-- PL/pgSQL rather than SQL, because PL/pgSQL keeps its statements' plans for the session
-- while an SQL function plans its body again at every call.
CREATE OR REPLACE FUNCTION cl_ticket_raise(p_items uuid[], p_actor bigint, p_actor_name text)
RETURNS SETOF ticket_rows LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    raised uuid[];
BEGIN
    WITH x AS (SELECT * FROM unnest(p_items) WITH ORDINALITY AS x (item_id, ord)),
         tix AS (INSERT INTO tickets (id, project_id, number, state, contractor_id, category,
                                      severity, deadline, raised_at, found_on)
                 SELECT n.id, n.project_id, cl_next_ticket_number(n.project_id),
                        CASE WHEN n.contractor_id IS NULL THEN 'dispatch' ELSE 'open' END,
                        n.contractor_id, n.category, n.severity,
                        cl_ticket_deadline(n.project_id, n.category, n.severity,
                                           n.inspected_on::timestamptz),
                        now(), n.inspected_on
                   FROM (SELECT i.id, i.project_id, i.category, i.severity, i.inspected_on,
                                pt.contractor_id
                           FROM x JOIN inspection_items i ON i.id = x.item_id
                           LEFT JOIN project_trades pt
                                  ON pt.project_id = i.project_id AND pt.trade = i.category
                          WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = i.id)
                          ORDER BY x.ord) AS n
                 RETURNING *),
         ev AS (INSERT INTO ticket_events (ticket_id, project_id, actor_user_id, actor, action,
                                           from_state, to_state, contractor_id)
                SELECT t.id, t.project_id, p_actor, p_actor_name, 'create', NULL, t.state,
                       t.contractor_id
                  FROM tix t)
    SELECT array_agg(t.id) INTO raised FROM tix t;
    RETURN QUERY
    SELECT tr.* FROM ticket_rows tr
      JOIN unnest(p_items) WITH ORDINALITY AS x (item_id, ord) ON x.item_id = tr.key_id
     WHERE tr.key_id = ANY (raised)
     ORDER BY x.ord;
END
$$;
