-- A rollback to a stopped version is one tracked operation: the start is
-- made at once, and this row asks the leader to publish the version, as the
-- operator who asked and with their reason, once it is ready. The row goes
-- when the publish is made or the operation is abandoned (the start failed,
-- the version moved on, another version took the traffic meanwhile).
CREATE TABLE pending_rollbacks (
    runtime         TEXT NOT NULL,
    version         TEXT NOT NULL,
    rollback_from   TEXT NOT NULL,
    reason          TEXT NOT NULL,
    requested_by_id BIGINT,
    requested_by    TEXT NOT NULL,
    requested_role  TEXT NOT NULL,
    requested_at    TEXT NOT NULL,
    PRIMARY KEY (runtime, version)
);
