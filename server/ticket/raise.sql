-- raise.sql - raising the repair tickets of newly recorded inspection items: dispatch to
-- the project's contractor of the item's trade, the deadline from the project's presets,
-- the project's next ticket number and the 'create' event. It is a function of the ticket
-- area, cl_ticket_raise, that the item statement (insp_item_record in
-- server/inspection/inspection.sql) calls with the ids of the items it has just inserted,
-- so that recording a batch stays one statement. The daemon defines it at every start,
-- after the migrations (see "Functions" in server/engine/sqlgen.py).
--
-- Every inspection item has its ticket (same UUID): the only statement that inserts items
-- calls this function for them in the same statement. The function is VOLATILE, so its
-- statement runs after the caller's inserts with a new snapshot and sees the new items; it
-- takes no scope, because the caller has checked each item's project against the session.

-- Raises the ticket of every item of p_items that has none yet: dispatched ('open') to the
-- project's contractor of the item's trade, else 'dispatch' for manual dispatch; found on
-- the item's day (found_on = inspected_on), and the deadline counted from that day by the
-- project's presets (cl_ticket_deadline), however late it is typed in (raised_at is the
-- typing time); the next number of the project's sequence, in p_items' order; and the
-- ticket's 'create' event by p_actor (p_actor_name).
-- Returns the tickets raised, as rows of the view ticket_rows, computed the view's way
-- from the inserts' RETURNING (this statement cannot see them through the view; a second
-- statement reading them through it cost ~40 more buffer accesses per item). Keep these
-- columns in step with the view: the function's RETURNS SETOF checks their types.
-- PL/pgSQL rather than SQL, because PL/pgSQL keeps the statement's plan for the session
-- while an SQL function plans its body again at every call.
CREATE OR REPLACE FUNCTION cl_ticket_raise(p_items uuid[], p_actor bigint, p_actor_name text)
RETURNS SETOF ticket_rows LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN QUERY SELECT * FROM cl_ticket_raise_to(p_items, NULL, p_actor, p_actor_name);
END $$;

-- cl_ticket_raise, dispatched to contractor p_contractor instead of the project's
-- contractor of the trade when it is not NULL (a warranty report's chosen repairer).
CREATE OR REPLACE FUNCTION cl_ticket_raise_to(p_items uuid[], p_contractor bigint,
                                              p_actor bigint, p_actor_name text)
RETURNS SETOF ticket_rows LANGUAGE plpgsql VOLATILE AS $$
BEGIN
RETURN QUERY
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
                            coalesce(p_contractor, pt.contractor_id) AS contractor_id
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
SELECT t.id::text AS id, t.project_id, t.number, p.name AS project_name, b.name AS building,
       u.number AS unit, r.kind AS round, i.location, t.category, i.description, t.severity,
       t.state, coalesce(t.contractor_id, 0) AS contractor_id,
       coalesce(k.name, '') AS contractor_name, t.rework_count,
       coalesce(to_char(t.deadline, 'YYYY-MM-DD'), '') AS deadline,
       cl_ticket_timeliness(t.state, t.deadline, t.closed_at) AS timeliness,
       (extract(epoch FROM t.raised_at) * 1000)::bigint AS raised_at_ms,
       (extract(epoch FROM t.updated_at) * 1000)::bigint AS updated_at_ms, t.version,
       t.last_note, greatest(current_date - t.found_on, 0) AS age_days,
       coalesce(i.found_again_of::text, '') AS found_again_of, t.id AS key_id,
       t.contractor_id AS key_contractor_id, t.raised_at AS key_raised_at,
       to_char(t.found_on, 'YYYY-MM-DD') AS found_on,
       greatest(t.raised_at::date - t.found_on, 0) AS entry_lag_days,
       t.found_on AS key_found_on, coalesce(tt.name_zh, t.category) AS category_name
  FROM tix t JOIN x ON x.item_id = t.id
  JOIN inspection_items i ON i.id = t.id
  JOIN units u ON u.id = i.unit_id
  JOIN buildings b ON b.id = u.building_id
  JOIN projects p ON p.id = t.project_id
  JOIN inspection_rounds r ON r.id = i.round_id
  LEFT JOIN contractors k ON k.id = t.contractor_id
  LEFT JOIN trades tt ON tt.code = t.category
 ORDER BY x.ord;
END
$$;
