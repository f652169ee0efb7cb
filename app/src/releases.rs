//! The release history of a runtime: what served its traffic when, newest
//! first, and what served at an instant. Readable by everyone signed in.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

/// Where a runtime's release history lives.
pub fn releases_path(runtime: &str) -> String {
    format!("/runtimes/{}/releases", crate::audit::encode(runtime))
}

/// How many releases a page shows.
pub const PAGE: u32 = 25;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRow {
    pub id: i64,
    pub version: String,
    pub published_by: String,
    pub publish_reason: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// `superseded`, `unpublished` or `failed` once it ended.
    pub end_cause: Option<String>,
    pub superseded_by: Option<String>,
    pub seconds_served: i64,
}

/// What served at the instant asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServingAnswer {
    /// The instant, in UTC.
    pub at: String,
    pub release: Option<ReleaseRow>,
    pub before_runtime: bool,
}

/// A rollback to a stopped version that waits for its start: the version
/// is published once ready, as `by`, in place of `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRollbackView {
    pub version: String,
    pub from: String,
    pub by: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasesView {
    pub runtime: String,
    pub releases: Vec<ReleaseRow>,
    /// The cursor of the next, older page.
    pub older: Option<i64>,
    pub answer: Option<ServingAnswer>,
    /// Whether the caller may roll back.
    pub may_operate: bool,
    /// What the runtime's Ingress points at now.
    pub serving: Option<String>,
    /// The version `Roll back` publishes: the previous release's.
    pub previous: Option<String>,
    /// The runtime's stopped versions: a rollback to one starts it first.
    pub stopped: Vec<String>,
    pub pending: Option<PendingRollbackView>,
    /// A change window that refuses publishing (so rolling back) now.
    pub window: Option<crate::windows::WindowNotice>,
}

/// A page of a runtime's history, and the answer for `at` (RFC 3339) when
/// asked.
#[server(endpoint = "releases/get")]
pub async fn runtime_releases(
    runtime: String,
    before: Option<i64>,
    at: Option<String>,
) -> Result<ReleasesView, ConsoleError> {
    use crate::server::{require, unavailable};
    use lifecycle::Permission;

    let (services, user) = require(Permission::View, None).await?;
    let now = chrono::Utc::now();
    let answer = match at.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(text) => Some(ssr::answer(&services.db, &runtime, text, now).await?),
    };
    // An unknown runtime is a 404 even without `at`.
    let record = backend::runtimes::get(&services.db, &runtime).await?;
    let previous = backend::releases::rollback_target(&services.db, &runtime, None)
        .await
        .map_err(unavailable)?;
    let page = backend::releases::history(&services.db, &runtime, before, PAGE)
        .await
        .map_err(unavailable)?;
    let stopped = backend::versions::list(&services.db, &runtime)
        .await
        .map_err(unavailable)?
        .into_iter()
        .filter(|v| v.status == lifecycle::Status::Stopped)
        .map(|v| v.name)
        .collect();
    let pending = ssr::pending(&services.db, &runtime).await?;
    let window = crate::windows::ssr::window_notices(&services, &runtime, user.role)
        .await?
        .into_iter()
        .find(|n| n.action == lifecycle::Action::Publish);
    Ok(ReleasesView {
        runtime,
        releases: page.releases.iter().map(|r| ssr::row(r, now)).collect(),
        older: page.older,
        answer,
        may_operate: user.role.allows(Permission::Operate),
        serving: record.serving_version,
        previous,
        stopped,
        pending,
        window,
    })
}

/// Rolls the runtime back to its previous release's version, or to the
/// earlier release's version `to`: a publish, marked as a rollback in the
/// audit log. A stopped version, with `start_first`, is started now and
/// published once it is ready. Answers the version rolled back to.
#[server(endpoint = "releases/roll_back")]
pub async fn roll_back(
    runtime: String,
    to: Option<String>,
    reason: String,
    #[server(default)] start_first: Option<String>,
    #[server(default)] break_glass: Option<String>,
) -> Result<String, ConsoleError> {
    use crate::server::{Attempt, checked, require};
    use lifecycle::{AuditAction, Permission, Reason};

    let (services, user) = require(
        Permission::Operate,
        Some(Attempt {
            action: AuditAction::Publish,
            runtime: Some(runtime.clone()),
            version: to.clone(),
        }),
    )
    .await?;
    let reason = Reason::parse(&reason)
        .map_err(|error| ConsoleError::Invalid(format!("Reason: {error}.")))?;
    let to = to.filter(|v| !v.trim().is_empty());
    let (version, applied) = services
        .roll_back(
            &user.actor(),
            &runtime,
            to.as_deref(),
            checked(start_first.as_deref()),
            &reason,
            checked(break_glass.as_deref()),
        )
        .await?;
    if let Some(applied) = applied.applied() {
        crate::server::attach_receipt(applied.audit_id, &applied.audit_hash);
    }
    if crate::response::plain_form_post() {
        leptos_axum::redirect(&releases_path(&runtime));
    }
    Ok(version)
}

