//! Server functions of runtime management: a runtime's settings for anyone
//! signed in, and creating, changing and deleting runtimes for admins, each
//! change with a reason and an audit entry (accepted or denied).

use leptos::prelude::*;
use lifecycle::{Role, Status};
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

/// Where a runtime's settings page lives.
pub fn settings_path(runtime: &str) -> String {
    format!("/runtimes/{}/settings", crate::audit::encode(runtime))
}

/// A runtime's settings as the form holds them: text per field. The rules
/// are the settings' own (`lifecycle::RuntimeSettings::validate`); this is
/// only how a form writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeFields {
    pub description: String,
    pub base_domain: String,
    /// A full host; empty serves at `<runtime>.<base domain>`.
    pub host: String,
    pub ingress_class: String,
    /// `none`, `secret`, `issuer` or `cluster_issuer`.
    pub tls: String,
    pub tls_secret: String,
    pub tls_issuer: String,
    /// One `key=value` per line.
    pub annotations: String,
    /// Separated by commas or spaces.
    pub pull_secrets: String,
    /// `restricted` or `relaxed`.
    pub pod_security: String,
    /// Default resources, maxima and hardware classes, as YAML.
    pub workloads: String,
    /// `on` when actions need approval (the change policy).
    pub approval: String,
    /// The actions that need it, separated by commas.
    pub approval_actions: String,
    pub approvals: String,
    /// The roles that may approve, separated by commas.
    pub approver_roles: String,
    pub open_hours: String,
    /// Allow windows and freezes, as YAML; empty: actions at any time.
    pub windows: String,
    /// Hours a started, unpublished version keeps running; empty: always.
    pub stop_unpublished_after: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeVersion {
    pub name: String,
    pub status: Status,
}

/// A runtime's settings page: the settings, whose they are, and what the
/// caller may do with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeView {
    pub role: Role,
    pub name: String,
    pub host: String,
    pub fields: RuntimeFields,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: Option<String>,
    pub serving_version: Option<String>,
    pub routing_error: Option<String>,
    pub versions: Vec<RuntimeVersion>,
}

/// What saving changed, so the page can say when it takes effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsSaved {
    pub routing: bool,
    pub workloads: bool,
}

#[server(endpoint = "runtimes/get")]
pub async fn get_runtime(runtime: String) -> Result<RuntimeView, ConsoleError> {
    use crate::server::{require, unavailable};
    use lifecycle::Permission;

    let (services, user) = require(Permission::View, None).await?;
    let record = backend::runtimes::get(&services.db, &runtime).await?;
    let versions = backend::versions::list(&services.db, &runtime)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|v| RuntimeVersion {
            name: v.name,
            status: v.status,
        })
        .collect();
    Ok(RuntimeView {
        role: user.role,
        name: record.name.clone(),
        host: record.host(),
        fields: ssr::fields(&record),
        created_at: record.created_at,
        created_by: record.created_by,
        updated_at: record.updated_at,
        serving_version: record.serving_version,
        routing_error: record.routing_error,
        versions,
    })
}

/// Creates a runtime; its namespace is created at its first version's start.
#[server(endpoint = "runtimes/create")]
pub async fn create_runtime(
    name: String,
    fields: RuntimeFields,
    reason: String,
) -> Result<String, ConsoleError> {
    let (services, admin) = ssr::admin(lifecycle::AuditAction::RuntimeCreate, Some(&name)).await?;
    let reason = ssr::reason(&reason)?;
    let draft = ssr::draft(&fields)?;
    let name = name.trim();
    backend::runtimes::create(&services.db, &admin.actor(), name, &draft, &reason)
        .await
        .map(|r| r.name)
        .map_err(ConsoleError::from)
}

#[server(endpoint = "runtimes/update")]
pub async fn update_runtime(
    runtime: String,
    fields: RuntimeFields,
    reason: String,
) -> Result<SettingsSaved, ConsoleError> {
    let (services, admin) =
        ssr::admin(lifecycle::AuditAction::RuntimeUpdate, Some(&runtime)).await?;
    let reason = ssr::reason(&reason)?;
    let draft = ssr::draft(&fields)?;
    let changed =
        backend::runtimes::update(&services.db, &admin.actor(), &runtime, &draft, &reason).await?;
    Ok(SettingsSaved {
        routing: changed.routing,
        workloads: changed.workloads,
    })
}

