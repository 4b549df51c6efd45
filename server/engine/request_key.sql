-- request_key.sql - the idempotency keys of retried writes (migration 018,
-- server/engine/request_key.h): a request with a key claims it in the same batch as its
-- change.

-- Claims the key $2 of user $1 for a request of message type $3. Runs right after
-- set_actor, before the change. A unique violation on request_keys_pkey means the key's
-- change was already made: the batch (and with it the change) is rolled back, and the
-- handler answers with the record as it is now. A concurrent claim of the same key waits
-- here until the first commits or rolls back. The change statement deletes the claim
-- again when it changed nothing (a conflict, a refusal), so the request may be retried.
-- $4 is what the request is about (migration 019; '' when the handler checks otherwise).
-- The claim also deletes up to ten keys past their 30 days (migration 019: retention).
PREPARE request_key_claim AS
WITH expired AS (DELETE FROM request_keys k
                  WHERE (k.user_id, k.key) IN (SELECT o.user_id, o.key FROM request_keys o
                                                WHERE o.at < now() - interval '30 days'
                                                ORDER BY o.at LIMIT 10))
INSERT INTO request_keys (user_id, key, msg_type, target)
VALUES ($1::bigint, $2::text, $3::int, $4::text)
RETURNING true AS claimed;
