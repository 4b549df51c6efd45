-- ticket.sql - the repair loop's statements: a ticket's transitions, its whole history,
-- and the morning lists (a contractor's to-repair list, a project's to-verify list, the
-- to-dispatch list). Every ticket comes back as the columns of the view ticket_rows
-- (server/migrations/005_ticket_rows.sql), read in C with CL_COL(ticket_rows, ...).
--
-- Every statement takes the session scope first: $1 role, $2 company, $3 contractor,
-- $4 the user's projects. A contractor sees only the tickets assigned to it now; every
-- other role the tickets of the projects in its scope (cl_visible_ticket, migration
-- 007), so a ticket out of scope reads exactly like a missing one. Tickets carry no owner data at all.

-- A transition: $5 the ticket's uuid (NULL: by number), $6 project, $7 number, $8
-- action, $9 the state it leads to, $10 the states it applies to (text[]), $11 the
-- expected version (0: any), $12 contractor keep|set|clear, $13 the new contractor (NULL
-- unless set), $14 rework, $15 note, $16 the actor's user id, $17 the actor's username,
-- $18 the request's idempotency key (NULL: none), claimed before by request_key_claim:
-- when nothing changed, the claim is deleted ("unclaim"), so a retry may succeed.
-- "old" locks the row and, after waiting for a concurrent writer, sees its newest
-- version, so the state test is against what is committed now: of two racing
-- verifications the second waits, then finds the ticket closed. One row: whether it
-- changed; else whether it was found, its state, version and number now, and whether
-- the new contractor exists. ticket_changed then reads the changed ticket.
PREPARE ticket_transition AS
WITH old AS (SELECT t.id, t.number, t.state, t.version, t.contractor_id FROM tickets t
              WHERE (t.id = $5::uuid OR (t.project_id = $6::bigint AND t.number = $7::int))
                AND cl_visible_ticket(t.project_id, t.contractor_id, $1::text, $2::bigint,
                                      $3::bigint, $4::bigint[])
                FOR UPDATE OF t),
     kon AS (SELECT k.id FROM contractors k WHERE k.id = $13::bigint),
     upd AS (UPDATE tickets t
                SET state = $9::text,
                    contractor_id = CASE $12::text WHEN 'set' THEN $13::bigint
                                                   WHEN 'clear' THEN NULL
                                                   ELSE t.contractor_id END,
                    rework_count = t.rework_count + CASE WHEN $14::boolean THEN 1 ELSE 0 END,
                    last_note = CASE WHEN $15::text <> '' THEN $15::text ELSE t.last_note END,
                    closed_at = CASE WHEN $9::text IN ('closed', 'nofix') THEN now() END
               FROM old
              WHERE t.id = old.id AND old.state = ANY ($10::text[])
                AND ($11::bigint = 0 OR old.version = $11::bigint)
                AND ($12::text <> 'set' OR EXISTS (SELECT 1 FROM kon))
              RETURNING t.id, t.project_id, t.state, t.contractor_id,
                        old.state AS from_state, old.contractor_id AS old_contractor_id),
     ev AS (INSERT INTO ticket_events (ticket_id, project_id, actor_user_id, actor, action,
                                       from_state, to_state, note, contractor_id)
            SELECT id, project_id, $16::bigint, $17::text, $8::text, from_state, state,
                   $15::text, coalesce(contractor_id, old_contractor_id) FROM upd),
     unclaim AS (DELETE FROM request_keys k
                  WHERE k.user_id = $16::bigint AND k.key = $18::text
                    AND NOT EXISTS (SELECT 1 FROM upd))
SELECT EXISTS (SELECT 1 FROM upd) AS changed,
       (SELECT count(*) FROM old) AS found,
       (SELECT state FROM old) AS state,
       (SELECT version FROM old) AS version,
       (SELECT number FROM old) AS number,
       EXISTS (SELECT 1 FROM kon) AS contractor_exists;

