//! A rollback to a stopped version, tracked as one operation: the start is
//! made at once (with a `pending_rollbacks` row, in the same transaction),
//! and the leader publishes the version once it is `started`, as the
//! operator who asked and with their reason. The leader's pass is level
//! triggered: whatever it finds on each pass (ready, still starting, gone
//! wrong) decides what happens, after a restart too.

use lifecycle::{AuditAction, Outcome};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::record::{Result, VersionError};
use crate::{
    audit::{Actor, AuditConn, NewEntry},
    db::{Database, TxEnd},
};

/// Run by every accepted action on the version (see `action.rs`).
pub(crate) const CLEAR: &str = "DELETE FROM pending_rollbacks WHERE runtime = $1 AND version = $2";
pub(crate) const LEAVE: &str = "INSERT INTO pending_rollbacks (runtime, version, rollback_from, \
     reason, requested_by_id, requested_by, requested_role, requested_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const SELECT: &str = "SELECT runtime, version, rollback_from, reason, requested_by_id, \
     requested_by, requested_role, requested_at FROM pending_rollbacks";

/// A publish waiting for its version to be ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRollback {
    pub runtime: String,
    pub version: String,
    /// What served when the rollback was asked for: if anything else
    /// serves by the time the version is ready, the publish is not made.
    pub from: String,
    pub reason: String,
    pub requested_by_id: Option<i64>,
    pub requested_by: String,
    pub requested_role: String,
    pub requested_at: String,
}

impl PendingRollback {
    /// Who the publish is made as.
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.requested_by_id,
            email: self.requested_by.clone(),
            role: self.requested_role.clone(),
        }
    }
}

fn from_row<R>(row: &R) -> Result<PendingRollback>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    i64: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    Ok(PendingRollback {
        runtime: row.try_get("runtime")?,
        version: row.try_get("version")?,
        from: row.try_get("rollback_from")?,
        reason: row.try_get("reason")?,
        requested_by_id: row.try_get("requested_by_id")?,
        requested_by: row.try_get("requested_by")?,
        requested_role: row.try_get("requested_role")?,
        requested_at: row.try_get("requested_at")?,
    })
}

/// Every pending rollback, oldest first.
pub async fn pending_rollbacks(db: &Database) -> Result<Vec<PendingRollback>> {
    let sql = format!("{SELECT} ORDER BY requested_at");
    on_pool!(db, |pool| sqlx::query(&sql)
        .fetch_all(pool)
        .await?
        .iter()
        .map(from_row)
        .collect())
}

/// The rollback waiting on a runtime, if any (at most one is useful: each
/// names what served when it was asked for).
pub async fn pending_rollback(db: &Database, runtime: &str) -> Result<Option<PendingRollback>> {
    let sql = format!("{SELECT} WHERE runtime = $1 ORDER BY requested_at DESC LIMIT 1");
    on_pool!(
        db,
        |pool| match sqlx::query(&sql).bind(runtime).fetch_optional(pool).await? {
            Some(row) => Ok(Some(from_row(&row)?)),
            None => Ok(None),
        }
    )
}

/// Gives the rollback up, with `why`: a failed publish entry (the system's,
/// naming the rollback and the operator's reason), in the same transaction
/// as the row's removal. Answers false when it was no longer pending.
pub async fn abandon_rollback(db: &Database, pending: &PendingRollback, why: &str) -> Result<bool> {
    write_tx!(VersionError, db, |conn| {
        let removed = sqlx::query(CLEAR)
            .bind(&pending.runtime)
            .bind(&pending.version)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(TxEnd::Commit(false));
        }
        let entry = NewEntry::new(Actor::System, AuditAction::Publish, Outcome::Failed)
            .target(&pending.runtime, Some(pending.version.clone()))
            .reason(&pending.reason)
            .details(serde_json::json!({
                "rollback": {"from": pending.from, "requested_by": pending.requested_by, "abandoned": why},
            }));
        AuditConn::append_entry(&mut *conn, &entry).await?;
        Ok(TxEnd::Commit(true))
    })
}

/// Forgets a rollback whose publish was made (or refused with its own
/// denied entry): nothing more to record.
pub async fn forget_rollback(db: &Database, pending: &PendingRollback) -> Result<()> {
    on_pool!(db, |pool| sqlx::query(CLEAR)
        .bind(&pending.runtime)
        .bind(&pending.version)
        .execute(pool)
        .await
        .map(drop)?);
    Ok(())
}
