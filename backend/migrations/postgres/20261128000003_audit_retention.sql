-- Explicit retention; see the SQLite migration of the same name for the
-- protocol. Updates stay refused; deletes only within a granted range.
CREATE TABLE audit_checkpoints (
    id          BIGSERIAL PRIMARY KEY,
    at          TEXT   NOT NULL,
    cutoff      TEXT   NOT NULL,
    up_to_id    BIGINT NOT NULL,
    anchor_hash TEXT   NOT NULL,
    removed     BIGINT NOT NULL,
    entry_id    BIGINT NOT NULL
);

CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoints is append-only';
END
$$;

CREATE TRIGGER audit_checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();

CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();

CREATE TABLE audit_retention_grant (
    up_to_id BIGINT NOT NULL
);

DROP TRIGGER audit_log_no_update_delete ON audit_log;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE FUNCTION audit_log_retention_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_retention_grant WHERE OLD.id <= up_to_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_retention_only();