/// Deletes a runtime none of whose versions runs.
#[server(endpoint = "runtimes/delete")]
pub async fn delete_runtime(runtime: String, reason: String) -> Result<(), ConsoleError> {
    let (services, admin) =
        ssr::admin(lifecycle::AuditAction::RuntimeDelete, Some(&runtime)).await?;
    let reason = ssr::reason(&reason)?;
    backend::runtimes::delete(&services.db, &admin.actor(), &runtime, &reason)
        .await
        .map_err(ConsoleError::from)
}

#[cfg(feature = "ssr")]
mod ssr {
    use std::collections::BTreeMap;

    use backend::{
        Services,
        auth::SessionUser,
        runtimes::{RuntimeDraft, RuntimeRecord, WorkloadDefaults},
    };
    use lifecycle::{
        Action, AuditAction, ChangePolicy, FieldError, Permission, Reason, Role, RuntimeSettings,
        Tls, runtime::PodSecurity,
    };

    use super::RuntimeFields;
    use crate::{
        ConsoleError,
        server::{Attempt, require},
    };

    /// An admin, or a refusal audited as denied.
    pub async fn admin(
        action: AuditAction,
        runtime: Option<&str>,
    ) -> Result<(Services, SessionUser), ConsoleError> {
        let attempt = Attempt {
            action,
            runtime: runtime.map(str::to_owned),
            version: None,
        };
        require(Permission::ManageRuntimes, Some(attempt)).await
    }

    pub fn reason(text: &str) -> Result<Reason, ConsoleError> {
        Reason::parse(text).map_err(|e| ConsoleError::Invalid(e.to_string()))
    }

    pub fn fields(record: &RuntimeRecord) -> RuntimeFields {
        let s = &record.settings;
        let (tls, tls_secret, tls_issuer) = match &s.tls {
            Tls::None => ("none", String::new(), String::new()),
            Tls::Secret { secret } => ("secret", secret.clone(), String::new()),
            Tls::Issuer { issuer, cluster } => (
                if *cluster { "cluster_issuer" } else { "issuer" },
                String::new(),
                issuer.clone(),
            ),
        };
        RuntimeFields {
            description: record.description.clone(),
            base_domain: record.base_domain.clone(),
            host: s.host.clone().unwrap_or_default(),
            ingress_class: s.ingress_class.clone().unwrap_or_default(),
            tls: tls.to_owned(),
            tls_secret,
            tls_issuer,
            annotations: s
                .ingress_annotations
                .iter()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect(),
            pull_secrets: s.image_pull_secrets.join(", "),
            pod_security: s.pod_security.as_str().to_owned(),
            workloads: WorkloadDefaults::of(s).to_yaml(),
            windows: backend::runtimes::windows_yaml(s),
            stop_unpublished_after: s
                .stop_unpublished_after_hours
                .map(|h| h.to_string())
                .unwrap_or_default(),
            ..policy_fields(s.change_policy.as_ref())
        }
    }

    /// The change policy as the form shows it (the defaults when off).
    fn policy_fields(policy: Option<&ChangePolicy>) -> RuntimeFields {
        let shown = policy.cloned().unwrap_or_default();
        let join = |items: Vec<&str>| items.join(", ");
        RuntimeFields {
            approval: if policy.is_some() { "on" } else { "" }.to_owned(),
            approval_actions: join(shown.actions.iter().map(|a| a.as_str()).collect()),
            approvals: shown.approvals.to_string(),
            approver_roles: join(shown.approver_roles.iter().map(|r| r.as_str()).collect()),
            open_hours: shown.open_hours.to_string(),
            ..RuntimeFields::default()
        }
    }

