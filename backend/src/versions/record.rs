//! What the registry holds and answers: a version's record, the outcome of
//! an action, the errors, and how a row becomes a record.

use lifecycle::{FieldError, Manifest, Refusal, Status, Transition};
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub runtime: String,
    pub name: String,
    pub description: String,
    pub manifest: Manifest,
    pub status: Status,
    pub status_changed_at: String,
    pub status_actor: String,
    pub status_action: String,
    pub error_message: Option<String>,
    pub created_at: String,
    pub created_by: String,
    /// What the runtime's Ingress points at now (as the leader last saw or
    /// made it): this version, another, or nothing.
    pub serving_version: Option<String>,
    /// The host the runtime's published version is served at.
    pub host: String,
    /// Set while the version is marked bad: it cannot be published.
    pub bad: Option<BadMark>,
}

/// Who marked a version bad, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadMark {
    pub reason: String,
    pub by: String,
    pub at: String,
}

impl VersionRecord {
    /// Where the runtime's traffic is, as far as this version is concerned.
    pub fn routing(&self) -> Option<lifecycle::Routing> {
        lifecycle::Routing::of(&self.name, self.status, self.serving_version.as_deref())
    }
}

/// What makes an action part of a rollback: the version serving when it
/// was asked for, and whether it is the start of a stopped version that is
/// to be published once ready (see `versions::pending`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackNote<'a> {
    pub from: &'a str,
    pub then_publish: bool,
}

/// An approved change request an action carries out: its id and who
/// approved it, named in the action's audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalNote<'a> {
    pub request: i64,
    pub approved_by: &'a [String],
}

/// What an action carries out and must mark as carried out in its own
/// transaction, so that it happens once however many replicas try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// An approved change request (`approved` becomes `done`).
    Request(i64),
    /// A scheduled action (`pending` becomes `done`).
    Schedule(i64),
}

/// What the audit entry of an action says besides the action itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActionNote<'a> {
    pub rollback: Option<RollbackNote<'a>>,
    pub approval: Option<ApprovalNote<'a>>,
    /// The change window this action overrides (break-glass).
    pub break_glass: Option<&'a lifecycle::Closed>,
    pub claim: Option<Claim>,
}

/// What a successful lifecycle action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub transition: Transition,
    /// The version that was published before and is now `started`.
    pub demoted: Option<String>,
    pub audit_id: i64,
    /// The hash of that entry: with `audit_id`, the head of the chain the
    /// action's receipt names.
    pub audit_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error("There is no runtime named {0:?}.")]
    UnknownRuntime(String),
    #[error("There is no version {version:?} in runtime {runtime:?}.")]
    UnknownVersion { runtime: String, version: String },
    #[error("Runtime {runtime:?} already has a version named {version:?}.")]
    Duplicate { runtime: String, version: String },
    #[error("The manifest has {} problem(s).", .0.len())]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Refused(Refusal),
    #[error(
        "No cluster is configured, so versions cannot be started or stopped. Set KUBECONFIG or run the console in a cluster."
    )]
    NoCluster,
    #[error(
        "{version} changed while you were looking: {by} set it to {current} ({action}) at {at}. Review its current state and try again."
    )]
    Conflict {
        version: String,
        current: Status,
        by: String,
        action: String,
        at: String,
    },
    #[error(
        "{version} is marked bad by {} at {}: {}. Clear the mark before publishing it.",
        .mark.by, .mark.at, .mark.reason
    )]
    MarkedBad { version: String, mark: BadMark },
    #[error("{version} is {}.", if *.marked { "already marked bad" } else { "not marked bad" })]
    BadMarkUnchanged { version: String, marked: bool },
    #[error("There is no earlier release of {runtime} to roll back to{}.", .to.as_ref().map(|v| format!(" with {v}")).unwrap_or_default())]
    NoRollbackTarget { runtime: String, to: Option<String> },
    #[error(
        "{version} is stopped, and this runtime's publishes need approval: start {version}, then roll back to it."
    )]
    RollbackNeedsStart { version: String },
    /// A start while a required variable has no value.
    #[error("{version} cannot start yet. {}", lifecycle::variables::missing_sentence(.missing))]
    ConfigurationIncomplete {
        version: String,
        missing: Vec<String>,
    },
    /// A change window refuses the action now.
    #[error("{0} An admin may override it (break-glass) with a reason.")]
    WindowClosed(lifecycle::Closed),
    #[error("{closed} Your role ({role}) may not override it.")]
    OverrideNotAllowed {
        closed: lifecycle::Closed,
        role: String,
    },
    #[error(
        "This runtime's policy now needs approval to {}: a scheduled action is not carried out without it.",
        .0.as_str()
    )]
    ScheduleNeedsApproval(lifecycle::Action),
    /// The person a later action is done for may no longer act.
    #[error("{0}")]
    NoLongerAllowed(String),
    /// Another replica carried out this request or schedule first.
    #[error("This was carried out already.")]
    AlreadyCarriedOut,
    #[error(transparent)]
    Store(#[from] crate::Error),
}

impl From<sqlx::Error> for VersionError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

pub(crate) type Result<T, E = VersionError> = std::result::Result<T, E>;

/// A version with its runtime's routing; `WHERE` clauses name `v.` columns.
pub(crate) const VERSION_SELECT: &str = "SELECT v.runtime, v.name, v.description, v.manifest, v.status, \
     v.status_changed_at, v.status_actor, v.status_action, v.error_message, v.created_at, \
     v.created_by, v.bad_reason, v.bad_by, v.bad_at, r.serving_version, \
     COALESCE(r.host, r.name || '.' || r.base_domain) AS host \
     FROM versions v JOIN runtimes r ON r.name = v.runtime";

pub(crate) fn version_from_row<R>(row: &R) -> Result<VersionRecord>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    let manifest: String = row.try_get("manifest")?;
    let status: String = row.try_get("status")?;
    let corrupt = |what: &str| {
        VersionError::Store(crate::Error::Corrupt(format!(
            "versions.{what} is unreadable"
        )))
    };
    Ok(VersionRecord {
        runtime: row.try_get("runtime")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        manifest: serde_json::from_str(&manifest).map_err(|_| corrupt("manifest"))?,
        status: status.parse().map_err(|_| corrupt("status"))?,
        status_changed_at: row.try_get("status_changed_at")?,
        status_actor: row.try_get("status_actor")?,
        status_action: row.try_get("status_action")?,
        error_message: row.try_get("error_message")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        serving_version: row.try_get("serving_version")?,
        host: row.try_get("host")?,
        bad: match row.try_get::<Option<String>, _>("bad_reason")? {
            Some(reason) => Some(BadMark {
                reason,
                by: row
                    .try_get::<Option<String>, _>("bad_by")?
                    .unwrap_or_default(),
                at: row
                    .try_get::<Option<String>, _>("bad_at")?
                    .unwrap_or_default(),
            }),
            None => None,
        },
    })
}

/// Reads one version on `$conn` (inside or outside a transaction).
macro_rules! fetch_version {
    ($conn:expr, $runtime:expr, $version:expr) => {{
        let sql = format!(
            "{} WHERE v.runtime = $1 AND v.name = $2",
            $crate::versions::record::VERSION_SELECT
        );
        match sqlx::query(&sql)
            .bind($runtime)
            .bind($version)
            .fetch_optional($conn)
            .await?
        {
            Some(row) => Some($crate::versions::record::version_from_row(&row)?),
            None => None,
        }
    }};
}
