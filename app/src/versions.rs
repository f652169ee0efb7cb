//! Server functions of a version's details screen: its live state, the four
//! lifecycle actions, and its nodes' stored logs.

use leptos::prelude::*;
use lifecycle::{Action, Health, Role, Status, VersionLive};
use serde::{Deserialize, Serialize};

use crate::{ConsoleError, audit::AuditRow};

pub use crate::paths::version_path;

/// Lines of a node's log returned at most.
pub const LOG_LINES: i64 = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeLogLine {
    pub at: String,
    pub pod: String,
    pub line: String,
}

/// One version in the runtimes list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionSummary {
    pub name: String,
    pub description: String,
    pub status: Status,
    pub health: Health,
    pub status_changed_at: String,
    /// Where the runtime's traffic is, when it concerns this version.
    pub routing: Option<lifecycle::Routing>,
    /// Marked bad: it cannot be published.
    pub bad: bool,
}

/// Who marked a version bad, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadMarkView {
    pub reason: String,
    pub by: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeSummary {
    pub name: String,
    pub base_domain: String,
    /// The host the runtime's published version is served at.
    pub host: String,
    pub versions: Vec<VersionSummary>,
}

/// The runtimes list, and the caller's role so the page offers only what
/// they may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimesView {
    pub role: Role,
    pub runtimes: Vec<RuntimeSummary>,
}

/// A node of the process graph as the manifest declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphNode {
    pub name: String,
    pub image: String,
    pub replicas: u32,
    /// The nodes it consumes from.
    pub inputs: Vec<String>,
}

/// Everything the details screen shows besides the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionDetails {
    pub role: Role,
    pub description: String,
    pub created_at: String,
    pub created_by: String,
    /// The entrypoint first, then the processes in manifest order.
    pub graph: Vec<GraphNode>,
    /// Another version of the runtime that is published now: publishing
    /// this one moves it back to `started`.
    pub published_other: Option<String>,
    pub bad: Option<BadMarkView>,
    /// While this version is published: the version `Roll back` publishes
    /// (the previous release's).
    pub rollback_to: Option<String>,
    /// Whether that version is stopped: the rollback starts it first.
    pub rollback_to_stopped: bool,
    /// A rollback of this runtime waiting for a start.
    pub pending_rollback: Option<crate::releases::PendingRollbackView>,
    /// The version's change requests waiting for approval.
    pub change_requests: Vec<crate::approvals::RequestView>,
    /// The actions a change window refuses now.
    pub windows: Vec<crate::windows::WindowNotice>,
    /// Set when the version's last action overrode a change window.
    pub last_override: Option<crate::windows::OverrideView>,
    /// The version's scheduled actions, pending first.
    pub schedules: Vec<crate::schedules::ScheduleView>,
    /// The declared variables with what is set (never a secret's value).
    pub configuration: Vec<crate::configuration::ConfigField>,
    pub live: VersionLive,
}

/// Entries of a version's timeline returned at most.
pub const TIMELINE_ENTRIES: u32 = 100;

/// Every runtime with its versions' status and health.
#[server(endpoint = "runtimes")]
pub async fn list_runtimes() -> Result<RuntimesView, ConsoleError> {
    use lifecycle::Permission;

    let (services, user) = crate::server::require(Permission::View, None).await?;
    let runtimes = ssr::runtimes(&services).await?;
    Ok(RuntimesView {
        role: user.role,
        runtimes,
    })
}