    /// Reads the policy fields; `None` when approval is off.
    fn policy(
        fields: &RuntimeFields,
        problem: &mut impl FnMut(&str, String),
    ) -> Option<ChangePolicy> {
        if !matches!(fields.approval.trim(), "on" | "true") {
            return None;
        }
        let list = |text: &str| {
            text.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let mut policy = ChangePolicy::default();
        match list(&fields.approval_actions)
            .iter()
            .map(|a| a.parse::<Action>())
            .collect::<Result<_, _>>()
        {
            Ok(actions) => policy.actions = actions,
            Err(_) => problem(
                "change_policy.actions",
                "must list start, stop, publish or unpublish".into(),
            ),
        }
        match list(&fields.approver_roles)
            .iter()
            .map(|r| r.parse::<Role>())
            .collect::<Result<_, _>>()
        {
            Ok(roles) => policy.approver_roles = roles,
            Err(_) => problem(
                "change_policy.approver_roles",
                "must list manager or admin".into(),
            ),
        }
        match fields.approvals.trim().parse::<u8>() {
            Ok(n) => policy.approvals = n,
            Err(_) => problem(
                "change_policy.approvals",
                "must be a number from 1 to 5".into(),
            ),
        }
        match fields.open_hours.trim().parse::<u32>() {
            Ok(n) => policy.open_hours = n,
            Err(_) => problem(
                "change_policy.open_hours",
                "must be a number of hours".into(),
            ),
        }
        Some(policy)
    }

    /// Reads the form into a draft; every field that does not read is
    /// reported with the settings' own problems, so one submission shows
    /// them all.
    pub fn draft(fields: &RuntimeFields) -> Result<RuntimeDraft, ConsoleError> {
        let mut problems = Vec::new();
        let mut problem = |path: &str, message: String| {
            problems.push(FieldError {
                path: path.to_owned(),
                message,
            })
        };
        let text = |s: &str| Some(s.trim().to_owned()).filter(|t| !t.is_empty());
        let tls = match fields.tls.trim() {
            "" | "none" => Tls::None,
            "secret" => Tls::Secret {
                secret: fields.tls_secret.trim().to_owned(),
            },
            mode @ ("issuer" | "cluster_issuer") => Tls::Issuer {
                issuer: fields.tls_issuer.trim().to_owned(),
                cluster: mode == "cluster_issuer",
            },
            _ => {
                problem(
                    "tls",
                    "must be none, secret, issuer or cluster_issuer".into(),
                );
                Tls::None
            }
        };
        let mut annotations = BTreeMap::new();
        for (i, line) in fields.annotations.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match line.split_once('=') {
                Some((key, value)) => {
                    let key = key.trim().to_owned();
                    if annotations
                        .insert(key.clone(), value.trim().to_owned())
                        .is_some()
                    {
                        problem(
                            &format!("ingress_annotations.{key}"),
                            "is given twice".into(),
                        );
                    }
                }
                None => problem(
                    "ingress_annotations",
                    format!("line {} must read key=value", i + 1),
                ),
            }
        }
        let pod_security = match fields.pod_security.trim() {
            "" | "restricted" => PodSecurity::Restricted,
            "relaxed" => PodSecurity::Relaxed,
            _ => {
                problem("pod_security", "must be restricted or relaxed".into());
                PodSecurity::Restricted
            }
        };
        let mut settings = RuntimeSettings {
            host: text(&fields.host),
            ingress_class: text(&fields.ingress_class),
            tls,
            ingress_annotations: annotations,
            image_pull_secrets: fields
                .pull_secrets
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            pod_security,
            change_policy: policy(fields, &mut problem),
            ..RuntimeSettings::default()
        };
        match WorkloadDefaults::parse(&fields.workloads, "workloads") {
            Ok(workloads) => workloads.apply(&mut settings),
            Err(error) => problems.push(error),
        }
        match fields.stop_unpublished_after.trim() {
            "" => {}
            hours => match hours.parse::<u32>() {
                Ok(hours) => settings.stop_unpublished_after_hours = Some(hours),
                Err(_) => problems.push(FieldError {
                    path: "stop_unpublished_after_hours".into(),
                    message: "must be a number of hours, or empty".into(),
                }),
            },
        }
        match backend::runtimes::parse_yaml(&fields.windows, "change_windows") {
            Ok(windows) => settings.change_windows = windows,
            Err(error) => problems.push(error),
        }
        let draft = RuntimeDraft {
            description: fields.description.trim().to_owned(),
            base_domain: fields.base_domain.trim().to_owned(),
            settings,
        };
        if problems.is_empty() {
            return Ok(draft);
        }
        problems.extend(draft.problems());
        Err(ConsoleError::InvalidFields(problems))
    }
}
