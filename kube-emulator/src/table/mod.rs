//! Server-side printing: the `Table` a real API server answers when a
//! client asks for `application/json;as=Table;v=v1;g=meta.k8s.io` (what
//! `kubectl get` sends), with the columns of the types' printers in
//! kubernetes/kubernetes `pkg/printers/internalversion/printers.go`. See
//! "Receiving resources as Tables" in the API concepts reference.

mod cells;
mod columns;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::resources::ResourceType;
use cells::cells;
pub use cells::{human_duration, pod_reason};
use columns::columns;

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
