-- Pod logs collected while a version runs, kept after it stops. Bounded per
-- node by the collector (newest lines kept), so no retention job is needed.
CREATE TABLE node_logs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    runtime TEXT NOT NULL,
    version TEXT NOT NULL,
    node TEXT NOT NULL,
    pod TEXT NOT NULL,
    at TEXT NOT NULL,
    line TEXT NOT NULL
);

CREATE INDEX node_logs_by_node ON node_logs (runtime, version, node, id);
CREATE INDEX node_logs_by_pod ON node_logs (pod, id);
