-- 017_sync.sql - what the desktop sync's change feed needs (server/sync, docs/SYNC.md).
--
-- * change_log.contractor_was: on an UPDATE of a row that has a contractor_id (tickets,
--   project_trades), the contractor it had before. The feed tells a contractor's desktop
--   that a ticket left it (SYNC_REVOKE) when contractor_was is that contractor and
--   contractor_id no longer is, and sends the ticket's item first when it becomes its own.
-- * item_photos rows carry their item's project and company in change_log (their data has
--   no project_id), so a city company's feed reads them through change_log_company.
-- * ticket_events reach the feed (not the audit: they are themselves the history), so a
--   desktop's ticket history stays current without reading the whole table again.
-- cl_track and cl_track_inserts are 011's, restated whole with these changes.

ALTER TABLE change_log ADD COLUMN contractor_was bigint;

CREATE OR REPLACE FUNCTION cl_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r           jsonb;
    actor       jsonb;
    v_id        bigint;
    v_company   bigint;
    v_project   bigint;
    v_contract  bigint;
    v_was       bigint;
BEGIN
    actor := nullif(current_setting('closeloop.actor', true), '')::jsonb;
    IF actor IS NULL THEN
        RAISE EXCEPTION 'closeloop: % of % without an actor', lower(TG_OP), TG_TABLE_NAME
            USING ERRCODE = 'P0001';
    END IF;
    r := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END
         - 'password_hash' - 'token_hash' - 'search';
    -- Items and tickets are keyed by UUID: entity_id stays NULL, the id is in the data.
    v_id := CASE WHEN jsonb_typeof(r -> 'id') = 'number' THEN (r ->> 'id')::bigint END;
    v_project := CASE WHEN TG_TABLE_NAME = 'projects' THEN v_id
                      ELSE (r ->> 'project_id')::bigint END;
    IF TG_TABLE_NAME = 'item_photos' THEN
        SELECT i.project_id INTO v_project FROM inspection_items i
         WHERE i.id = (r ->> 'item_id')::uuid;
    END IF;
    v_company := CASE WHEN TG_TABLE_NAME = 'companies' THEN v_id
                      ELSE (r ->> 'company_id')::bigint END;
    IF v_company IS NULL AND v_project IS NOT NULL THEN
        SELECT company_id INTO v_company FROM projects WHERE id = v_project;
    END IF;
    v_contract := CASE WHEN TG_TABLE_NAME = 'contractors' THEN v_id
                       ELSE (r ->> 'contractor_id')::bigint END;
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME <> 'contractors' THEN
        v_was := (to_jsonb(OLD) ->> 'contractor_id')::bigint;
    END IF;
    INSERT INTO audit_log (actor_user_id, actor, action, entity, entity_id, detail)
    VALUES ((actor ->> 'user_id')::bigint, actor, lower(TG_OP), TG_TABLE_NAME, v_id,
            CASE WHEN TG_OP = 'UPDATE'
                 THEN jsonb_build_object('old', to_jsonb(OLD) - 'password_hash' - 'token_hash' - 'search',
                                         'new', r)
                 ELSE r END);
    IF TG_NARGS = 0 OR TG_ARGV[0] <> 'nofeed' THEN
        INSERT INTO change_log (entity, entity_id, op, company_id, project_id, contractor_id,
                                contractor_was, data)
        -- Owners' personal data stays out of the feed, which reaches desktops of every
        -- role in scope; the event (this unit's owner changed) still goes out.
        VALUES (TG_TABLE_NAME, v_id, lower(TG_OP), v_company, v_project, v_contract, v_was,
                CASE WHEN TG_TABLE_NAME = 'owners' THEN r - 'name' - 'phone' - 'id_number'
                     ELSE r END);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION cl_track_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor  jsonb;
    feed   boolean := TG_NARGS = 0 OR TG_ARGV[0] <> 'nofeed';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
        RETURN NULL;
    END IF;
    actor := nullif(current_setting('closeloop.actor', true), '')::jsonb;
    IF actor IS NULL THEN
        RAISE EXCEPTION 'closeloop: insert of % without an actor', TG_TABLE_NAME
            USING ERRCODE = 'P0001';
    END IF;
    WITH r AS (SELECT to_jsonb(n) - 'password_hash' - 'token_hash' - 'search' AS j FROM new_rows n),
         k AS (SELECT j, CASE WHEN jsonb_typeof(j -> 'id') = 'number'
                              THEN (j ->> 'id')::bigint END AS id FROM r),
         audit AS (INSERT INTO audit_log (actor_user_id, actor, action, entity, entity_id,
                                          detail)
                   SELECT (actor ->> 'user_id')::bigint, actor, 'insert', TG_TABLE_NAME,
                          k.id, k.j FROM k)
    INSERT INTO change_log (entity, entity_id, op, company_id, project_id, contractor_id, data)
    SELECT TG_TABLE_NAME, k.id, 'insert',
           CASE WHEN TG_TABLE_NAME = 'companies' THEN k.id
                ELSE coalesce((k.j ->> 'company_id')::bigint, p.company_id) END,
           x.project_id,
           CASE WHEN TG_TABLE_NAME = 'contractors' THEN k.id
                ELSE (k.j ->> 'contractor_id')::bigint END,
           CASE WHEN TG_TABLE_NAME = 'owners' THEN k.j - 'name' - 'phone' - 'id_number'
                ELSE k.j END
      FROM k
     CROSS JOIN LATERAL (SELECT CASE WHEN TG_TABLE_NAME = 'projects' THEN k.id
                                     WHEN TG_TABLE_NAME = 'item_photos'
                                     THEN (SELECT i.project_id FROM inspection_items i
                                            WHERE i.id = (k.j ->> 'item_id')::uuid)
                                     ELSE (k.j ->> 'project_id')::bigint END
                                AS project_id) x
      LEFT JOIN projects p ON p.id = x.project_id
     WHERE feed;
    RETURN NULL;
END $$;

-- Feed-only tracking of inserts, for tables that are their own history (no audit row).
CREATE FUNCTION cl_feed_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_log (entity, entity_id, op, company_id, project_id, contractor_id, data)
    SELECT TG_TABLE_NAME, (j ->> 'id')::bigint, 'insert', p.company_id, p.id,
           (j ->> 'contractor_id')::bigint, j
      FROM (SELECT to_jsonb(n) AS j FROM new_rows n) r
      LEFT JOIN projects p ON p.id = (r.j ->> 'project_id')::bigint;
    RETURN NULL;
END $$;

CREATE TRIGGER ticket_events_feed AFTER INSERT ON ticket_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cl_feed_inserts();
