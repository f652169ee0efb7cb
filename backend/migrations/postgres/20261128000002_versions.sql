-- Runtimes (one namespace each) and the versions registered in them.
CREATE TABLE runtimes (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    base_domain TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE versions (
    runtime           TEXT NOT NULL REFERENCES runtimes (name),
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    manifest          TEXT NOT NULL,           -- canonical JSON of the validated manifest
    status            TEXT NOT NULL CHECK (status IN ('stopped', 'starting', 'started', 'stopping', 'published', 'error')),
    status_changed_at TEXT NOT NULL,
    status_actor      TEXT NOT NULL,           -- email of the user, or 'system'
    status_action     TEXT NOT NULL,           -- the audit action that set the status
    error_message     TEXT,
    created_at        TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    PRIMARY KEY (runtime, name)
);

-- One published version per runtime, enforced by the database itself.
CREATE UNIQUE INDEX versions_one_published ON versions (runtime) WHERE status = 'published';
CREATE INDEX versions_in_flight ON versions (status) WHERE status IN ('starting', 'stopping');