/// Where two versions' comparison lives.
pub fn diff_path(runtime: &str, from: &str, to: &str) -> String {
    use crate::audit::encode;
    format!(
        "/runtimes/{}/diff?from={}&to={}",
        encode(runtime),
        encode(from),
        encode(to)
    )
}

/// One field that differs between two versions' manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffRow {
    /// Where, for example `processes.worker.image`.
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionDiff {
    pub runtime: String,
    pub from: String,
    pub to: String,
    pub changes: Vec<DiffRow>,
    /// Fields the same on both sides, folded.
    pub unchanged: usize,
    /// The same for the Kubernetes objects each would apply (under the
    /// runtime's settings now), paths led by `Kind/role`.
    pub objects: Vec<DiffRow>,
    pub objects_unchanged: usize,
}

/// Compares two versions' manifests field by field; for everyone signed in.
#[server(endpoint = "releases/diff")]
pub async fn compare_versions(
    runtime: String,
    from: String,
    to: String,
) -> Result<VersionDiff, ConsoleError> {
    use lifecycle::Permission;

    let (services, _) = crate::server::require(Permission::View, None).await?;
    ssr::diff(&services.db, &runtime, &from, &to).await
}

/// "3 h 12 min", "45 s": how long a release served.
pub fn served_for(seconds: i64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min {} s", seconds % 60),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use backend::releases::{self, Release};
    use chrono::{DateTime, Utc};

    use super::{DiffRow, PendingRollbackView, ReleaseRow, ServingAnswer, VersionDiff};
    use crate::{ConsoleError, server::unavailable};

    /// The rollback waiting on `runtime`'s start, if any.
    pub async fn pending(
        db: &backend::Database,
        runtime: &str,
    ) -> Result<Option<PendingRollbackView>, ConsoleError> {
        Ok(backend::versions::pending_rollback(db, runtime)
            .await
            .map_err(unavailable)?
            .map(|p| PendingRollbackView {
                version: p.version,
                from: p.from,
                by: p.requested_by,
                at: p.requested_at,
            }))
    }

    pub fn row(release: &Release, now: DateTime<Utc>) -> ReleaseRow {
        ReleaseRow {
            id: release.id,
            version: release.version.clone(),
            published_by: release.published_by.clone(),
            publish_reason: release.publish_reason.clone(),
            started_at: release.started_at.clone(),
            ended_at: release.ended_at.clone(),
            end_cause: release.end_cause.map(|c| c.as_str().to_owned()),
            superseded_by: release.superseded_by.clone(),
            seconds_served: release.seconds_served(now),
        }
    }

    /// The comparison the diff page and its JSON download show.
    pub async fn diff(
        db: &backend::Database,
        runtime: &str,
        from: &str,
        to: &str,
    ) -> Result<VersionDiff, ConsoleError> {
        use backend::runtime::plan;

        let old = backend::versions::get(db, runtime, from).await?;
        let new = backend::versions::get(db, runtime, to).await?;
        let record = backend::runtimes::get(db, runtime).await?;
        let (changes, unchanged) = backend::diff::manifests(&old.manifest, &new.manifest);
        let applied = |version: &backend::versions::VersionRecord| {
            // Placeholders: a diff shows which variables are declared, never
            // their values.
            let settled = backend::configuration::Settled::placeholders(&version.manifest);
            let mut planned = plan::start(&record, &version.manifest, &settled);
            planned.push(plan::publish(&record, &version.name));
            planned
        };
        let (objects, objects_unchanged) = backend::diff::objects(&applied(&old), &applied(&new));
        let rows = |changes: Vec<backend::diff::Change>| {
            changes
                .into_iter()
                .map(|c| DiffRow {
                    path: c.path,
                    kind: c.kind.as_str().to_owned(),
                    from: c.from,
                    to: c.to,
                })
                .collect()
        };
        Ok(VersionDiff {
            runtime: runtime.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            changes: rows(changes),
            unchanged,
            objects: rows(objects),
            objects_unchanged,
        })
    }

    /// The one reading of "what served at": the page and the JSON route.
    pub async fn answer(
        db: &backend::Database,
        runtime: &str,
        at: &str,
        now: DateTime<Utc>,
    ) -> Result<ServingAnswer, ConsoleError> {
        let instant = releases::parse_instant(at).ok_or_else(|| {
            ConsoleError::Invalid(
                "at: an instant in RFC 3339, for example 2026-12-07T14:05:00Z.".into(),
            )
        })?;
        let found = releases::answer_at(db, runtime, instant)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                ConsoleError::NotFound(format!("There is no runtime named {runtime:?}."))
            })?;
        Ok(ServingAnswer {
            at: found.at,
            release: found.release.as_ref().map(|r| row(r, now)),
            before_runtime: found.before_runtime,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::served_for;

    #[test]
    fn durations_read_in_the_largest_units_that_matter() {
        assert_eq!(served_for(0), "0 s");
        assert_eq!(served_for(59), "59 s");
        assert_eq!(served_for(61), "1 min 1 s");
        assert_eq!(served_for(3 * 3600 + 12 * 60 + 5), "3 h 12 min");
        assert_eq!(served_for(2 * 86_400 + 3600), "2 d 1 h");
    }
}
