//! The console's own status and registering a version: server functions
//! (each runs on the server; the `hydrate` build gets a typed HTTP client stub).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

/// State of one dependency as the browser sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DependencyState {
    Ok,
    Unreachable,
    NotConfigured,
}

impl DependencyState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "reachable",
            Self::Unreachable => "unreachable",
            Self::NotConfigured => "not configured",
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unreachable => "unreachable",
            Self::NotConfigured => "not-configured",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub state: DependencyState,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub version: String,
    pub database: Dependency,
    pub cluster: Dependency,
}

/// The console's version and whether its database and cluster answer.
#[server(endpoint = "status")]
pub async fn server_status() -> Result<StatusReport, ConsoleError> {
    let (services, _) = crate::server::signed_in().await?;
    let readiness = services.readiness().await;
    Ok(StatusReport {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database: readiness.database.into(),
        cluster: readiness.cluster.into(),
    })
}

/// A version as registration left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredVersion {
    pub runtime: String,
    pub name: String,
    pub status: lifecycle::Status,
    pub processes: usize,
}

/// Registers a version in an existing runtime from a YAML or JSON manifest.
/// Managers and admins only; every problem of the manifest comes back at once.
#[server(endpoint = "register_version")]
pub async fn register_version(
    runtime: String,
    manifest: String,
) -> Result<RegisteredVersion, ConsoleError> {
    use crate::server::{Attempt, require};
    use backend::{manifest_file, versions};
    use lifecycle::{AuditAction, Permission};

    let (services, user) = require(
        Permission::Operate,
        Some(Attempt {
            action: AuditAction::Register,
            runtime: Some(runtime.clone()),
            version: None,
        }),
    )
    .await?;
    let parsed = manifest_file::parse(manifest.as_bytes())?;
    let record = versions::register(&services.db, &user.actor(), &runtime, &parsed).await?;
    Ok(RegisteredVersion {
        runtime: record.runtime,
        name: record.name,
        status: record.status,
        processes: record.manifest.processes.len(),
    })
}

#[cfg(feature = "ssr")]
impl From<backend::Check> for Dependency {
    fn from(check: backend::Check) -> Self {
        let state = match check.state {
            backend::CheckState::Ok => DependencyState::Ok,
            backend::CheckState::Unreachable => DependencyState::Unreachable,
            backend::CheckState::NotConfigured => DependencyState::NotConfigured,
        };
        Self {
            state,
            detail: check.detail,
        }
    }
}
