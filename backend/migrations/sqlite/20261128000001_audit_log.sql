-- The append-only audit log. Each row's hash covers its content and the
-- previous row's hash, so any later edit breaks the chain (`server audit verify`).
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT    NOT NULL,              -- UTC, fixed-width RFC 3339 (sorts as time)
    actor_kind    TEXT    NOT NULL CHECK (actor_kind IN ('user', 'system')),
    actor_id      INTEGER,
    actor_email   TEXT,
    actor_role    TEXT,
    action        TEXT    NOT NULL,
    runtime       TEXT,
    version       TEXT,
    reason        TEXT,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('accepted', 'denied', 'failed', 'completed')),
    status_before TEXT,
    status_after  TEXT,
    details       TEXT    NOT NULL DEFAULT '{}',
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL UNIQUE
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_email, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_version ON audit_log (runtime, version, id);
CREATE INDEX audit_log_outcome ON audit_log (outcome, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
