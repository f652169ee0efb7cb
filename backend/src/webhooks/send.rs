//! Sending an endpoint's deliveries: under the endpoint's lease (one replica
//! at a time), oldest event first, each signed, each try recorded, a failed
//! one retried after a doubling wait until the tries run out. A later event
//! is never sent before an earlier one that is still being retried.

use chrono::Utc;
use hmac::{Hmac, Mac};
use lifecycle::webhooks::{MAX_ATTEMPTS, retry_delay, signed_content};
use sha2::Sha256;

use super::model::{SECRET_BINDING, Settings};
use crate::{
    audit::now_timestamp, configuration::Keyring, db::Database, error::Error, releases::timestamp,
};

/// The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "Console-Signature";
/// The most of a receiver's error answer kept in the delivery log.
const ERROR_CHARS: usize = 300;

/// The `Console-Signature` value for `body` sent at `timestamp`: the
/// HMAC-SHA256, keyed with the endpoint's secret (its text, as shown at
/// registration), of `"{timestamp}.{body}"`, in lowercase hex.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(signed_content(timestamp, body).as_bytes());
    let hex = crate::audit::hex(&mac.finalize().into_bytes());
    format!("t={timestamp},v1={hex}")
}

/// Takes (or renews) endpoint `id`'s lease for `owner`: whether it holds it.
pub(super) async fn lease(
    db: &Database,
    id: i64,
    owner: &str,
    settings: &Settings,
) -> Result<bool, Error> {
    let now = Utc::now();
    let length = chrono::Duration::from_std(settings.timeout * 3)
        .unwrap_or(chrono::Duration::seconds(30))
        + chrono::Duration::seconds(5);
    let until = timestamp(now + length);
    let now = timestamp(now);
    let taken = on_pool!(db, |pool| sqlx::query(
        "UPDATE webhook_endpoints SET lease_owner = $1, lease_until = $2 \
         WHERE id = $3 AND deleted_at IS NULL \
         AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $1)"
    )
    .bind(owner)
    .bind(&until)
    .bind(id)
    .bind(&now)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(taken == 1)
}

async fn release(db: &Database, id: i64, owner: &str) -> Result<(), Error> {
    on_pool!(db, |pool| sqlx::query(
        "UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND lease_owner = $2"
    )
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}

struct Head {
    id: i64,
    audit_id: i64,
    kind: String,
    body: String,
    attempts: i64,
    next_attempt_at: String,
}

struct Target {
    runtime: String,
    url: String,
    secret_sealed: String,
}

/// Sends endpoint `id`'s due deliveries in order while this replica holds
/// its lease; how many were delivered.
pub(super) async fn send_endpoint(
    db: &Database,
    keyring: &Keyring,
    client: &reqwest::Client,
    settings: &Settings,
    owner: &str,
    id: i64,
) -> Result<usize, Error> {
    if !lease(db, id, owner, settings).await? {
        return Ok(0);
    }
    let sent = send_leased(db, keyring, client, settings, owner, id).await;
    release(db, id, owner).await?;
    sent
}

async fn send_leased(
    db: &Database,
    keyring: &Keyring,
    client: &reqwest::Client,
    settings: &Settings,
    owner: &str,
    id: i64,
) -> Result<usize, Error> {
    let target: Option<(String, String, String)> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT runtime, url, secret_sealed FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    });
    let Some((runtime, url, secret_sealed)) = target else {
        return Ok(0);
    };
    let target = Target {
        runtime,
        url,
        secret_sealed,
    };
    let secret = match keyring.open(&target.runtime, SECRET_BINDING, &target.secret_sealed) {
        Ok(secret) => secret,
        Err(error) => {
            tracing::error!(webhook = id, %error, "cannot open the webhook's signing secret; nothing is sent to it");
            return Ok(0);
        }
    };
    let mut delivered = 0;
    loop {
        let head: Option<(i64, i64, String, String, i64, String)> = on_pool!(db, |pool| {
            sqlx::query_as(
                "SELECT id, audit_id, kind, body, attempts, next_attempt_at FROM webhook_deliveries \
                 WHERE endpoint_id = $1 AND state = 'pending' ORDER BY audit_id LIMIT 1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        let head = head.map(
            |(id, audit_id, kind, body, attempts, next_attempt_at)| Head {
                id,
                audit_id,
                kind,
                body,
                attempts,
                next_attempt_at,
            },
        );
        let Some(head) = head else {
            return Ok(delivered);
        };
        if head.next_attempt_at > now_timestamp() {
            // The oldest waits for its retry, and everything after it too.
            return Ok(delivered);
        }
        if !lease(db, id, owner, settings).await? {
            return Ok(delivered);
        }
        let outcome = try_once(client, &target.url, &secret, &head).await;
        let attempts = head.attempts + 1;
        let now = Utc::now();
        let (state, next, status, error) = match outcome {
            Ok(status) => ("delivered", now, Some(status), None),
            Err((status, error)) => {
                let tries = u32::try_from(attempts).unwrap_or(u32::MAX);
                let state = if tries >= MAX_ATTEMPTS {
                    "failed"
                } else {
                    "pending"
                };
                let wait = chrono::Duration::from_std(retry_delay(tries, settings.first_retry))
                    .unwrap_or(chrono::Duration::hours(1));
                tracing::info!(webhook = id, delivery = head.id, attempts, %error, "webhook delivery failed");
                (state, now + wait, status, Some(error))
            }
        };
        let now_text = timestamp(now);
        on_pool!(db, |pool| sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, attempts = $2, next_attempt_at = $3, \
             last_attempt_at = $4, last_status = $5, last_error = $6, \
             delivered_at = CASE WHEN $1 = 'delivered' THEN $4 ELSE NULL END \
             WHERE id = $7 AND state = 'pending'"
        )
        .bind(state)
        .bind(attempts)
        .bind(timestamp(next))
        .bind(&now_text)
        .bind(status)
        .bind(&error)
        .bind(head.id)
        .execute(pool)
        .await?
        .rows_affected());
        if state == "delivered" {
            delivered += 1;
        }
    }
}

/// One try: the receiver's status when it answered 2xx, else the status (if
/// any) and why it failed, in words safe for the delivery log.
async fn try_once(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    head: &Head,
) -> Result<i64, (Option<i64>, String)> {
    let sent_at = Utc::now().timestamp();
    let answer = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Console-Event", &head.kind)
        .header("Console-Event-Id", head.audit_id.to_string())
        .header("Console-Delivery", head.id.to_string())
        .header(SIGNATURE_HEADER, sign(secret, sent_at, &head.body))
        .body(head.body.clone())
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let status = i64::from(answer.status().as_u16());
            if answer.status().is_success() {
                Ok(status)
            } else {
                let text = answer.text().await.unwrap_or_default();
                let text: String = text.chars().take(ERROR_CHARS).collect();
                Err((Some(status), format!("answered {status}: {text}")))
            }
        }
        Err(error) if error.is_timeout() => Err((None, "no answer in time".to_owned())),
        Err(error) if error.is_connect() => Err((None, "could not connect".to_owned())),
        Err(error) => Err((None, format!("could not send: {error}"))),
    }
}
