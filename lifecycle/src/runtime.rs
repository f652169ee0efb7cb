//! A runtime's settings: where its traffic is served (host, ingress class,
//! TLS, annotations) and what its versions' pods get by default (pull
//! secrets, resources, security, hardware classes). Validated as a whole,
//! every problem with its path, and checked against each manifest that is
//! registered into the runtime.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    Manifest,
    names::{is_dns_subdomain, is_qualified_name, validate_dns_label},
    problems::{Errors, FieldError},
    workload::{Placement, Quantities, Resources},
};

/// At most this many annotations, pull secrets or hardware classes.
pub const MAX_SETTINGS_ENTRIES: usize = 50;
pub const MAX_ANNOTATION_VALUE_BYTES: usize = 4096;

/// How the runtime's Ingress terminates TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Tls {
    /// Plain HTTP (TLS ends in front of the cluster, or not at all).
    #[default]
    None,
    /// A `kubernetes.io/tls` Secret that already exists in the namespace.
    Secret { secret: String },
    /// cert-manager issues the certificate: the Ingress carries the
    /// issuer's annotation and names the Secret it is to fill.
    Issuer { issuer: String, cluster: bool },
}

/// How far the pods are locked down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PodSecurity {
    /// Pod Security `restricted`: non-root, no escalation, no capabilities,
    /// `RuntimeDefault` seccomp, a read-only root with `/tmp` writable.
    #[default]
    Restricted,
    /// The image's own user and a writable root, for images that cannot
    /// run otherwise. Still no privilege escalation and no capabilities.
    Relaxed,
}

impl PodSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restricted => "restricted",
            Self::Relaxed => "relaxed",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeSettings {
    /// The full host; `None` serves at `<runtime>.<base domain>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress_class: Option<String>,
    pub tls: Tls,
    pub ingress_annotations: BTreeMap<String, String>,
    pub image_pull_secrets: Vec<String>,
    /// What a process that declares no resources gets.
    pub default_resources: Resources,
    /// The most a process may ask for (requests and limits).
    pub max_resources: Quantities,
    pub pod_security: PodSecurity,
    /// Hardware classes, by the name a manifest's `placement` gives.
    pub placements: BTreeMap<String, Placement>,
    /// Four-eyes change control; `None`: actions are carried out at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_policy: Option<crate::ChangePolicy>,
    /// When actions may happen; `None`: at any time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_windows: Option<crate::ChangeWindows>,
    /// A version left started but unpublished this long is stopped by the
    /// system; `None`: kept running (a warm standby for a rollback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_unpublished_after_hours: Option<u32>,
}

/// The longest time to live of a started, unpublished version (a year).
pub const MAX_UNPUBLISHED_HOURS: u32 = 8760;

impl RuntimeSettings {
    /// The host the runtime's published version is served at.
    pub fn host(&self, runtime: &str, base_domain: &str) -> String {
        self.host
            .clone()
            .unwrap_or_else(|| format!("{runtime}.{base_domain}"))
    }

    /// The Secret the Ingress's certificate is in, if it terminates TLS.
    pub fn tls_secret(&self, runtime: &str) -> Option<String> {
        match &self.tls {
            Tls::None => None,
            Tls::Secret { secret } => Some(secret.clone()),
            Tls::Issuer { .. } => Some(format!("{runtime}-tls")),
        }
    }

