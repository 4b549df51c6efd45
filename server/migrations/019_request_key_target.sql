-- 019_request_key_target.sql - what an idempotency key was claimed for, and how long it
-- is kept (docs/SYNC.md, "Idempotency keys").
--
-- target: the record the keyed request was about ('' when the handler checks otherwise:
-- a transition's replay looks for its own event, server/ticket/ticket.sql). A handover
-- form's key names "<project id>/<unit number>", so the same key sent with a form for
-- another unit is refused instead of answered with that unit's record
-- (insp_handover_replay). Keys claimed before this migration have '' and are taken as
-- matching.
--
-- Retention: a key is kept 30 days. Every claim deletes at most ten keys older than that
-- (request_keys_at), so the table holds about 30 days of keyed writes and no user can grow
-- it without bound; a retry within 30 days of the first attempt is safe.
ALTER TABLE request_keys ADD COLUMN target text NOT NULL DEFAULT ''
    CHECK (length(target) <= 200);
