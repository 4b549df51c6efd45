-- 009_auth_hardening.sql - what the daemon needs to stand up to a stranger: login
-- throttling by device and by (username, address) pair, the retention purge, and the
-- notifications that carry a logout or a disabled user to every daemon at once.

-- The registered device (client certificate subject) an attempt came from, '' for none:
-- failures from a registered device are counted apart from those of its address.
ALTER TABLE login_failures ADD COLUMN device text NOT NULL DEFAULT '';
CREATE INDEX login_failures_pair ON login_failures (username, peer, at);
CREATE INDEX login_failures_device ON login_failures (username, device, at) WHERE device <> '';
-- The retention purge deletes the oldest rows in bounded batches.
CREATE INDEX login_failures_at ON login_failures (at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
-- Whether a user has logged in from an address before (the NAT exemption of session.c).
CREATE INDEX sessions_user_peer ON sessions (user_id, peer, created_at);

-- Every daemon LISTENs on closeloop_sessions (server/engine/session_notify.c). Payloads:
-- 'session <token hash in hex>' when a session is revoked, 'user <id>' when a user, or
-- the projects a user works on, change. Sent at commit, so a daemon that re-reads the
-- session after the notification sees the change.
CREATE FUNCTION cl_notify_session_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('closeloop_sessions', 'session ' || encode(NEW.token_hash, 'hex'));
    RETURN NULL;
END $$;

CREATE TRIGGER sessions_notify_revoked AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION cl_notify_session_revoked();

CREATE FUNCTION cl_notify_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('closeloop_sessions', 'user ' ||
                      CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END);
    RETURN NULL;
END $$;

CREATE FUNCTION cl_notify_user_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('closeloop_sessions', 'user ' || NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER users_notify_changed AFTER UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION cl_notify_user_row_changed();
CREATE TRIGGER user_projects_notify_changed AFTER INSERT OR DELETE ON user_projects
    FOR EACH ROW EXECUTE FUNCTION cl_notify_user_changed();