    /// The Ingress's annotations: the configured ones, and cert-manager's
    /// issuer when it issues the certificate.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        let mut annotations = self.ingress_annotations.clone();
        if let Tls::Issuer { issuer, cluster } = &self.tls {
            let key = if *cluster {
                "cert-manager.io/cluster-issuer"
            } else {
                "cert-manager.io/issuer"
            };
            annotations.insert(key.to_owned(), issuer.clone());
        }
        annotations
    }

    /// Checks every setting; `Ok` only when there is no problem at all.
    pub fn validate(&self, base_domain: &str) -> Result<(), Vec<FieldError>> {
        let mut errors = Errors::default();
        match &self.host {
            Some(host) if !is_host(host) => errors.push(
                "host",
                "must be a lowercase DNS name such as app.example.com",
            ),
            None if !base_domain.is_empty() && !is_host(base_domain) => errors.push(
                "base_domain",
                "must be a lowercase DNS name such as apps.example.com",
            ),
            None if base_domain.is_empty() => {
                errors.push("host", "a host or a base domain is required")
            }
            _ => {}
        }
        if let Some(class) = &self.ingress_class
            && !is_dns_subdomain(class)
        {
            errors.push("ingress_class", "must be an IngressClass name");
        }
        match &self.tls {
            Tls::None => {}
            Tls::Secret { secret } if !is_dns_subdomain(secret) || secret.is_empty() => {
                errors.push("tls.secret", "must be a Secret name")
            }
            Tls::Issuer { issuer, .. } if !is_dns_subdomain(issuer) || issuer.is_empty() => {
                errors.push("tls.issuer", "must be an Issuer name")
            }
            _ => {}
        }
        self.validate_annotations(&mut errors);
        for (i, secret) in self.image_pull_secrets.iter().enumerate() {
            if secret.is_empty() || !is_dns_subdomain(secret) {
                errors.push(format!("image_pull_secrets[{i}]"), "must be a Secret name");
            }
        }
        for (field, count) in [
            ("ingress_annotations", self.ingress_annotations.len()),
            ("image_pull_secrets", self.image_pull_secrets.len()),
            ("placements", self.placements.len()),
        ] {
            if count > MAX_SETTINGS_ENTRIES {
                errors.push(field, format!("at most {MAX_SETTINGS_ENTRIES} entries"));
            }
        }
        self.default_resources
            .validate("default_resources", &mut errors);
        Resources {
            limits: self.max_resources.clone(),
            ..Resources::default()
        }
        .validate("max", &mut errors);
        self.default_resources
            .check_within(&self.max_resources, "default_resources", &mut errors);
        for (name, placement) in &self.placements {
            if let Err(e) = validate_dns_label(name) {
                errors.push(format!("placements.{name}"), e.to_string());
            }
            placement.validate(&format!("placements.{name}"), &mut errors);
        }
        if let Some(policy) = &self.change_policy {
            policy.validate("change_policy", &mut errors);
        }
        if let Some(hours) = self.stop_unpublished_after_hours
            && !(1..=MAX_UNPUBLISHED_HOURS).contains(&hours)
        {
            errors.push(
                "stop_unpublished_after_hours",
                format!("must be from 1 to {MAX_UNPUBLISHED_HOURS} hours"),
            );
        }
        // Time zones are checked where the time-zone database is: the server.
        #[cfg(feature = "clock")]
        if let Some(windows) = &self.change_windows {
            windows.validate("change_windows", &mut errors);
        }
        errors.finish()
    }

    fn validate_annotations(&self, errors: &mut Errors) {
        for (key, value) in &self.ingress_annotations {
            if !is_qualified_name(key) {
                errors.push(
                    format!("ingress_annotations.{key}"),
                    "must be an annotation key ([prefix/]name)",
                );
            }
            if value.len() > MAX_ANNOTATION_VALUE_BYTES {
                errors.push(
                    format!("ingress_annotations.{key}"),
                    format!("value must be at most {MAX_ANNOTATION_VALUE_BYTES} bytes"),
                );
            }
        }
    }

    /// What a manifest asks of the runtime that it does not offer: a
    /// hardware class it has not, resources above its maxima.
    pub fn check(&self, manifest: &Manifest) -> Result<(), Vec<FieldError>> {
        let mut errors = Errors::default();
        let nodes = std::iter::once((
            "entrypoint".to_owned(),
            &manifest.entrypoint.resources,
            manifest.entrypoint.placement.as_deref(),
        ))
        .chain(manifest.processes.iter().enumerate().map(|(i, p)| {
            (
                format!("processes[{i}]"),
                &p.resources,
                p.placement.as_deref(),
            )
        }));
        for (path, resources, placement) in nodes {
            resources.check_within(
                &self.max_resources,
                &format!("{path}.resources"),
                &mut errors,
            );
            if let Some(placement) = placement
                && !self.placements.contains_key(placement)
            {
                let known: Vec<&str> = self.placements.keys().map(String::as_str).collect();
                errors.push(
                    format!("{path}.placement"),
                    if known.is_empty() {
                        format!("{placement:?}: the runtime offers no hardware classes")
                    } else {
                        format!(
                            "{placement:?} is not a hardware class of the runtime (it offers {})",
                            known.join(", ")
                        )
                    },
                );
            }
        }
        errors.finish()
    }
}

