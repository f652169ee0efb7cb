-- API tokens: named, scoped, expiring credentials a user makes for
-- automation. Only a SHA-256 of the token is kept (a token is 32 random
-- bytes, so a fast hash is enough); `prefix` is what pages show of it.
-- A token is never deleted, only revoked: the audit log names it by id.
CREATE TABLE api_tokens (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    name          TEXT    NOT NULL,
    scope         TEXT    NOT NULL CHECK (scope IN ('read', 'operate', 'admin')),
    token_hash    TEXT    NOT NULL UNIQUE,
    prefix        TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    expires_at    TEXT    NOT NULL,
    last_used_at  TEXT,
    last_address  TEXT,
    revoked_at    TEXT,
    revoked_by    TEXT
);

CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
