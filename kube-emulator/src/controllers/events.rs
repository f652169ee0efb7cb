//! Events as a cluster's components record them (core/v1 `Event`, what
//! `kubectl describe` and `kubectl get events` read): one object per
//! distinct (object, reason, message), its `count` and `lastTimestamp`
//! bumped when it happens again, as client-go's event correlator does.

use serde_json::{Value, json};

use crate::{
    Emulator, resources,
    store::{self, Part, name_of, uid_of},
};

/// Who records an event: the component and the host it runs on.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub component: &'static str,
    pub host: Option<&'static str>,
}

pub const SCHEDULER: Source = Source {
    component: "default-scheduler",
    host: None,
};
pub const KUBELET: Source = Source {
    component: "kubelet",
    host: Some(super::objects::NODE),
};
pub const REPLICASET_CONTROLLER: Source = Source {
    component: "replicaset-controller",
    host: None,
};
pub const DEPLOYMENT_CONTROLLER: Source = Source {
    component: "deployment-controller",
    host: None,
};

/// One thing that happened to an object.
pub struct Happening<'a> {
    pub object: &'a Value,
    /// `spec.containers{name}` for a container's events.
    pub field_path: Option<String>,
    pub reason: &'a str,
    pub message: String,
    pub warning: bool,
}

/// FNV-1a of the parts that make an event distinct, for its name.
fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Records `happening`, or counts it again if it was recorded before.
pub fn record(emulator: &Emulator, source: Source, happening: Happening<'_>) {
    let Happening {
        object,
        field_path,
        reason,
        message,
        warning,
    } = happening;
    let namespace = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default");
    let uid = uid_of(object);
    let name = format!(
        "{}.{}",
        name_of(object),
        fingerprint(&[&uid, reason, &message, field_path.as_deref().unwrap_or("")])
    );
    let now = store::now();
    let store = &emulator.store;
    if let Ok(mut existing) = store.get(resources::EVENTS, namespace, &name) {
        let count = existing["count"].as_i64().unwrap_or(1) + 1;
        existing["count"] = json!(count);
        existing["lastTimestamp"] = json!(now);
        if let Err(error) = store.update(resources::EVENTS, namespace, &name, existing, Part::Main)
        {
            tracing::debug!(%error, "event not counted");
        }
        return;
    }
    let mut involved = json!({
        "kind": object["kind"], "namespace": namespace, "name": name_of(object),
        "uid": uid, "apiVersion": object["apiVersion"],
        "resourceVersion": object["metadata"]["resourceVersion"],
    });
    if let Some(path) = field_path {
        involved["fieldPath"] = json!(path);
    }
    let mut event = json!({
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": if warning { "Warning" } else { "Normal" },
        "source": {"component": source.component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "eventTime": Value::Null,
        "reportingComponent": source.component,
        "reportingInstance": source.host.unwrap_or(""),
    });
    if let Some(host) = source.host {
        event["source"]["host"] = json!(host);
    }
    if let Err(error) = store.create(resources::EVENTS, namespace, event) {
        tracing::debug!(%error, "event not recorded");
    }
}
