//! Explicit retention of the audit log. Nothing is removed unless a caller
//! asks with a retention period and a reason; each run is itself an audit
//! entry and leaves a checkpoint from which `audit::verify` resumes the chain.

use lifecycle::{AuditAction, Outcome, Reason};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{
    chain::AuditConn,
    entry::{Actor, Entry, NewEntry},
};
use crate::{
    db::{Database, TxEnd},
    error::Error,
};

/// The shortest retention a run accepts: a typo must not wipe today's log.
pub const MIN_KEEP_DAYS: u32 = 1;
/// About a hundred years; beyond that the cutoff is meaningless.
pub const MAX_KEEP_DAYS: u32 = 36_500;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("retention must keep between {MIN_KEEP_DAYS} and {MAX_KEEP_DAYS} days, not {0}")]
    KeepDays(u32),
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<sqlx::Error> for RetentionError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

/// Where the kept chain starts after a retention run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: i64,
    pub at: String,
    pub cutoff: String,
    /// The last removed entry.
    pub up_to_id: i64,
    /// Its hash: the `prev_hash` of the first kept entry.
    pub anchor_hash: String,
    pub removed: i64,
    /// The `audit.retention` entry that records the run.
    pub entry_id: i64,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRun {
    pub cutoff: String,
    pub removed: i64,
    pub checkpoint: Option<Checkpoint>,
    pub entry: Entry,
}

/// The `details` of an `audit.retention` entry; `verify` matches it against
/// the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionDetails {
    pub keep_days: u32,
    pub cutoff: String,
    pub up_to_id: Option<i64>,
    pub anchor_hash: Option<String>,
    pub removed: i64,
    /// The UTC day a scheduled run is for (`YYYY-MM-DD`): one run a day,
    /// however many replicas schedule it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
}

