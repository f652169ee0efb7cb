//! What a node's pods run with besides their image: resources, probes and
//! placement, as a manifest declares them per process and a runtime's
//! settings give as defaults. Validated with the rest of the manifest, every
//! problem with its path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{problems::Errors, quantity};

/// CPU and memory, as Kubernetes quantities (`250m`, `512Mi`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantities {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

impl Quantities {
    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.memory.is_none()
    }

    fn entries(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [("cpu", &self.cpu), ("memory", &self.memory)]
            .into_iter()
            .filter_map(|(name, q)| q.as_deref().map(|q| (name, q)))
    }

    /// Each field of `self`, or `fallback`'s where `self` has none.
    pub fn or(&self, fallback: &Quantities) -> Quantities {
        Quantities {
            cpu: self.cpu.clone().or_else(|| fallback.cpu.clone()),
            memory: self.memory.clone().or_else(|| fallback.memory.clone()),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Quantities::is_empty")]
    pub requests: Quantities,
    #[serde(default, skip_serializing_if = "Quantities::is_empty")]
    pub limits: Quantities,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.limits.is_empty()
    }

    /// Each field of `self`, or `defaults`' where `self` has none.
    pub fn or(&self, defaults: &Resources) -> Resources {
        Resources {
            requests: self.requests.or(&defaults.requests),
            limits: self.limits.or(&defaults.limits),
        }
    }

    pub(crate) fn validate(&self, path: &str, errors: &mut Errors) {
        for (kind, quantities) in [("requests", &self.requests), ("limits", &self.limits)] {
            for (name, q) in quantities.entries() {
                if quantity::parse(q).is_none() {
                    errors.push(
                        format!("{path}.{kind}.{name}"),
                        format!("{q:?} is not a quantity (for example 250m, 0.5, 512Mi, 1Gi)"),
                    );
                }
            }
        }
        for (name, request) in self.requests.entries() {
            let limit = self.limits.entries().find(|(n, _)| *n == name);
            if let (Some(r), Some((_, l))) = (quantity::parse(request), limit)
                && let Some(l) = quantity::parse(l)
                && r > l
            {
                errors.push(
                    format!("{path}.requests.{name}"),
                    format!("must not exceed limits.{name}"),
                );
            }
        }
    }

    /// Every limit above `maxima`'s, as problems at `path`.
    pub(crate) fn check_within(&self, maxima: &Quantities, path: &str, errors: &mut Errors) {
        for (kind, quantities) in [("requests", &self.requests), ("limits", &self.limits)] {
            for (name, q) in quantities.entries() {
                let Some((_, max)) = maxima.entries().find(|(n, _)| *n == name) else {
                    continue;
                };
                if let (Some(value), Some(limit)) = (quantity::parse(q), quantity::parse(max))
                    && value > limit
                {
                    errors.push(
                        format!("{path}.{kind}.{name}"),
                        format!("{q} is above the runtime's maximum of {max}"),
                    );
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    pub path: String,
    pub port: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpCheck {
    pub port: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecCheck {
    pub command: Vec<String>,
}

/// How the kubelet checks a container: exactly one of `http`, `tcp` or
/// `exec`. A struct of three options rather than an enum, so that YAML and
/// JSON spell it the same (`{http: {path: /ready, port: 8080}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecCheck>,
}

impl Check {
    pub fn http(path: &str, port: u32) -> Self {
        Self {
            http: Some(HttpCheck {
                path: path.to_owned(),
                port,
            }),
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self, path: &str, errors: &mut Errors) {
        let kinds = [self.http.is_some(), self.tcp.is_some(), self.exec.is_some()];
        if kinds.iter().filter(|k| **k).count() != 1 {
            errors.push(path, "must have exactly one of http, tcp or exec");
        }
        if let Some(http) = &self.http {
            if !http.path.starts_with('/') {
                errors.push(format!("{path}.http.path"), "must start with '/'");
            }
            validate_port(http.port, &format!("{path}.http.port"), errors);
        }
        if let Some(tcp) = &self.tcp {
            validate_port(tcp.port, &format!("{path}.tcp.port"), errors);
        }
        if let Some(exec) = &self.exec
            && exec.command.first().is_none_or(|c| c.trim().is_empty())
        {
            errors.push(format!("{path}.exec.command"), "must name a command");
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Check>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<Check>,
}

impl Probes {
    pub fn is_empty(&self) -> bool {
        self.readiness.is_none() && self.liveness.is_none()
    }

    pub(crate) fn validate(&self, path: &str, errors: &mut Errors) {
        if let Some(check) = &self.readiness {
            check.validate(&format!("{path}.readiness"), errors);
        }
        if let Some(check) = &self.liveness {
            check.validate(&format!("{path}.liveness"), errors);
        }
    }
}

/// One toleration of a hardware class's taint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toleration {
    pub key: String,
    /// `Equal` (the default) or `Exists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`; none tolerates all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
}

/// A named hardware class a runtime offers: where processes that ask for
/// it (`placement: gpu`) are scheduled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
}

impl Placement {
    pub(crate) fn validate(&self, path: &str, errors: &mut Errors) {
        for (key, value) in &self.node_selector {
            if !crate::names::is_qualified_name(key) {
                errors.push(
                    format!("{path}.node_selector.{key}"),
                    "must be a label key ([prefix/]name)",
                );
            }
            if !crate::names::is_label_value(value) {
                errors.push(
                    format!("{path}.node_selector.{key}"),
                    "must be a label value (at most 63 letters, digits, '-', '_' or '.')",
                );
            }
        }
        for (i, t) in self.tolerations.iter().enumerate() {
            let at = |field: &str| format!("{path}.tolerations[{i}].{field}");
            if !crate::names::is_qualified_name(&t.key) {
                errors.push(at("key"), "must be a taint key ([prefix/]name)");
            }
            match t.operator.as_deref() {
                None | Some("Equal") => {}
                Some("Exists") if t.value.is_some() => {
                    errors.push(at("value"), "must be empty when the operator is Exists")
                }
                Some("Exists") => {}
                Some(_) => errors.push(at("operator"), "must be Equal or Exists"),
            }
            if let Some(effect) = t.effect.as_deref()
                && !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute")
            {
                errors.push(
                    at("effect"),
                    "must be NoSchedule, PreferNoSchedule or NoExecute",
                );
            }
        }
    }
}

pub(crate) fn validate_port(port: u32, path: &str, errors: &mut Errors) {
    if !(1..=65535).contains(&port) {
        errors.push(path, "must be between 1 and 65535");
    }
}
