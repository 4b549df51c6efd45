-- 010_found_on.sql - a ticket's age and deadline count from the day its problem was found
-- (the item's inspected_on), not from the day it was typed in (raised_at, which stays, so
-- that late entry shows). Also: a building named the way people say it (report readiness
-- --building 1 finds 1栋).
--
-- tickets.found_on is the item's inspected_on, copied at raise (server/ticket/raise.sql)
-- so that the morning lists page on the tickets table's own partial indexes, oldest found
-- first; a trigger keeps it equal to the item's day should that ever change.

ALTER TABLE tickets ADD COLUMN found_on date;
-- The copy is not a change of the tickets: no version, audit or feed row for it.
ALTER TABLE tickets DISABLE TRIGGER USER;
UPDATE tickets t SET found_on = i.inspected_on FROM inspection_items i WHERE i.id = t.id;
ALTER TABLE tickets ENABLE TRIGGER USER;
ALTER TABLE tickets ALTER COLUMN found_on SET NOT NULL;

CREATE FUNCTION cl_item_found_on() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET found_on = NEW.inspected_on
     WHERE id = NEW.id AND found_on IS DISTINCT FROM NEW.inspected_on;
    RETURN NULL;
END $$;
CREATE TRIGGER inspection_items_found_on AFTER UPDATE OF inspected_on ON inspection_items
    FOR EACH ROW WHEN (OLD.inspected_on IS DISTINCT FROM NEW.inspected_on)
    EXECUTE FUNCTION cl_item_found_on();

-- The morning lists, oldest found first (keyset: found_on, number, id).
DROP INDEX tickets_todo;
DROP INDEX tickets_toverify;
DROP INDEX tickets_dispatch;
CREATE INDEX tickets_todo ON tickets (contractor_id, found_on, number) WHERE state = 'open';
CREATE INDEX tickets_toverify ON tickets (project_id, found_on, number) WHERE state = 'repaired';
CREATE INDEX tickets_dispatch ON tickets (project_id, found_on, number) WHERE state = 'dispatch';
-- The daily report's oldest live tickets.
CREATE INDEX tickets_live ON tickets (project_id, found_on, number)
    WHERE state IN ('dispatch', 'open', 'repaired');

-- The view of 005 with age_days from the found day; new columns only at the end:
-- found_on (YYYY-MM-DD), entry_lag_days (days from found to typed in), key_found_on (the
-- raw date the lists page on), category_name (the trade's Chinese name, for paper).
CREATE OR REPLACE VIEW ticket_rows AS
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
       greatest(current_date - t.found_on, 0) AS age_days,
       coalesce(i.found_again_of::text, '') AS found_again_of,
       t.id AS key_id,
       t.contractor_id AS key_contractor_id,
       t.raised_at AS key_raised_at,
       to_char(t.found_on, 'YYYY-MM-DD') AS found_on,
       greatest(t.raised_at::date - t.found_on, 0) AS entry_lag_days,
       t.found_on AS key_found_on,
       coalesce(tt.name_zh, t.category) AS category_name
  FROM tickets t
  JOIN inspection_items i ON i.id = t.id
  JOIN units u ON u.id = i.unit_id
  JOIN buildings b ON b.id = u.building_id
  JOIN projects p ON p.id = t.project_id
  JOIN inspection_rounds r ON r.id = i.round_id
  LEFT JOIN contractors k ON k.id = t.contractor_id
  LEFT JOIN trades tt ON tt.code = t.category;

-- A building of project p_project named p_name the way people say it: its exact name,
-- else the one building whose name is p_name with a building word after it (1 → 1栋,
-- 1号楼, 1幢, 1座) or before it is stripped. NULL when there is none or more than one.
CREATE FUNCTION cl_building_named(p_project bigint, p_name text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT b.name FROM buildings b WHERE b.project_id = p_project AND b.name = p_name),
        (SELECT min(b.name) FROM buildings b
          WHERE b.project_id = p_project
            AND regexp_replace(b.name, '\s*(栋|号楼|号|幢|座|楼)$', '')
                = regexp_replace(btrim(p_name), '\s*(栋|号楼|号|幢|座|楼)$', '')
         HAVING count(*) = 1))
$$;
