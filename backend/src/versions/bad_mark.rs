//! Marking a version bad, and clearing the mark.

use lifecycle::{AuditAction, Outcome, Reason};

use super::record::{BadMark, Result, VersionError};
use crate::{
    audit::{Actor, AuditConn, NewEntry, now_timestamp},
    db::{Database, TxEnd},
};

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
