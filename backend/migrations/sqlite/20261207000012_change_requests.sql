-- Four-eyes change control: an action a runtime's policy holds for approval
-- is a change request until enough distinct people (never the requester)
-- approve it; then it is carried out through the one action path, as the
-- requester. Every request and decision is also an audit entry.
CREATE TABLE change_requests (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    runtime          TEXT    NOT NULL,
    version          TEXT    NOT NULL,
    action           TEXT    NOT NULL,
    expected         TEXT    NOT NULL,
    rollback_from    TEXT,
    reason           TEXT    NOT NULL,
    requested_by_id  BIGINT,
    requested_by     TEXT    NOT NULL,
    requested_role   TEXT    NOT NULL,
    requested_at     TEXT    NOT NULL,
    expires_at       TEXT    NOT NULL,
    approvals_needed INTEGER NOT NULL,
    approver_roles   TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('open', 'approved', 'rejected', 'withdrawn', 'expired', 'failed', 'done')),
    closed_at        TEXT,
    outcome          TEXT
);

-- What is open (the approvals page, expiry) and a version's requests.
CREATE INDEX change_requests_by_state ON change_requests (state, expires_at);
CREATE INDEX change_requests_by_version ON change_requests (runtime, version);

-- One decision per person per request, enforced by the database itself.
CREATE TABLE change_decisions (
    request_id      BIGINT  NOT NULL REFERENCES change_requests (id),
    decided_by_id   BIGINT,
    decided_by      TEXT    NOT NULL,
    decided_role    TEXT    NOT NULL,
    approve         INTEGER NOT NULL CHECK (approve IN (0, 1)),
    reason          TEXT    NOT NULL,
    decided_at      TEXT    NOT NULL,
    PRIMARY KEY (request_id, decided_by)
);
