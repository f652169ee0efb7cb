-- Console users. `session_epoch` is part of every session's auth hash:
-- bumping it (disable, revoke, password reset) ends all of the user's sessions.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,      -- normalised to lower case
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'manager', 'admin')),
    password_hash TEXT    NOT NULL,             -- argon2id PHC string
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    session_epoch INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

-- tower-sessions-sqlx-store's layout, created here so one migration run
-- prepares everything.
CREATE TABLE sessions (
    id          TEXT    PRIMARY KEY NOT NULL,
    data        BLOB    NOT NULL,
    expiry_date INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry_date);
