//! Server-side printing: the `Table` a real API server answers when a
//! client asks for `application/json;as=Table;v=v1;g=meta.k8s.io` (what
//! `kubectl get` sends), with the columns of the types' printers in
//! kubernetes/kubernetes `pkg/printers/internalversion/printers.go`. See
//! "Receiving resources as Tables" in the API concepts reference.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::resources::ResourceType;

/// Whether the request's `Accept` asks for a Table.
pub fn wanted(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table") && first.contains("g=meta.k8s.io"))
}

/// What each row carries of its object (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

fn column(name: &str, kind: &str, priority: u8, description: &str) -> Value {
    let mut c = json!({"name": name, "type": kind, "format": "", "description": description, "priority": priority});
    if name == "Name" {
        c["format"] = json!("name");
    }
    c
}

fn columns(rt: ResourceType) -> Vec<Value> {
    let name = column(
        "Name",
        "string",
        0,
        "Name must be unique within a namespace.",
    );
    let age = column(
        "Age",
        "string",
        0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    );
    let string = |n: &str, p: u8, d: &str| column(n, "string", p, d);
    let integer = |n: &str, p: u8, d: &str| column(n, "integer", p, d);
    match (rt.group, rt.plural) {
        ("", "pods") => vec![
            name,
            string(
                "Ready",
                0,
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            string(
                "Status",
                0,
                "The aggregate status of the containers in this pod.",
            ),
            string(
                "Restarts",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            age,
            string("IP", 1, "IP address allocated to the pod."),
            string("Node", 1, "Name of the node this pod is running on."),
            string(
                "Nominated Node",
                1,
                "Name of the node where this pod is nominated to run.",
            ),
            string("Readiness Gates", 1, "The readiness gates of this pod."),
        ],
        ("apps", "deployments") => vec![
            name,
            string("Ready", 0, "Number of the pod with ready state"),
            integer(
                "Up-to-date",
                0,
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            integer(
                "Available",
                0,
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
            age,
            string("Containers", 1, "Names of each container in the template."),
            string(
                "Images",
                1,
                "Images referenced by each container in the template.",
            ),
            string("Selector", 1, "Label selector for pods."),
        ],
        ("apps", "replicasets") => vec![
            name,
            integer("Desired", 0, "Replicas is the number of desired replicas."),
            integer(
                "Current",
                0,
                "Replicas is the most recently observed number of replicas.",
            ),
            integer(
                "Ready",
                0,
                "The number of ready replicas for this replica set.",
            ),
            age,
            string("Containers", 1, "Names of each container in the template."),
            string(
                "Images",
                1,
                "Images referenced by each container in the template.",
            ),
            string(
                "Selector",
                1,
                "Selector is a label query over pods that should match the replica count.",
            ),
        ],
        ("", "services") => vec![
            name,
            string("Type", 0, "Type determines how the Service is exposed."),
            string(
                "Cluster-IP",
                0,
                "ClusterIP is the IP address of the service.",
            ),
            string(
                "External-IP",
                0,
                "List of IP addresses for which nodes in the cluster will also accept traffic for this service.",
            ),
            string(
                "Port(s)",
                0,
                "The list of ports that are exposed by this service.",
            ),
            age,
            string(
                "Selector",
                1,
                "Route service traffic to pods with label keys and values matching this selector.",
            ),
        ],
        ("", "namespaces") => vec![
            name,
            string("Status", 0, "The status of the namespace"),
            age,
        ],
        ("", "configmaps") => vec![
            name,
            integer("Data", 0, "Data contains the configuration data."),
            age,
        ],
        ("", "nodes") => vec![
            name,
            string("Status", 0, "The status of the node"),
            string("Roles", 0, "The roles of the node"),
            age,
            string("Version", 0, "Kubelet Version reported by the node."),
            string("Internal-IP", 1, "List of addresses reachable to the node."),
            string(
                "OS-Image",
                1,
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            ),
        ],
        ("", "resourcequotas") => vec![
            name,
            age,
            string(
                "Request",
                0,
                "Request represents a minimum amount of cpu/memory that a container may consume.",
            ),
            string(
                "Limit",
                0,
                "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
            ),
        ],
        ("", "secrets") => vec![
            name,
            string("Type", 0, "The type of the secret"),
            integer("Data", 0, "The number of items stored in the secret"),
            age,
        ],
        ("networking.k8s.io", "ingresses") => vec![
            name,
            string(
                "Class",
                0,
                "The name of the IngressClass resource that should be used for this Ingress.",
            ),
            string(
                "Hosts",
                0,
                "Hosts that incoming requests are matched against before the ingress rule",
            ),
            string(
                "Address",
                0,
                "Address is a list containing ingress points for the load-balancer",
            ),
            string("Ports", 0, "Ports of TLS configurations that open"),
            age,
        ],
        (_, "events") => vec![
            string(
                "Last Seen",
                0,
                "The time at which the most recent occurrence of this event was recorded.",
            ),
            string(
                "Type",
                0,
                "Type of this event (Normal, Warning), new types could be added in the future.",
            ),
            string(
                "Reason",
                0,
                "This should be a short, machine understandable string that gives the reason for this event being generated.",
            ),
            string("Object", 0, "The object that this event is about."),
            string("Subobject", 1, "The subobject this event is about."),
            string("Source", 1, "The component reporting this event."),
            string(
                "Message",
                0,
                "A human-readable description of the status of this operation.",
            ),
            string(
                "First Seen",
                1,
                "The time at which the event was first recorded.",
            ),
            integer("Count", 1, "The number of times this event has occurred."),
            string("Name", 1, "The name of the event."),
        ],
        _ => vec![name, age],
    }
}

/// `duration.HumanDuration` from apimachinery, as kubectl shows ages.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    let y = d / 365;
    match s {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 => match s % 60 {
            0 => format!("{m}m"),
            rest => format!("{m}m{rest}s"),
        },
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 => match m % 60 {
            0 => format!("{h}h"),
            rest => format!("{h}h{rest}m"),
        },
        _ if h < 48 => format!("{h}h"),
        _ if h < 192 => match h % 24 {
            0 => format!("{d}d"),
            rest => format!("{d}d{rest}h"),
        },
        _ if y < 2 => format!("{d}d"),
        _ if y < 8 => match d - y * 365 {
            0 => format!("{y}y"),
            rest => format!("{y}y{rest}d"),
        },
        _ => format!("{y}y"),
    }
}

fn age(timestamp: &Value, now: DateTime<Utc>) -> String {
    timestamp
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| human_duration((now - t.with_timezone(&Utc)).num_seconds()))
        .unwrap_or_else(|| "<unknown>".into())
}

fn none_if_empty(text: String) -> String {
    if text.is_empty() {
        "<none>".into()
    } else {
        text
    }
}

fn joined(values: impl Iterator<Item = String>) -> String {
    none_if_empty(values.collect::<Vec<_>>().join(","))
}

fn template_cells(object: &Value) -> [String; 3] {
    let containers = object
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let field = |f: &str| {
        joined(
            containers
                .iter()
                .map(|c| c[f].as_str().unwrap_or("").to_owned()),
        )
    };
    let selector = joined(
        object
            .pointer("/spec/selector/matchLabels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))),
    );
    [field("name"), field("image"), selector]
}

fn int(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The pod's STATUS column: the reason of its first waiting or terminated
/// container, as `printPod` works it out.
pub fn pod_reason(pod: &Value) -> String {
    let mut reason = pod
        .pointer("/status/reason")
        .or_else(|| pod.pointer("/status/phase"))
        .and_then(Value::as_str)
        .unwrap_or("Unknown")
        .to_owned();
    let statuses = pod["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut running = false;
    for status in statuses.iter().rev() {
        if let Some(waiting) = status
            .pointer("/state/waiting/reason")
            .and_then(Value::as_str)
        {
            reason = waiting.to_owned();
        } else if let Some(terminated) = status.pointer("/state/terminated") {
            reason = terminated["reason"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    format!("ExitCode:{}", terminated["exitCode"].as_i64().unwrap_or(0))
                });
        } else if status.pointer("/state/running").is_some() && status["ready"] == true {
            running = true;
        }
    }
    if reason == "Completed" && running {
        reason = "Running".into();
    }
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        reason = "Terminating".into();
    }
    reason
}

fn cells(rt: ResourceType, object: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = json!(object["metadata"]["name"]);
    let created = age(&object["metadata"]["creationTimestamp"], now);
    match (rt.group, rt.plural) {
        ("", "pods") => {
            let statuses = object["status"]["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let total = object["spec"]["containers"].as_array().map_or(0, Vec::len);
            let ready = statuses.iter().filter(|s| s["ready"] == true).count();
            let restarts: i64 = statuses
                .iter()
                .map(|s| s["restartCount"].as_i64().unwrap_or(0))
                .sum();
            let text = |p: &str| {
                object
                    .pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or("<none>")
                    .to_owned()
            };
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(pod_reason(object)),
                json!(restarts.to_string()),
                json!(created),
                json!(text("/status/podIP")),
                json!(text("/spec/nodeName")),
                json!(text("/status/nominatedNodeName")),
                json!("<none>"),
            ]
        }
        ("apps", "deployments") => {
            let [containers, images, selector] = template_cells(object);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(object, "/status/readyReplicas"),
                    int(object, "/spec/replicas")
                )),
                json!(int(object, "/status/updatedReplicas")),
                json!(int(object, "/status/availableReplicas")),
                json!(created),
                json!(containers),
                json!(images),
                json!(selector),
            ]
        }
        ("apps", "replicasets") => {
            let [containers, images, selector] = template_cells(object);
            vec![
                name,
                json!(int(object, "/spec/replicas")),
                json!(int(object, "/status/replicas")),
                json!(int(object, "/status/readyReplicas")),
                json!(created),
                json!(containers),
                json!(images),
                json!(selector),
            ]
        }
        ("", "services") => {
            let ports = joined(
                object["spec"]["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP"))),
            );
            let selector = joined(
                object["spec"]["selector"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))),
            );
            vec![
                name,
                json!(object["spec"]["type"].as_str().unwrap_or("ClusterIP")),
                json!(object["spec"]["clusterIP"].as_str().unwrap_or("<none>")),
                json!("<none>"),
                json!(ports),
                json!(created),
                json!(selector),
            ]
        }
        ("", "namespaces") => vec![
            name,
            json!(object["status"]["phase"].as_str().unwrap_or("Active")),
            json!(created),
        ],
        ("", "configmaps") => {
            let count = ["data", "binaryData"]
                .iter()
                .filter_map(|f| object[f].as_object())
                .map(|m| m.len())
                .sum::<usize>();
            vec![name, json!(count), json!(created)]
        }
        ("", "nodes") => {
            let ready = object["status"]["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
                .is_some_and(|c| c["status"] == "True");
            let ip = object["status"]["addresses"]
                .as_array()
                .and_then(|a| a.iter().find(|a| a["type"] == "InternalIP"))
                .and_then(|a| a["address"].as_str())
                .unwrap_or("<none>");
            vec![
                name,
                json!(if ready { "Ready" } else { "NotReady" }),
                json!("<none>"),
                json!(created),
                json!(
                    object
                        .pointer("/status/nodeInfo/kubeletVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ),
                json!(ip),
                json!(
                    object
                        .pointer("/status/nodeInfo/osImage")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ),
            ]
        }
        ("", "resourcequotas") => {
            // `requests.cpu: 0/1` for each constrained resource.
            let pairs = |limits: bool| {
                let hard = object["status"]["hard"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                hard.iter()
                    .filter(|(k, _)| k.starts_with("limits.") == limits)
                    .map(|(k, v)| {
                        let used = object["status"]["used"][k]
                            .as_str()
                            .unwrap_or("0")
                            .to_owned();
                        format!(
                            "{k}: {used}/{}",
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            vec![
                name,
                json!(created),
                json!(pairs(false)),
                json!(pairs(true)),
            ]
        }
        ("", "secrets") => vec![
            name,
            json!(object["type"].as_str().unwrap_or("Opaque")),
            json!(object["data"].as_object().map_or(0, |m| m.len())),
            json!(created),
        ],
        ("networking.k8s.io", "ingresses") => {
            let hosts = joined(
                object["spec"]["rules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| r["host"].as_str().unwrap_or("*").to_owned()),
            );
            let address = object
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| {
                    i["ip"]
                        .as_str()
                        .or(i["hostname"].as_str())
                        .map(str::to_owned)
                })
                .collect::<Vec<_>>()
                .join(",");
            let ports = if object["spec"]["tls"]
                .as_array()
                .is_some_and(|t| !t.is_empty())
            {
                "80, 443"
            } else {
                "80"
            };
            vec![
                name,
                json!(
                    object["spec"]["ingressClassName"]
                        .as_str()
                        .unwrap_or("<none>")
                ),
                json!(hosts),
                json!(address),
                json!(ports),
                json!(created),
            ]
        }
        (_, "events") => event_cells(rt, object, now),
        _ => vec![name, json!(created)],
    }
}

fn event_cells(rt: ResourceType, event: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let v1 = rt.group == "events.k8s.io";
    let regarding = if v1 {
        &event["regarding"]
    } else {
        &event["involvedObject"]
    };
    let object = format!(
        "{}/{}",
        regarding["kind"].as_str().unwrap_or("").to_lowercase(),
        regarding["name"].as_str().unwrap_or("")
    );
    let last = [
        if v1 {
            "/series/lastObservedTime"
        } else {
            "/lastTimestamp"
        },
        "/eventTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| event.pointer(p).filter(|v| v.is_string()).cloned())
    .unwrap_or(Value::Null);
    let first = event
        .pointer(if v1 {
            "/deprecatedFirstTimestamp"
        } else {
            "/firstTimestamp"
        })
        .filter(|v| v.is_string())
        .cloned()
        .unwrap_or_else(|| last.clone());
    let source = if v1 {
        event["reportingController"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    } else {
        event
            .pointer("/source/component")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let count = if v1 {
        event
            .pointer("/series/count")
            .and_then(Value::as_i64)
            .unwrap_or(1)
    } else {
        event["count"].as_i64().unwrap_or(1)
    };
    vec![
        json!(age(&last, now)),
        json!(event["type"].as_str().unwrap_or("Normal")),
        json!(event["reason"].as_str().unwrap_or("")),
        json!(object),
        json!(regarding["fieldPath"].as_str().unwrap_or("")),
        json!(source),
        json!(
            event[if v1 { "note" } else { "message" }]
                .as_str()
                .unwrap_or("")
        ),
        json!(age(&first, now)),
        json!(count),
        json!(event["metadata"]["name"]),
    ]
}

fn row(rt: ResourceType, object: &Value, include: Include, now: DateTime<Utc>) -> Value {
    let mut row = json!({"cells": cells(rt, object, now)});
    match include {
        Include::None => {}
        Include::Metadata => {
            row["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": object["metadata"],
            });
        }
        Include::Object => row["object"] = object.clone(),
    }
    row
}

/// The Table of `objects`, with the list's metadata (resourceVersion,
/// continue) as given.
pub fn table(rt: ResourceType, objects: &[Value], metadata: Value, include: Include) -> Value {
    let now = Utc::now();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns(rt),
        "rows": objects.iter().map(|o| row(rt, o, include, now)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_kubectl_prints_them() {
        for (seconds, text) in [
            (5, "5s"),
            (119, "119s"),
            (150, "2m30s"),
            (600, "10m"),
            (7_200, "120m"),
            (4 * 3600 + 60 * 5, "4h5m"),
            (30 * 3600, "30h"),
            (3 * 86_400 + 3600, "3d1h"),
            (40 * 86_400, "40d"),
            (-5, "<invalid>"),
        ] {
            assert_eq!(human_duration(seconds), text, "{seconds}s");
        }
    }

    #[test]
    fn a_pod_shows_its_first_waiting_reason() {
        let pod = json!({"status": {"phase": "Pending", "containerStatuses": [
            {"name": "a", "ready": false, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}});
        assert_eq!(pod_reason(&pod), "ImagePullBackOff");
        let pod = json!({"metadata": {"deletionTimestamp": "x"}, "status": {"phase": "Running"}});
        assert_eq!(pod_reason(&pod), "Terminating");
    }
}
