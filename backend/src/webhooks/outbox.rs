//! Filling the outbox from the audit log: for each endpoint, the entries of
//! its runtime past its cursor that are events of its kinds become
//! deliveries, each with the body it will be sent with.
//!
//! Any replica may do this at any time: a delivery is unique per endpoint
//! and entry, and the cursor only moves forward. Entries are read only up
//! to the newest id seen at the start; appends are serialised and commit in
//! id order (audit/chain.rs), so no entry at or below it can still appear.

use lifecycle::webhooks::EventKind;
use sqlx::Row;

use super::store::parse_kinds;
use crate::{
    audit::{Entry, SELECT_COLUMNS, entry_from_row, now_timestamp},
    db::Database,
    error::Error,
};

/// Entries read per endpoint per pass.
const BATCH: i64 = 500;

/// The JSON an endpoint receives for an entry: what happened, to what, by
/// whom and why, with the entry's id as the event's id.
pub(super) fn body(kind: EventKind, entry: &Entry) -> String {
    let details: serde_json::Value =
        serde_json::from_str(&entry.details).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "id": entry.id,
        "kind": kind,
        "at": entry.at,
        "runtime": entry.runtime,
        "version": entry.version,
        "action": entry.action,
        "outcome": entry.outcome,
        "actor": { "kind": entry.actor_kind, "email": entry.actor_email },
        "reason": entry.reason,
        "status_before": entry.status_before,
        "status_after": entry.status_after,
        "details": details,
    })
    .to_string()
}

struct Cursor {
    id: i64,
    runtime: String,
    kinds: Vec<EventKind>,
    cursor: i64,
}

/// Writes the deliveries of every entry up to now; how many were written.
pub(super) async fn fill(db: &Database) -> Result<usize, Error> {
    let newest: i64 = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COALESCE(MAX(id), 0) FROM audit_log"
    )
    .fetch_one(pool)
    .await?);
    let behind = on_pool!(db, |pool| sqlx::query(
        "SELECT id, runtime, kinds, audit_cursor FROM webhook_endpoints \
         WHERE deleted_at IS NULL AND audit_cursor < $1"
    )
    .bind(newest)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| -> Result<Cursor, Error> {
        let kinds: String = row.try_get("kinds")?;
        Ok(Cursor {
            id: row.try_get("id")?,
            runtime: row.try_get("runtime")?,
            kinds: parse_kinds(&kinds)?,
            cursor: row.try_get("audit_cursor")?,
        })
    })
    .collect::<Result<Vec<_>, _>>()?);
    let mut written = 0;
    for endpoint in behind {
        written += fill_one(db, &endpoint, newest).await?;
    }
    Ok(written)
}

async fn fill_one(db: &Database, endpoint: &Cursor, newest: i64) -> Result<usize, Error> {
    let select = format!(
        "SELECT {SELECT_COLUMNS} FROM audit_log WHERE id > $1 AND id <= $2 AND runtime = $3 \
         ORDER BY id LIMIT $4"
    );
    let entries: Vec<Entry> = on_pool!(db, |pool| sqlx::query(&select)
        .bind(endpoint.cursor)
        .bind(newest)
        .bind(&endpoint.runtime)
        .bind(BATCH)
        .fetch_all(pool)
        .await?
        .iter()
        .map(entry_from_row)
        .collect::<Result<Vec<_>, _>>()?);
    // A full batch may stop short of `newest`: the next pass goes on from
    // its last entry.
    let reached = if entries.len() as i64 == BATCH {
        entries.last().map_or(newest, |e| e.id)
    } else {
        newest
    };
    let now = now_timestamp();
    let insert = "INSERT INTO webhook_deliveries (endpoint_id, audit_id, kind, body, state, attempts, \
         next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) \
         ON CONFLICT (endpoint_id, audit_id) DO NOTHING";
    let mut written = 0;
    for entry in &entries {
        let Some(kind) = EventKind::of_entry(
            &entry.action,
            &entry.outcome,
            entry.status_before.as_deref(),
            entry.status_after.as_deref(),
        ) else {
            continue;
        };
        if !endpoint.kinds.contains(&kind) {
            continue;
        }
        let body = body(kind, entry);
        let done = on_pool!(db, |pool| sqlx::query(insert)
            .bind(endpoint.id)
            .bind(entry.id)
            .bind(kind.as_str())
            .bind(&body)
            .bind(&now)
            .execute(pool)
            .await?
            .rows_affected());
        written += done as usize;
    }
    on_pool!(db, |pool| sqlx::query(
        "UPDATE webhook_endpoints SET audit_cursor = $1 WHERE id = $2 AND audit_cursor < $1"
    )
    .bind(reached)
    .bind(endpoint.id)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(written)
}