fn cutoff_for(now: chrono::DateTime<chrono::Utc>, keep_days: u32) -> String {
    let cutoff = now - chrono::Duration::days(i64::from(keep_days));
    cutoff.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

const CHECKPOINT_COLUMNS: &str = "id, at, cutoff, up_to_id, anchor_hash, removed, entry_id";

macro_rules! run_on {
    ($conn:expr, $actor:expr, $keep_days:expr, $reason:expr, $cutoff:expr, $day:expr) => {{
        let conn = $conn;
        let cutoff: &str = $cutoff;
        let up_to_id: Option<i64> =
            sqlx::query_scalar("SELECT MAX(id) FROM audit_log WHERE at < $1")
                .bind(cutoff)
                .fetch_one(&mut *conn)
                .await?;
        let (anchor_hash, removed) = match up_to_id {
            Some(id) => {
                let anchor: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
                let removed: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE id <= $1")
                        .bind(id)
                        .fetch_one(&mut *conn)
                        .await?;
                (Some(anchor), removed)
            }
            None => (None, 0),
        };
        let details = RetentionDetails {
            keep_days: $keep_days,
            cutoff: cutoff.to_owned(),
            up_to_id,
            anchor_hash: anchor_hash.clone(),
            removed,
            day: $day,
        };
        let entry = AuditConn::append_entry(
            &mut *conn,
            &NewEntry::new($actor.clone(), AuditAction::Retention, Outcome::Completed)
                .reason($reason.as_str())
                .details(serde_json::to_value(&details).map_err(|e| Error::Corrupt(e.to_string()))?),
        )
        .await?;
        let checkpoint = match (up_to_id, anchor_hash) {
            (Some(up_to_id), Some(anchor_hash)) => {
                sqlx::query("INSERT INTO audit_retention_grant (up_to_id) VALUES ($1)")
                    .bind(up_to_id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("DELETE FROM audit_log WHERE id <= $1")
                    .bind(up_to_id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("DELETE FROM audit_retention_grant")
                    .execute(&mut *conn)
                    .await?;
                let row = sqlx::query(&format!(
                    "INSERT INTO audit_checkpoints (at, cutoff, up_to_id, anchor_hash, removed, entry_id) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {CHECKPOINT_COLUMNS}"
                ))
                .bind(&entry.at)
                .bind(cutoff)
                .bind(up_to_id)
                .bind(&anchor_hash)
                .bind(removed)
                .bind(entry.id)
                .fetch_one(&mut *conn)
                .await?;
                Some(checkpoint_from_row(&row)?)
            }
            _ => None,
        };
        Ok::<TxEnd<RetentionRun, RetentionError>, RetentionError>(TxEnd::Commit(RetentionRun {
            cutoff: cutoff.to_owned(),
            removed,
            checkpoint,
            entry,
        }))
    }};
}

/// Removes every entry older than `keep_days` days, recording the run (with
/// `reason`) in the log in the same transaction. A run that finds nothing to
/// remove is recorded too, so the log shows retention is in force.
pub async fn run(
    db: &Database,
    actor: &Actor,
    keep_days: u32,
    reason: &Reason,
) -> Result<RetentionRun, RetentionError> {
    run_as_of(db, actor, keep_days, reason, chrono::Utc::now()).await
}

/// [`run`] with the clock given: the cutoff is `now - keep_days`. Tests use
/// a later `now` to age entries written a moment ago.
pub async fn run_as_of(
    db: &Database,
    actor: &Actor,
    keep_days: u32,
    reason: &Reason,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<RetentionRun, RetentionError> {
    if !(MIN_KEEP_DAYS..=MAX_KEEP_DAYS).contains(&keep_days) {
        return Err(RetentionError::KeepDays(keep_days));
    }
    let cutoff = cutoff_for(now, keep_days);
    let run = write_tx!(RetentionError, db, |conn| {
        run_on!(conn, actor, keep_days, reason, &cutoff, None)
    })?;
    tracing::info!(
        removed = run.removed,
        cutoff = %run.cutoff,
        entry = run.entry.id,
        "audit retention run"
    );
    Ok(run)
}

/// The scheduled run for the UTC day of `now`, unless one already ran for
/// that day (checked under the append lock, so two replicas, or two leaders
/// for a moment, record one run a day). `None` when that day had its run.
pub async fn run_daily(
    db: &Database,
    actor: &Actor,
    keep_days: u32,
    reason: &Reason,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<RetentionRun>, RetentionError> {
    if !(MIN_KEEP_DAYS..=MAX_KEEP_DAYS).contains(&keep_days) {
        return Err(RetentionError::KeepDays(keep_days));
    }
    let cutoff = cutoff_for(now, keep_days);
    let day = now.format("%Y-%m-%d").to_string();
    let last_run = "SELECT details FROM audit_log WHERE action = $1 ORDER BY id DESC LIMIT 1";
    let run = write_tx!(RetentionError, db, |conn| {
        let last: Option<String> = sqlx::query_scalar(last_run)
            .bind(AuditAction::Retention.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        let ran_today = last
            .and_then(|details| serde_json::from_str::<RetentionDetails>(&details).ok())
            .is_some_and(|details| details.day.as_deref() >= Some(day.as_str()));
        if ran_today {
            return Ok(TxEnd::Commit(None));
        }
        let run = run_on!(conn, actor, keep_days, reason, &cutoff, Some(day.clone()))?;
        Ok(TxEnd::Commit(run.into_result().ok()))
    })?;
    if let Some(run) = &run {
        tracing::info!(removed = run.removed, cutoff = %run.cutoff, entry = run.entry.id, "scheduled audit retention run");
    }
    Ok(run)
}

fn checkpoint_from_row<R>(row: &R) -> std::result::Result<Checkpoint, sqlx::Error>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    Ok(Checkpoint {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        cutoff: row.try_get("cutoff")?,
        up_to_id: row.try_get("up_to_id")?,
        anchor_hash: row.try_get("anchor_hash")?,
        removed: row.try_get("removed")?,
        entry_id: row.try_get("entry_id")?,
    })
}

/// The newest checkpoint: where the kept chain begins.
pub async fn latest_checkpoint(db: &Database) -> Result<Option<Checkpoint>, Error> {
    let sql = format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY up_to_id DESC LIMIT 1"
    );
    let row = match db {
        Database::Sqlite(pool) => sqlx::query(&sql)
            .fetch_optional(pool)
            .await?
            .map(|row| checkpoint_from_row(&row))
            .transpose()?,
        Database::Postgres(pool) => sqlx::query(&sql)
            .fetch_optional(pool)
            .await?
            .map(|row| checkpoint_from_row(&row))
            .transpose()?,
    };
    Ok(row)
}

/// Whether `entry` is the `audit.retention` entry that `checkpoint` claims.
pub fn entry_backs(entry: &Entry, checkpoint: &Checkpoint) -> bool {
    entry.id == checkpoint.entry_id
        && entry.action == AuditAction::Retention.as_str()
        && serde_json::from_str::<RetentionDetails>(&entry.details).is_ok_and(|d| {
            d.up_to_id == Some(checkpoint.up_to_id)
                && d.anchor_hash.as_deref() == Some(checkpoint.anchor_hash.as_str())
                && d.removed == checkpoint.removed
        })
}
