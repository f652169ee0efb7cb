//! Server functions of a version's details screen: its live state, the four
//! lifecycle actions, and its nodes' stored logs.

use leptos::prelude::*;
use lifecycle::{Action, Status, VersionLive};
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

/// Lines of a node's log returned at most.
pub const LOG_LINES: i64 = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeLogLine {
    pub at: String,
    pub pod: String,
    pub line: String,
}

/// A version's status, health and nodes now (the live stream sends the same
/// shape at every change).
#[server(endpoint = "version")]
pub async fn get_version_live(
    runtime: String,
    version: String,
) -> Result<VersionLive, ConsoleError> {
    use lifecycle::Permission;

    let (services, _) = crate::auth::ssr::require(Permission::View, None).await?;
    ssr::live(&services, &runtime, &version).await
}

/// Starts, stops, publishes or unpublishes a version. `expected` is the
/// status the operator saw: if someone else changed it meanwhile, the
/// action is refused with who did what and when.
#[server(endpoint = "version_action")]
pub async fn version_action(
    runtime: String,
    version: String,
    action: Action,
    expected: Status,
    reason: String,
) -> Result<VersionLive, ConsoleError> {
    use crate::auth::ssr::{Attempt, require, set_status, unavailable};
    use backend::{runtime::VersionKey, versions::VersionError};
    use http::StatusCode;
    use lifecycle::{Permission, Reason};

    let (services, user) = require(
        Permission::Operate,
        Some(Attempt {
            action: action.into(),
            runtime: Some(runtime.clone()),
            version: Some(version.clone()),
        }),
    )
    .await?;
    let reason = Reason::parse(&reason).map_err(|error| {
        set_status(StatusCode::UNPROCESSABLE_ENTITY);
        ConsoleError::Invalid(format!("Reason: {error}."))
    })?;
    let Some(runtime_service) = services.runtime.clone() else {
        set_status(StatusCode::SERVICE_UNAVAILABLE);
        return Err(ConsoleError::Invalid(
            "No cluster is configured, so versions cannot be started or stopped. Set KUBECONFIG or run the console in a cluster.".into(),
        ));
    };
    let applied = backend::versions::apply_action(
        &services.db,
        &user.actor(),
        &runtime,
        &version,
        action,
        expected,
        &reason,
    )
    .await;
    match applied {
        Ok(applied) => {
            let key = VersionKey::new(&runtime, &version);
            if let Some(demoted) = &applied.demoted {
                runtime_service.acted(VersionKey::new(&runtime, demoted));
            }
            match action {
                Action::Publish | Action::Unpublish => runtime_service.route(key).await,
                Action::Start | Action::Stop => runtime_service.acted(key),
            }
            ssr::live(&services, &runtime, &version).await
        }
        Err(error @ VersionError::UnknownVersion { .. }) => {
            set_status(StatusCode::NOT_FOUND);
            Err(ConsoleError::NotFound(error.to_string()))
        }
        Err(error @ (VersionError::Conflict { .. } | VersionError::Refused(_))) => {
            set_status(StatusCode::CONFLICT);
            Err(ConsoleError::Conflict(error.to_string()))
        }
        Err(error) => Err(unavailable(error)),
    }
}

/// The newest stored log lines of one node (kept after the version stops).
#[server(endpoint = "node_logs")]
pub async fn node_logs(
    runtime: String,
    version: String,
    node: String,
) -> Result<Vec<NodeLogLine>, ConsoleError> {
    use crate::auth::ssr::unavailable;
    use lifecycle::Permission;

    let (services, _) = crate::auth::ssr::require(Permission::View, None).await?;
    // An unknown version is a 404, not an empty log.
    ssr::record(&services, &runtime, &version).await?;
    let lines = backend::runtime::logs::read(&services.db, &runtime, &version, &node, LOG_LINES)
        .await
        .map_err(unavailable)?;
    Ok(lines
        .into_iter()
        .map(|l| NodeLogLine {
            at: l.at,
            pod: l.pod,
            line: l.line,
        })
        .collect())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use backend::{
        Services,
        versions::{self, VersionError, VersionRecord},
    };
    use http::StatusCode;
    use lifecycle::VersionLive;

    use crate::{
        ConsoleError,
        auth::ssr::{set_status, unavailable},
    };

    pub async fn record(
        services: &Services,
        runtime: &str,
        version: &str,
    ) -> Result<VersionRecord, ConsoleError> {
        versions::get(&services.db, runtime, version)
            .await
            .map_err(version_error)
    }

    fn version_error(error: VersionError) -> ConsoleError {
        match error {
            VersionError::UnknownVersion { .. } => {
                set_status(StatusCode::NOT_FOUND);
                ConsoleError::NotFound(error.to_string())
            }
            other => unavailable(other),
        }
    }

    pub async fn live(
        services: &Services,
        runtime: &str,
        version: &str,
    ) -> Result<VersionLive, ConsoleError> {
        services.live(runtime, version).await.map_err(version_error)
    }
}
