//! Pod Security admission, as the built-in plugin runs it from the
//! namespace's labels (`pod-security.kubernetes.io/enforce|warn:
//! privileged|baseline|restricted`): a pod that violates the enforced
//! level is refused with 403 and the violated controls listed; `warn`
//! answers the same list as a warning; workloads (Deployments,
//! ReplicaSets) are never refused, only warned about, since it is their
//! pods that are admitted or not. The controls and their words are those
//! of the Pod Security Standards (kubernetes.io/docs/concepts/security/
//! pod-security-standards) and of `k8s.io/pod-security-admission`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{
    errors::{ApiError, ApiResult},
    resources::{self, ResourceType},
};

const ENFORCE: &str = "pod-security.kubernetes.io/enforce";
const WARN: &str = "pod-security.kubernetes.io/warn";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    fn parse(text: Option<&str>) -> Self {
        match text {
            Some("baseline") => Self::Baseline,
            Some("restricted") => Self::Restricted,
            _ => Self::Privileged,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Privileged => "privileged",
            Self::Baseline => "baseline",
            Self::Restricted => "restricted",
        }
    }
}

/// Capabilities the baseline level allows a container to add.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Volume types the restricted level allows.
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// The pod spec of what is written: a pod's own, or a workload's template.
fn pod_spec(rt: ResourceType, object: &Value) -> Option<&Value> {
    match rt.plural {
        "pods" => object.get("spec"),
        "deployments" | "replicasets" => object.pointer("/spec/template/spec"),
        _ => None,
    }
}

fn containers(spec: &Value) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|list| spec[list].as_array())
        .flatten()
        .collect()
}

fn name(container: &Value) -> String {
    container["name"].as_str().unwrap_or("").to_owned()
}

/// "container "a"" or "containers "a", "b"".
fn which(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    if quoted.len() == 1 {
        format!("container {}", quoted[0])
    } else {
        format!("containers {}", quoted.join(", "))
    }
}

