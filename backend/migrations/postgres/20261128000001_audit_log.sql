-- The append-only audit log. Each row's hash covers its content and the
-- previous row's hash, so any later edit breaks the chain (`server audit verify`).
-- Times are TEXT as in SQLite (fixed-width UTC RFC 3339) so both databases
-- hash and compare the very same strings.
CREATE TABLE audit_log (
    id            BIGSERIAL PRIMARY KEY,
    at            TEXT   NOT NULL,
    actor_kind    TEXT   NOT NULL CHECK (actor_kind IN ('user', 'system')),
    actor_id      BIGINT,
    actor_email   TEXT,
    actor_role    TEXT,
    action        TEXT   NOT NULL,
    runtime       TEXT,
    version       TEXT,
    reason        TEXT,
    outcome       TEXT   NOT NULL CHECK (outcome IN ('accepted', 'denied', 'failed', 'completed')),
    status_before TEXT,
    status_after  TEXT,
    details       TEXT   NOT NULL DEFAULT '{}',
    prev_hash     TEXT   NOT NULL,
    hash          TEXT   NOT NULL UNIQUE
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_email, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_version ON audit_log (runtime, version, id);
CREATE INDEX audit_log_outcome ON audit_log (outcome, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
