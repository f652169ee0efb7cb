-- A change request made with break-glass overrides the runtime's change
-- windows when it is carried out, as its requester's action would have.
ALTER TABLE change_requests ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0 CHECK (break_glass IN (0, 1));

-- Actions a manager scheduled for a future instant, with the reason given
-- then. The leader carries each out once, as the person who scheduled it:
-- the action's own transaction moves it from pending to done, so two
-- replicas, or a leader that dies mid-pass, cannot run it twice.
CREATE TABLE scheduled_actions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    runtime           TEXT    NOT NULL,
    version           TEXT    NOT NULL,
    action            TEXT    NOT NULL,
    reason            TEXT    NOT NULL,
    run_at            TEXT    NOT NULL,
    scheduled_by_id   BIGINT,
    scheduled_by      TEXT    NOT NULL,
    scheduled_role    TEXT    NOT NULL,
    scheduled_at      TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'cancelled')),
    closed_at         TEXT,
    closed_by         TEXT,
    outcome           TEXT
);

-- What is due (the leader's pass) and a version's schedule.
CREATE INDEX scheduled_actions_due ON scheduled_actions (state, run_at);
CREATE INDEX scheduled_actions_by_version ON scheduled_actions (runtime, version);