/// Every control `spec` violates at `level`, in the admission's words.
fn violations(spec: &Value, level: Level) -> Vec<String> {
    let mut out = Vec::new();
    if level == Level::Privileged {
        return out;
    }
    let all = containers(spec);
    // Baseline.
    let hosts: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .iter()
        .filter(|f| spec[**f] == true)
        .map(|f| format!("{f}=true"))
        .collect();
    if !hosts.is_empty() {
        out.push(format!("host namespaces ({})", hosts.join(", ")));
    }
    let privileged: Vec<String> = all
        .iter()
        .filter(|c| c.pointer("/securityContext/privileged") == Some(&Value::Bool(true)))
        .map(|c| name(c))
        .collect();
    if !privileged.is_empty() {
        out.push(format!(
            "privileged ({} must not set securityContext.privileged=true)",
            which(&privileged)
        ));
    }
    let mut added: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &all {
        for cap in c
            .pointer("/securityContext/capabilities/add")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let allowed = match level {
                Level::Restricted => cap == "NET_BIND_SERVICE",
                _ => BASELINE_CAPABILITIES.contains(&cap),
            };
            if !allowed {
                added.entry(name(c)).or_default().push(format!("{cap:?}"));
            }
        }
    }
    if !added.is_empty() && level == Level::Baseline {
        let parts: Vec<String> = added
            .iter()
            .map(|(c, caps)| {
                format!(
                    "container {c:?} must not include {} in securityContext.capabilities.add",
                    caps.join(", ")
                )
            })
            .collect();
        out.push(format!("non-default capabilities ({})", parts.join("; ")));
    }
    let volumes = spec["volumes"].as_array().cloned().unwrap_or_default();
    let host_paths: Vec<String> = volumes
        .iter()
        .filter(|v| v.get("hostPath").is_some())
        .map(|v| format!("{:?}", v["name"].as_str().unwrap_or("")))
        .collect();
    if !host_paths.is_empty() && level == Level::Baseline {
        let noun = if host_paths.len() == 1 {
            "volume"
        } else {
            "volumes"
        };
        out.push(format!(
            "hostPath volumes ({noun} {})",
            host_paths.join(", ")
        ));
    }
    let host_ports: Vec<String> = all
        .iter()
        .filter(|c| {
            c["ports"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["hostPort"].as_i64().is_some_and(|h| h != 0))
            })
        })
        .map(|c| name(c))
        .collect();
    if !host_ports.is_empty() {
        out.push(format!("hostPort ({} uses hostPort)", which(&host_ports)));
    }
    let unconfined =
        |sc: &Value| sc.pointer("/seccompProfile/type") == Some(&Value::from("Unconfined"));
    if unconfined(&spec["securityContext"]) || all.iter().any(|c| unconfined(&c["securityContext"]))
    {
        out.push("seccompProfile (pod or containers must not set securityContext.seccompProfile.type to \"Unconfined\")".into());
    }
    if level < Level::Restricted {
        return out;
    }
    // Restricted.
    let restricted_volumes: Vec<String> = volumes
        .iter()
        .filter_map(|v| {
            let kind = v.as_object()?.keys().find(|k| *k != "name")?.clone();
            (!RESTRICTED_VOLUMES.contains(&kind.as_str())).then(|| {
                format!(
                    "volume {:?} uses restricted volume type {kind:?}",
                    v["name"].as_str().unwrap_or("")
                )
            })
        })
        .collect();
    if !restricted_volumes.is_empty() {
        out.push(format!(
            "restricted volume types ({})",
            restricted_volumes.join("; ")
        ));
    }
    let escalating: Vec<String> = all
        .iter()
        .filter(|c| {
            c.pointer("/securityContext/allowPrivilegeEscalation") != Some(&Value::Bool(false))
        })
        .map(|c| name(c))
        .collect();
    if !escalating.is_empty() {
        out.push(format!(
            "allowPrivilegeEscalation != false ({} must set securityContext.allowPrivilegeEscalation=false)",
            which(&escalating)
        ));
    }
    let capable: Vec<String> = all
        .iter()
        .filter(|c| {
            let drops_all = c
                .pointer("/securityContext/capabilities/drop")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|x| x == "ALL"));
            let adds_other = added.contains_key(&name(c));
            !drops_all || adds_other
        })
        .map(|c| name(c))
        .collect();
    if !capable.is_empty() {
        out.push(format!(
            "unrestricted capabilities ({} must set securityContext.capabilities.drop=[\"ALL\"])",
            which(&capable)
        ));
    }
    let pod_non_root = spec.pointer("/securityContext/runAsNonRoot") == Some(&Value::Bool(true));
    let rooted: Vec<String> = all
        .iter()
        .filter(|c| match c.pointer("/securityContext/runAsNonRoot") {
            Some(Value::Bool(value)) => !value,
            _ => !pod_non_root,
        })
        .map(|c| name(c))
        .collect();
    if !rooted.is_empty() {
        out.push(format!(
            "runAsNonRoot != true (pod or {} must set securityContext.runAsNonRoot=true)",
            which(&rooted)
        ));
    }
    let root_user: Vec<String> = all
        .iter()
        .filter(|c| {
            c.pointer("/securityContext/runAsUser")
                .and_then(Value::as_i64)
                == Some(0)
        })
        .map(|c| name(c))
        .collect();
    if !root_user.is_empty()
        || spec
            .pointer("/securityContext/runAsUser")
            .and_then(Value::as_i64)
            == Some(0)
    {
        out.push("runAsUser=0 (pod and containers must not set runAsUser=0)".into());
    }
    let confined = |sc: &Value| {
        matches!(
            sc.pointer("/seccompProfile/type").and_then(Value::as_str),
            Some("RuntimeDefault" | "Localhost")
        )
    };
    let pod_confined = confined(&spec["securityContext"]);
    let unconfined: Vec<String> = all
        .iter()
        .filter(|c| !pod_confined && !confined(&c["securityContext"]))
        .map(|c| name(c))
        .collect();
    if !unconfined.is_empty() {
        out.push(format!(
            "seccompProfile (pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
            which(&unconfined)
        ));
    }
    out
}

