-- Runtimes managed in the console: who created one, when its settings last
-- changed, the full host it is served at when it is not
-- `<name>.<base_domain>`, and the rest of its settings (ingress class, TLS,
-- annotations, pull secrets, workload defaults) as canonical JSON, read and
-- validated as one value by lifecycle::RuntimeSettings.
ALTER TABLE runtimes ADD COLUMN host TEXT;
ALTER TABLE runtimes ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE runtimes ADD COLUMN created_by TEXT NOT NULL DEFAULT 'system';
ALTER TABLE runtimes ADD COLUMN updated_at TEXT;
