-- Explicit retention. Old entries may be removed only by a retention run,
-- which in one transaction: appends an `audit.retention` entry naming what it
-- removes, grants itself the range (audit_retention_grant, emptied again
-- before commit), deletes it, and records a checkpoint whose anchor is the
-- hash the first kept entry links to. `verify` starts from the newest
-- checkpoint and requires its `audit.retention` entry in the kept chain.
CREATE TABLE audit_checkpoints (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    cutoff      TEXT    NOT NULL,   -- entries older than this were removed
    up_to_id    INTEGER NOT NULL,   -- last removed entry id
    anchor_hash TEXT    NOT NULL,   -- that entry's hash
    removed     INTEGER NOT NULL,
    entry_id    INTEGER NOT NULL    -- the audit.retention entry recording the run
);

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

CREATE TABLE audit_retention_grant (
    up_to_id INTEGER NOT NULL
);

DROP TRIGGER audit_log_no_delete;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_retention_grant WHERE OLD.id <= up_to_id)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