impl super::Inner {
    /// Refuses a pod its namespace's enforced level does not admit.
    pub(super) fn admit_pod_security(
        &self,
        rt: ResourceType,
        namespace: &str,
        object: &Value,
    ) -> ApiResult<()> {
        let key = super::Key {
            rt: resources::NAMESPACES,
            namespace: String::new(),
            name: namespace.to_owned(),
        };
        let labels = self.objects.get(&key).map(|ns| &ns["metadata"]["labels"]);
        admit(rt, labels, object).map(|_| ())
    }
}

/// Admits `object` into a namespace with `labels`: `Err` for a pod the
/// enforced level refuses, otherwise the warnings to answer with.
pub fn admit(
    rt: ResourceType,
    namespace_labels: Option<&Value>,
    object: &Value,
) -> ApiResult<Vec<String>> {
    let Some(spec) = pod_spec(rt, object) else {
        return Ok(Vec::new());
    };
    let label = |key: &str| namespace_labels.and_then(|l| l[key].as_str());
    let enforce = Level::parse(label(ENFORCE));
    let warn = Level::parse(label(WARN));
    let mut warnings = Vec::new();
    let enforced = violations(spec, enforce);
    if !enforced.is_empty() {
        let summary = format!(
            "PodSecurity \"{}:latest\": {}",
            enforce.name(),
            enforced.join(", ")
        );
        if rt == resources::PODS {
            let name = object["metadata"]["name"].as_str().unwrap_or("");
            return Err(ApiError::forbidden(format!(
                "pods \"{name}\" is forbidden: violates {summary}"
            )));
        }
        warnings.push(format!("would violate {summary}"));
    }
    let warned = violations(spec, warn);
    if !warned.is_empty() && warn > enforce {
        warnings.push(format!(
            "would violate PodSecurity \"{}:latest\": {}",
            warn.name(),
            warned.join(", ")
        ));
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn restricted() -> Value {
        json!({"pod-security.kubernetes.io/enforce": "restricted"})
    }

    #[test]
    fn a_bare_pod_is_refused_with_every_restricted_control() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "web", "image": "x"}]}});
        let error = admit(resources::PODS, Some(&restricted()), &pod).unwrap_err();
        assert_eq!(error.code.as_u16(), 403);
        assert_eq!(
            error.message,
            "pods \"p\" is forbidden: violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (container \"web\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \"web\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or container \"web\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"web\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
        );
    }

    #[test]
    fn a_hardened_pod_is_admitted_and_workloads_are_only_warned_about() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [{"name": "tmp", "emptyDir": {}}],
            "containers": [{"name": "web", "image": "x", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}});
        assert_eq!(
            admit(resources::PODS, Some(&restricted()), &pod).unwrap(),
            Vec::<String>::new()
        );
        let deployment = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "x"}]}}}});
        let warnings = admit(resources::DEPLOYMENTS, Some(&restricted()), &deployment).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("would violate PodSecurity \"restricted:latest\""));
    }

    #[test]
    fn baseline_refuses_privilege_and_host_access() {
        let labels = json!({"pod-security.kubernetes.io/enforce": "baseline"});
        let pod = json!({"metadata": {"name": "p"}, "spec": {"hostNetwork": true,
            "containers": [{"name": "a", "image": "x", "securityContext": {"privileged": true}}]}});
        let error = admit(resources::PODS, Some(&labels), &pod).unwrap_err();
        assert!(
            error.message.contains("host namespaces (hostNetwork=true)"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains(
                "privileged (container \"a\" must not set securityContext.privileged=true)"
            )
        );
        assert_eq!(
            admit(resources::PODS, None, &pod).unwrap(),
            Vec::<String>::new()
        );
    }
}
