-- 024_complaints.sql - owner complaints (投诉, issue 12; docs/COMPLAINTS.md): the complaint,
-- its events, its two clocks and the closure targets per class.
--
-- A complaint's class (ordinary / important / hot / major) is computed by the pure rules of
-- common/complaint_rules.c from facts the daemon reads (server/complaint/complaint.sql);
-- the database keeps the result and every change of it as an event with its reason.
-- A clock is a budget of business seconds over the project's company calendar (022):
-- used_s is what it has used up to running_since (NULL: paused or stopped); due_at and
-- warn_at are the business instants it runs out / reaches 75 % when it keeps running,
-- written by the daemon (common/bizcal.c) on every change. warned_at and breached_at are
-- claimed once by whichever daemon's timer gets there first.

CREATE TABLE complaints (
    id               bigserial PRIMARY KEY,
    project_id       bigint NOT NULL REFERENCES projects (id),
    unit_id          bigint REFERENCES units (id),
    owner_name       text NOT NULL CHECK (length(owner_name) BETWEEN 1 AND 100),
    owner_phone      text NOT NULL DEFAULT '' CHECK (length(owner_phone) <= 40),
    channel          text NOT NULL CHECK (channel IN ('phone', 'hotline400', 'online',
                                                      'walk_in', 'front_desk')),
    specialty        text NOT NULL CHECK (specialty IN ('engineering', 'design', 'sales',
                                                        'property', 'service', 'other')),
    category         text NOT NULL DEFAULT '',   -- a trade code, or '' for none
    description      text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    complainants     integer NOT NULL DEFAULT 1 CHECK (complainants BETWEEN 1 AND 10000),
    legal            boolean NOT NULL DEFAULT false,   -- already in court
    media            boolean NOT NULL DEFAULT false,   -- already exposed by media
    legal_risk       boolean NOT NULL DEFAULT false,
    media_risk       boolean NOT NULL DEFAULT false,
    outside_support  boolean NOT NULL DEFAULT false,
    ticket_id        uuid REFERENCES tickets (id),
    defect_id        bigint REFERENCES defects (id),
    case_id          bigint REFERENCES kb_cases (id),   -- the write-up of a major complaint
    class            text NOT NULL DEFAULT 'ordinary'
                     CHECK (class IN ('ordinary', 'important', 'hot', 'major')),
    class_reason     text NOT NULL DEFAULT '' CHECK (length(class_reason) <= 400),
    state            text NOT NULL DEFAULT 'open'
                     CHECK (state IN ('open', 'waiting', 'closed')),
    reopened         integer NOT NULL DEFAULT 0 CHECK (reopened >= 0),
    paused_s         bigint NOT NULL DEFAULT 0,   -- wall seconds spent waiting on the owner
    paused_since     timestamptz,                 -- set while state = 'waiting'
    level            integer NOT NULL DEFAULT 1 CHECK (level BETWEEN 1 AND 3),
    owner_user_id    bigint REFERENCES users (id),   -- the named owner of the current level
    satisfaction     integer CHECK (satisfaction BETWEEN 1 AND 5),
    created_at       timestamptz NOT NULL,
    closed_at        timestamptz,
    version          bigint NOT NULL DEFAULT 1,
    CHECK ((state = 'waiting') = (paused_since IS NOT NULL))
);
CREATE INDEX complaints_project ON complaints (project_id, id);
CREATE INDEX complaints_issue ON complaints (project_id, specialty, created_at);
CREATE INDEX complaints_open ON complaints (id) WHERE state <> 'closed';

CREATE TABLE complaint_events (
    id            bigserial PRIMARY KEY,
    complaint_id  bigint NOT NULL REFERENCES complaints (id),
    at            timestamptz NOT NULL,
    actor_user_id bigint REFERENCES users (id),   -- NULL: the daemon's timer
    action        text NOT NULL CHECK (action IN ('add', 'class', 'reply', 'pause', 'resume',
                                                  'escalate', 'close', 'revisit', 'reopen',
                                                  'warning', 'breach')),
    from_class    text,
    to_class      text,
    from_level    integer,
    to_level      integer,
    from_owner    bigint,
    to_owner      bigint,
    satisfaction  integer,
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    detail        text NOT NULL DEFAULT '' CHECK (length(detail) <= 400)   -- reason, new due
);
CREATE INDEX complaint_events_complaint ON complaint_events (complaint_id, id);

CREATE TABLE complaint_clocks (
    complaint_id   bigint NOT NULL REFERENCES complaints (id),
    kind           text NOT NULL CHECK (kind IN ('first_reply', 'closure')),
    budget_s       bigint NOT NULL CHECK (budget_s > 0),
    used_s         bigint NOT NULL DEFAULT 0 CHECK (used_s >= 0),
    running_since  timestamptz,   -- NULL: paused or stopped
    due_at         timestamptz,   -- when it runs out if it keeps running (NULL: not running)
    warn_at        timestamptz,   -- when it reaches 75 % likewise
    warned_at      timestamptz,
    breached_at    timestamptz,
    stopped_at     timestamptz,   -- met: the reply given, the complaint closed
    PRIMARY KEY (complaint_id, kind)
);
CREATE INDEX complaint_clocks_warn ON complaint_clocks (warn_at)
    WHERE warned_at IS NULL AND running_since IS NOT NULL;
CREATE INDEX complaint_clocks_due ON complaint_clocks (due_at)
    WHERE breached_at IS NULL AND running_since IS NOT NULL;

-- Closure budget per class, in business hours (configurable: UPDATE, or per deployment).
CREATE TABLE complaint_targets (
    class          text PRIMARY KEY CHECK (class IN ('ordinary', 'important', 'hot', 'major')),
    closure_hours  integer NOT NULL CHECK (closure_hours BETWEEN 1 AND 10000)
);
INSERT INTO complaint_targets (class, closure_hours) VALUES
    ('ordinary', 40), ('important', 40), ('hot', 24), ('major', 16);
