-- 003_inspections.sql - inspection rounds, per-unit records (the handover acceptance
-- form), inspection items with photos, and the repair tickets with their history.
-- Conventions as in 001: id/version/timestamps, cl_touch, cl_track (audit + feed), actor
-- required. Items and tickets are keyed by the client's UUID, so a retried or
-- re-imported entry is recognised and never doubled; a ticket also gets a short
-- per-project number from a per-project sequence (never MAX+1).

CREATE TABLE inspection_rounds (
    id             bigserial PRIMARY KEY,
    project_id     bigint NOT NULL REFERENCES projects (id),
    kind           text NOT NULL CHECK (kind IN ('mock1', 'mock2', 'mock3', 'handover',
                                                 'check3m', 'check11m', 'check23m',
                                                 'check35m')),
    planned_start  date,
    planned_end    date,
    department     text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT 'planned'
                   CHECK (status IN ('planned', 'in_progress', 'done')),
    idem_key       text UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        bigint NOT NULL DEFAULT 1,
    UNIQUE (project_id, kind),
    CHECK (planned_end IS NULL OR planned_start IS NULL OR planned_end >= planned_start)
);

-- One record per unit and round. For the handover round it is the whole acceptance
-- form (房屋交付验收单); for other rounds it groups the unit's items.
CREATE TABLE inspection_records (
    id                bigserial PRIMARY KEY,
    project_id        bigint NOT NULL REFERENCES projects (id),
    unit_id           bigint NOT NULL REFERENCES units (id),
    round_id          bigint NOT NULL REFERENCES inspection_rounds (id),
    inspected_on      date,
    inspector         text NOT NULL DEFAULT '',
    scheduled_on      date,       -- handover appointment, for the daily report
    outcome           text CHECK (outcome IN ('accepted', 'accepted_with_items',
                                              'not_taken_over')),
    not_taken_reason  text NOT NULL DEFAULT '',
    keys_handed       integer NOT NULL DEFAULT 0 CHECK (keys_handed BETWEEN 0 AND 50),
    water_reading     text NOT NULL DEFAULT '',
    power_reading     text NOT NULL DEFAULT '',
    gas_reading       text NOT NULL DEFAULT '',
    signoff           text CHECK (signoff IN ('signed', 'refused')),
    refusal_reason    text NOT NULL DEFAULT '',
    satisfaction      integer CHECK (satisfaction BETWEEN 1 AND 100),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           bigint NOT NULL DEFAULT 1,
    UNIQUE (unit_id, round_id),
    CHECK (outcome IS DISTINCT FROM 'not_taken_over' OR not_taken_reason <> ''),
    CHECK (signoff IS DISTINCT FROM 'refused' OR refusal_reason <> '')
);
CREATE INDEX inspection_records_day ON inspection_records (project_id, inspected_on);
CREATE INDEX inspection_records_scheduled ON inspection_records (project_id, scheduled_on);

