-- mirror_schema.sql - the SQLite file of a desktop's mirror and outbox (libcloop,
-- client/lib/cloop_mirror.c). One file per user and server; docs/SYNC.md explains it.
--
-- Mirrored tables have exactly the columns the server names for their entity in
-- SyncStart (server/sync/sync.sql), in the same order, so one row's JSON array of values
-- is inserted as it comes: the mirror refuses a server whose columns differ. Values are as
-- PostgreSQL's jsonb writes them: timestamps ISO 8601 text ("2026-12-05T09:30:00.123456+08:00"),
-- dates YYYY-MM-DD, arrays and long records JSON text. Keys are text in sync_* and
-- outbox_touch: the id as decimal, a UUID, or "a/b" for two key columns.
--
-- Applied once when the file is new (PRAGMA user_version 0 -> 1).

CREATE TABLE sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- Rows that are gone for good (SYNC_DELETE: version 9223372036854775807) or left the
-- caller's scope (SYNC_REVOKE, at that version): a row of the same key is applied again
-- only when newer, so a late, older change never resurrects it.
CREATE TABLE sync_gone (
    entity   TEXT NOT NULL,
    key      TEXT NOT NULL,
    version  INTEGER NOT NULL,
    PRIMARY KEY (entity, key)
) WITHOUT ROWID;

-- Downloaded rows held back because an outbox entry that is not yet acknowledged touched
-- the same row: the newest one per key, applied when the entry is acknowledged or
-- dropped. Downloaded data never overwrites an unacknowledged local entry.
CREATE TABLE sync_held (
    entity   TEXT NOT NULL,
    key      TEXT NOT NULL,
    op       INTEGER NOT NULL,
    version  INTEGER NOT NULL,
    vals     TEXT NOT NULL,
    PRIMARY KEY (entity, key)
) WITHOUT ROWID;

-- The outbox: entries made while the server could not be reached, in the order made.
--   pending   waiting to be pushed (next_attempt_ms: not before; backoff after a failure
--             the server or the network said may pass)
--   sending   being pushed now (a push killed here is sent again: the key makes it safe)
--   acked     the server applied it (or had applied it: a replay); reply holds its reply
--   conflict  the record changed meanwhile (judged by version): server_side holds how it
--             is now; the user re-applies or drops it (cloop outbox resolve)
--   failed    the server refused it for good (a bad row, a rule); kept with its error,
--             never retried by itself; the user re-applies or drops it
--   dropped   the user dropped it, with a note; its optimistic change was undone
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    created_ms       INTEGER NOT NULL,
    username         TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('items', 'handover', 'transition')),
    msg_type         INTEGER NOT NULL,
    payload          BLOB NOT NULL,
    idem_key         TEXT NOT NULL UNIQUE,
    summary          TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'acked', 'conflict', 'failed',
                                      'dropped')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL DEFAULT 0,
    error_code       INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    server_side      TEXT NOT NULL DEFAULT '',
    reply            BLOB,
    undo             BLOB,
    note             TEXT NOT NULL DEFAULT '',
    done_ms          INTEGER
);
CREATE INDEX outbox_state ON outbox (state, id);

-- The mirror rows an entry changed optimistically (for holding downloads and for undo).
CREATE TABLE outbox_touch (
    entry_id  INTEGER NOT NULL REFERENCES outbox (id),
    entity    TEXT NOT NULL,
    key       TEXT NOT NULL,
    PRIMARY KEY (entry_id, entity, key)
) WITHOUT ROWID;
CREATE INDEX outbox_touch_row ON outbox_touch (entity, key);

-- ---- mirrored entities (docs/SYNC.md, "What is mirrored") ----

CREATE TABLE companies (
    id INTEGER PRIMARY KEY, kind TEXT, name TEXT, parent_id INTEGER, version INTEGER);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY, company_id INTEGER, name TEXT, city TEXT, move_in_date TEXT,
    defect_prefix TEXT, version INTEGER);

CREATE TABLE buildings (
    id INTEGER PRIMARY KEY, project_id INTEGER, name TEXT, floors INTEGER, version INTEGER);

