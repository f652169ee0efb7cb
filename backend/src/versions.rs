//! The version registry and its lifecycle transitions.
//!
//! Every change is one transaction holding the audit append lock (SQLite
//! `BEGIN IMMEDIATE`, a PostgreSQL advisory lock): the compare-and-set on the
//! status and its audit entry commit together or not at all. A refused or
//! conflicting attempt commits only its `denied` audit entry.

use lifecycle::{
    Action, AuditAction, FieldError, Manifest, Outcome, Reason, Refusal, Status, SystemEvent,
    Transition, demotion_on_publish, plan, system_transition,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{
    audit::{self, Actor, AuditConn, NewEntry, now_timestamp},
    db::{Database, TxEnd},
    releases,
};

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
    #[error(transparent)]
    Store(#[from] crate::Error),
}

impl From<sqlx::Error> for VersionError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

type Result<T, E = VersionError> = std::result::Result<T, E>;

/// A version with its runtime's routing; `WHERE` clauses name `v.` columns.
const VERSION_SELECT: &str = "SELECT v.runtime, v.name, v.description, v.manifest, v.status, \
     v.status_changed_at, v.status_actor, v.status_action, v.error_message, v.created_at, \
     v.created_by, v.bad_reason, v.bad_by, v.bad_at, r.serving_version, \
     COALESCE(r.host, r.name || '.' || r.base_domain) AS host \
     FROM versions v JOIN runtimes r ON r.name = v.runtime";

fn version_from_row<R>(row: &R) -> Result<VersionRecord>
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
        let sql = format!("{VERSION_SELECT} WHERE v.runtime = $1 AND v.name = $2");
        match sqlx::query(&sql)
            .bind($runtime)
            .bind($version)
            .fetch_optional($conn)
            .await?
        {
            Some(row) => Some(version_from_row(&row)?),
            None => None,
        }
    }};
}

pub async fn get(db: &Database, runtime: &str, version: &str) -> Result<VersionRecord> {
    let found = on_pool!(db, |pool| fetch_version!(pool, runtime, version));
    found.ok_or_else(|| VersionError::UnknownVersion {
        runtime: runtime.to_owned(),
        version: version.to_owned(),
    })
}

/// Every version of a runtime, by name.
pub async fn list(db: &Database, runtime: &str) -> Result<Vec<VersionRecord>> {
    let sql = format!("{VERSION_SELECT} WHERE v.runtime = $1 ORDER BY v.name");
    on_pool!(db, |pool| sqlx::query(&sql)
        .bind(runtime)
        .fetch_all(pool)
        .await?
        .iter()
        .map(version_from_row)
        .collect())
}

