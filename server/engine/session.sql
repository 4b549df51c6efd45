-- session.sql - the identity statements of server/engine/session.c: who is acting, login
-- with its throttling counts, sessions (only a token's SHA-256 is stored) and devices.
-- $n are described above each statement.

-- The acting user of this transaction, for the audit and change-log triggers: $1 the
-- actor as JSON. The first statement of every batch that writes.
PREPARE set_actor AS
SELECT set_config('closeloop.actor', $1, true) AS actor;

-- The user named $1 (all NULL when there is none), with the failures within the
-- throttle window $3 (an interval, THROTTLE_WINDOW in session.c) for that username and
-- for the source address $2.
-- @columns-of user_rows
PREPARE auth_login_lookup AS
SELECT ur.*,
       (SELECT count(*) FROM login_failures f
         WHERE f.username = $1 AND f.at > now() - $3::interval) AS user_failures,
       (SELECT count(*) FROM login_failures f
         WHERE f.peer = $2 AND f.at > now() - $3::interval) AS peer_failures
  FROM (SELECT 1) AS one (x)
  LEFT JOIN user_rows ur ON ur.username = $1;

-- Every attempt ($1 username, $2 address) is recorded before its password is checked, in
-- the same transaction as the counts, so concurrent attempts cannot all slip under the
-- limit; a successful login deletes its own row again.
PREPARE auth_login_attempt AS
INSERT INTO login_failures (username, peer) VALUES ($1, $2) RETURNING id;

-- $1 the attempt's id.
PREPARE auth_login_succeeded AS
DELETE FROM login_failures WHERE id = $1;

-- A session: $1 the token's SHA-256 (binary), $2 user id, $3 address, $4 device subject.
-- @binary $1
PREPARE auth_session_create AS
INSERT INTO sessions (token_hash, user_id, peer, device, expires_at)
VALUES ($1::bytea, $2, $3, $4, now() + interval '12 hours')
RETURNING (extract(epoch FROM expires_at) * 1000)::bigint AS expires_ms;

-- A client certificate's device: $1 subject, $2 company; its company's name.
PREPARE auth_device_seen AS
INSERT INTO devices (subject, company_id) VALUES ($1, $2)
    ON CONFLICT (subject) DO UPDATE SET last_seen = now(),
       company_id = coalesce(devices.company_id, EXCLUDED.company_id)
RETURNING coalesce((SELECT name FROM companies WHERE id = devices.company_id), '') AS company_name;

-- A live session by $1 the token's SHA-256 (binary), with $2 the device subject of this
-- connection.
-- @binary $1
-- @columns-of user_rows
PREPARE auth_session_resume AS
SELECT ur.*, (extract(epoch FROM s.expires_at) * 1000)::bigint AS expires_ms,
       coalesce((SELECT name FROM companies
                  WHERE id = (SELECT company_id FROM devices WHERE subject = $2)), '')
           AS device_company
  FROM sessions s JOIN user_rows ur ON ur.id = s.user_id
 WHERE s.token_hash = $1::bytea AND s.revoked_at IS NULL AND s.expires_at > now()
   AND NOT ur.key_disabled;

-- $1 the token's SHA-256 (binary).
-- @binary $1
PREPARE auth_logout AS
UPDATE sessions SET revoked_at = now() WHERE token_hash = $1::bytea AND revoked_at IS NULL;
