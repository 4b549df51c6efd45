-- 001_org.sql - the organisation model, identity, audit and the change feed.
--
-- Conventions, for this and every later migration:
-- * Every business row has id, created_at, updated_at and version; cl_touch() bumps
--   updated_at and version on UPDATE, so writers compare-and-set on (id, version).
-- * Every mutation of a tracked table runs cl_track(), which writes an audit_log row
--   and (unless the trigger says 'nofeed') a change_log row in the same transaction.
--   The actor comes from the transaction setting closeloop.actor (JSON: user_id,
--   username, peer, device), set by the daemon in the same batch; a tracked mutation
--   without an actor is refused, so nothing can change unattributed.
-- * Client-generated idempotency keys (idem_key) make creates safe to retry.
-- * Text is UTF-8; Chinese names are ordinary data.

CREATE TABLE companies (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('hq', 'city', 'project')),
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    parent_id   bigint REFERENCES companies (id),
    idem_key    text UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1
);

CREATE TABLE departments (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1,
    UNIQUE (company_id, name)
);

CREATE TABLE projects (
    id            bigserial PRIMARY KEY,
    company_id    bigint NOT NULL REFERENCES companies (id),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    city          text NOT NULL DEFAULT '',
    move_in_date  date,
    idem_key      text UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       bigint NOT NULL DEFAULT 1,
    UNIQUE (company_id, name)
);