CREATE TABLE units (
    id INTEGER PRIMARY KEY, building_id INTEGER, project_id INTEGER, number TEXT,
    floor INTEGER, layout TEXT, version INTEGER);
CREATE INDEX units_number ON units (project_id, number);

-- Owners' personal data: only for roles that may see it (the server sends the entity to
-- them alone).
CREATE TABLE owners (
    id INTEGER PRIMARY KEY, unit_id INTEGER, project_id INTEGER, name TEXT, phone TEXT,
    id_number TEXT, version INTEGER);

CREATE TABLE contractors (id INTEGER PRIMARY KEY, name TEXT, version INTEGER);

CREATE TABLE trades (code TEXT PRIMARY KEY, name_zh TEXT, name_en TEXT) WITHOUT ROWID;

CREATE TABLE project_trades (
    project_id INTEGER, trade TEXT, contractor_id INTEGER, version INTEGER,
    PRIMARY KEY (project_id, trade)) WITHOUT ROWID;

CREATE TABLE trade_aliases (
    project_id INTEGER, alias TEXT, trade TEXT, version INTEGER,
    PRIMARY KEY (project_id, alias)) WITHOUT ROWID;

CREATE TABLE inspection_rounds (
    id INTEGER PRIMARY KEY, project_id INTEGER, kind TEXT, planned_start TEXT,
    planned_end TEXT, department TEXT, status TEXT, version INTEGER);

CREATE TABLE inspection_records (
    id INTEGER PRIMARY KEY, project_id INTEGER, unit_id INTEGER, round_id INTEGER,
    inspected_on TEXT, inspector TEXT, scheduled_on TEXT, outcome TEXT,
    not_taken_reason TEXT, keys_handed INTEGER, water_reading TEXT, power_reading TEXT,
    gas_reading TEXT, signoff TEXT, refusal_reason TEXT, satisfaction INTEGER,
    version INTEGER);
CREATE INDEX inspection_records_unit ON inspection_records (unit_id, round_id);

CREATE TABLE inspection_items (
    id TEXT PRIMARY KEY, record_id INTEGER, project_id INTEGER, unit_id INTEGER,
    round_id INTEGER, location TEXT, category TEXT, description TEXT, severity TEXT,
    found_again_of TEXT, inspected_on TEXT, inspector TEXT, case_id INTEGER, dup_of TEXT,
    created_at TEXT, version INTEGER) WITHOUT ROWID;
CREATE INDEX inspection_items_project ON inspection_items (project_id, inspected_on);

-- Photos are not mirrored, only which photos an item has (their SHA-256, hex).
CREATE TABLE item_photos (
    item_id TEXT, sha256 TEXT, PRIMARY KEY (item_id, sha256)) WITHOUT ROWID;

CREATE TABLE tickets (
    id TEXT PRIMARY KEY, project_id INTEGER, number INTEGER, state TEXT,
    contractor_id INTEGER, category TEXT, severity TEXT, deadline TEXT,
    rework_count INTEGER, last_note TEXT, raised_at TEXT, closed_at TEXT, found_on TEXT,
    updated_at TEXT, version INTEGER) WITHOUT ROWID;
CREATE INDEX tickets_project ON tickets (project_id, state, found_on, number);
CREATE INDEX tickets_contractor ON tickets (contractor_id, state, found_on, number);

CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY, ticket_id TEXT, project_id INTEGER, at TEXT,
    actor_user_id INTEGER, actor TEXT, action TEXT, from_state TEXT, to_state TEXT,
    note TEXT, contractor_id INTEGER);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);
CREATE INDEX ticket_events_day ON ticket_events (project_id, at);

-- Defects and cases are mirrored whole, as the server's JSON of the row (data), for
-- reading; the fields lists filter on are columns.
CREATE TABLE defects (
    id INTEGER PRIMARY KEY, project_id INTEGER, code TEXT, state TEXT, version INTEGER,
    data TEXT);

CREATE TABLE kb_cases (
    id INTEGER PRIMARY KEY, code TEXT, status TEXT, version INTEGER, data TEXT);
