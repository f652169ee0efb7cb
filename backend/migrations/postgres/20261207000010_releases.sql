-- Release history: each period during which a version served a runtime's
-- traffic (its Ingress pointed at it), opened and closed by the leader's
-- routing pass in the transaction that records the switch. The audit ids
-- link to the entries that opened and closed it; they are plain numbers, not
-- foreign keys, so a retention trim of the audit log keeps every release.
CREATE TABLE releases (
    id               BIGSERIAL PRIMARY KEY,
    runtime          TEXT    NOT NULL,
    version          TEXT    NOT NULL,
    published_by     TEXT    NOT NULL,
    publish_reason   TEXT,
    publish_audit_id BIGINT,
    started_at       TEXT    NOT NULL,
    opened_audit_id  BIGINT,
    ended_at         TEXT,
    end_cause        TEXT CHECK (end_cause IN ('superseded', 'unpublished', 'failed')),
    superseded_by    TEXT,
    closed_audit_id  BIGINT
);

-- History newest first, and the point-in-time lookup (the last release of a
-- runtime that started at or before an instant).
CREATE INDEX releases_by_start ON releases (runtime, started_at);
-- At most one open release per runtime, enforced by the database itself.
CREATE UNIQUE INDEX releases_one_open ON releases (runtime) WHERE ended_at IS NULL;

-- A version marked bad (by whom, when, why) cannot be published until the
-- mark is cleared.
ALTER TABLE versions ADD COLUMN bad_reason TEXT;
ALTER TABLE versions ADD COLUMN bad_by TEXT;
ALTER TABLE versions ADD COLUMN bad_at TEXT;