-- The ticket that this transaction has just changed ($1 uuid or NULL, $2 project, $3
-- number, $4 the actor's user id): the one with an event of this actor in this
-- transaction (now() is the transaction's start). After a return or a reassignment the
-- actor may no longer see it, yet it is told what it did.
PREPARE ticket_changed AS
SELECT tr.* FROM ticket_rows tr
 WHERE (tr.key_id = $1::uuid OR (tr.project_id = $2::bigint AND tr.number = $3::int))
   AND EXISTS (SELECT 1 FROM ticket_events e
                WHERE e.ticket_id = tr.key_id AND e.at = now() AND e.actor_user_id = $4::bigint);

-- A retried transition whose idempotency key was already used (request_key_claim
-- failed): the ticket as it is now ($5 uuid, $6 project, $7 number), when the caller may
-- see it or acted on it (after a return it may no longer see it, yet is told what it
-- did), and other_request: the key $9 of user $8 was claimed by another kind of request
-- than message type $10; other_target: the key's transaction (request_keys.at and the
-- event's at are both its now()) made no $11 event of this user on this ticket, so the key
-- was used for another ticket or another action, and replaying it would answer a success
-- for a change never made. One row; the ticket's columns NULL when it is not found.
-- @columns-of ticket_rows
PREPARE ticket_replay AS
SELECT tr.*, k.msg_type <> $10::int AS other_request,
       NOT EXISTS (SELECT 1 FROM ticket_events e
                    WHERE e.ticket_id = tr.key_id AND e.actor_user_id = $8::bigint
                      AND e.at = k.at AND e.action = $11::text) AS other_target
  FROM request_keys k
  LEFT JOIN ticket_rows tr
    ON (tr.key_id = $5::uuid OR (tr.project_id = $6::bigint AND tr.number = $7::int))
   AND (cl_visible_ticket(tr.project_id, tr.key_contractor_id, $1::text, $2::bigint,
                          $3::bigint, $4::bigint[])
        OR EXISTS (SELECT 1 FROM ticket_events e
                    WHERE e.ticket_id = tr.key_id AND e.actor_user_id = $8::bigint))
 WHERE k.user_id = $8::bigint AND k.key = $9::text;

-- A ticket's history, three statements in one batch: the ticket with who found it and
-- when ($5 uuid, $6 project, $7 number), its events oldest first, its photos' SHA-256.
-- @columns-of ticket_rows
PREPARE ticket_show AS
SELECT tr.*, i.inspector AS inspector,
       coalesce(to_char(i.inspected_on, 'YYYY-MM-DD'), '') AS inspected_on
  FROM ticket_rows tr JOIN inspection_items i ON i.id = tr.key_id
 WHERE (tr.key_id = $5::uuid OR (tr.project_id = $6::bigint AND tr.number = $7::int))
   AND cl_visible_ticket(tr.project_id, tr.key_contractor_id, $1::text, $2::bigint, $3::bigint,
                         $4::bigint[]);

PREPARE ticket_show_events AS
SELECT e.id AS id, (extract(epoch FROM e.at) * 1000)::bigint AS at_ms, e.actor AS actor,
       e.action AS action, coalesce(e.from_state, '') AS from_state, e.to_state AS to_state,
       e.note AS note, coalesce(e.contractor_id, 0) AS contractor_id,
       coalesce(k.name, '') AS contractor_name
  FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id
  LEFT JOIN contractors k ON k.id = e.contractor_id
 WHERE (t.id = $5::uuid OR (t.project_id = $6::bigint AND t.number = $7::int))
   AND cl_visible_ticket(t.project_id, t.contractor_id, $1::text, $2::bigint, $3::bigint,
                         $4::bigint[])
 ORDER BY e.id;

-- @binary-result
PREPARE ticket_show_photos AS
SELECT ph.sha256 AS sha256
  FROM tickets t JOIN item_photos ph ON ph.item_id = t.id
 WHERE (t.id = $5::uuid OR (t.project_id = $6::bigint AND t.number = $7::int))
   AND cl_visible_ticket(t.project_id, t.contractor_id, $1::text, $2::bigint, $3::bigint,
                         $4::bigint[])
 ORDER BY ph.sha256;

-- Whether the contractor $5 exists, and whether the project filter $6 (0: all) names a
-- project in scope: the to-repair list's "no such contractor or project".
PREPARE ticket_todo_check AS
SELECT EXISTS (SELECT 1 FROM contractors c WHERE c.id = $5::bigint) AS contractor_exists,
       $6::bigint = 0 OR $1::text = 'contractor'
       OR cl_visible_project($6::bigint, $1::text, $2::bigint, $3::bigint, $4::bigint[])
           AS project_visible;

-- A project ($5) for a list: a contractor (perhaps a third-party repairer with no trade
-- on the project) is never told a project is missing: its list holds only its tickets.
PREPARE ticket_project_check AS
SELECT $1::text = 'contractor'
       OR cl_visible_project($5::bigint, $1::text, $2::bigint, $3::bigint, $4::bigint[])
           AS project_visible;

-- The morning lists are read in pages of 500 tickets by keyset: each page is the tickets
-- after a cursor, (key_found_on, number, key_id) being unique; the first page's cursor
-- is before every ticket ('-infinity', 0, the nil UUID). Oldest means found first: the
-- day the item was found (tickets.found_on, migration 010), not the day it was typed
-- in. Each page is one short index range scan (the partial indexes tickets_todo,
-- tickets_toverify, tickets_dispatch), so the daemon never holds more than one page. The page size is TK_PAGE_MAX in
-- ticket_lists.c.

-- A contractor's to-repair list: $5 contractor, $6 project (0: all), the cursor $7
-- found_on, $8 number, $9 id. Its open tickets, oldest found first.
PREPARE ticket_todo AS
SELECT tr.* FROM ticket_rows tr
 WHERE tr.state = 'open' AND tr.key_contractor_id = $5::bigint
   AND ($6::bigint = 0 OR tr.project_id = $6::bigint)
   AND ($1::text <> 'contractor' OR tr.key_contractor_id = $3::bigint)
   AND ($1::text = 'contractor' OR tr.project_id IN
        (SELECT v.project_id FROM cl_visible_projects($1::text, $2::bigint, $3::bigint,
                                                      $4::bigint[]) v))
   AND (tr.key_found_on, tr.number, tr.key_id) > ($7::date, $8::int, $9::uuid)
 ORDER BY tr.key_found_on, tr.number, tr.key_id LIMIT 500;

-- A project's to-verify list: $5 project, the cursor $6 found_on, $7 number, $8 id.
-- Its repaired tickets, oldest found first; a contractor sees only its own.
PREPARE ticket_toverify AS
SELECT tr.* FROM ticket_rows tr
 WHERE tr.state = 'repaired' AND tr.project_id = $5::bigint
   AND ($1::text <> 'contractor' OR tr.key_contractor_id = $3::bigint)
   AND ($1::text = 'contractor'
        OR cl_visible_project($5::bigint, $1::text, $2::bigint, $3::bigint, $4::bigint[]))
   AND (tr.key_found_on, tr.number, tr.key_id) > ($6::date, $7::int, $8::uuid)
 ORDER BY tr.key_found_on, tr.number, tr.key_id LIMIT 500;

-- A project's tickets waiting for manual dispatch: $5 project, the cursor $6 found_on,
-- $7 number, $8 id. Oldest found first.
PREPARE ticket_todispatch AS
SELECT tr.* FROM ticket_rows tr
 WHERE tr.state = 'dispatch' AND tr.project_id = $5::bigint
   AND cl_visible_project($5::bigint, $1::text, $2::bigint, $3::bigint, $4::bigint[])
   AND (tr.key_found_on, tr.number, tr.key_id) > ($6::date, $7::int, $8::uuid)
 ORDER BY tr.key_found_on, tr.number, tr.key_id LIMIT 500;
