-- inspection.sql - the statements of the inspection area (server/inspection/inspection.c):
-- the rounds of a project, recording inspection items, the handover acceptance form and
-- the handover schedule. The tickets that items raise are the ticket area's
-- (server/ticket/raise.sql); inspection.c runs both in one batch.
--
-- Every statement takes the session scope as its first four parameters ($1 role,
-- $2 company, $3 contractor, $4 projects) and filters with cl_visible_project(), so a
-- project outside the caller's scope reads exactly like a missing one. Each can be
-- pasted into psql as it is (EXECUTE name (...) then runs it).

-- Creates a round of a project, or returns the round an earlier request with the same
-- idempotency key created. Parameters: $1..$4 the session scope, $5 the idempotency
-- key, $6 the project, $7 the kind, $8 the planned start, $9 the planned end (NULL:
-- none), $10 the department. A second round of the same kind violates UNIQUE
-- (project_id, kind). One row: the round, or NULLs with missing = 'project'.
-- @columns-of insp_round_list
PREPARE insp_round_create AS
WITH target AS (SELECT p.id FROM projects p
                 WHERE p.id = $6::bigint
                   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     ins AS (INSERT INTO inspection_rounds (project_id, kind, planned_start, planned_end,
                                            department, idem_key)
             SELECT t.id, $7::text, $8::date, $9::date, $10::text, $5::text FROM target t
             ON CONFLICT (idem_key) DO NOTHING RETURNING *),
     rec AS (SELECT * FROM ins UNION ALL
             SELECT * FROM inspection_rounds r
              WHERE r.idem_key = $5::text AND NOT EXISTS (SELECT 1 FROM ins)
                AND cl_visible_project(r.project_id, $1::text, $2::bigint, $3::bigint,
                                       $4::bigint[]))
SELECT rec.id, rec.version,
       (extract(epoch FROM rec.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM rec.updated_at) * 1000)::bigint AS updated_ms,
       rec.project_id, rec.kind,
       coalesce(to_char(rec.planned_start, 'YYYY-MM-DD'), '') AS planned_start,
       coalesce(to_char(rec.planned_end, 'YYYY-MM-DD'), '') AS planned_end,
       rec.department, rec.status,
       coalesce(to_char(p.move_in_date, 'YYYY-MM-DD'), '') AS move_in_date,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project' END AS missing,
       NULL::text AS invalid
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN rec ON true
  LEFT JOIN projects p ON p.id = rec.project_id;

-- The rounds of a project in the order they happen. Parameters: $1..$4 the session
-- scope, $5 the project. No row at all: no such project; one row of NULLs: no rounds.
PREPARE insp_round_list AS
SELECT r.id, r.version,
       (extract(epoch FROM r.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM r.updated_at) * 1000)::bigint AS updated_ms,
       r.project_id, r.kind,
       coalesce(to_char(r.planned_start, 'YYYY-MM-DD'), '') AS planned_start,
       coalesce(to_char(r.planned_end, 'YYYY-MM-DD'), '') AS planned_end,
       r.department, r.status,
       coalesce(to_char(p.move_in_date, 'YYYY-MM-DD'), '') AS move_in_date
  FROM projects p
  LEFT JOIN inspection_rounds r ON r.project_id = p.id
 WHERE p.id = $5::bigint
   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 ORDER BY array_position(ARRAY['mock1', 'mock2', 'mock3', 'handover', 'check3m', 'check11m',
                               'check23m', 'check35m', 'warranty'], r.kind);

-- Checks and records a batch of inspection items and raises their tickets (through the
-- ticket area's cl_ticket_raise, server/ticket/raise.sql), in one statement.
-- Parameters: $1..$4 the session scope, then the items as parallel arrays: $5 item ids,
-- $6 project ids, $7 unit numbers, $8 round kinds, $9 inspected_on, $10 inspectors,
-- $11 locations, $12 categories, $13 descriptions, $14 severities, $15 found_again_of
-- (NULL: none); the photos: $16 their item's position (1-based), $17 their SHA-256
-- (bytea[], binary), $18 their mime types, $19 their bytes (bytea[], binary); $20 check
-- only (true: check every item the same way and change nothing); $21 the actor's
-- user id, $22 the actor's username (the tickets' 'create' events); and $23 the items'
-- case codes (NULL: none; an item found at a check point names its case, which must be
-- an active case: else bad 'case'; its check point in the item's round becomes found).
--
-- c checks every item: its project visible, its unit found once by (project, number),
-- its category a trade (the code, the Chinese name or an alias of the project:
-- cl_trade_resolve, migration 008; the item stores the code), its id not used by an item
-- of another unit, its found_again_of an item of the same unit. Every data-modifying CTE
-- reads from ok, which is empty when any item is bad or the batch is only checked, so
-- then nothing changes. Otherwise the new items (fresh: not in the database yet) get
-- their round (created in_progress when missing), their unit's record of that round, the
-- item, its photos and its ticket. One row per item, in the batch's order: its ticket as
-- the columns of ticket_rows (NULL when it has none: a bad or checked batch), its
-- position (ord), why it is bad (NULL: fine), whether this statement inserted it (new;
-- false for an item that was already recorded), for a bad category what the project
-- accepts (accepted), and the planned dates of its round when the item's date is outside
-- them (planned_start, planned_end; NULL when inside or the round has no such plan): a
-- warning, not an error; and for a new item that probably duplicates an earlier one of
-- the same unit, round and trade (the dup CTE), that item (dup_of), its ticket number
-- (dup_number) and how alike they are (dup_similarity): a flag, not an error.
--
-- Rounds and records that already say what the items say (in this statement's snapshot)
-- are not written nor locked, so batches on the same units do not queue behind each
-- other. What reaches ON CONFLICT DO UPDATE is then either a real change or a row a
-- concurrent transaction created after the snapshot; the update is unconditional so
-- that such a row comes back through RETURNING instead of being lost. The guard is a
-- last defence: a round or record still missing aborts the statement as retryable
-- (40001) rather than lose items.
-- @binary $17 $19
-- @columns-of ticket_rows
-- @star tr ticket_rows
PREPARE insp_item_record AS
WITH r AS (SELECT x.*
             FROM unnest($5::uuid[], $6::bigint[], $7::text[], $8::text[], $9::date[],
                         $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
                         $15::uuid[], $23::text[])
                  WITH ORDINALITY AS x (item_id, project_id, unit, round, inspected_on,
                                        inspector, location, category, description,
                                        severity, again, case_code, ord)),
     vp AS (SELECT p.id FROM (SELECT DISTINCT project_id FROM r) d
              JOIN projects p ON p.id = d.project_id
             WHERE cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     uk AS (SELECT r.ord, count(u.id) AS n, min(u.id) AS unit_id FROM r
              JOIN vp ON vp.id = r.project_id
              LEFT JOIN units u ON u.project_id = r.project_id AND u.number = r.unit
             GROUP BY r.ord),
     c AS (SELECT r.*, uk.unit_id, ii.id IS NOT NULL AS existing, tr.trade, kc.id AS case_id,
                  CASE WHEN uk.ord IS NULL THEN 'project'
                       WHEN uk.n = 0 THEN 'unit'
                       WHEN uk.n > 1 THEN 'ambiguous'
                       WHEN tr.trade IS NULL THEN 'category'
                       WHEN r.case_code IS NOT NULL AND kc.id IS NULL THEN 'case'
                       WHEN ii.id IS NOT NULL AND ii.unit_id <> uk.unit_id THEN 'taken'
                       WHEN r.again IS NOT NULL
                            AND NOT EXISTS (SELECT 1 FROM inspection_items a
                                             WHERE a.id = r.again AND a.unit_id = uk.unit_id)
                            THEN 'again'
                  END AS bad
             FROM r
             LEFT JOIN uk ON uk.ord = r.ord
             LEFT JOIN inspection_items ii ON ii.id = r.item_id
             LEFT JOIN kb_cases kc ON kc.code = r.case_code AND kc.status = 'active'
             CROSS JOIN LATERAL (SELECT cl_trade_resolve(r.project_id, r.category) AS trade) tr),
     ok AS (SELECT * FROM c WHERE NOT $20::boolean
                              AND NOT EXISTS (SELECT 1 FROM c x WHERE x.bad IS NOT NULL)),
     fresh AS (SELECT * FROM ok WHERE NOT existing),
     new_rounds AS (INSERT INTO inspection_rounds AS ro (project_id, kind, status)
                    SELECT DISTINCT f.project_id, f.round, 'in_progress' FROM fresh f
                     WHERE NOT EXISTS (SELECT 1 FROM inspection_rounds x
                                        WHERE x.project_id = f.project_id AND x.kind = f.round
                                          AND x.status <> 'planned')
                    ON CONFLICT (project_id, kind) DO UPDATE SET status = 'in_progress'
                    RETURNING ro.id, ro.project_id, ro.kind),
     rounds AS (SELECT * FROM new_rounds UNION
                SELECT ro.id, ro.project_id, ro.kind FROM inspection_rounds ro
                 WHERE (ro.project_id, ro.kind) IN (SELECT project_id, round FROM fresh)),
     fr AS (SELECT f.*, ro.id AS round_id FROM fresh f
              JOIN rounds ro ON ro.project_id = f.project_id AND ro.kind = f.round),
     -- the duplicate flag (docs/LESSONS.md): the most similar earlier item of the same
     -- unit, round and trade (of the latest 100 recorded before, and the 100 nearest
     -- earlier in this batch) when their texts (location and description, as the
     -- search column indexes them) are at least 0.5 alike (cl_vector_similarity, the
     -- lessons area's: server/lesson/lesson.sql); flagged, never refused
     fv AS MATERIALIZED (SELECT f.ord, f.item_id, f.unit_id, f.round_id, f.trade,
                                cl_search_vector(f.location || ' ' || f.description) AS v
                           FROM fr f),
     dup AS (SELECT f.ord, d.id AS dup_of, d.sim
               FROM fv f
               CROSS JOIN LATERAL (
                   SELECT x.id, cl_vector_similarity(f.v, x.v) AS sim
                     FROM ((SELECT e.id, e.search AS v FROM inspection_items e
                             WHERE e.unit_id = f.unit_id AND e.round_id = f.round_id
                               AND e.category = f.trade
                             ORDER BY e.created_at DESC LIMIT 100)
                           UNION ALL
                           (SELECT g.item_id, g.v FROM fv g
                             WHERE g.unit_id = f.unit_id AND g.round_id = f.round_id
                               AND g.trade = f.trade AND g.ord < f.ord
                             ORDER BY g.ord DESC LIMIT 100)) x
                    ORDER BY sim DESC, x.id LIMIT 1) d
              WHERE d.sim >= 0.5),
     -- A record keeps the date and inspector it was first given: for the handover round
     -- it is the acceptance form, and an item found on a later visit (it has its own
     -- date) must not move the form to another day. Only blanks are filled in.
     up_recs AS (INSERT INTO inspection_records AS ir (project_id, unit_id, round_id,
                                                       inspected_on, inspector)
                 SELECT w.*
                   FROM (SELECT DISTINCT ON (unit_id, round_id)
                                project_id, unit_id, round_id, inspected_on, inspector
                           FROM fr ORDER BY unit_id, round_id, ord DESC) AS w
                  WHERE NOT EXISTS (SELECT 1 FROM inspection_records x
                                     WHERE x.unit_id = w.unit_id AND x.round_id = w.round_id
                                       AND x.inspected_on IS NOT NULL
                                       AND (x.inspector <> '' OR w.inspector = ''))
                 ON CONFLICT (unit_id, round_id) DO UPDATE
                    SET inspected_on = coalesce(ir.inspected_on, EXCLUDED.inspected_on),
                        inspector = CASE WHEN ir.inspector <> '' THEN ir.inspector
                                         ELSE EXCLUDED.inspector END
                 RETURNING ir.id, ir.unit_id, ir.round_id),
     recs AS (SELECT * FROM up_recs UNION
              SELECT ir.id, ir.unit_id, ir.round_id FROM inspection_records ir
               WHERE (ir.unit_id, ir.round_id) IN (SELECT unit_id, round_id FROM fr)),
     items AS (INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id,
                                             location, category, description, severity,
                                             found_again_of, inspected_on, inspector, case_id,
                                             dup_of)
               SELECT fr.item_id, recs.id, fr.project_id, fr.unit_id, fr.round_id,
                      fr.location, fr.trade, fr.description, fr.severity, fr.again,
                      fr.inspected_on, fr.inspector, fr.case_id, dup.dup_of
                 FROM fr JOIN recs ON recs.unit_id = fr.unit_id AND recs.round_id = fr.round_id
                 LEFT JOIN dup ON dup.ord = fr.ord
               ON CONFLICT (id) DO NOTHING
               RETURNING id, round_id, case_id),
     -- an item found at a check point (it names its case) marks the check point of its
     -- round found, by the recording user (lessons: server/lesson/lesson.sql)
     found_cps AS (UPDATE round_checkpoints rc
                      SET status = 'found', recorded_by = $21::bigint, recorded_at = now()
                     FROM (SELECT DISTINCT round_id, case_id FROM items
                            WHERE case_id IS NOT NULL) i
                    WHERE rc.round_id = i.round_id AND rc.case_id = i.case_id
                      AND rc.status <> 'found'
                   RETURNING 1),
     ph AS (SELECT i.id AS item_id, x.hash, x.mime, x.data
              FROM unnest($16::int[], $17::bytea[], $18::text[], $19::bytea[])
                   AS x (ord, hash, mime, data)
              JOIN fr ON fr.ord = x.ord
              JOIN items i ON i.id = fr.item_id),
     new_photos AS (INSERT INTO photos (sha256, mime, size, data)
                    SELECT DISTINCT ON (hash) hash, mime, length(data), data FROM ph
                    ON CONFLICT (sha256) DO NOTHING RETURNING 1),
     new_item_photos AS (INSERT INTO item_photos (item_id, sha256)
                         SELECT DISTINCT item_id, hash FROM ph
                         ON CONFLICT DO NOTHING RETURNING 1),
     guard AS (SELECT CASE WHEN (SELECT count(*) FROM fresh) = (SELECT count(*) FROM fr)
                            AND (SELECT count(*) FROM fr) =
                                (SELECT count(*) FROM fr JOIN recs
                                    ON recs.unit_id = fr.unit_id AND recs.round_id = fr.round_id)
                           THEN 0
                           ELSE cl_retry('a round or record of these items was created '
                                         'concurrently; retry') END AS g),
     -- the tickets: raised now for the items inserted now (the ticket area's function,
     -- server/ticket/raise.sql), read through the view for the items recorded before
     tk AS MATERIALIZED (SELECT * FROM cl_ticket_raise(
                             (SELECT array_agg(fr.item_id ORDER BY fr.ord)
                                FROM fr JOIN items i ON i.id = fr.item_id),
                             $21::bigint, $22::text)),
     tr AS (SELECT * FROM tk UNION ALL
            SELECT v.* FROM ticket_rows v JOIN ok ON ok.item_id = v.key_id WHERE ok.existing)
SELECT tr.*, c.ord, c.bad, i.id IS NOT NULL AS new,
       d.dup_of::text AS dup_of, d.sim AS dup_similarity,
       coalesce((SELECT t.number FROM tickets t WHERE t.id = d.dup_of),
                (SELECT k.number FROM tk k WHERE k.key_id = d.dup_of)) AS dup_number,
       CASE WHEN c.bad = 'category' THEN cl_trade_accepted(c.project_id) END AS accepted,
       CASE WHEN c.inspected_on < ro.planned_start OR c.inspected_on > ro.planned_end
            THEN coalesce(to_char(ro.planned_start, 'YYYY-MM-DD'), '') END AS planned_start,
       CASE WHEN c.inspected_on < ro.planned_start OR c.inspected_on > ro.planned_end
            THEN coalesce(to_char(ro.planned_end, 'YYYY-MM-DD'), '') END AS planned_end
  FROM c
  LEFT JOIN items i ON i.id = c.item_id
  LEFT JOIN dup d ON d.ord = c.ord AND i.id IS NOT NULL
  LEFT JOIN tr ON tr.key_id = c.item_id
  LEFT JOIN inspection_rounds ro ON ro.project_id = c.project_id AND ro.kind = c.round
                                AND c.bad IS NULL
 WHERE (SELECT g FROM guard) = 0
 ORDER BY c.ord;

-- Records a unit's handover acceptance form (the record of the project's handover
-- round, created in progress when missing; a planned round is now in progress).
-- Parameters: $1..$4 the session scope, $5 the project, $6 the unit number,
-- $7 inspected_on (NULL: as recorded, else today), $8 the inspector, $9 the outcome,
-- $10 the not-taken-over reason, $11 keys handed, $12 the water, $13 the power, $14 the
-- gas reading, $15 the signoff (NULL: none), $16 the refusal reason, $17 satisfaction
-- (NULL: not given), $18 the user's id and $19 the form's idempotency key (NULL: none),
-- claimed before by request_key_claim: a form refused or lost deletes its claim
-- ("unclaim"), so a retry may succeed. An identical form changes nothing. An existing round is written
-- only when it is planned, or when a concurrent transaction created it after this
-- statement's snapshot: then the update returns it instead of losing it. One row: the
-- record with its item count, or NULLs with missing (project, unit) or invalid (a unit
-- number used in two buildings, or an 'accepted' unit that has open items).
-- A unit with open items in the handover round (tickets not closed and not decided
-- not to fix) cannot be recorded plain 'accepted': the form is refused and nothing is
-- written; it is 'accepted_with_items' (docs/INSPECTIONS.md).
PREPARE insp_handover_record AS
WITH target AS (SELECT p.id FROM projects p
                 WHERE p.id = $5::bigint
                   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     unit AS (SELECT u.id, u.number FROM units u JOIN target t ON u.project_id = t.id
               WHERE u.number = $6::text),
     one AS (SELECT id, number FROM unit WHERE (SELECT count(*) FROM unit) = 1),
     new_round AS (INSERT INTO inspection_rounds AS ro (project_id, kind, status)
                   SELECT t.id, 'handover', 'in_progress' FROM target t
                    WHERE EXISTS (SELECT 1 FROM one)
                      AND NOT EXISTS (SELECT 1 FROM inspection_rounds x
                                       WHERE x.project_id = t.id AND x.kind = 'handover'
                                         AND x.status <> 'planned')
                   ON CONFLICT (project_id, kind) DO UPDATE SET status = 'in_progress'
                   RETURNING id),
     rnd AS (SELECT id FROM new_round UNION
             SELECT ro.id FROM inspection_rounds ro JOIN target t ON ro.project_id = t.id
              WHERE ro.kind = 'handover'),
     open_items AS (SELECT count(*) AS n
                      FROM inspection_items i JOIN tickets tk ON tk.id = i.id
                      JOIN one o ON i.unit_id = o.id JOIN rnd r ON i.round_id = r.id
                     WHERE tk.state IN ('dispatch', 'open', 'repaired')),
     fits AS (SELECT $9::text IS DISTINCT FROM 'accepted' OR n = 0 AS ok FROM open_items),
     up AS (INSERT INTO inspection_records AS ir (project_id, unit_id, round_id, inspected_on,
                                                  inspector, outcome, not_taken_reason,
                                                  keys_handed, water_reading, power_reading,
                                                  gas_reading, signoff, refusal_reason,
                                                  satisfaction)
            SELECT t.id, o.id, r.id, coalesce($7::date, current_date), $8::text, $9::text,
                   $10::text, $11::int, $12::text, $13::text, $14::text, $15::text,
                   $16::text, $17::int
              FROM target t, one o, rnd r
             WHERE (SELECT ok FROM fits)
            ON CONFLICT (unit_id, round_id) DO UPDATE
               SET (inspected_on, inspector, outcome, not_taken_reason, keys_handed,
                    water_reading, power_reading, gas_reading, signoff, refusal_reason,
                    satisfaction) =
                   (coalesce($7::date, ir.inspected_on, current_date), $8::text, $9::text,
                    $10::text, $11::int, $12::text, $13::text, $14::text, $15::text,
                    $16::text, $17::int)
             WHERE (ir.inspected_on, ir.inspector, ir.outcome, ir.not_taken_reason,
                    ir.keys_handed, ir.water_reading, ir.power_reading, ir.gas_reading,
                    ir.signoff, ir.refusal_reason, ir.satisfaction) IS DISTINCT FROM
                   (coalesce($7::date, ir.inspected_on, current_date), $8::text, $9::text,
                    $10::text, $11::int, $12::text, $13::text, $14::text, $15::text,
                    $16::text, $17::int)
            RETURNING *),
     rec AS (SELECT * FROM up UNION ALL
             SELECT ir.* FROM inspection_records ir, one o, rnd r
              WHERE ir.unit_id = o.id AND ir.round_id = r.id AND NOT EXISTS (SELECT 1 FROM up)
                AND (SELECT ok FROM fits)),
     unclaim AS (DELETE FROM request_keys k
                  WHERE k.user_id = $18::bigint AND k.key = $19::text
                    AND NOT EXISTS (SELECT 1 FROM rec))
SELECT rec.id, rec.version,
       (extract(epoch FROM rec.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM rec.updated_at) * 1000)::bigint AS updated_ms,
       rec.project_id, o.number AS unit, 'handover' AS round,
       coalesce(to_char(rec.inspected_on, 'YYYY-MM-DD'), '') AS inspected_on,
       rec.inspector, coalesce(rec.outcome, '') AS outcome, rec.not_taken_reason,
       rec.keys_handed, rec.water_reading, rec.power_reading, rec.gas_reading,
       coalesce(rec.signoff, '') AS signoff, rec.refusal_reason,
       coalesce(rec.satisfaction, 0) AS satisfaction,
       (SELECT count(*) FROM inspection_items i WHERE i.record_id = rec.id) AS items,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project'
            WHEN NOT EXISTS (SELECT 1 FROM unit) THEN format('unit %s', $6::text)
       END AS missing,
       CASE WHEN (SELECT count(*) FROM unit) > 1
            THEN format('unit number %s is used in more than one building of the project; '
                        'rename one', $6::text)
            WHEN NOT (SELECT ok FROM fits)
            THEN format('unit %s has %s open item(s) in the handover round, so it is not '
                        'plain accepted: record the outcome accepted_with_items, or close '
                        'the items first', $6::text, (SELECT n FROM open_items))
       END AS invalid
  FROM (VALUES (1)) AS single (x)
  LEFT JOIN rec ON true
  LEFT JOIN one o ON true;

-- A retried handover form whose idempotency key was already used (request_key_claim
-- failed): the unit's handover record as it is now, in the columns of
-- insp_handover_record. $1..$4 the session scope, $5 the project, $6 the unit number,
-- $7 the user's id, $8 the key, $9 the form's message type: a key claimed by another
-- kind of request, or for the form of another unit (request_keys.target, migration 019),
-- is invalid.
-- @columns-of insp_handover_record
PREPARE insp_handover_replay AS
WITH target AS (SELECT p.id FROM projects p
                 WHERE p.id = $5::bigint
                   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     unit AS (SELECT u.id, u.number FROM units u JOIN target t ON u.project_id = t.id
               WHERE u.number = $6::text),
     one AS (SELECT id, number FROM unit WHERE (SELECT count(*) FROM unit) = 1),
     same AS (SELECT k.msg_type = $9::int
                     AND k.target IN ('', $5::bigint::text || '/' || $6::text) AS ok
                FROM request_keys k
               WHERE k.user_id = $7::bigint AND k.key = $8::text),
     rec AS (SELECT ir.* FROM inspection_records ir
               JOIN one o ON ir.unit_id = o.id
               JOIN inspection_rounds ro ON ro.id = ir.round_id AND ro.kind = 'handover'
              WHERE (SELECT ok FROM same))
SELECT rec.id, rec.version,
       (extract(epoch FROM rec.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM rec.updated_at) * 1000)::bigint AS updated_ms,
       rec.project_id, o.number AS unit, 'handover' AS round,
       coalesce(to_char(rec.inspected_on, 'YYYY-MM-DD'), '') AS inspected_on,
       rec.inspector, coalesce(rec.outcome, '') AS outcome, rec.not_taken_reason,
       rec.keys_handed, rec.water_reading, rec.power_reading, rec.gas_reading,
       coalesce(rec.signoff, '') AS signoff, rec.refusal_reason,
       coalesce(rec.satisfaction, 0) AS satisfaction,
       (SELECT count(*) FROM inspection_items i WHERE i.record_id = rec.id) AS items,
       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project'
            WHEN NOT EXISTS (SELECT 1 FROM unit) THEN format('unit %s', $6::text)
            WHEN (SELECT ok FROM same) AND NOT EXISTS (SELECT 1 FROM rec)
            THEN format('handover record of unit %s', $6::text)
       END AS missing,
       CASE WHEN NOT coalesce((SELECT ok FROM same), true)
            THEN 'this idempotency_key was already used for another request (another kind, '
                 'or the form of another unit)'
            WHEN (SELECT count(*) FROM unit) > 1
            THEN format('unit number %s is used in more than one building of the project; '
                        'rename one', $6::text)
       END AS invalid
  FROM (VALUES (1)) AS single (x)
  LEFT JOIN rec ON true
  LEFT JOIN one o ON true;

-- Schedules the handover of units on a day (the project's handover round, created
-- planned when missing; an existing one is left as it is unless a concurrent
-- transaction created it after this statement's snapshot, when the update returns it).
-- Parameters: $1..$4 the session scope, $5 the project, $6 the date, $7 the unit
-- numbers. All or nothing: an unknown number schedules none. One row: whether the
-- project was found (project_found: 0 or 1), how many numbers are unknown, up to 10 of
-- them, and how many records changed.
PREPARE insp_handover_schedule AS
WITH target AS (SELECT p.id FROM projects p
                 WHERE p.id = $5::bigint
                   AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     want AS (SELECT DISTINCT n AS number FROM unnest($7::text[]) AS n),
     found AS (SELECT u.id, u.number FROM want w
                 JOIN units u ON u.number = w.number
                 JOIN target t ON u.project_id = t.id),
     unknown AS (SELECT w.number FROM want w
                  WHERE NOT EXISTS (SELECT 1 FROM found f WHERE f.number = w.number)),
     go AS (SELECT 1 FROM target WHERE NOT EXISTS (SELECT 1 FROM unknown)),
     new_round AS (INSERT INTO inspection_rounds AS ro (project_id, kind, status)
                   SELECT t.id, 'handover', 'planned' FROM target t
                    WHERE EXISTS (SELECT 1 FROM go)
                      AND NOT EXISTS (SELECT 1 FROM inspection_rounds x
                                       WHERE x.project_id = t.id AND x.kind = 'handover')
                   ON CONFLICT (project_id, kind) DO UPDATE SET status = ro.status
                   RETURNING id),
     rnd AS (SELECT id FROM new_round UNION
             SELECT ro.id FROM inspection_rounds ro JOIN target t ON ro.project_id = t.id
              WHERE ro.kind = 'handover'),
     up AS (INSERT INTO inspection_records AS ir (project_id, unit_id, round_id, scheduled_on)
            SELECT t.id, f.id, r.id, $6::date FROM found f, target t, rnd r, go
            ON CONFLICT (unit_id, round_id) DO UPDATE SET scheduled_on = EXCLUDED.scheduled_on
             WHERE ir.scheduled_on IS DISTINCT FROM EXCLUDED.scheduled_on
            RETURNING 1)
SELECT (SELECT count(*) FROM target) AS project_found,
       (SELECT count(*) FROM unknown) AS unknown,
       (SELECT string_agg(number, ', ' ORDER BY number)
          FROM (SELECT number FROM unknown ORDER BY number LIMIT 10) AS x) AS unknown_units,
       (SELECT count(*) FROM up) AS scheduled,
       CASE WHEN EXISTS (SELECT 1 FROM go) AND NOT EXISTS (SELECT 1 FROM rnd)
            THEN cl_retry('the handover round was created concurrently; retry')
            ELSE 0
       END AS guard;