/// The details screen's data: manifest graph, live state, the caller's role.
#[server(endpoint = "version_details")]
pub async fn get_version_details(
    runtime: String,
    version: String,
) -> Result<VersionDetails, ConsoleError> {
    use crate::server::unavailable;
    use lifecycle::{Permission, manifest::ENTRYPOINT};

    let (services, user) = crate::server::require(Permission::View, None).await?;
    let record = ssr::record(&services, &runtime, &version).await?;
    let live = services.live_of(record.clone());
    let published_other = backend::versions::published(&services.db)
        .await
        .map_err(unavailable)?
        .into_iter()
        .find(|v| v.runtime == runtime && v.name != version)
        .map(|v| v.name);
    let manifest = &record.manifest;
    let mut graph = vec![GraphNode {
        name: ENTRYPOINT.to_owned(),
        image: manifest.entrypoint.image.clone(),
        replicas: manifest
            .node_replicas()
            .find(|(name, _)| *name == ENTRYPOINT)
            .map_or(1, |(_, replicas)| replicas),
        inputs: Vec::new(),
    }];
    graph.extend(manifest.processes.iter().map(|p| GraphNode {
        name: p.name.clone(),
        image: p.image.clone(),
        replicas: p.replicas,
        inputs: p.inputs.clone(),
    }));
    let bad = record.bad.clone().map(|m| BadMarkView {
        reason: m.reason,
        by: m.by,
        at: m.at,
    });
    let rollback_to = if record.status == Status::Published {
        backend::releases::rollback_target(&services.db, &runtime, None)
            .await
            .map_err(unavailable)?
    } else {
        None
    };
    let rollback_to_stopped = match &rollback_to {
        Some(target) => backend::versions::get(&services.db, &runtime, target)
            .await
            .is_ok_and(|v| v.status == Status::Stopped),
        None => false,
    };
    let pending_rollback = crate::releases::ssr::pending(&services.db, &runtime).await?;
    let change_requests = backend::change_requests::list(
        &services.db,
        &[lifecycle::RequestState::Open],
        Some((&runtime, &version)),
    )
    .await?
    .iter()
    .map(|r| crate::approvals::ssr::view(r, &user))
    .collect();
    let windows = crate::windows::ssr::window_notices(&services, &runtime, user.role).await?;
    let last_override = crate::windows::ssr::last_override(&services, &runtime, &version).await?;
    let schedules = crate::schedules::ssr::of_version(&services, &runtime, &version).await?;
    let configuration = services.configuration(&runtime, &version).await?;
    Ok(VersionDetails {
        configuration,
        windows,
        last_override,
        schedules,
        role: user.role,
        bad,
        rollback_to,
        rollback_to_stopped,
        pending_rollback,
        change_requests,
        description: record.description,
        created_at: record.created_at,
        created_by: record.created_by,
        graph,
        published_other,
        live,
    })
}

/// A version's audit entries (actions, refusals, system transitions),
/// newest first. Like `/audit`, for managers and admins.
#[server(endpoint = "version_timeline")]
pub async fn version_timeline(
    runtime: String,
    version: String,
) -> Result<Vec<AuditRow>, ConsoleError> {
    use crate::server::unavailable;
    use lifecycle::Permission;

    let (services, _) = crate::server::require(Permission::ReadAudit, None).await?;
    ssr::record(&services, &runtime, &version).await?;
    let filter = backend::audit::Filter {
        runtime: Some(runtime),
        version: Some(version),
        ..Default::default()
    };
    let page = backend::audit::query(&services.db, &filter, None, TIMELINE_ENTRIES)
        .await
        .map_err(unavailable)?;
    Ok(page.entries.into_iter().map(AuditRow::from).collect())
}

/// A version's status, health and nodes now (the live stream sends the same
/// shape at every change).
#[server(endpoint = "version")]
pub async fn get_version_live(
    runtime: String,
    version: String,
) -> Result<VersionLive, ConsoleError> {
    use lifecycle::Permission;

    let (services, _) = crate::server::require(Permission::View, None).await?;
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
    #[server(default)] break_glass: Option<String>,
) -> Result<VersionLive, ConsoleError> {
    use crate::server::{Attempt, checked, require};
    use lifecycle::{Permission, Reason};

    let allowed = require(
        Permission::Operate,
        Some(Attempt {
            action: action.into(),
            runtime: Some(runtime.clone()),
            version: Some(version.clone()),
        }),
    )
    .await;
    let (services, user) = match allowed {
        Ok(allowed) => allowed,
        Err(error) => {
            backend::metrics::action(action.as_str(), "denied");
            return Err(error);
        }
    };
    let reason = Reason::parse(&reason).map_err(|error| {
        backend::metrics::action(action.as_str(), "invalid");
        ConsoleError::Invalid(format!("Reason: {error}."))
    })?;
    let asked = backend::change_requests::Asked {
        runtime: &runtime,
        version: &version,
        action,
        expected,
        reason: &reason,
        rollback_from: None,
        break_glass: checked(break_glass.as_deref()),
    };
    let applied = services.act_asked(&user.actor(), asked).await?;
    // A change held for approval has no receipt yet: its request shows on
    // the version's screen.
    if let Some(applied) = applied.applied() {
        crate::server::attach_receipt(applied.audit_id, &applied.audit_hash);
    }
    if crate::response::plain_form_post() {
        // Back to the details screen, without the dialog's `?action=`.
        leptos_axum::redirect(&version_path(&runtime, &version));
    }
    ssr::live(&services, &runtime, &version).await
}

