//! Where a runtime's traffic is, and the release history that follows it.

use lifecycle::Status;

use super::record::{Result, VersionError};
use crate::{
    audit::{AuditConn, NewEntry, now_timestamp},
    db::{Database, TxEnd},
    releases,
};

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
                    let old = fetch_version!(&mut *conn, runtime, old);
                    if old.is_some_and(|v| v.status == Status::Error) {
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
                    let by = fetch_version!(&mut *conn, runtime, new).map(|v| v.status_actor);
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
