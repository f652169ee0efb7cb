//! An operator's lifecycle action: the compare-and-set on the status with
//! its audit entry.

use std::collections::BTreeSet;

use lifecycle::{
    Action, AuditAction, Outcome, Reason, Status, demotion_on_publish, plan, variables,
};

use super::record::{ActionNote, Applied, Claim, Result, VersionError};
use crate::{
    audit::{Actor, AuditConn, NewEntry, now_timestamp},
    db::{Database, TxEnd},
};

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
    apply_action_noted(
        db,
        actor,
        runtime,
        version,
        action,
        expected,
        reason,
        ActionNote::default(),
    )
    .await
}

/// `apply_action`, for an action that is part of a rollback: its audit
/// entry (accepted or denied) says so, and a start that is to publish once
/// ready leaves the pending publish in the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn apply_action_noted(
    db: &Database,
    actor: &Actor,
    runtime: &str,
    version: &str,
    action: Action,
    expected: Status,
    reason: &Reason,
    note: ActionNote<'_>,
) -> Result<Applied> {
    let applied =
        compare_and_set(db, actor, runtime, version, action, expected, reason, note).await;
    let outcome = match &applied {
        Ok(_) => "accepted",
        Err(VersionError::Conflict { .. }) => "conflict",
        Err(
            VersionError::Refused(_)
            | VersionError::MarkedBad { .. }
            | VersionError::ConfigurationIncomplete { .. },
        ) => "refused",
        Err(VersionError::UnknownVersion { .. }) => "unknown_version",
        Err(_) => "error",
    };
    crate::metrics::action(action.as_str(), outcome);
    applied
}

/// The declared variables a version has a value for (a start needs every
/// required one that has no default).
const SET_NAMES: &str = "SELECT name FROM version_values WHERE runtime = $1 AND version = $2";
const CLAIM_REQUEST: &str = "UPDATE change_requests SET state = 'done', closed_at = $1 \
                             WHERE id = $2 AND state = 'approved'";
const CLAIM_SCHEDULE: &str = "UPDATE scheduled_actions SET state = 'done', closed_at = $1 \
                              WHERE id = $2 AND state = 'pending'";

#[allow(clippy::too_many_arguments)]
async fn compare_and_set(
    db: &Database,
    actor: &Actor,
    runtime: &str,
    version: &str,
    action: Action,
    expected: Status,
    reason: &Reason,
    note: ActionNote<'_>,
) -> Result<Applied> {
    let noted = |mut details: serde_json::Value| {
        if let Some(rollback) = note.rollback {
            details["rollback"] = serde_json::json!({ "from": rollback.from });
            if rollback.then_publish {
                details["rollback"]["then"] = serde_json::json!("publish");
            }
        }
        if let Some(approval) = note.approval {
            details["change_request"] = serde_json::json!(approval.request);
            details["approved_by"] = serde_json::json!(approval.approved_by);
        }
        if let Some(closed) = note.break_glass {
            details["break_glass"] = serde_json::json!(true);
            details["window"] = serde_json::json!(closed.title);
        }
        if let Some(Claim::Schedule(id)) = note.claim {
            details["scheduled"] = serde_json::json!(id);
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
        // A start that is to publish once ready is refused up front too.
        let publishes = action == Action::Publish || note.rollback.is_some_and(|n| n.then_publish);
        if publishes && let Some(mark) = &current.bad {
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
        if action == Action::Start && !current.manifest.variables.is_empty() {
            let set: Vec<String> = sqlx::query_scalar(SET_NAMES)
                .bind(runtime)
                .bind(version)
                .fetch_all(&mut *conn)
                .await?;
            let set: BTreeSet<&str> = set.iter().map(String::as_str).collect();
            let missing: Vec<String> = variables::missing(&current.manifest.variables, &set)
                .into_iter()
                .map(str::to_owned)
                .collect();
            if !missing.is_empty() {
                AuditConn::append_entry(
                    &mut *conn,
                    &denied(serde_json::json!({"missing_configuration": missing})),
                )
                .await?;
                return Ok(TxEnd::Refuse(VersionError::ConfigurationIncomplete {
                    version: version.to_owned(),
                    missing,
                }));
            }
        }
        let at = now_timestamp();
        if let Some(claim) = note.claim {
            let (sql, id) = match claim {
                Claim::Request(id) => (CLAIM_REQUEST, id),
                Claim::Schedule(id) => (CLAIM_SCHEDULE, id),
            };
            let claimed = sqlx::query(sql)
                .bind(&at)
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if claimed != 1 {
                // Rolled back: nothing of this attempt is kept.
                return Err(VersionError::AlreadyCarriedOut);
            }
        }
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
        // Any accepted action on the version supersedes a pending publish;
        // a rollback's start leaves a new one.
        sqlx::query(super::pending::CLEAR)
            .bind(runtime)
            .bind(version)
            .execute(&mut *conn)
            .await?;
        if let Some(rollback) = note.rollback.filter(|n| n.then_publish) {
            let (id, role) = match actor {
                Actor::User { id, role, .. } => (*id, role.as_str()),
                Actor::System => (None, "system"),
            };
            sqlx::query(super::pending::LEAVE)
                .bind(runtime)
                .bind(version)
                .bind(rollback.from)
                .bind(reason.as_str())
                .bind(id)
                .bind(&by)
                .bind(role)
                .bind(&at)
                .execute(&mut *conn)
                .await?;
        }
        Ok(TxEnd::Commit(Applied {
            transition,
            demoted,
            audit_id: written.id,
            audit_hash: written.hash,
        }))
    })
}
