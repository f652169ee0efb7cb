-- The values an operator set for the variables a version's manifest
-- declares. A secret's value is only ever here encrypted (`sealed`: the
-- key's id, the nonce and the ciphertext, bound to the runtime and name),
-- never in `value`. `source` says where it came from: `set` on the
-- Configuration tab, or `carried:<version>` from an earlier version at
-- registration.
CREATE TABLE version_values (
    runtime   TEXT NOT NULL,
    version   TEXT NOT NULL,
    name      TEXT NOT NULL,
    value     TEXT,
    sealed    TEXT,
    source    TEXT NOT NULL,
    set_by    TEXT NOT NULL,
    set_at    TEXT NOT NULL,
    PRIMARY KEY (runtime, version, name),
    CHECK ((value IS NULL) <> (sealed IS NULL))
);