/// Registers a version, `stopped`, after validating its manifest. The
/// registration (or its refusal) is audited.
pub async fn register(
    db: &Database,
    actor: &Actor,
    runtime: &str,
    manifest: &Manifest,
) -> Result<VersionRecord> {
    let refused_entry = |why: serde_json::Value| {
        NewEntry::new(actor.clone(), AuditAction::Register, Outcome::Denied)
            .target(runtime, Some(manifest.name.clone()))
            .details(why)
    };
    if let Err(problems) = manifest.validate() {
        let details = serde_json::json!({ "invalid": problems.iter().map(ToString::to_string).collect::<Vec<_>>() });
        audit::append(db, &refused_entry(details)).await?;
        return Err(VersionError::Invalid(problems));
    }
    let manifest_json = serde_json::to_string(manifest)
        .map_err(|e| VersionError::Store(crate::Error::Corrupt(e.to_string())))?;
    let at = now_timestamp();
    let by = actor.name().to_owned();
    let mut record = VersionRecord {
        runtime: runtime.to_owned(),
        name: manifest.name.clone(),
        description: manifest.description.clone(),
        manifest: manifest.clone(),
        status: Status::Stopped,
        status_changed_at: at.clone(),
        status_actor: by.clone(),
        status_action: AuditAction::Register.as_str().to_owned(),
        error_message: None,
        created_at: at.clone(),
        created_by: by.clone(),
        serving_version: None,
        host: String::new(),
        bad: None,
    };
    let insert = "INSERT INTO versions (runtime, name, description, manifest, status, status_changed_at, \
                  status_actor, status_action, created_at, created_by) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let runtime_exists = "SELECT COALESCE(host, name || '.' || base_domain), serving_version, settings \
                          FROM runtimes WHERE name = $1";
    let exists = "SELECT name FROM versions WHERE runtime = $1 AND name = $2";
    write_tx!(VersionError, db, |conn| {
        let known: Option<(String, Option<String>, String)> = sqlx::query_as(runtime_exists)
            .bind(runtime)
            .fetch_optional(&mut *conn)
            .await?;
        let Some((host, serving_version, settings)) = known else {
            AuditConn::append_entry(
                &mut *conn,
                &refused_entry(serde_json::json!({"unknown_runtime": runtime})),
            )
            .await?;
            return Ok(TxEnd::Refuse(VersionError::UnknownRuntime(
                runtime.to_owned(),
            )));
        };
        // What the manifest asks of the runtime (a hardware class, more
        // than its maxima) is checked against the runtime as it is now.
        let settings: lifecycle::RuntimeSettings = serde_json::from_str(&settings)
            .map_err(|_| crate::Error::Corrupt(format!("runtimes.settings of {runtime:?}")))?;
        if let Err(problems) = settings.check(manifest) {
            let details = serde_json::json!({ "invalid": problems.iter().map(ToString::to_string).collect::<Vec<_>>() });
            AuditConn::append_entry(&mut *conn, &refused_entry(details)).await?;
            return Ok(TxEnd::Refuse(VersionError::Invalid(problems)));
        }
        record.host = host;
        record.serving_version = serving_version;
        let taken: Option<String> = sqlx::query_scalar(exists)
            .bind(runtime)
            .bind(&manifest.name)
            .fetch_optional(&mut *conn)
            .await?;
        if taken.is_some() {
            AuditConn::append_entry(
                &mut *conn,
                &refused_entry(serde_json::json!({"duplicate": true})),
            )
            .await?;
            return Ok(TxEnd::Refuse(VersionError::Duplicate {
                runtime: runtime.to_owned(),
                version: manifest.name.clone(),
            }));
        }
        sqlx::query(insert)
            .bind(runtime)
            .bind(&manifest.name)
            .bind(&manifest.description)
            .bind(&manifest_json)
            .bind(Status::Stopped.as_str())
            .bind(&at)
            .bind(&by)
            .bind(AuditAction::Register.as_str())
            .bind(&at)
            .bind(&by)
            .execute(&mut *conn)
            .await?;
        let entry = NewEntry::new(actor.clone(), AuditAction::Register, Outcome::Accepted)
            .target(runtime, Some(manifest.name.clone()))
            .statuses(None, Some(Status::Stopped))
            .details(serde_json::json!({"processes": manifest.processes.len()}));
        AuditConn::append_entry(&mut *conn, &entry).await?;
        Ok(TxEnd::Commit(record))
    })
}

/// An operator's lifecycle action: allowed only from the status the operator
/// saw (`expected`) and only if the lifecycle table allows it.
pub async fn apply_action(
    db: &Database,
    actor: &Actor,
    runtime: &str,
    version: &str,
    action: Action,
    expected: Status,
    reason: &Reason,
) -> Result<Applied> {
    apply_action_noted(db, actor, runtime, version, action, expected, reason, None).await
}