CREATE TABLE inspection_items (
    id              uuid PRIMARY KEY,
    record_id       bigint NOT NULL REFERENCES inspection_records (id),
    project_id      bigint NOT NULL REFERENCES projects (id),
    unit_id         bigint NOT NULL REFERENCES units (id),
    round_id        bigint NOT NULL REFERENCES inspection_rounds (id),
    location        text NOT NULL CHECK (length(location) BETWEEN 1 AND 100),
    category        text NOT NULL REFERENCES trades (code),
    description     text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    severity        text NOT NULL CHECK (severity IN ('minor', 'major', 'critical')),
    found_again_of  uuid REFERENCES inspection_items (id),
    -- when and by whom this item was found (a round's record spans several visits)
    inspected_on    date NOT NULL,
    inspector       text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         bigint NOT NULL DEFAULT 1
);
CREATE INDEX inspection_items_record ON inspection_items (record_id);
CREATE INDEX inspection_items_unit ON inspection_items (unit_id);
CREATE INDEX inspection_items_day ON inspection_items (project_id, inspected_on);

-- Photos are stored once per content hash; an item refers to its photos by hash.
CREATE TABLE photos (
    sha256      bytea PRIMARY KEY CHECK (length(sha256) = 32),
    mime        text NOT NULL CHECK (mime IN ('image/jpeg', 'image/png')),
    size        integer NOT NULL CHECK (size BETWEEN 1 AND 2097152),
    data        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE item_photos (
    item_id  uuid NOT NULL REFERENCES inspection_items (id),
    sha256   bytea NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (item_id, sha256)
);

-- Repair deadlines in days, per project, by category ('' = any) and severity.
CREATE TABLE deadline_presets (
    project_id  bigint NOT NULL REFERENCES projects (id),
    category    text NOT NULL DEFAULT '',
    severity    text NOT NULL CHECK (severity IN ('minor', 'major', 'critical')),
    days        integer NOT NULL CHECK (days BETWEEN 1 AND 3650),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (project_id, category, severity)
);

-- One ticket per item, same UUID. state follows common/ticket_fsm.c.
CREATE TABLE tickets (
    id             uuid PRIMARY KEY REFERENCES inspection_items (id),
    project_id     bigint NOT NULL REFERENCES projects (id),
    number         integer NOT NULL,
    state          text NOT NULL CHECK (state IN ('dispatch', 'open', 'repaired', 'closed',
                                                  'nofix')),
    contractor_id  bigint REFERENCES contractors (id),
    category       text NOT NULL REFERENCES trades (code),
    severity       text NOT NULL,
    deadline       date,
    rework_count   integer NOT NULL DEFAULT 0,
    last_note      text NOT NULL DEFAULT '',
    raised_at      timestamptz NOT NULL DEFAULT now(),
    closed_at      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        bigint NOT NULL DEFAULT 1,
    UNIQUE (project_id, number),
    CHECK (state NOT IN ('open', 'repaired') OR contractor_id IS NOT NULL),
    CHECK ((state IN ('closed', 'nofix')) = (closed_at IS NOT NULL))
);
-- The morning lists: a contractor's open tickets oldest first; a project's repaired ones.
CREATE INDEX tickets_todo ON tickets (contractor_id, raised_at, number) WHERE state = 'open';
CREATE INDEX tickets_toverify ON tickets (project_id, raised_at, number)
    WHERE state = 'repaired';
CREATE INDEX tickets_dispatch ON tickets (project_id, raised_at) WHERE state = 'dispatch';
CREATE INDEX tickets_closed ON tickets (project_id, closed_at) WHERE closed_at IS NOT NULL;

-- Every transition, with actor, time and note: the item's whole history.
CREATE TABLE ticket_events (
    id             bigserial PRIMARY KEY,
    ticket_id      uuid NOT NULL REFERENCES tickets (id),
    project_id     bigint NOT NULL REFERENCES projects (id),
    at             timestamptz NOT NULL DEFAULT now(),
    actor_user_id  bigint,
    actor          text NOT NULL,
    action         text NOT NULL,
    from_state     text,
    to_state       text NOT NULL,
    note           text NOT NULL DEFAULT '',
    contractor_id  bigint REFERENCES contractors (id)
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);
CREATE INDEX ticket_events_day ON ticket_events (project_id, at);

-- Per-project ticket numbers: one sequence per project, created with the project.
CREATE FUNCTION cl_ticket_seq_name(p_project bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'ticket_no_p' || p_project $$;

CREATE FUNCTION cl_project_ticket_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', cl_ticket_seq_name(NEW.id));
    RETURN NULL;
END $$;
CREATE TRIGGER projects_ticket_seq AFTER INSERT ON projects
    FOR EACH ROW EXECUTE FUNCTION cl_project_ticket_seq();
DO $$
DECLARE p bigint;
BEGIN
    FOR p IN SELECT id FROM projects LOOP
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', cl_ticket_seq_name(p));
    END LOOP;
END $$;

CREATE FUNCTION cl_next_ticket_number(p_project bigint) RETURNS integer
LANGUAGE sql VOLATILE AS $$ SELECT nextval(cl_ticket_seq_name(p_project)::regclass)::integer $$;

-- Repair deadline of a new ticket: the most specific preset (category before any).
CREATE FUNCTION cl_ticket_deadline(p_project bigint, p_category text, p_severity text,
                                   p_raised timestamptz) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (p_raised::date + d.days)
    FROM deadline_presets d
    WHERE d.project_id = p_project AND d.severity = p_severity
      AND d.category IN (p_category, '')
    ORDER BY d.category = '' LIMIT 1
$$;

-- The five timeliness classes of a ticket.
CREATE FUNCTION cl_ticket_timeliness(p_state text, p_deadline date, p_closed timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_deadline IS NULL THEN 'no_deadline'
        WHEN p_state IN ('closed', 'nofix') AND p_closed::date > p_deadline THEN 'closed_late'
        WHEN p_state IN ('closed', 'nofix') THEN 'closed_in_time'
        WHEN current_date > p_deadline THEN 'overdue_open'
        ELSE 'in_time_open' END
$$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['inspection_rounds', 'inspection_records', 'inspection_items',
                             'deadline_presets', 'tickets'] LOOP
        EXECUTE format('CREATE TRIGGER %I_touch BEFORE UPDATE ON %I FOR EACH ROW
                        EXECUTE FUNCTION cl_touch()', t, t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['inspection_rounds', 'inspection_records', 'inspection_items',
                             'item_photos', 'deadline_presets', 'tickets'] LOOP
        PERFORM cl_track_table(t, true);
    END LOOP;
    -- ticket_events are themselves the history; photos are content, audited via item_photos.
END $$;
