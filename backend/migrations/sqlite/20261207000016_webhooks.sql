-- Webhooks: endpoints admins register per runtime, and the outbox of
-- deliveries to them. The audit log is the source of events: a dispatcher
-- reads entries after `audit_cursor` and writes one delivery per entry of a
-- subscribed kind (unique per endpoint and entry, so two replicas reading
-- the same entries write it once). Sending takes the endpoint's lease, so
-- one replica at a time sends to an endpoint, oldest entry first.
CREATE TABLE webhook_endpoints (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    runtime        TEXT    NOT NULL,
    url            TEXT    NOT NULL,
    -- Event kinds, comma separated (lifecycle::webhooks::EventKind).
    kinds          TEXT    NOT NULL,
    -- The signing secret, sealed with the console's secret key.
    secret_sealed  TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    created_by     TEXT    NOT NULL,
    deleted_at     TEXT,
    audit_cursor   INTEGER NOT NULL,
    lease_owner    TEXT,
    lease_until    TEXT
);

CREATE INDEX webhook_endpoints_by_runtime ON webhook_endpoints (runtime);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id      INTEGER NOT NULL REFERENCES webhook_endpoints (id),
    audit_id         INTEGER NOT NULL,
    kind             TEXT    NOT NULL,
    -- The JSON body, fixed when the delivery is written: every try and a
    -- "send again" send the same bytes.
    body             TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    last_attempt_at  TEXT,
    last_status      INTEGER,
    last_error       TEXT,
    delivered_at     TEXT,
    created_at       TEXT    NOT NULL,
    UNIQUE (endpoint_id, audit_id)
);

CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (state, endpoint_id, audit_id);
