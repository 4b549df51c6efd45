-- 018_request_keys.sql - idempotency keys of retried writes, and the change feed's wake-up
-- call to every daemon (docs/SYNC.md, docs/PROTOCOL.md "Server push").
--
-- request_keys: a TicketTransition or HandoverForm that carries an idempotency_key claims
-- (user_id, key) with a plain INSERT in the same transaction as its change
-- (server/ticket/ticket.sql, server/inspection/inspection.sql). A second claim of the same
-- key by the same user is a unique violation on request_keys_pkey: the change was already
-- made, and the daemon answers with the record as it is now. A request that changed
-- nothing (a conflict, a refusal) deletes its claim in the same statement, so it may be
-- retried. Keys are per user: another user's identical key is another key. msg_type is
-- the request's message type, so a key reused for another kind of request is told so.
-- Not tracked: the keys are bookkeeping, never mirrored and never audited.
CREATE TABLE request_keys (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key       text NOT NULL CHECK (length(key) BETWEEN 1 AND 100),
    msg_type  int NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX request_keys_at ON request_keys (at);

-- Every daemon LISTENs on closeloop_changes (server/engine/change_notify.c) and pushes a
-- SyncNotice to the desktops that follow the feed. One notification per INSERT statement
-- on change_log, sent at commit (a rolled-back change sends nothing); PostgreSQL folds
-- identical payloads of one transaction into one. The payload is the companies the
-- statement's rows belong to, comma-separated ("3" or "3,7"), or '*' when a row belongs
-- to no company (contractors, trades, the knowledge base) or the list would not fit.
CREATE FUNCTION cl_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    SELECT CASE WHEN bool_or(company_id IS NULL) THEN '*'
                ELSE string_agg(DISTINCT company_id::text, ',') END
      INTO payload FROM new_rows;
    IF payload IS NULL THEN
        RETURN NULL; -- no row
    END IF;
    IF length(payload) > 7000 THEN
        payload := '*';
    END IF;
    PERFORM pg_notify('closeloop_changes', payload);
    RETURN NULL;
END $$;

CREATE TRIGGER change_log_notify AFTER INSERT ON change_log
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cl_notify_changes();
