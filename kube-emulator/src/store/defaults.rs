//! The defaults a real API server fills in on every write, so that clients
//! see the objects a cluster would hand back: what `kubectl get -o yaml`
//! shows beyond what was sent. From the types' defaulting functions
//! (`pkg/apis/*/v1/defaults.go` in kubernetes/kubernetes) and the
//! admission plugins every cluster enables (ServiceAccount,
//! DefaultTolerationSeconds).

use serde_json::{Map, Value, json};

use crate::resources::ResourceType;

/// Fills in `object`'s defaults; `cluster_ip` hands out the next Service
/// address when one is needed.
pub fn fill(rt: ResourceType, object: &mut Value, cluster_ip: &mut dyn FnMut() -> String) {
    match rt.plural {
        "pods" => {
            if !object["spec"].is_object() {
                return;
            }
            pod_spec(&mut object["spec"]);
            // Admission: every pod runs as a service account and tolerates
            // a node going away for five minutes.
            let spec = &mut object["spec"];
            or_insert(spec, "serviceAccountName", json!("default"));
            let account = spec["serviceAccountName"].clone();
            or_insert(spec, "serviceAccount", account);
            or_insert(
                spec,
                "tolerations",
                json!([
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                ]),
            );
            if !object["status"].is_object() {
                object["status"] = json!({"phase": "Pending"});
            }
            let qos = qos_class(&object["spec"]);
            object["status"]["qosClass"] = json!(qos);
        }
        "deployments" => {
            let spec = &mut object["spec"];
            if !spec.is_object() {
                return;
            }
            or_insert(spec, "replicas", json!(1));
            or_insert(
                spec,
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            );
            if spec["strategy"]["type"] == "RollingUpdate" {
                let rolling = &mut spec["strategy"]["rollingUpdate"];
                if !rolling.is_object() {
                    *rolling = json!({});
                }
                or_insert(rolling, "maxSurge", json!("25%"));
                or_insert(rolling, "maxUnavailable", json!("25%"));
            }
            or_insert(spec, "revisionHistoryLimit", json!(10));
            or_insert(spec, "progressDeadlineSeconds", json!(600));
            if let Some(template) = spec.get_mut("template").and_then(|t| t.get_mut("spec")) {
                pod_spec(template);
            }
        }
        "replicasets" => {
            let spec = &mut object["spec"];
            if !spec.is_object() {
                return;
            }
            or_insert(spec, "replicas", json!(1));
            if let Some(template) = spec.get_mut("template").and_then(|t| t.get_mut("spec")) {
                pod_spec(template);
            }
        }
        "services" => service(object, cluster_ip),
        "secrets" => {
            or_insert(object, "type", json!("Opaque"));
        }
        "namespaces" => {
            let name = object["metadata"]["name"].clone();
            if !object["metadata"]["labels"].is_object() {
                object["metadata"]["labels"] = json!({});
            }
            object["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
            if !object["spec"].is_object() {
                object["spec"] = json!({});
            }
            or_insert(&mut object["spec"], "finalizers", json!(["kubernetes"]));
        }
        "ingresses" if !object["status"].is_object() => {
            object["status"] = json!({"loadBalancer": {}});
        }
        _ => {}
    }
}

/// Sets `field` when it is missing; a value that is not an object is left
/// for validation to refuse.
fn or_insert(object: &mut Value, field: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.entry(field).or_insert(value);
    }
}

/// `SetDefaults_PodSpec` and `SetDefaults_Container`.
fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    or_insert(spec, "restartPolicy", json!("Always"));
    or_insert(spec, "dnsPolicy", json!("ClusterFirst"));
    or_insert(spec, "terminationGracePeriodSeconds", json!(30));
    or_insert(spec, "schedulerName", json!("default-scheduler"));
    or_insert(spec, "securityContext", json!({}));
    or_insert(spec, "enableServiceLinks", json!(true));
    or_insert(spec, "priority", json!(0));
    or_insert(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    for list in ["initContainers", "containers"] {
        if let Some(containers) = spec[list].as_array_mut() {
            containers.iter_mut().for_each(container);
        }
    }
}

