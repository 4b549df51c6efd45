-- sync.sql - desktop sync (docs/SYNC.md): what a desktop's mirror holds, read as a
-- snapshot by keyset and kept current from the change feed; and the checksums that find
-- drift. A row goes on the wire as its key text, its version and a JSON array of its
-- columns in the order the server announces in SyncStart (server/sync/sync.c, the same
-- as client/lib/mirror_schema.sql). The snapshot and the feed build that array with the
-- same functions below from the same jsonb (to_jsonb of the table row; change_log.data,
-- which cl_track wrote as to_jsonb of the row), so one row version is one array.
--
-- Every statement takes the session scope first: $1 role, $2 company, $3 contractor,
-- $4 the user's projects. Scope (docs/SYNC.md, "What is mirrored"): project rows of
-- cl_visible_projects; a contractor only the tickets assigned to it now, with their items,
-- photos and events; owners only for roles that see owner data (sync.c decides, from
-- authz.c); no defects, cases or handover records for contractors.

-- The key text of an entity's row: the id, the code, or "a/b" for two key columns.
CREATE OR REPLACE FUNCTION cl_sync_key(p_entity text, d jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_entity
        WHEN 'trades' THEN d ->> 'code'
        WHEN 'project_trades' THEN (d ->> 'project_id') || '/' || (d ->> 'trade')
        WHEN 'trade_aliases' THEN (d ->> 'project_id') || '/' || (d ->> 'alias')
        WHEN 'item_photos' THEN (d ->> 'item_id') || '/' || substr(d ->> 'sha256', 3)
        ELSE d ->> 'id' END
$$;

-- The row's version; 0 for rows that never change (trades, item_photos, ticket_events).
CREATE OR REPLACE FUNCTION cl_sync_version(d jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce((d ->> 'version')::bigint, 0)
$$;

-- The row's columns as the JSON array a mirror inserts (bytea as lower-case hex; defects
-- and cases whole, as JSON text, without their idempotency key and search vector).
-- STABLE like jsonb_build_array, so that the planner inlines it (an IMMUTABLE function
-- whose body is only STABLE is called per row instead): with a constant entity the CASE
-- folds to one arm.
CREATE OR REPLACE FUNCTION cl_sync_values(p_entity text, d jsonb) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (CASE p_entity
        WHEN 'companies' THEN jsonb_build_array(
            d -> 'id', d -> 'kind', d -> 'name', d -> 'parent_id', d -> 'version')
        WHEN 'projects' THEN jsonb_build_array(
            d -> 'id', d -> 'company_id', d -> 'name', d -> 'city', d -> 'move_in_date',
            d -> 'defect_prefix', d -> 'version')
        WHEN 'buildings' THEN jsonb_build_array(
            d -> 'id', d -> 'project_id', d -> 'name', d -> 'floors', d -> 'version')
        WHEN 'units' THEN jsonb_build_array(
            d -> 'id', d -> 'building_id', d -> 'project_id', d -> 'number', d -> 'floor',
            d -> 'layout', d -> 'version')
        WHEN 'owners' THEN jsonb_build_array(
            d -> 'id', d -> 'unit_id', d -> 'project_id', d -> 'name', d -> 'phone',
            d -> 'id_number', d -> 'version')
        WHEN 'contractors' THEN jsonb_build_array(d -> 'id', d -> 'name', d -> 'version')
        WHEN 'trades' THEN jsonb_build_array(d -> 'code', d -> 'name_zh', d -> 'name_en')
        WHEN 'project_trades' THEN jsonb_build_array(
            d -> 'project_id', d -> 'trade', d -> 'contractor_id', d -> 'version')
        WHEN 'trade_aliases' THEN jsonb_build_array(
            d -> 'project_id', d -> 'alias', d -> 'trade', d -> 'version')
        WHEN 'inspection_rounds' THEN jsonb_build_array(
            d -> 'id', d -> 'project_id', d -> 'kind', d -> 'planned_start', d -> 'planned_end',
            d -> 'department', d -> 'status', d -> 'version')
        WHEN 'inspection_records' THEN jsonb_build_array(
            d -> 'id', d -> 'project_id', d -> 'unit_id', d -> 'round_id', d -> 'inspected_on',
            d -> 'inspector', d -> 'scheduled_on', d -> 'outcome', d -> 'not_taken_reason',
            d -> 'keys_handed', d -> 'water_reading', d -> 'power_reading', d -> 'gas_reading',
            d -> 'signoff', d -> 'refusal_reason', d -> 'satisfaction', d -> 'version')
        WHEN 'inspection_items' THEN jsonb_build_array(
            d -> 'id', d -> 'record_id', d -> 'project_id', d -> 'unit_id', d -> 'round_id',
            d -> 'location', d -> 'category', d -> 'description', d -> 'severity',
            d -> 'found_again_of', d -> 'inspected_on', d -> 'inspector', d -> 'case_id',
            d -> 'dup_of', d -> 'created_at', d -> 'version')
        WHEN 'item_photos' THEN jsonb_build_array(
            d -> 'item_id', to_jsonb(substr(d ->> 'sha256', 3)))
        WHEN 'tickets' THEN jsonb_build_array(
            d -> 'id', d -> 'project_id', d -> 'number', d -> 'state', d -> 'contractor_id',
            d -> 'category', d -> 'severity', d -> 'deadline', d -> 'rework_count',
            d -> 'last_note', d -> 'raised_at', d -> 'closed_at', d -> 'found_on',
            d -> 'updated_at', d -> 'version')
        WHEN 'ticket_events' THEN jsonb_build_array(
            d -> 'id', d -> 'ticket_id', d -> 'project_id', d -> 'at', d -> 'actor_user_id',
            d -> 'actor', d -> 'action', d -> 'from_state', d -> 'to_state', d -> 'note',
            d -> 'contractor_id')
        WHEN 'defects' THEN jsonb_build_array(
            d -> 'id', d -> 'project_id', d -> 'code', d -> 'state', d -> 'version',
            to_jsonb((d - 'idem_key')::text))
        WHEN 'kb_cases' THEN jsonb_build_array(
            d -> 'id', d -> 'code', d -> 'status', d -> 'version',
            to_jsonb((d - 'search' - 'idem_key')::text))
        END)::text
$$;

-- The feed's horizon now (the cursor a first sync continues from) and the server's clock.
PREPARE sync_start AS
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS feed_xid,
       (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms;

-- ---- the snapshot: one statement per entity ----------------------------------------------
-- Parameters after the scope: $5 project (0: every project in scope), $6 and $7 the
-- keyset cursor, $8 rows at most (500 or fewer), $9 NULL or the keys (text[], at most 500)
-- of a refetch: then only those rows (a hashed filter on the same scan). Rows come in key
-- order, from the key's index, after the cursor: for two key columns ($6, $7) is the
-- last key sent; for one,
-- $6 is the last key and $7 is 1 (0 on the first page, with $6 the key type's least
-- value, so that even that value is read). The visible projects are read once per page
-- into a hashed filter (the IN (...) sits in a CASE or under IS TRUE, so the planner keeps
-- it a filter on the key-ordered scan instead of pulling it up into a join whose output
-- it would sort); each row then costs an index step and a hash probe, no function scan.
-- Result: key, version, vals (cl_sync_key/version/values of to_jsonb of the row).

PREPARE sync_snap_companies AS
SELECT cl_sync_key('companies', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('companies', s.j) AS vals
  FROM (SELECT c.id AS o, to_jsonb(c) AS j FROM companies c
         WHERE (c.id, 1) > ($6::bigint, $7::int) AND $5::bigint = 0
           AND cl_visible_company(c.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
           AND ($9::text[] IS NULL OR c.id::text IN (SELECT unnest($9::text[])))
         ORDER BY c.id LIMIT $8::int) s
 ORDER BY s.o;

PREPARE sync_snap_projects AS
SELECT cl_sync_key('projects', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('projects', s.j) AS vals
  FROM (SELECT p.id AS o, to_jsonb(p) AS j FROM projects p
         WHERE (p.id, 1) > ($6::bigint, $7::int) AND ($5::bigint = 0 OR p.id = $5::bigint)
           AND (p.id IN (SELECT v.project_id FROM cl_visible_projects($1::text,
                                   $2::bigint, $3::bigint, $4::bigint[]) v)) IS TRUE
           AND ($9::text[] IS NULL OR p.id::text IN (SELECT unnest($9::text[])))
         ORDER BY p.id LIMIT $8::int) s
 ORDER BY s.o;

PREPARE sync_snap_buildings AS
SELECT cl_sync_key('buildings', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('buildings', s.j) AS vals
  FROM (SELECT b.id AS o, to_jsonb(b) AS j FROM buildings b
         WHERE (b.id, 1) > ($6::bigint, $7::int)
           AND ($5::bigint = 0 OR b.project_id = $5::bigint)
           AND (b.project_id IN (SELECT v.project_id FROM cl_visible_projects($1::text,
                                   $2::bigint, $3::bigint, $4::bigint[]) v)) IS TRUE
           AND ($9::text[] IS NULL OR b.id::text IN (SELECT unnest($9::text[])))
         ORDER BY b.id LIMIT $8::int) s
 ORDER BY s.o;

PREPARE sync_snap_units AS
SELECT cl_sync_key('units', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('units', s.j) AS vals
  FROM (SELECT u.id AS o, to_jsonb(u) AS j FROM units u
         WHERE (u.id, 1) > ($6::bigint, $7::int)
           AND ($5::bigint = 0 OR u.project_id = $5::bigint)
           AND (u.project_id IN (SELECT v.project_id FROM cl_visible_projects($1::text,
                                   $2::bigint, $3::bigint, $4::bigint[]) v)) IS TRUE
           AND ($9::text[] IS NULL OR u.id::text IN (SELECT unnest($9::text[])))
         ORDER BY u.id LIMIT $8::int) s
 ORDER BY s.o;

-- Owners with their personal data: sync.c asks only for roles that see owner data.
PREPARE sync_snap_owners AS
SELECT cl_sync_key('owners', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('owners', s.j) AS vals
  FROM (SELECT o.id AS o, to_jsonb(o) AS j FROM owners o
         WHERE (o.id, 1) > ($6::bigint, $7::int)
           AND ($5::bigint = 0 OR o.project_id = $5::bigint)
           AND (o.project_id IN (SELECT v.project_id FROM cl_visible_projects($1::text,
                                   $2::bigint, $3::bigint, $4::bigint[]) v)) IS TRUE
           AND ($9::text[] IS NULL OR o.id::text IN (SELECT unnest($9::text[])))
         ORDER BY o.id LIMIT $8::int) s
 ORDER BY s.o;

-- Contractors and trades are group-wide names: every role has them all.
PREPARE sync_snap_contractors AS
SELECT cl_sync_key('contractors', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('contractors', s.j) AS vals
  FROM (SELECT k.id AS o, to_jsonb(k) AS j FROM contractors k
         WHERE (k.id, 1) > ($6::bigint, $7::int) AND $5::bigint = 0
           AND num_nulls($1::text, $2::bigint, $3::bigint, $4::bigint[]) >= 0 -- typed only
           AND ($9::text[] IS NULL OR k.id::text IN (SELECT unnest($9::text[])))
         ORDER BY k.id LIMIT $8::int) s
 ORDER BY s.o;

PREPARE sync_snap_trades AS
SELECT cl_sync_key('trades', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('trades', s.j) AS vals
  FROM (SELECT t.code AS o, to_jsonb(t) AS j FROM trades t
         WHERE (t.code, 1) > ($6::text, $7::int) AND $5::bigint = 0
           AND num_nulls($1::text, $2::bigint, $3::bigint, $4::bigint[]) >= 0 -- typed only
           AND ($9::text[] IS NULL OR t.code IN (SELECT unnest($9::text[])))
         ORDER BY t.code LIMIT $8::int) s
 ORDER BY s.o;

PREPARE sync_snap_project_trades AS
SELECT cl_sync_key('project_trades', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('project_trades', s.j) AS vals
  FROM (SELECT pt.project_id AS o1, pt.trade AS o2, to_jsonb(pt) AS j FROM project_trades pt
         WHERE (pt.project_id, pt.trade) > ($6::bigint, $7::text)
           AND ($5::bigint = 0 OR pt.project_id = $5::bigint)
           AND (pt.project_id IN (SELECT v.project_id FROM cl_visible_projects($1::text,
                                   $2::bigint, $3::bigint, $4::bigint[]) v)) IS TRUE
           AND ($9::text[] IS NULL
                OR pt.project_id::text || '/' || pt.trade IN (SELECT unnest($9::text[])))
         ORDER BY pt.project_id, pt.trade LIMIT $8::int) s
 ORDER BY s.o1, s.o2;

PREPARE sync_snap_trade_aliases AS
SELECT cl_sync_key('trade_aliases', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('trade_aliases', s.j) AS vals
  FROM (SELECT ta.project_id AS o1, ta.alias AS o2, to_jsonb(ta) AS j FROM trade_aliases ta
         WHERE (ta.project_id, ta.alias) > ($6::bigint, $7::text)
           AND ($5::bigint = 0 OR ta.project_id = $5::bigint)
           AND (ta.project_id IN (SELECT v.project_id FROM cl_visible_projects($1::text,
                                   $2::bigint, $3::bigint, $4::bigint[]) v)) IS TRUE
           AND ($9::text[] IS NULL
                OR ta.project_id::text || '/' || ta.alias IN (SELECT unnest($9::text[])))
         ORDER BY ta.project_id, ta.alias LIMIT $8::int) s
 ORDER BY s.o1, s.o2;

PREPARE sync_snap_inspection_rounds AS
SELECT cl_sync_key('inspection_rounds', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('inspection_rounds', s.j) AS vals
  FROM (SELECT r.id AS o, to_jsonb(r) AS j FROM inspection_rounds r
         WHERE (r.id, 1) > ($6::bigint, $7::int)
           AND ($5::bigint = 0 OR r.project_id = $5::bigint)
           AND (r.project_id IN (SELECT v.project_id FROM cl_visible_projects($1::text,
                                   $2::bigint, $3::bigint, $4::bigint[]) v)) IS TRUE
           AND ($9::text[] IS NULL OR r.id::text IN (SELECT unnest($9::text[])))
         ORDER BY r.id LIMIT $8::int) s
 ORDER BY s.o;

-- Handover forms: not for contractors (sync.c never asks; the role test is kept here too).
PREPARE sync_snap_inspection_records AS
SELECT cl_sync_key('inspection_records', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('inspection_records', s.j) AS vals
  FROM (SELECT r.id AS o, to_jsonb(r) AS j FROM inspection_records r
         WHERE (r.id, 1) > ($6::bigint, $7::int) AND $1::text <> 'contractor'
           AND ($5::bigint = 0 OR r.project_id = $5::bigint)
           AND (r.project_id IN (SELECT v.project_id FROM cl_visible_projects($1::text,
                                   $2::bigint, $3::bigint, $4::bigint[]) v)) IS TRUE
           AND ($9::text[] IS NULL OR r.id::text IN (SELECT unnest($9::text[])))
         ORDER BY r.id LIMIT $8::int) s
 ORDER BY s.o;

-- Items: the project's, or for a contractor those whose ticket is assigned to it now. The
-- row is built from the mirrored columns only (not the search vector, which would cost
-- its text form per row); jsonb_build_object converts each value as to_jsonb does.
PREPARE sync_snap_inspection_items AS
SELECT cl_sync_key('inspection_items', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('inspection_items', s.j) AS vals
  FROM (SELECT i.id AS o,
               jsonb_build_object('id', i.id, 'record_id', i.record_id,
                                  'project_id', i.project_id, 'unit_id', i.unit_id,
                                  'round_id', i.round_id, 'location', i.location,
                                  'category', i.category, 'description', i.description,
                                  'severity', i.severity, 'found_again_of', i.found_again_of,
                                  'inspected_on', i.inspected_on, 'inspector', i.inspector,
                                  'case_id', i.case_id, 'dup_of', i.dup_of,
                                  'created_at', i.created_at, 'version', i.version) AS j
          FROM inspection_items i
         WHERE (i.id, 1) > ($6::uuid, $7::int)
           AND ($5::bigint = 0 OR i.project_id = $5::bigint)
           AND CASE WHEN $1::text = 'contractor'
                    THEN EXISTS (SELECT 1 FROM tickets k
                                  WHERE k.id = i.id AND k.contractor_id = $3::bigint)
                    ELSE i.project_id IN (SELECT v.project_id
                                           FROM cl_visible_projects($1::text,
                                                $2::bigint, $3::bigint, $4::bigint[]) v)
                    END
           AND ($9::text[] IS NULL OR i.id::text IN (SELECT unnest($9::text[])))
         ORDER BY i.id LIMIT $8::int) s
 ORDER BY s.o;

PREPARE sync_snap_item_photos AS
SELECT cl_sync_key('item_photos', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('item_photos', s.j) AS vals
  FROM (SELECT ip.item_id AS o1, ip.sha256 AS o2, to_jsonb(ip) AS j
          FROM item_photos ip JOIN inspection_items i ON i.id = ip.item_id
         WHERE (ip.item_id, ip.sha256) > ($6::uuid, decode($7::text, 'hex'))
           AND ($5::bigint = 0 OR i.project_id = $5::bigint)
           AND CASE WHEN $1::text = 'contractor'
                    THEN EXISTS (SELECT 1 FROM tickets k
                                  WHERE k.id = ip.item_id AND k.contractor_id = $3::bigint)
                    ELSE i.project_id IN (SELECT v.project_id
                                           FROM cl_visible_projects($1::text,
                                                $2::bigint, $3::bigint, $4::bigint[]) v)
                    END
           AND ($9::text[] IS NULL
                OR ip.item_id::text || '/' || encode(ip.sha256, 'hex')
                   IN (SELECT unnest($9::text[])))
         ORDER BY ip.item_id, ip.sha256 LIMIT $8::int) s
 ORDER BY s.o1, s.o2;

PREPARE sync_snap_tickets AS
SELECT cl_sync_key('tickets', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('tickets', s.j) AS vals
  FROM (SELECT t.id AS o, to_jsonb(t) AS j FROM tickets t
         WHERE (t.id, 1) > ($6::uuid, $7::int)
           AND ($5::bigint = 0 OR t.project_id = $5::bigint)
           AND CASE WHEN $1::text = 'contractor' THEN t.contractor_id = $3::bigint
                    ELSE t.project_id IN (SELECT v.project_id
                                           FROM cl_visible_projects($1::text,
                                                $2::bigint, $3::bigint, $4::bigint[]) v)
                    END
           AND ($9::text[] IS NULL OR t.id::text IN (SELECT unnest($9::text[])))
         ORDER BY t.id LIMIT $8::int) s
 ORDER BY s.o;

PREPARE sync_snap_ticket_events AS
SELECT cl_sync_key('ticket_events', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('ticket_events', s.j) AS vals
  FROM (SELECT e.id AS o, to_jsonb(e) AS j FROM ticket_events e
         WHERE (e.id, 1) > ($6::bigint, $7::int)
           AND ($5::bigint = 0 OR e.project_id = $5::bigint)
           AND CASE WHEN $1::text = 'contractor'
                    THEN EXISTS (SELECT 1 FROM tickets k
                                  WHERE k.id = e.ticket_id AND k.contractor_id = $3::bigint)
                    ELSE e.project_id IN (SELECT v.project_id
                                           FROM cl_visible_projects($1::text,
                                                $2::bigint, $3::bigint, $4::bigint[]) v)
                    END
           AND ($9::text[] IS NULL OR e.id::text IN (SELECT unnest($9::text[])))
         ORDER BY e.id LIMIT $8::int) s
 ORDER BY s.o;

PREPARE sync_snap_defects AS
SELECT cl_sync_key('defects', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('defects', s.j) AS vals
  FROM (SELECT d.id AS o, to_jsonb(d) AS j FROM defects d
         WHERE (d.id, 1) > ($6::bigint, $7::int) AND $1::text <> 'contractor'
           AND ($5::bigint = 0 OR d.project_id = $5::bigint)
           AND (d.project_id IN (SELECT v.project_id FROM cl_visible_projects($1::text,
                                   $2::bigint, $3::bigint, $4::bigint[]) v)) IS TRUE
           AND ($9::text[] IS NULL OR d.id::text IN (SELECT unnest($9::text[])))
         ORDER BY d.id LIMIT $8::int) s
 ORDER BY s.o;

-- Cases: the group's, for every staff role, active and retired (status says which).
PREPARE sync_snap_kb_cases AS
SELECT cl_sync_key('kb_cases', s.j) AS key, cl_sync_version(s.j) AS version,
       cl_sync_values('kb_cases', s.j) AS vals
  FROM (SELECT k.id AS o, to_jsonb(k) - 'search' AS j FROM kb_cases k
         WHERE (k.id, 1) > ($6::bigint, $7::int) AND $5::bigint = 0
           AND $1::text <> 'contractor'
           AND num_nulls($2::bigint, $3::bigint, $4::bigint[]) >= 0 -- typed only
           AND ($9::text[] IS NULL OR k.id::text IN (SELECT unnest($9::text[])))
         ORDER BY k.id LIMIT $8::int) s
 ORDER BY s.o;

-- ---- the feed -----------------------------------------------------------------------------
-- The change rows after the cursor ($5 xid, $6 seq) of transactions below the horizon
-- (pg_snapshot_xmin: every transaction below it has ended, and no new one can get a
-- smaller id, so the rows below it are final), in (xid, seq) order, $7 at most; $8 whether
-- the caller sees owners' personal data. A caller whose scope is one company's (a cr, a
-- dept, a clerk of that company's projects ...) reads only that company's rows and the
-- rows of no company (contractors, cases), by change_log_company (the keyset bound is
-- written on its three columns, so no other index can serve it); the others (HQ,
-- contractors, several companies) read change_log_feed. held_back is read from the newest
-- change_log entry (one step back on change_log_feed), not by a search above the horizon.
-- Each change row gives rows in scope (mark 0), in (xid, seq, ord) order:
--   ord 10  the row itself (op 0 upsert, 1 delete), as its data was; owners from the
--           current row, as the change_log holds no personal data, and only with $8;
--   for a contractor, when its ticket becomes its own (inserted, or its contractor_was
--   another): ord 1-3 the item, its photos and its events as they are now, before the
--   ticket; when a ticket leaves it: ord 10-13 SYNC_REVOKE (op 2) of the ticket (at the
--   version it left at), its item (at its version now minus one: the item did not change,
--   so the same version applies again when the ticket comes back), its events and photos
--   (at -1: their version is 0, and they may come back).
-- Then one row (mark 1): the scan position (the last change row read, which may be past
-- rows out of scope), how many change rows were read, and whether changes wait at or
-- above the horizon (a transaction still open).
PREPARE sync_feed AS
WITH hz AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x),
     vp AS MATERIALIZED (SELECT ARRAY(SELECT v.project_id
                                        FROM cl_visible_projects($1::text, $2::bigint,
                                                                 $3::bigint, $4::bigint[]) v)
                                AS p),
     -- The one company whose rows (and the rows of no company) hold everything the caller
     -- sees: a cr's or dept's own; a clerk's, verifier's or property user's when all their
     -- projects are one company's. NULL otherwise (HQ, contractors, several companies).
     co AS MATERIALIZED (
         SELECT CASE WHEN $1::text IN ('cr', 'dept') THEN $2::bigint
                     WHEN $1::text IN ('clerk', 'verifier', 'property')
                     THEN (SELECT CASE WHEN count(DISTINCT p.company_id) = 1
                                       THEN min(p.company_id) END
                             FROM projects p WHERE p.id = ANY ($4::bigint[])) END AS id),
     chg AS MATERIALIZED (
         SELECT u.* FROM (
             (SELECT c.xid, c.seq, c.entity, c.entity_id, c.op, c.project_id,
                     c.contractor_was, c.data
                FROM change_log c
               WHERE (SELECT id FROM co) IS NOT NULL AND c.company_id = (SELECT id FROM co)
                 AND (c.company_id, c.xid, c.seq) > ((SELECT id FROM co), $5::xid8, $6::bigint)
                 AND c.xid < (SELECT x FROM hz)
               ORDER BY c.company_id, c.xid, c.seq LIMIT $7::int)
             UNION ALL
             (SELECT c.xid, c.seq, c.entity, c.entity_id, c.op, c.project_id,
                     c.contractor_was, c.data
                FROM change_log c
               WHERE (SELECT id FROM co) IS NOT NULL AND c.company_id IS NULL
                 AND (c.xid, c.seq) > ($5::xid8, $6::bigint) AND c.xid < (SELECT x FROM hz)
               ORDER BY c.xid, c.seq LIMIT $7::int)
             UNION ALL
             (SELECT c.xid, c.seq, c.entity, c.entity_id, c.op, c.project_id,
                     c.contractor_was, c.data
                FROM change_log c
               WHERE (SELECT id FROM co) IS NULL
                 AND (c.xid, c.seq) > ($5::xid8, $6::bigint) AND c.xid < (SELECT x FROM hz)
               ORDER BY c.xid, c.seq LIMIT $7::int)) u
          ORDER BY u.xid, u.seq LIMIT $7::int),
     ctk AS (SELECT c.xid, c.seq, c.op, c.contractor_was, c.data,
                    (c.data ->> 'id')::uuid AS ticket,
                    (c.data ->> 'contractor_id')::bigint AS now_k
               FROM chg c WHERE $1::text = 'contractor' AND c.entity = 'tickets'),
     -- its item, photos and events are read as they are now: only while the ticket is
     -- still the contractor's now, or a desktop behind on the feed would be sent what the
     -- ticket gained after it left (another contractor's events, notes and photos)
     came AS (SELECT t.xid, t.seq, t.ticket FROM ctk t
               WHERE t.op <> 'delete' AND t.now_k = $3::bigint
                 AND (t.op = 'insert' OR t.contractor_was IS DISTINCT FROM $3::bigint)
                 AND EXISTS (SELECT 1 FROM tickets k
                              WHERE k.id = t.ticket AND k.contractor_id = $3::bigint)),
     went AS (SELECT t.xid, t.seq, t.ticket, t.data FROM ctk t
               WHERE t.op = 'update' AND t.contractor_was = $3::bigint
                 AND t.now_k IS DISTINCT FROM $3::bigint),
     feed_rows AS (
         SELECT c.xid, c.seq, 10 AS ord, c.entity,
                CASE WHEN c.op = 'delete' THEN 1 ELSE 0 END AS op,
                cl_sync_key(c.entity, c.data) AS key, cl_sync_version(c.data) AS version,
                CASE WHEN c.op = 'delete' THEN '' ELSE cl_sync_values(c.entity, c.data) END
                    AS vals
           FROM chg c CROSS JOIN vp
          WHERE CASE c.entity
                WHEN 'contractors' THEN true
                WHEN 'companies' THEN cl_visible_company(c.entity_id, $1::text, $2::bigint,
                                                         $3::bigint, $4::bigint[])
                WHEN 'kb_cases' THEN $1::text <> 'contractor'
                WHEN 'projects' THEN c.project_id = ANY (vp.p)
                WHEN 'buildings' THEN c.project_id = ANY (vp.p)
                WHEN 'units' THEN c.project_id = ANY (vp.p)
                WHEN 'inspection_rounds' THEN c.project_id = ANY (vp.p)
                WHEN 'project_trades' THEN c.project_id = ANY (vp.p)
                WHEN 'trade_aliases' THEN c.project_id = ANY (vp.p)
                WHEN 'inspection_records' THEN $1::text <> 'contractor'
                                               AND c.project_id = ANY (vp.p)
                WHEN 'defects' THEN $1::text <> 'contractor' AND c.project_id = ANY (vp.p)
                WHEN 'tickets' THEN
                    CASE WHEN $1::text = 'contractor'
                         THEN (c.data ->> 'contractor_id')::bigint = $3::bigint
                         ELSE c.project_id = ANY (vp.p) END
                WHEN 'inspection_items' THEN
                    CASE WHEN $1::text = 'contractor'
                         THEN EXISTS (SELECT 1 FROM tickets k
                                       WHERE k.id = (c.data ->> 'id')::uuid
                                         AND k.contractor_id = $3::bigint)
                         ELSE c.project_id = ANY (vp.p) END
                WHEN 'item_photos' THEN
                    CASE WHEN $1::text = 'contractor'
                         THEN EXISTS (SELECT 1 FROM tickets k
                                       WHERE k.id = (c.data ->> 'item_id')::uuid
                                         AND k.contractor_id = $3::bigint)
                         ELSE coalesce(c.project_id,
                                       (SELECT i.project_id FROM inspection_items i
                                         WHERE i.id = (c.data ->> 'item_id')::uuid))
                              = ANY (vp.p) END
                WHEN 'ticket_events' THEN
                    CASE WHEN $1::text = 'contractor'
                         THEN EXISTS (SELECT 1 FROM tickets k
                                       WHERE k.id = (c.data ->> 'ticket_id')::uuid
                                         AND k.contractor_id = $3::bigint)
                         ELSE c.project_id = ANY (vp.p) END
                ELSE false END
         UNION ALL
         SELECT c.xid, c.seq, 10, 'owners', CASE WHEN c.op = 'delete' THEN 1 ELSE 0 END,
                cl_sync_key('owners', coalesce(o.j, c.data)),
                cl_sync_version(coalesce(o.j, c.data)),
                CASE WHEN c.op = 'delete' THEN '' ELSE cl_sync_values('owners', o.j) END
           FROM chg c CROSS JOIN vp
           LEFT JOIN LATERAL (SELECT to_jsonb(ow) AS j FROM owners ow
                               WHERE ow.id = c.entity_id AND c.op <> 'delete') o ON true
          WHERE c.entity = 'owners' AND $8::boolean AND c.project_id = ANY (vp.p)
            AND (c.op = 'delete' OR o.j IS NOT NULL)
         UNION ALL
         SELECT a.xid, a.seq, 1, 'inspection_items', 0, cl_sync_key('inspection_items', i.j),
                cl_sync_version(i.j), cl_sync_values('inspection_items', i.j)
           FROM came a CROSS JOIN LATERAL (SELECT to_jsonb(ii) - 'search' AS j
                                             FROM inspection_items ii
                                            WHERE ii.id = a.ticket) i
         UNION ALL
         SELECT a.xid, a.seq, 2, 'item_photos', 0, cl_sync_key('item_photos', p.j), 0,
                cl_sync_values('item_photos', p.j)
           FROM came a CROSS JOIN LATERAL (SELECT to_jsonb(ip) AS j FROM item_photos ip
                                            WHERE ip.item_id = a.ticket) p
         UNION ALL
         SELECT a.xid, a.seq, 3, 'ticket_events', 0, cl_sync_key('ticket_events', e.j), 0,
                cl_sync_values('ticket_events', e.j)
           FROM came a CROSS JOIN LATERAL (SELECT to_jsonb(te) AS j FROM ticket_events te
                                            WHERE te.ticket_id = a.ticket) e
         UNION ALL
         SELECT w.xid, w.seq, 10, 'tickets', 2, cl_sync_key('tickets', w.data),
                cl_sync_version(w.data), ''
           FROM went w
         UNION ALL
         SELECT w.xid, w.seq, 11, 'inspection_items', 2, i.id::text, i.version - 1, ''
           FROM went w JOIN inspection_items i ON i.id = w.ticket
         UNION ALL
         SELECT w.xid, w.seq, 12, 'ticket_events', 2, e.id::text, -1, ''
           FROM went w JOIN ticket_events e ON e.ticket_id = w.ticket
         UNION ALL
         SELECT w.xid, w.seq, 13, 'item_photos', 2,
                ip.item_id::text || '/' || encode(ip.sha256, 'hex'), -1, ''
           FROM went w JOIN item_photos ip ON ip.item_id = w.ticket)
SELECT 0 AS mark, r.xid AS xs, r.xid::text AS xid, r.seq, r.ord, r.entity, r.op, r.key,
       r.version, r.vals, 0::bigint AS scanned, false AS held_back
  FROM feed_rows r
UNION ALL
SELECT 1, coalesce(l.xid, $5::xid8), coalesce(l.xid, $5::xid8)::text, coalesce(l.seq, $6::bigint),
       0, NULL, NULL, NULL, NULL, NULL, (SELECT count(*) FROM chg),
       coalesce((SELECT h.xid FROM change_log h ORDER BY h.xid DESC, h.seq DESC LIMIT 1)
                >= (SELECT x FROM hz), false)
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT c.xid, c.seq FROM chg c ORDER BY c.xid DESC, c.seq DESC LIMIT 1) l
    ON true
 ORDER BY mark, xs, seq, ord, key;

-- ---- checksums ----------------------------------------------------------------------------
-- Per (project, entity) of the caller's rows, the same rows the snapshot gives: the count
-- and the XOR of h(key ":" version), h the first 8 bytes of SHA-256 read big-endian (as a
-- signed bigint here; the wire's fixed64 has the same bits). Project 0 for rows of no
-- project (companies, contractors, trades, cases). $5 project (0: all), $6 whether the
-- caller sees owners.
PREPARE sync_checksum AS
WITH vis AS MATERIALIZED (SELECT v.project_id
                            FROM cl_visible_projects($1::text, $2::bigint, $3::bigint,
                                                     $4::bigint[]) v),
     r AS (
         SELECT 0::bigint AS project_id, 'companies'::text AS entity,
                c.id::text || ':' || c.version AS kv
           FROM companies c
          WHERE cl_visible_company(c.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
         UNION ALL
         SELECT p.id, 'projects', p.id::text || ':' || p.version
           FROM projects p WHERE p.id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT b.project_id, 'buildings', b.id::text || ':' || b.version
           FROM buildings b WHERE b.project_id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT u.project_id, 'units', u.id::text || ':' || u.version
           FROM units u WHERE u.project_id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT o.project_id, 'owners', o.id::text || ':' || o.version
           FROM owners o WHERE $6::boolean AND o.project_id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT 0, 'contractors', k.id::text || ':' || k.version FROM contractors k
         UNION ALL
         SELECT 0, 'trades', t.code || ':0' FROM trades t
         UNION ALL
         SELECT pt.project_id, 'project_trades',
                pt.project_id::text || '/' || pt.trade || ':' || pt.version
           FROM project_trades pt WHERE pt.project_id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT ta.project_id, 'trade_aliases',
                ta.project_id::text || '/' || ta.alias || ':' || ta.version
           FROM trade_aliases ta WHERE ta.project_id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT ro.project_id, 'inspection_rounds', ro.id::text || ':' || ro.version
           FROM inspection_rounds ro WHERE ro.project_id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT re.project_id, 'inspection_records', re.id::text || ':' || re.version
           FROM inspection_records re
          WHERE $1::text <> 'contractor' AND re.project_id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT i.project_id, 'inspection_items', i.id::text || ':' || i.version
           FROM inspection_items i
          WHERE $1::text <> 'contractor' AND i.project_id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT i.project_id, 'inspection_items', i.id::text || ':' || i.version
           FROM tickets k JOIN inspection_items i ON i.id = k.id
          WHERE $1::text = 'contractor' AND k.contractor_id = $3::bigint
         UNION ALL
         SELECT i.project_id, 'item_photos',
                ip.item_id::text || '/' || encode(ip.sha256, 'hex') || ':0'
           FROM item_photos ip JOIN inspection_items i ON i.id = ip.item_id
          WHERE $1::text <> 'contractor' AND i.project_id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT k.project_id, 'item_photos',
                ip.item_id::text || '/' || encode(ip.sha256, 'hex') || ':0'
           FROM tickets k JOIN item_photos ip ON ip.item_id = k.id
          WHERE $1::text = 'contractor' AND k.contractor_id = $3::bigint
         UNION ALL
         SELECT t.project_id, 'tickets', t.id::text || ':' || t.version
           FROM tickets t
          WHERE CASE WHEN $1::text = 'contractor' THEN t.contractor_id = $3::bigint
                     ELSE t.project_id IN (SELECT project_id FROM vis) END
         UNION ALL
         SELECT e.project_id, 'ticket_events', e.id::text || ':0'
           FROM ticket_events e
          WHERE $1::text <> 'contractor' AND e.project_id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT e.project_id, 'ticket_events', e.id::text || ':0'
           FROM tickets k JOIN ticket_events e ON e.ticket_id = k.id
          WHERE $1::text = 'contractor' AND k.contractor_id = $3::bigint
         UNION ALL
         SELECT d.project_id, 'defects', d.id::text || ':' || d.version
           FROM defects d
          WHERE $1::text <> 'contractor' AND d.project_id IN (SELECT project_id FROM vis)
         UNION ALL
         SELECT 0, 'kb_cases', c.id::text || ':' || c.version
           FROM kb_cases c WHERE $1::text <> 'contractor')
SELECT r.project_id, r.entity, count(*) AS n_rows,
       bit_xor(('x' || encode(substr(sha256(convert_to(r.kv, 'UTF8')), 1, 8), 'hex'))
               ::bit(64)::bigint) AS hash
  FROM r
 WHERE $5::bigint = 0 OR r.project_id = $5::bigint
 GROUP BY r.project_id, r.entity
 ORDER BY r.project_id, r.entity;

-- A checksum reads every row in scope: its transaction may take longer than the pool's
-- statement timeout meant for a request (the batch is one transaction, so this is local):
-- $1 the timeout in milliseconds.
PREPARE sync_long_read AS
SELECT set_config('statement_timeout', $1::int::text, true) AS statement_timeout;
