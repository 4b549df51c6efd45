-- session.sql - the identity statements of server/engine/session.c: who is acting, login
-- with its throttling counts, sessions (only a token's SHA-256 is stored) and devices.
-- $n are described above each statement.

-- The acting user of this transaction, for the audit and change-log triggers: $1 the
-- actor as JSON. The first statement of every batch that writes.
PREPARE set_actor AS
SELECT set_config('closeloop.actor', $1, true) AS actor;

-- The user named $1 (all NULL when there is none).
-- @columns-of user_rows
PREPARE auth_login_lookup AS
SELECT ur.*
  FROM (SELECT 1) AS one (x)
  LEFT JOIN user_rows ur ON ur.username = $1;

-- Serializes the login attempts that share a throttle count: $1 what is counted
-- ('address' or 'user'), $2 its value. Held until the batch's transaction ends, so the
-- count and the insert of auth_login_attempt are one atomic step. session.c takes the
-- address lock, then the user lock, always in that order, so no two attempts deadlock.
PREPARE auth_login_lock AS
SELECT true AS locked FROM pg_advisory_xact_lock(hashtextextended('closeloop login ' || $1 || ' ' || $2, 0));

-- Admits a login attempt or refuses it, and records an admitted one before its password is
-- checked (a successful login deletes the row again): $1 username, $2 address, $3 client
-- certificate subject of the connection ('' for none), $4 the throttle window (an
-- interval), $5 failures allowed per (username, device) or per (username, address),
-- $6 per address and $7 per username for a pair the user never logged in from.
-- A registered device (a subject in devices) counts only its own failures; otherwise
-- the (username, address) pair counts, and a pair that never had a session also the
-- address's and the username's failures. Refused attempts are not recorded, so a flood
-- does not extend the wait. Run after auth_login_lock in the same transaction.
PREPARE auth_login_attempt AS
WITH who AS (
    SELECT $3 <> '' AND EXISTS (SELECT 1 FROM devices d WHERE d.subject = $3) AS device_known,
           EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
                    WHERE u.username = $1 AND s.peer = $2) AS peer_known
), verdict AS (
    SELECT w.device_known, w.peer_known,
           CASE WHEN w.device_known THEN
                    (SELECT count(*) FROM login_failures f
                      WHERE f.username = $1 AND f.device = $3 AND f.at > now() - $4::interval) < $5
                ELSE
                    (SELECT count(*) FROM login_failures f
                      WHERE f.username = $1 AND f.peer = $2 AND f.device = ''
                        AND f.at > now() - $4::interval) < $5
                    AND (w.peer_known OR (
                        (SELECT count(*) FROM login_failures f
                          WHERE f.peer = $2 AND f.device = '' AND f.at > now() - $4::interval) < $6
                        AND (SELECT count(*) FROM login_failures f
                              WHERE f.username = $1 AND f.device = ''
                                AND f.at > now() - $4::interval) < $7))
           END AS admitted
      FROM who w
), attempt AS (
    INSERT INTO login_failures (username, peer, device)
    SELECT $1, $2, CASE WHEN v.device_known THEN $3 ELSE '' END FROM verdict v WHERE v.admitted
    RETURNING id
)
SELECT v.admitted, v.device_known, (SELECT a.id FROM attempt a) AS id FROM verdict v;

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

-- The retention purge (session.c, on a timer), in bounded batches: at most $2 login
-- failures older than $1 (an interval).
PREPARE auth_purge_failures AS
DELETE FROM login_failures
 WHERE id IN (SELECT id FROM login_failures WHERE at < now() - $1::interval LIMIT $2);

-- At most $2 notices (cloop watch) older than $1 (an interval), oldest first.
PREPARE purge_notices AS
DELETE FROM notices
 WHERE id IN (SELECT id FROM notices WHERE at < now() - $1::interval ORDER BY id LIMIT $2);

-- At most $2 sessions that expired or were revoked more than $1 (an interval) ago. Each
-- deletion is audited like any change to sessions (run after set_actor).
PREPARE auth_purge_sessions AS
DELETE FROM sessions
 WHERE token_hash IN (SELECT token_hash FROM sessions
                       WHERE expires_at < now() - $1::interval
                          OR revoked_at < now() - $1::interval
                       LIMIT $2);