fn container(container: &mut Value) {
    if !container.is_object() {
        return;
    }
    let image = container["image"].as_str().unwrap_or("");
    or_insert(container, "imagePullPolicy", json!(pull_policy(image)));
    or_insert(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    or_insert(container, "terminationMessagePolicy", json!("File"));
    or_insert(container, "resources", json!({}));
    if !container["resources"].is_object() {
        return;
    }
    // Limits without requests request the limits.
    let limits = container["resources"]["limits"].as_object().cloned();
    if let Some(limits) = limits {
        let resources = &mut container["resources"];
        or_insert(resources, "requests", json!({}));
        for (name, value) in limits {
            or_insert(&mut resources["requests"], &name, value);
        }
    }
    if let Some(ports) = container["ports"].as_array_mut() {
        for port in ports {
            or_insert(port, "protocol", json!("TCP"));
        }
    }
}

/// `Always` for `:latest` or an untagged image, `IfNotPresent` otherwise.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// The pod's quality-of-service class, from its containers' resources
/// (`GetPodQOS`): no requests or limits anywhere is BestEffort; CPU and
/// memory limits on every container, equal to the requests, Guaranteed;
/// anything between, Burstable.
pub fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = ["initContainers", "containers"]
        .iter()
        .filter_map(|list| spec[list].as_array())
        .flatten()
        .collect();
    let empty = Map::new();
    let part = |c: &Value, which: &str| -> Map<String, Value> {
        c["resources"][which]
            .as_object()
            .unwrap_or(&empty)
            .iter()
            .filter(|(k, _)| *k == "cpu" || *k == "memory")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let any = containers
        .iter()
        .any(|c| !part(c, "requests").is_empty() || !part(c, "limits").is_empty());
    if !any {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let limits = part(c, "limits");
        let requests = part(c, "requests");
        limits.contains_key("cpu")
            && limits.contains_key("memory")
            && requests.iter().all(|(k, v)| limits.get(k) == Some(v))
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// `SetDefaults_Service` and the ClusterIP allocator.
fn service(object: &mut Value, cluster_ip: &mut dyn FnMut() -> String) {
    if !object["status"].is_object() {
        object["status"] = json!({"loadBalancer": {}});
    }
    let spec = &mut object["spec"];
    if !spec.is_object() {
        return;
    }
    or_insert(spec, "type", json!("ClusterIP"));
    or_insert(spec, "sessionAffinity", json!("None"));
    let kind = spec["type"].as_str().unwrap_or("ClusterIP").to_owned();
    if kind != "ExternalName" {
        let ip = match spec["clusterIP"].as_str() {
            Some(ip) if !ip.is_empty() => ip.to_owned(),
            _ => cluster_ip(),
        };
        spec["clusterIP"] = json!(ip);
        or_insert(spec, "clusterIPs", json!([ip]));
        or_insert(spec, "ipFamilies", json!(["IPv4"]));
        or_insert(spec, "ipFamilyPolicy", json!("SingleStack"));
        or_insert(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if let Some(ports) = spec["ports"].as_array_mut() {
        for port in ports {
            or_insert(port, "protocol", json!("TCP"));
            let number = port["port"].clone();
            or_insert(port, "targetPort", number);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_follows_the_tag() {
        assert_eq!(pull_policy("nginx"), "Always");
        assert_eq!(pull_policy("nginx:latest"), "Always");
        assert_eq!(pull_policy("nginx:1.27"), "IfNotPresent");
        assert_eq!(pull_policy("registry:5000/app"), "Always");
        assert_eq!(pull_policy("registry:5000/app:v1"), "IfNotPresent");
        assert_eq!(pull_policy("app@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn qos_classes() {
        let spec = |resources: Value| json!({"containers": [{"name": "a", "image": "x", "resources": resources}]});
        assert_eq!(qos_class(&spec(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&spec(json!({"requests": {"cpu": "100m"}}))),
            "Burstable"
        );
        assert_eq!(
            qos_class(&spec(
                json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}})
            )),
            "Guaranteed"
        );
        assert_eq!(
            qos_class(&spec(
                json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}})
            )),
            "Burstable"
        );
    }
}
