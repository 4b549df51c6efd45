-- raise.sql - raising the repair tickets of newly recorded inspection items, and reading
-- a batch's tickets back. server/inspection/inspection.c runs them in the batch that
-- records the items (insp_item_record, then ticket_raise, then ticket_of_items: one
-- transaction, one round trip), so each sees what the statements before it wrote.
--
-- Every inspection item has its ticket (same UUID): the only statements that insert
-- items are followed by ticket_raise in the same transaction. An item that exists
-- without a ticket is therefore one this transaction has just recorded, whose project
-- insp_item_record has checked against the session scope; so neither statement here
-- takes the scope. A concurrent transaction recording the same item id cannot slip in
-- between: insp_item_record's insert waits for it to end, and then this statement's
-- snapshot sees its ticket.

-- Raises the ticket of every item of the batch that has none yet: dispatched ('open')
-- to the project's contractor of the item's trade, else 'dispatch' for manual dispatch;
-- deadline from the project's presets (cl_ticket_deadline); the next number of the
-- project's sequence, in the batch's order; and the ticket's 'create' event. One row:
-- how many tickets were raised. Parameters: $1 the actor's user id, $2 the actor's username, $3 the batch's item ids
-- in its order.
PREPARE ticket_raise AS
WITH tix AS (INSERT INTO tickets (id, project_id, number, state, contractor_id, category,
                                  severity, deadline, raised_at)
             SELECT n.id, n.project_id, cl_next_ticket_number(n.project_id),
                    CASE WHEN n.contractor_id IS NULL THEN 'dispatch' ELSE 'open' END,
                    n.contractor_id, n.category, n.severity,
                    cl_ticket_deadline(n.project_id, n.category, n.severity, now()), now()
               FROM (SELECT i.id, i.project_id, i.category, i.severity, pt.contractor_id
                       FROM unnest($3::uuid[]) WITH ORDINALITY AS x (item_id, ord)
                       JOIN inspection_items i ON i.id = x.item_id
                       LEFT JOIN project_trades pt
                              ON pt.project_id = i.project_id AND pt.trade = i.category
                      WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = i.id)
                      ORDER BY x.ord) AS n
             RETURNING id, project_id, state, contractor_id),
     ev AS (INSERT INTO ticket_events (ticket_id, project_id, actor_user_id, actor, action,
                                       from_state, to_state, contractor_id)
            SELECT t.id, t.project_id, $1::bigint, $2::text, 'create', NULL, t.state,
                   t.contractor_id
              FROM tix t
            RETURNING 1)
SELECT count(*) AS raised FROM ev;

-- The tickets of a batch's items, in the batch's order, each with its item's position
-- (ord, 1-based); an item without a ticket has no row. Parameters: $1 the item ids.
-- @columns-of ticket_rows
PREPARE ticket_of_items AS
SELECT tr.*, x.ord
  FROM ticket_rows tr
  JOIN unnest($1::uuid[]) WITH ORDINALITY AS x (item_id, ord) ON x.item_id = tr.key_id
 ORDER BY x.ord;
