//! Registering and removing endpoints, reading their delivery logs and
//! sending a delivery again: the admins' side of webhooks, each change
//! audited in the transaction that makes it.

use lifecycle::{AuditAction, Outcome, webhooks::EventKind};
use sqlx::Row;

use super::model::{
    Created, Delivery, DeliveryState, Endpoint, SECRET_BINDING, SECRET_PREFIX, WebhookError,
};
use crate::{
    audit::{Actor, AuditConn, NewEntry, now_timestamp},
    configuration::Keyring,
    db::{Database, TxEnd},
    error::Error,
    runtimes::RuntimesError,
};

/// Rows per page of a delivery log, at most.
pub const MAX_PAGE: u32 = 200;

const ENDPOINT_COLUMNS: &str = "e.id, e.runtime, e.url, e.kinds, e.created_at, e.created_by, \
     (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.state = 'pending') AS pending, \
     (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.state = 'failed') AS failed";

pub(super) const DELIVERY_COLUMNS: &str = "id, endpoint_id, audit_id, kind, state, attempts, \
     next_attempt_at, last_attempt_at, last_status, last_error, delivered_at, created_at";

pub(super) fn kinds_text(kinds: &[EventKind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn parse_kinds(text: &str) -> Result<Vec<EventKind>, Error> {
    text.split(',')
        .filter(|k| !k.is_empty())
        .map(|k| {
            k.parse()
                .map_err(|_| Error::Corrupt(format!("unknown webhook event kind {k:?}")))
        })
        .collect()
}

fn endpoint_from_row<R>(row: &R) -> Result<Endpoint, Error>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    let kinds: String = row.try_get("kinds")?;
    Ok(Endpoint {
        id: row.try_get("id")?,
        runtime: row.try_get("runtime")?,
        url: row.try_get("url")?,
        kinds: parse_kinds(&kinds)?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        pending: row.try_get("pending")?,
        failed: row.try_get("failed")?,
    })
}

pub(super) fn delivery_from_row<R>(row: &R) -> Result<Delivery, Error>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    let state: String = row.try_get("state")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        endpoint_id: row.try_get("endpoint_id")?,
        audit_id: row.try_get("audit_id")?,
        kind: row.try_get("kind")?,
        state: DeliveryState::parse(&state)?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_attempt_at: row.try_get("last_attempt_at")?,
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        delivered_at: row.try_get("delivered_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Registers an endpoint of `runtime` for `kinds`, audited as
/// `webhook.create`. It hears of events from now on, not of earlier ones.
/// The signing secret is answered once and kept sealed.
pub async fn create(
    db: &Database,
    keyring: &Keyring,
    actor: &Actor,
    runtime: &str,
    url: &str,
    kinds: &[EventKind],
    allow_http: bool,
) -> Result<Created, WebhookError> {
    let url = lifecycle::webhooks::endpoint_url(url, allow_http).map_err(WebhookError::Invalid)?;
    if kinds.is_empty() {
        return Err(WebhookError::Invalid("Events: choose at least one.".into()));
    }
    match crate::runtimes::get(db, runtime).await {
        Ok(_) => {}
        Err(RuntimesError::Unknown(name)) => return Err(WebhookError::UnknownRuntime(name)),
        Err(RuntimesError::Store(e)) => return Err(e.into()),
        Err(other) => return Err(WebhookError::Invalid(other.to_string())),
    }
    let secret = crate::tokens::random_secret(SECRET_PREFIX)?;
    let sealed = keyring.seal(runtime, SECRET_BINDING, &secret)?;
    let kinds_text = kinds_text(kinds);
    let at = now_timestamp();
    let by = actor.name().to_owned();
    let insert = "INSERT INTO webhook_endpoints (runtime, url, kinds, secret_sealed, created_at, created_by, audit_cursor) \
         VALUES ($1, $2, $3, $4, $5, $6, (SELECT COALESCE(MAX(id), 0) FROM audit_log)) RETURNING id";
    let id = write_tx!(WebhookError, db, |conn| {
        let id: i64 = sqlx::query_scalar(insert)
            .bind(runtime)
            .bind(&url)
            .bind(&kinds_text)
            .bind(&sealed)
            .bind(&at)
            .bind(&by)
            .fetch_one(&mut *conn)
            .await?;
        let entry = NewEntry::new(actor.clone(), AuditAction::WebhookCreate, Outcome::Accepted)
            .target(runtime, None)
            .details(serde_json::json!({ "webhook_id": id, "url": url, "events": kinds }));
        AuditConn::append_entry(&mut *conn, &entry).await?;
        Ok(TxEnd::Commit(id))
    })?;
    let endpoint = get(db, id).await?.ok_or(WebhookError::Unknown)?;
    Ok(Created { secret, endpoint })
}

/// The endpoint `id`, unless removed.
pub async fn get(db: &Database, id: i64) -> Result<Option<Endpoint>, Error> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.id = $1 AND e.deleted_at IS NULL"
    );
    on_pool!(db, |pool| {
        match sqlx::query(&sql).bind(id).fetch_optional(pool).await? {
            Some(row) => Ok(Some(endpoint_from_row(&row)?)),
            None => Ok(None),
        }
    })
}