fn is_host(host: &str) -> bool {
    host.contains('.') && is_dns_subdomain(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(result: Result<(), Vec<FieldError>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn defaults_serve_plain_http_at_the_runtime_subdomain() {
        let s = RuntimeSettings::default();
        assert_eq!(s.validate("apps.example.com"), Ok(()));
        assert_eq!(s.host("demo", "apps.example.com"), "demo.apps.example.com");
        assert_eq!(s.tls_secret("demo"), None);
        assert!(s.annotations().is_empty());
    }

    #[test]
    fn an_issuer_names_the_secret_and_annotates_the_ingress() {
        let s = RuntimeSettings {
            tls: Tls::Issuer {
                issuer: "letsencrypt".into(),
                cluster: true,
            },
            ..RuntimeSettings::default()
        };
        assert_eq!(s.tls_secret("demo").as_deref(), Some("demo-tls"));
        assert_eq!(
            s.annotations()
                .get("cert-manager.io/cluster-issuer")
                .map(String::as_str),
            Some("letsencrypt")
        );
    }

    #[test]
    fn every_bad_setting_is_reported_with_its_path() {
        let s = RuntimeSettings {
            host: Some("Not A Host".into()),
            ingress_class: Some("bad class".into()),
            tls: Tls::Secret { secret: "".into() },
            ingress_annotations: BTreeMap::from([("bad key!".into(), "x".into())]),
            image_pull_secrets: vec!["Bad_Secret".into()],
            default_resources: Resources {
                requests: Quantities {
                    cpu: Some("lots".into()),
                    memory: None,
                },
                ..Resources::default()
            },
            placements: BTreeMap::from([(
                "gpu".into(),
                Placement {
                    node_selector: BTreeMap::from([("accelerator".into(), "bad value!".into())]),
                    tolerations: vec![],
                },
            )]),
            ..RuntimeSettings::default()
        };
        assert_eq!(
            paths(s.validate("")),
            [
                "host",
                "ingress_class",
                "tls.secret",
                "ingress_annotations.bad key!",
                "image_pull_secrets[0]",
                "default_resources.requests.cpu",
                "placements.gpu.node_selector.accelerator",
            ]
        );
    }

    #[test]
    fn defaults_above_the_maxima_are_refused() {
        let s = RuntimeSettings {
            default_resources: Resources {
                limits: Quantities {
                    cpu: Some("4".into()),
                    memory: None,
                },
                ..Resources::default()
            },
            max_resources: Quantities {
                cpu: Some("2".into()),
                memory: None,
            },
            ..RuntimeSettings::default()
        };
        assert_eq!(
            paths(s.validate("apps.example.com")),
            ["default_resources.limits.cpu"]
        );
    }

    #[test]
    fn a_runtime_refuses_classes_it_lacks_and_resources_above_its_maxima() {
        let mut m: Manifest = serde_json::from_value(serde_json::json!({
            "name": "v1",
            "entrypoint": {"image": "registry.example.com/gw:1", "port": 8080},
            "processes": [
                {"name": "ingest", "image": "registry.example.com/ingest:1", "placement": "gpu"},
                {"name": "score", "image": "registry.example.com/score:1",
                 "resources": {"limits": {"memory": "8Gi"}}},
            ],
        }))
        .expect("manifest");
        let runtime = RuntimeSettings {
            max_resources: Quantities {
                cpu: None,
                memory: Some("4Gi".into()),
            },
            ..RuntimeSettings::default()
        };
        let text: Vec<String> = runtime
            .check(&m)
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            text,
            [
                "processes[0].placement: \"gpu\": the runtime offers no hardware classes",
                "processes[1].resources.limits.memory: 8Gi is above the runtime's maximum of 4Gi",
            ]
        );
        let with_gpu = RuntimeSettings {
            placements: [("gpu".to_owned(), Placement::default())].into(),
            ..RuntimeSettings::default()
        };
        m.processes[1].resources.limits.memory = None;
        assert_eq!(with_gpu.check(&m), Ok(()));
    }
}
