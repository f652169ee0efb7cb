//! Each object's cells for its type's columns, in the printers' words
//! (kubectl's ages, a pod's STATUS reason).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::resources::ResourceType;

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

pub(super) fn cells(rt: ResourceType, object: &Value, now: DateTime<Utc>) -> Vec<Value> {
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