/// Marks a version bad (`bad`: true) or clears the mark, with a reason. A
/// bad version cannot be published until the mark is cleared.
#[server(endpoint = "version_bad_mark")]
pub async fn version_bad_mark(
    runtime: String,
    version: String,
    bad: bool,
    reason: String,
) -> Result<Option<BadMarkView>, ConsoleError> {
    use crate::server::{Attempt, require};
    use lifecycle::{AuditAction, Permission, Reason};

    let action = if bad {
        AuditAction::MarkBad
    } else {
        AuditAction::ClearBad
    };
    let (services, user) = require(
        Permission::Operate,
        Some(Attempt {
            action,
            runtime: Some(runtime.clone()),
            version: Some(version.clone()),
        }),
    )
    .await?;
    let reason = Reason::parse(&reason)
        .map_err(|error| ConsoleError::Invalid(format!("Reason: {error}.")))?;
    let mark = backend::versions::set_bad_mark(
        &services.db,
        &user.actor(),
        &runtime,
        &version,
        bad,
        &reason,
    )
    .await?;
    if crate::response::plain_form_post() {
        leptos_axum::redirect(&version_path(&runtime, &version));
    }
    Ok(mark.map(|m| BadMarkView {
        reason: m.reason,
        by: m.by,
        at: m.at,
    }))
}

/// The newest stored log lines of one node (kept after the version stops).
#[server(endpoint = "node_logs")]
pub async fn node_logs(
    runtime: String,
    version: String,
    node: String,
) -> Result<Vec<NodeLogLine>, ConsoleError> {
    use crate::server::unavailable;
    use lifecycle::Permission;

    let (services, _) = crate::server::require(Permission::View, None).await?;
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
        versions::{self, VersionRecord},
    };
    use lifecycle::{Health, VersionLive};

    use super::{RuntimeSummary, VersionSummary};
    use crate::{ConsoleError, server::unavailable};

    pub async fn record(
        services: &Services,
        runtime: &str,
        version: &str,
    ) -> Result<VersionRecord, ConsoleError> {
        Ok(versions::get(&services.db, runtime, version).await?)
    }

    /// Every runtime and its versions; health comes from the pod store, so
    /// listing costs one query per runtime and no cluster call.
    pub async fn runtimes(services: &Services) -> Result<Vec<RuntimeSummary>, ConsoleError> {
        let mut out = Vec::new();
        for runtime in backend::runtimes::list(&services.db)
            .await
            .map_err(unavailable)?
        {
            let mut summaries = Vec::new();
            for record in versions::list(&services.db, &runtime.name)
                .await
                .map_err(unavailable)?
            {
                let health = if record.status.is_running() {
                    services.live_of(record.clone()).health
                } else {
                    Health::Unknown
                };
                let routing = record.routing();
                summaries.push(VersionSummary {
                    routing,
                    bad: record.bad.is_some(),
                    name: record.name,
                    description: record.description,
                    status: record.status,
                    health,
                    status_changed_at: record.status_changed_at,
                });
            }
            out.push(RuntimeSummary {
                host: runtime.host(),
                name: runtime.name,
                base_domain: runtime.base_domain,
                versions: summaries,
            });
        }
        Ok(out)
    }

    pub async fn live(
        services: &Services,
        runtime: &str,
        version: &str,
    ) -> Result<VersionLive, ConsoleError> {
        Ok(services.live(runtime, version).await?)
    }
}
