-- Failed sign-ins per account and per client address, shared by every
-- replica (an attacker gains nothing by spreading guesses over replicas).
-- Rows a day past their last failure are pruned as failures are recorded.
CREATE TABLE sign_in_strikes (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    -- Milliseconds since the Unix epoch, UTC.
    last_failure_ms BIGINT NOT NULL
);

CREATE INDEX sign_in_strikes_by_age ON sign_in_strikes (last_failure_ms);
