//! Transitions the system makes when the cluster reports an outcome, and
//! the undoing of a switch that could not be made.

use lifecycle::{AuditAction, Outcome, Status, SystemEvent, Transition, system_transition};

use super::record::{Result, VersionError};
use crate::{
    audit::{Actor, AuditConn, NewEntry, now_timestamp},
    db::{Database, TxEnd},
};

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
