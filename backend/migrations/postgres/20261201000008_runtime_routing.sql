-- Where each runtime's traffic is: the version its Ingress in the cluster
-- points at, as the leader last saw or made it (NULL: no Ingress), and the
-- last failure to bring the Ingress in line with the published version.
ALTER TABLE runtimes ADD COLUMN serving_version TEXT;
ALTER TABLE runtimes ADD COLUMN routing_error TEXT;
