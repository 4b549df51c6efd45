-- 026_warranty.sql - warranty repairs (保修, issue 12 point 6; docs/WARRANTY.md): the
-- owners' warranty reports, their response ladder (物业客服 -> 地产客服 -> 400热线), and the
-- warranty office's letters and deductions.
--
-- A report is an inspection record of the project's one 'warranty' round (created on
-- first need), an item and its ticket, so the repair uses the ticket loop unchanged;
-- warranty_reports adds the owner, the ladder's level and the response budget's due
-- instant (a business instant over the project's company calendar, written by the daemon,
-- common/bizcal.c). The daemon's timer claims overdue reports with one UPDATE, so two
-- daemons climb a report once. The first response is `warranty respond` or the ticket's
-- first 'repaired' event, both through cl_warranty_respond below (one definition).

ALTER TABLE inspection_rounds DROP CONSTRAINT inspection_rounds_kind_check;
ALTER TABLE inspection_rounds ADD CONSTRAINT inspection_rounds_kind_check
    CHECK (kind IN ('mock1', 'mock2', 'mock3', 'handover', 'check3m', 'check11m', 'check23m',
                    'check35m', 'warranty'));

CREATE TABLE warranty_reports (
    ticket_id                  uuid PRIMARY KEY REFERENCES tickets (id),
    project_id                 bigint NOT NULL REFERENCES projects (id),
    unit_id                    bigint NOT NULL REFERENCES units (id),
    owner_name                 text NOT NULL CHECK (length(owner_name) BETWEEN 1 AND 100),
    owner_phone                text NOT NULL DEFAULT '' CHECK (length(owner_phone) <= 40),
    reported_at                timestamptz NOT NULL,
    level                      text NOT NULL DEFAULT 'property'
                               CHECK (level IN ('property', 'developer', 'hotline')),
    response_due_at            timestamptz,   -- the current level's budget runs out
    responded_at               timestamptz,   -- first response (respond, or first repaired)
    complaint_id               bigint REFERENCES complaints (id),   -- climbed to the hotline
    third_party_contractor_id  bigint REFERENCES contractors (id),  -- handed to this repairer
    charged_contractor_id      bigint REFERENCES contractors (id),  -- the original, charged
    version                    bigint NOT NULL DEFAULT 1
);
CREATE INDEX warranty_reports_project ON warranty_reports (project_id, reported_at);
CREATE INDEX warranty_reports_due ON warranty_reports (response_due_at)
    WHERE responded_at IS NULL AND level <> 'hotline';

CREATE TABLE warranty_events (
    id             bigserial PRIMARY KEY,
    ticket_id      uuid NOT NULL REFERENCES warranty_reports (ticket_id),
    at             timestamptz NOT NULL,
    actor_user_id  bigint REFERENCES users (id),   -- NULL: the daemon's timer
    action         text NOT NULL CHECK (action IN ('report', 'respond', 'climb', 'letter',
                                                   'deduct', 'approve', 'reject',
                                                   'third_party')),
    from_level     text,
    to_level       text,
    detail         text NOT NULL DEFAULT '' CHECK (length(detail) <= 400)
);
CREATE INDEX warranty_events_ticket ON warranty_events (ticket_id, id);
CREATE INDEX warranty_events_at ON warranty_events (at);

CREATE TABLE warranty_letters (
    id             bigserial PRIMARY KEY,
    company_id     bigint NOT NULL REFERENCES companies (id),
    contractor_id  bigint NOT NULL REFERENCES contractors (id),
    ticket_id      uuid REFERENCES tickets (id),
    sent_at        timestamptz NOT NULL,
    subject        text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    body           text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    created_by     bigint NOT NULL REFERENCES users (id)
);
CREATE INDEX warranty_letters_company ON warranty_letters (company_id, contractor_id, id);

CREATE TABLE warranty_deductions (
    id             bigserial PRIMARY KEY,
    company_id     bigint NOT NULL REFERENCES companies (id),
    contractor_id  bigint NOT NULL REFERENCES contractors (id),
    ticket_id      uuid REFERENCES tickets (id),
    amount         numeric(12, 2) NOT NULL CHECK (amount > 0 AND amount <= 10000000),
    reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 400),
    kind           text NOT NULL CHECK (kind IN ('penalty', 'third_party')),
    state          text NOT NULL DEFAULT 'requested'
                   CHECK (state IN ('requested', 'approved', 'rejected')),
    requested_by   bigint NOT NULL REFERENCES users (id),
    requested_at   timestamptz NOT NULL,
    decided_by     bigint REFERENCES users (id),
    decided_at     timestamptz,
    decision_note  text NOT NULL DEFAULT '' CHECK (length(decision_note) <= 400),
    CHECK (decided_by <> requested_by),
    CHECK ((state = 'requested') = (decided_by IS NULL AND decided_at IS NULL))
);
CREATE INDEX warranty_deductions_company ON warranty_deductions (company_id, contractor_id, id);

-- Response budget per level, in business hours (configurable: UPDATE, or per deployment).
-- The hotline level has none: a report there is the complaint's, with its own clocks.
CREATE TABLE warranty_targets (
    level           text PRIMARY KEY CHECK (level IN ('property', 'developer', 'hotline')),
    response_hours  integer NOT NULL CHECK (response_hours BETWEEN 1 AND 10000)
);
INSERT INTO warranty_targets (level, response_hours) VALUES ('property', 24), ('developer', 24);

-- The first response to a warranty report, at p_at by p_actor (NULL: none known): sets
-- responded_at and records a 'respond' event, once; later calls change nothing. Returns
-- whether this call was the first response. A ticket without a report: false.
CREATE FUNCTION cl_warranty_respond(p_ticket uuid, p_at timestamptz, p_actor bigint,
                                    p_detail text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    lvl text;
BEGIN
    -- never before the report itself (a repair recorded with an earlier time)
    UPDATE warranty_reports SET responded_at = greatest(p_at, reported_at), version = version + 1
     WHERE ticket_id = p_ticket AND responded_at IS NULL
    RETURNING level, responded_at INTO lvl, p_at;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO warranty_events (ticket_id, at, actor_user_id, action, from_level, to_level,
                                 detail)
    VALUES (p_ticket, p_at, p_actor, 'respond', lvl, lvl, left(coalesce(p_detail, ''), 400));
    RETURN true;
END $$;

-- A ticket's first 'repaired' is the report's response too (when nobody responded before),
-- at the event's time, or "now" of the warranty clock when that is earlier (what
-- cl_complaint_now reads: the tests' simulated clock closeloop.now, else now()).
CREATE FUNCTION cl_warranty_repaired_responds() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cl_warranty_respond(NEW.ticket_id,
                                least(NEW.at, coalesce(nullif(current_setting('closeloop.now',
                                                                              true), '')
                                                           ::timestamptz, now())),
                                (SELECT u.id FROM users u WHERE u.id = NEW.actor_user_id),
                                '维修完成');
    RETURN NULL;
END $$;

CREATE TRIGGER ticket_events_warranty_respond AFTER INSERT ON ticket_events
    FOR EACH ROW WHEN (NEW.action = 'repaired')
    EXECUTE FUNCTION cl_warranty_repaired_responds();