CREATE TABLE buildings (
    id          bigserial PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES projects (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    floors      integer NOT NULL DEFAULT 0 CHECK (floors BETWEEN 0 AND 300),
    idem_key    text UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1,
    UNIQUE (project_id, name)
);

-- project_id repeats the building's project so scope filters need no join.
CREATE TABLE units (
    id           bigserial PRIMARY KEY,
    building_id  bigint NOT NULL REFERENCES buildings (id),
    project_id   bigint NOT NULL REFERENCES projects (id),
    number       text NOT NULL CHECK (length(number) BETWEEN 1 AND 50),
    floor        integer NOT NULL DEFAULT 0 CHECK (floor BETWEEN -10 AND 300),
    layout       text NOT NULL DEFAULT '' CHECK (length(layout) <= 50),
    idem_key     text UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      bigint NOT NULL DEFAULT 1,
    UNIQUE (building_id, number)
);
CREATE INDEX units_project ON units (project_id, building_id, number);

-- The owner of record of a unit: personal data, shown only to roles that need it.
CREATE TABLE owners (
    id          bigserial PRIMARY KEY,
    unit_id     bigint NOT NULL UNIQUE REFERENCES units (id),
    project_id  bigint NOT NULL REFERENCES projects (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    phone       text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
    id_number   text NOT NULL DEFAULT '' CHECK (length(id_number) <= 40),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1
);

-- Trades (专业) that contractors cover and repair items are categorised by.
CREATE TABLE trades (
    code     text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
    name_zh  text NOT NULL,
    name_en  text NOT NULL
);
INSERT INTO trades (code, name_zh, name_en) VALUES
    ('civil', '土建', 'civil works'),
    ('waterproofing', '防水', 'waterproofing'),
    ('doors_windows', '门窗', 'doors and windows'),
    ('electrical', '电气', 'electrical'),
    ('plumbing', '给排水', 'plumbing'),
    ('decoration', '装修', 'interior finishing'),
    ('hvac', '暖通', 'heating and ventilation'),
    ('landscaping', '园林', 'landscaping'),
    ('fire', '消防', 'fire protection'),
    ('low_voltage', '弱电', 'low-voltage systems');

CREATE TABLE contractors (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    idem_key    text UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1
);

CREATE TABLE contractor_trades (
    contractor_id  bigint NOT NULL REFERENCES contractors (id),
    trade          text NOT NULL REFERENCES trades (code),
    PRIMARY KEY (contractor_id, trade)
);

-- Which contractor repairs which trade on a project: repair tickets are dispatched by it.
CREATE TABLE project_trades (
    project_id     bigint NOT NULL REFERENCES projects (id),
    trade          text NOT NULL REFERENCES trades (code),
    contractor_id  bigint NOT NULL REFERENCES contractors (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (project_id, trade)
);
CREATE INDEX project_trades_contractor ON project_trades (contractor_id);

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.-]{1,64}$'),
    display_name   text NOT NULL DEFAULT '',
    role           text NOT NULL CHECK (role IN ('hq_admin', 'hq_analyst', 'cr', 'clerk',
                                                 'contractor', 'verifier', 'property')),
    company_id     bigint REFERENCES companies (id),
    contractor_id  bigint REFERENCES contractors (id),
    password_hash  text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    disabled       boolean NOT NULL DEFAULT false,
    idem_key       text UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        bigint NOT NULL DEFAULT 1,
    CHECK (role <> 'cr' OR company_id IS NOT NULL),
    CHECK (role <> 'contractor' OR contractor_id IS NOT NULL)
);

-- Projects a clerk, verifier or property user works on.
CREATE TABLE user_projects (
    user_id     bigint NOT NULL REFERENCES users (id),
    project_id  bigint NOT NULL REFERENCES projects (id),
    PRIMARY KEY (user_id, project_id)
);
CREATE INDEX user_projects_project ON user_projects (project_id);

-- Sessions: only a SHA-256 hash of the opaque token is stored.
CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    peer        text NOT NULL DEFAULT '',
    device      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed logins, for throttling per user and per source address.
CREATE TABLE login_failures (
    id        bigserial PRIMARY KEY,
    username  text NOT NULL,
    peer      text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_user ON login_failures (username, at);
CREATE INDEX login_failures_peer ON login_failures (peer, at);

-- Client certificates seen, and the company each device belongs to.
CREATE TABLE devices (
    subject     text PRIMARY KEY,
    company_id  bigint REFERENCES companies (id),
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_user_id  bigint,
    actor          jsonb NOT NULL,
    action         text NOT NULL,
    entity         text NOT NULL,
    entity_id      bigint,
    detail         jsonb NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

-- The change feed. Sequence values become visible out of commit order, so readers
-- never page by seq alone: they page by (xid, seq) and only read rows whose
-- transaction id is below pg_snapshot_xmin(pg_current_snapshot()). Every transaction
-- below that horizon has ended and no new one can get a smaller id, so the set of rows
-- below it is final and a cursor over it never skips a row (see docs/SCHEMA.md).
CREATE TABLE change_log (
    seq            bigserial PRIMARY KEY,
    xid            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    at             timestamptz NOT NULL DEFAULT now(),
    entity         text NOT NULL,
    entity_id      bigint,
    op             text NOT NULL,
    company_id     bigint,
    project_id     bigint,
    contractor_id  bigint,
    data           jsonb NOT NULL
);
CREATE INDEX change_log_feed ON change_log (xid, seq);
CREATE INDEX change_log_company ON change_log (company_id, xid, seq);

CREATE FUNCTION cl_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    NEW.version := OLD.version + 1;
    RETURN NEW;
END $$;

CREATE FUNCTION cl_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r           jsonb;
    actor       jsonb;
    v_id        bigint;
    v_company   bigint;
    v_project   bigint;
    v_contract  bigint;
BEGIN
    actor := nullif(current_setting('closeloop.actor', true), '')::jsonb;
    IF actor IS NULL THEN
        RAISE EXCEPTION 'closeloop: % of % without an actor', lower(TG_OP), TG_TABLE_NAME
            USING ERRCODE = 'P0001';
    END IF;
    r := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END
         - 'password_hash' - 'token_hash';
    -- Items and tickets are keyed by UUID: entity_id stays NULL, the id is in the data.
    v_id := CASE WHEN jsonb_typeof(r -> 'id') = 'number' THEN (r ->> 'id')::bigint END;
    v_project := CASE WHEN TG_TABLE_NAME = 'projects' THEN v_id
                      ELSE (r ->> 'project_id')::bigint END;
    v_company := CASE WHEN TG_TABLE_NAME = 'companies' THEN v_id
                      ELSE (r ->> 'company_id')::bigint END;
    IF v_company IS NULL AND v_project IS NOT NULL THEN
        SELECT company_id INTO v_company FROM projects WHERE id = v_project;
    END IF;
    v_contract := CASE WHEN TG_TABLE_NAME = 'contractors' THEN v_id
                       ELSE (r ->> 'contractor_id')::bigint END;
    INSERT INTO audit_log (actor_user_id, actor, action, entity, entity_id, detail)
    VALUES ((actor ->> 'user_id')::bigint, actor, lower(TG_OP), TG_TABLE_NAME, v_id,
            CASE WHEN TG_OP = 'UPDATE'
                 THEN jsonb_build_object('old', to_jsonb(OLD) - 'password_hash' - 'token_hash',
                                         'new', r)
                 ELSE r END);
    IF TG_NARGS = 0 OR TG_ARGV[0] <> 'nofeed' THEN
        INSERT INTO change_log (entity, entity_id, op, company_id, project_id, contractor_id, data)
        -- Owners' personal data stays out of the feed, which reaches desktops of every
        -- role in scope; the event (this unit's owner changed) still goes out.
        VALUES (TG_TABLE_NAME, v_id, lower(TG_OP), v_company, v_project, v_contract,
                CASE WHEN TG_TABLE_NAME = 'owners' THEN r - 'name' - 'phone' - 'id_number'
                     ELSE r END);
    END IF;
    RETURN NULL;
END $$;

-- Inserts come in bulk (imports, a day's inspection items), so they are tracked once per
-- statement from its transition table: one set-based insert into each log instead of
-- two per row. Updates and deletes are few and keep the row trigger above.
CREATE FUNCTION cl_track_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
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
    WITH r AS (SELECT to_jsonb(n) - 'password_hash' - 'token_hash' AS j FROM new_rows n),
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
                                     ELSE (k.j ->> 'project_id')::bigint END
                                AS project_id) x
      LEFT JOIN projects p ON p.id = x.project_id
     WHERE feed;
    RETURN NULL;
END $$;

-- Tracks a table: inserts per statement, updates and deletes per row; feed = false keeps
-- it out of change_log (audited only). Later migrations call it for their tables.
CREATE FUNCTION cl_track_table(t text, feed boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER %I_track AFTER UPDATE OR DELETE ON %I
                    FOR EACH ROW EXECUTE FUNCTION cl_track(%L)', t, t,
                   CASE WHEN feed THEN 'feed' ELSE 'nofeed' END);
    EXECUTE format('CREATE TRIGGER %I_track_insert AFTER INSERT ON %I
                    REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION cl_track_inserts(%L)', t, t,
                   CASE WHEN feed THEN 'feed' ELSE 'nofeed' END);
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['companies', 'departments', 'projects', 'buildings', 'units',
                             'owners', 'contractors', 'project_trades', 'users'] LOOP
        EXECUTE format('CREATE TRIGGER %I_touch BEFORE UPDATE ON %I FOR EACH ROW
                        EXECUTE FUNCTION cl_touch()', t, t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['companies', 'departments', 'projects', 'buildings', 'units',
                             'owners', 'contractors', 'contractor_trades', 'project_trades',
                             'users', 'user_projects'] LOOP
        PERFORM cl_track_table(t, true);
    END LOOP;
    -- Sessions and devices are audited but are not part of the sync feed.
    FOREACH t IN ARRAY ARRAY['sessions', 'devices'] LOOP
        PERFORM cl_track_table(t, false);
    END LOOP;
END $$;