/// Endpoint `id`, if it is `runtime`'s: pages and the API ask for an
/// endpoint under the runtime whose permission they checked.
pub async fn of_runtime(db: &Database, runtime: &str, id: i64) -> Result<Endpoint, WebhookError> {
    match get(db, id).await? {
        Some(endpoint) if endpoint.runtime == runtime => Ok(endpoint),
        _ => Err(WebhookError::Unknown),
    }
}

/// Every endpoint (of `runtime`, when given), by runtime then age.
pub async fn list(db: &Database, runtime: Option<&str>) -> Result<Vec<Endpoint>, Error> {
    let filter = if runtime.is_some() {
        "AND e.runtime = $1"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.deleted_at IS NULL {filter} \
         ORDER BY e.runtime, e.id"
    );
    on_pool!(db, |pool| {
        let mut query = sqlx::query(&sql);
        if let Some(runtime) = runtime {
            query = query.bind(runtime);
        }
        query
            .fetch_all(pool)
            .await?
            .iter()
            .map(endpoint_from_row)
            .collect()
    })
}

/// Removes endpoint `id`, audited as `webhook.delete`: nothing more is sent
/// to it; its delivery log stays in the database.
pub async fn delete(db: &Database, actor: &Actor, id: i64) -> Result<(), WebhookError> {
    let Some(endpoint) = get(db, id).await? else {
        return Err(WebhookError::Unknown);
    };
    let at = now_timestamp();
    write_tx!(WebhookError, db, |conn| {
        let changed = sqlx::query(
            "UPDATE webhook_endpoints SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
        )
        .bind(&at)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(TxEnd::Refuse(WebhookError::Unknown));
        }
        let entry = NewEntry::new(actor.clone(), AuditAction::WebhookDelete, Outcome::Accepted)
            .target(endpoint.runtime.clone(), None)
            .details(serde_json::json!({ "webhook_id": id, "url": endpoint.url }));
        AuditConn::append_entry(&mut *conn, &entry).await?;
        Ok(TxEnd::Commit(()))
    })
}

/// Endpoint `id`'s deliveries, newest event first, older than the event
/// `before` (keyset paging on the event's id).
pub async fn deliveries(
    db: &Database,
    id: i64,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<Delivery>, Error> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND audit_id < $2 \
         ORDER BY audit_id DESC LIMIT $3"
    );
    let limit = i64::from(limit.clamp(1, MAX_PAGE));
    on_pool!(db, |pool| sqlx::query(&sql)
        .bind(id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(pool)
        .await?
        .iter()
        .map(delivery_from_row)
        .collect())
}

/// Sends delivery `id` of `endpoint` again, from its first try, audited as
/// `webhook.resend`: the same event id and body, so a receiver that already
/// has it can tell. It goes before the endpoint's later pending events.
pub async fn resend(
    db: &Database,
    actor: &Actor,
    endpoint: i64,
    id: i64,
) -> Result<Delivery, WebhookError> {
    let at = now_timestamp();
    let select = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
    let update = "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, \
         last_error = NULL, delivered_at = NULL WHERE id = $2";
    write_tx!(WebhookError, db, |conn| {
        let Some(row) = sqlx::query(&select)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Ok(TxEnd::Refuse(WebhookError::UnknownDelivery));
        };
        let delivery = delivery_from_row(&row)?;
        if delivery.endpoint_id != endpoint {
            return Ok(TxEnd::Refuse(WebhookError::UnknownDelivery));
        }
        let runtime: Option<String> = sqlx::query_scalar(
            "SELECT runtime FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(delivery.endpoint_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(runtime) = runtime else {
            return Ok(TxEnd::Refuse(WebhookError::Unknown));
        };
        sqlx::query(update)
            .bind(&at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        let entry = NewEntry::new(actor.clone(), AuditAction::WebhookResend, Outcome::Accepted)
            .target(runtime, None)
            .details(serde_json::json!({
                "webhook_id": delivery.endpoint_id,
                "delivery_id": id,
                "event_id": delivery.audit_id,
            }));
        AuditConn::append_entry(&mut *conn, &entry).await?;
        let row = sqlx::query(&select).bind(id).fetch_one(&mut *conn).await?;
        Ok(TxEnd::Commit(delivery_from_row(&row)?))
    })
}
