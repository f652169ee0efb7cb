//! Server functions: the browser's only way into the server's services. Each
//! one runs on the server; the `hydrate` build gets a typed HTTP client stub.

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
    let (services, _) = crate::auth::ssr::signed_in().await?;
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
    use crate::auth::ssr::{Attempt, require, set_status, unavailable};
    use backend::{
        manifest_file::{self, ManifestError},
        versions::{self, VersionError},
    };
    use http::StatusCode;
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
    let invalid = |error: ConsoleError| {
        set_status(StatusCode::UNPROCESSABLE_ENTITY);
        error
    };
    let parsed = manifest_file::parse(manifest.as_bytes()).map_err(|error| match error {
        ManifestError::Invalid(problems) => invalid(ConsoleError::InvalidFields(problems)),
        other => invalid(ConsoleError::Invalid(other.to_string())),
    })?;
    match versions::register(&services.db, &user.actor(), &runtime, &parsed).await {
        Ok(record) => Ok(RegisteredVersion {
            runtime: record.runtime,
            name: record.name,
            status: record.status,
            processes: record.manifest.processes.len(),
        }),
        Err(VersionError::Invalid(problems)) => Err(invalid(ConsoleError::InvalidFields(problems))),
        Err(error @ VersionError::UnknownRuntime(_)) => {
            set_status(StatusCode::NOT_FOUND);
            Err(ConsoleError::NotFound(error.to_string()))
        }
        Err(error @ VersionError::Duplicate { .. }) => {
            set_status(StatusCode::CONFLICT);
            Err(ConsoleError::Conflict(error.to_string()))
        }
        Err(error) => Err(unavailable(error)),
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Server-side glue shared by the server functions.

    use leptos::prelude::use_context;

    use super::{Dependency, DependencyState};
    use crate::ConsoleError;

    /// The services the server put into the request's context. Missing
    /// services are a wiring bug, logged here and answered as `Internal`.
    pub fn services() -> Result<backend::Services, ConsoleError> {
        use_context::<backend::Services>().ok_or_else(|| {
            tracing::error!("backend::Services missing from the server function context");
            ConsoleError::Internal
        })
    }

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
}
