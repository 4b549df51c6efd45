-- 005_ticket_rows.sql - a repair ticket as every statement reads it.
--
-- The first 23 columns are the Ticket message's fields, in its order; the key_ columns
-- after them are the raw values that lists filter and page on, so that a filter on them
-- reaches the tickets table's own indexes (tickets_todo, tickets_toverify,
-- tickets_dispatch) instead of an expression. PostgreSQL inlines the view: a statement
-- that reads it is planned exactly as if the joins were written out.
CREATE VIEW ticket_rows AS
SELECT t.id::text AS id,
       t.project_id AS project_id,
       t.number AS number,
       p.name AS project_name,
       b.name AS building,
       u.number AS unit,
       r.kind AS round,
       i.location AS location,
       t.category AS category,
       i.description AS description,
       t.severity AS severity,
       t.state AS state,
       coalesce(t.contractor_id, 0) AS contractor_id,
       coalesce(k.name, '') AS contractor_name,
       t.rework_count AS rework_count,
       coalesce(to_char(t.deadline, 'YYYY-MM-DD'), '') AS deadline,
       cl_ticket_timeliness(t.state, t.deadline, t.closed_at) AS timeliness,
       (extract(epoch FROM t.raised_at) * 1000)::bigint AS raised_at_ms,
       (extract(epoch FROM t.updated_at) * 1000)::bigint AS updated_at_ms,
       t.version AS version,
       t.last_note AS last_note,
       greatest(current_date - t.raised_at::date, 0) AS age_days,
       coalesce(i.found_again_of::text, '') AS found_again_of,
       t.id AS key_id,
       t.contractor_id AS key_contractor_id,
       t.raised_at AS key_raised_at
  FROM tickets t
  JOIN inspection_items i ON i.id = t.id
  JOIN units u ON u.id = i.unit_id
  JOIN buildings b ON b.id = u.building_id
  JOIN projects p ON p.id = t.project_id
  JOIN inspection_rounds r ON r.id = i.round_id
  LEFT JOIN contractors k ON k.id = t.contractor_id;