/// `apply_action`, for a publish that rolls the runtime back from
/// `rollback_from`: its audit entry (accepted or denied) says so.
#[allow(clippy::too_many_arguments)]
pub async fn apply_action_noted(
    db: &Database,
    actor: &Actor,
    runtime: &str,
    version: &str,
    action: Action,
    expected: Status,
    reason: &Reason,
    rollback_from: Option<&str>,
) -> Result<Applied> {
    let applied = compare_and_set(
        db,
        actor,
        runtime,
        version,
        action,
        expected,
        reason,
        rollback_from,
    )
    .await;
    let outcome = match &applied {
        Ok(_) => "accepted",
        Err(VersionError::Conflict { .. }) => "conflict",
        Err(VersionError::Refused(_) | VersionError::MarkedBad { .. }) => "refused",
        Err(VersionError::UnknownVersion { .. }) => "unknown_version",
        Err(_) => "error",
    };
    crate::metrics::action(action.as_str(), outcome);
    applied
}

#[allow(clippy::too_many_arguments)]
async fn compare_and_set(
    db: &Database,
    actor: &Actor,
    runtime: &str,
    version: &str,
    action: Action,
    expected: Status,
    reason: &Reason,
    rollback_from: Option<&str>,
) -> Result<Applied> {
    let noted = |mut details: serde_json::Value| {
        if let Some(from) = rollback_from {
            details["rollback"] = serde_json::json!({ "from": from });
        }
        details
    };
    let by = actor.name().to_owned();
    let set_status = "UPDATE versions SET status = $1, status_changed_at = $2, status_actor = $3, \
                      status_action = $4, error_message = NULL \
                      WHERE runtime = $5 AND name = $6 AND status = $7";
    let find_published =
        "SELECT name FROM versions WHERE runtime = $1 AND status = 'published' AND name <> $2";
    write_tx!(VersionError, db, |conn| {
        let Some(current) = fetch_version!(&mut *conn, runtime, version) else {
            return Ok(TxEnd::Refuse(VersionError::UnknownVersion {
                runtime: runtime.to_owned(),
                version: version.to_owned(),
            }));
        };
        let denied = |details: serde_json::Value| {
            NewEntry::new(actor.clone(), action.into(), Outcome::Denied)
                .target(runtime, Some(version.to_owned()))
                .reason(reason.as_str())
                .statuses(Some(current.status), None)
                .details(noted(details))
        };
        if current.status != expected {
            AuditConn::append_entry(&mut *conn, &denied(serde_json::json!({"conflict": {"expected": expected, "by": current.status_actor}}))).await?;
            return Ok(TxEnd::Refuse(VersionError::Conflict {
                version: version.to_owned(),
                current: current.status,
                by: current.status_actor.clone(),
                action: current.status_action.clone(),
                at: current.status_changed_at.clone(),
            }));
        }
        if action == Action::Publish
            && let Some(mark) = &current.bad
        {
            AuditConn::append_entry(
                &mut *conn,
                &denied(serde_json::json!({"marked_bad": mark.reason})),
            )
            .await?;
            return Ok(TxEnd::Refuse(VersionError::MarkedBad {
                version: version.to_owned(),
                mark: mark.clone(),
            }));
        }
        let transition = match plan(current.status, action) {
            Ok(t) => t,
            Err(refusal) => {
                AuditConn::append_entry(
                    &mut *conn,
                    &denied(serde_json::json!({"refused": refusal.hint})),
                )
                .await?;
                return Ok(TxEnd::Refuse(VersionError::Refused(refusal)));
            }
        };
        let at = now_timestamp();
        let mut demoted = None;
        if transition.to == Status::Published {
            let other: Option<String> = sqlx::query_scalar(find_published)
                .bind(runtime)
                .bind(version)
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(other) = other
                && let Some(demotion) = demotion_on_publish(Status::Published)
            {
                sqlx::query(set_status)
                    .bind(demotion.to.as_str())
                    .bind(&at)
                    .bind(&by)
                    .bind(AuditAction::Publish.as_str())
                    .bind(runtime)
                    .bind(&other)
                    .bind(demotion.from.as_str())
                    .execute(&mut *conn)
                    .await?;
                demoted = Some(other);
            }
        }
        let changed = sqlx::query(set_status)
            .bind(transition.to.as_str())
            .bind(&at)
            .bind(&by)
            .bind(AuditAction::from(action).as_str())
            .bind(runtime)
            .bind(version)
            .bind(transition.from.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if changed != 1 {
            // The lock makes this unreachable; refuse rather than half-apply.
            return Err(VersionError::Store(crate::Error::Corrupt(
                "status changed under the write lock".into(),
            )));
        }
        let entry = NewEntry::new(actor.clone(), action.into(), Outcome::Accepted)
            .target(runtime, Some(version.to_owned()))
            .reason(reason.as_str())
            .statuses(Some(transition.from), Some(transition.to))
            .details(noted(match &demoted {
                Some(other) => serde_json::json!({"demoted": other}),
                None => serde_json::json!({}),
            }));
        let written = AuditConn::append_entry(&mut *conn, &entry).await?;
        Ok(TxEnd::Commit(Applied {
            transition,
            demoted,
            audit_id: written.id,
            audit_hash: written.hash,
        }))
    })
}

/// Marks a version bad (`bad`) or clears its mark, with the reason; both
/// audited. A bad version cannot be published until the mark is cleared.
pub async fn set_bad_mark(
    db: &Database,
    actor: &Actor,
    runtime: &str,
    version: &str,
    bad: bool,
    reason: &Reason,
) -> Result<Option<BadMark>> {
    let action = if bad {
        AuditAction::MarkBad
    } else {
        AuditAction::ClearBad
    };
    let update = "UPDATE versions SET bad_reason = $1, bad_by = $2, bad_at = $3 \
                  WHERE runtime = $4 AND name = $5";
    write_tx!(VersionError, db, |conn| {
        let Some(current) = fetch_version!(&mut *conn, runtime, version) else {
            return Ok(TxEnd::Refuse(VersionError::UnknownVersion {
                runtime: runtime.to_owned(),
                version: version.to_owned(),
            }));
        };
        let entry = |outcome| {
            NewEntry::new(actor.clone(), action, outcome)
                .target(runtime, Some(version.to_owned()))
                .reason(reason.as_str())
                .statuses(Some(current.status), Some(current.status))
        };
        if current.bad.is_some() == bad {
            AuditConn::append_entry(
                &mut *conn,
                &entry(Outcome::Denied).details(serde_json::json!({"unchanged": true})),
            )
            .await?;
            return Ok(TxEnd::Refuse(VersionError::BadMarkUnchanged {
                version: version.to_owned(),
                marked: bad,
            }));
        }
        let mark = bad.then(|| BadMark {
            reason: reason.as_str().to_owned(),
            by: actor.name().to_owned(),
            at: now_timestamp(),
        });
        sqlx::query(update)
            .bind(mark.as_ref().map(|m| m.reason.as_str()))
            .bind(mark.as_ref().map(|m| m.by.as_str()))
            .bind(mark.as_ref().map(|m| m.at.as_str()))
            .bind(runtime)
            .bind(version)
            .execute(&mut *conn)
            .await?;
        let details = match &current.bad {
            Some(old) => serde_json::json!({"cleared": old.reason}),
            None => serde_json::json!({}),
        };
        AuditConn::append_entry(&mut *conn, &entry(Outcome::Accepted).details(details)).await?;
        Ok(TxEnd::Commit(mark))
    })
}

/// A transition the system makes when the cluster reports an outcome. `None`
/// when the event no longer applies (the version moved on meanwhile).
pub async fn apply_system_event(
    db: &Database,
    runtime: &str,
    version: &str,
    event: SystemEvent,
    error_message: Option<&str>,
) -> Result<Option<Transition>> {
    let update = "UPDATE versions SET status = $1, status_changed_at = $2, status_actor = 'system', \
                  status_action = $3, error_message = $4 \
                  WHERE runtime = $5 AND name = $6 AND status = $7";
    write_tx!(VersionError, db, |conn| {
        let Some(current) = fetch_version!(&mut *conn, runtime, version) else {
            return Ok(TxEnd::Refuse(VersionError::UnknownVersion {
                runtime: runtime.to_owned(),
                version: version.to_owned(),
            }));
        };
        let Some(transition) = system_transition(current.status, event) else {
            return Ok(TxEnd::Commit(None));
        };
        sqlx::query(update)
            .bind(transition.to.as_str())
            .bind(now_timestamp())
            .bind(AuditAction::SystemTransition.as_str())
            .bind(error_message)
            .bind(runtime)
            .bind(version)
            .bind(transition.from.as_str())
            .execute(&mut *conn)
            .await?;
        let outcome = if transition.to == Status::Error {
            Outcome::Failed
        } else {
            Outcome::Completed
        };
        let mut details = serde_json::json!({"event": event});
        if let Some(message) = error_message {
            details["error"] = serde_json::Value::String(message.to_owned());
        }
        let entry = NewEntry::new(Actor::System, AuditAction::SystemTransition, outcome)
            .target(runtime, Some(version.to_owned()))
            .statuses(Some(transition.from), Some(transition.to))
            .details(details);
        AuditConn::append_entry(&mut *conn, &entry).await?;
        Ok(TxEnd::Commit(Some(transition)))
    })
}

/// Records where a runtime's traffic is (`serving`: what its Ingress points
/// at now) and the last routing failure, with `entry` (a switch completed, a
/// drift corrected) in the same transaction.
pub async fn record_routing(
    db: &Database,
    runtime: &str,
    serving: Option<&str>,
    error: Option<&str>,
    entry: Option<NewEntry>,
) -> Result<()> {
    let update = "UPDATE runtimes SET serving_version = $1, routing_error = $2 WHERE name = $3";
    let was_serving = "SELECT serving_version FROM runtimes WHERE name = $1";
    let status_of = "SELECT status FROM versions WHERE runtime = $1 AND name = $2";
    let published_by = "SELECT status_actor FROM versions WHERE runtime = $1 AND name = $2";
    write_tx!(VersionError, db, |conn| {
        let before: Option<Option<String>> = sqlx::query_scalar(was_serving)
            .bind(runtime)
            .fetch_optional(&mut *conn)
            .await?;
        sqlx::query(update)
            .bind(serving)
            .bind(error)
            .bind(runtime)
            .execute(&mut *conn)
            .await?;
        let written = match &entry {
            Some(entry) => Some(AuditConn::append_entry(&mut *conn, entry).await?.id),
            None => None,
        };
        // The release history follows what the Ingress points at, in the
        // same transaction: one release closes, the next opens.
        let Some(before) = before else {
            return Ok(TxEnd::Commit(()));
        };
        if before.as_deref() == serving {
            return Ok(TxEnd::Commit(()));
        }
        let at = now_timestamp();
        if let Some(old) = &before {
            let cause = match serving {
                Some(_) => releases::EndCause::Superseded,
                None => {
                    let status: Option<String> = sqlx::query_scalar(status_of)
                        .bind(runtime)
                        .bind(old)
                        .fetch_optional(&mut *conn)
                        .await?;
                    if status.as_deref() == Some(Status::Error.as_str()) {
                        releases::EndCause::Failed
                    } else {
                        releases::EndCause::Unpublished
                    }
                }
            };
            sqlx::query(releases::CLOSE_OPEN)
                .bind(&at)
                .bind(cause.as_str())
                .bind(serving)
                .bind(written)
                .bind(runtime)
                .execute(&mut *conn)
                .await?;
        }
        if let Some(new) = serving {
            let publish: Option<(i64, String, Option<String>)> =
                sqlx::query_as(releases::LAST_PUBLISH)
                    .bind(runtime)
                    .bind(new)
                    .fetch_optional(&mut *conn)
                    .await?;
            let (publish_id, by, why) = match publish {
                Some((id, by, why)) => (Some(id), by, why),
                // Its publish entry trimmed away already: who set its status.
                None => {
                    let by: Option<String> = sqlx::query_scalar(published_by)
                        .bind(runtime)
                        .bind(new)
                        .fetch_optional(&mut *conn)
                        .await?;
                    (None, by.unwrap_or_else(|| "system".into()), None)
                }
            };
            sqlx::query(releases::OPEN)
                .bind(runtime)
                .bind(new)
                .bind(&by)
                .bind(why)
                .bind(publish_id)
                .bind(&at)
                .bind(written)
                .execute(&mut *conn)
                .await?;
        }
        Ok(TxEnd::Commit(()))
    })
}

/// A switch that could not be made before its deadline, undone in one
/// transaction: `failed` (published, but the Ingress never pointed at it)
/// goes back to `started` with `message`, and `restore` (the version the
/// Ingress still points at) is published again, so the runtime keeps
/// serving what it served. Either may be `None` (a failed unpublish has no
/// `failed`). Each change is a system entry; a version that moved on
/// meanwhile is left alone. Answers the versions whose status changed.
pub async fn fail_switch(
    db: &Database,
    runtime: &str,
    failed: Option<&str>,
    restore: Option<&str>,
    message: &str,
) -> Result<Vec<String>> {
    let update = "UPDATE versions SET status = $1, status_changed_at = $2, status_actor = 'system', \
                  status_action = $3, error_message = $4 \
                  WHERE runtime = $5 AND name = $6 AND status = $7";
    let steps = [
        (failed, SystemEvent::SwitchFailed),
        (restore, SystemEvent::SwitchReverted),
    ];
    write_tx!(VersionError, db, |conn| {
        let mut changed = Vec::new();
        for (version, event) in steps {
            let Some(version) = version else { continue };
            let Some(current) = fetch_version!(&mut *conn, runtime, version) else {
                continue;
            };
            let Some(transition) = system_transition(current.status, event) else {
                continue;
            };
            // The version that could not take the traffic carries the reason;
            // a restored one carries it only when its own unpublish failed.
            let shown = (event == SystemEvent::SwitchFailed || failed.is_none()).then_some(message);
            sqlx::query(update)
                .bind(transition.to.as_str())
                .bind(now_timestamp())
                .bind(AuditAction::SystemTransition.as_str())
                .bind(shown)
                .bind(runtime)
                .bind(version)
                .bind(transition.from.as_str())
                .execute(&mut *conn)
                .await?;
            let outcome = if shown.is_some() {
                Outcome::Failed
            } else {
                Outcome::Completed
            };
            let mut details = serde_json::json!({"event": event, "error": message});
            if event == SystemEvent::SwitchReverted {
                details["serving"] = serde_json::Value::Bool(true);
            }
            let entry = NewEntry::new(Actor::System, AuditAction::SystemTransition, outcome)
                .target(runtime, Some(version.to_owned()))
                .statuses(Some(transition.from), Some(transition.to))
                .details(details);
            AuditConn::append_entry(&mut *conn, &entry).await?;
            changed.push(version.to_owned());
        }
        Ok(TxEnd::Commit(changed))
    })
}

/// Versions in the given statuses across every runtime.
async fn with_status(db: &Database, statuses: &[Status]) -> Result<Vec<VersionRecord>> {
    let wanted = statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("{VERSION_SELECT} WHERE v.status IN ({wanted}) ORDER BY v.runtime, v.name");
    on_pool!(db, |pool| sqlx::query(&sql)
        .fetch_all(pool)
        .await?
        .iter()
        .map(version_from_row)
        .collect())
}

/// Every `starting` and `stopping` version: what the reconciler must finish,
/// after a restart too.
pub async fn in_flight(db: &Database) -> Result<Vec<VersionRecord>> {
    with_status(db, &[Status::Starting, Status::Stopping]).await
}

/// Every published version (at most one per runtime).
pub async fn published(db: &Database) -> Result<Vec<VersionRecord>> {
    with_status(db, &[Status::Published]).await
}
