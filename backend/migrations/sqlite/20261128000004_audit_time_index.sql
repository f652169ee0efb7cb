-- Time filters resolve to id ranges through the first entry at or after a
-- time (`ORDER BY at, id LIMIT 1`); times never decrease along ids.
CREATE INDEX audit_log_at_id ON audit_log (at, id);
DROP INDEX audit_log_at;
