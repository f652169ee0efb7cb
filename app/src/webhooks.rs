//! Webhooks of a runtime, for admins: the endpoints, adding one (its signing
//! secret answered once), removing one, and each endpoint's delivery log
//! with "send again".

use leptos::prelude::*;
use lifecycle::webhooks::EventKind;
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

/// Where a runtime's webhooks are listed.
pub fn webhooks_path(runtime: &str) -> String {
    format!("/runtimes/{}/webhooks", crate::audit::encode(runtime))
}

/// Where one endpoint's delivery log is.
pub fn deliveries_path(runtime: &str, id: i64) -> String {
    format!("{}/{id}", webhooks_path(runtime))
}

/// The form field (`events[<field>]`) of an event kind: its name without
/// dots, which form decoding would take apart.
pub fn field_of_kind(kind: EventKind) -> String {
    kind.as_str().replace('.', "_")
}

#[cfg(feature = "ssr")]
fn kind_of_field(field: &str) -> String {
    field.replace('_', ".")
}

/// An endpoint as the page lists it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRow {
    pub id: i64,
    pub runtime: String,
    pub url: String,
    pub kinds: Vec<EventKind>,
    pub created_at: String,
    pub created_by: String,
    pub pending: i64,
    pub failed: i64,
}

/// An endpoint just added, with its signing secret shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhook {
    pub secret: String,
    pub row: WebhookRow,
}

/// One delivery in an endpoint's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_id: i64,
    pub kind: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_attempt_at: Option<String>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}

/// An endpoint with its newest deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLog {
    pub webhook: WebhookRow,
    pub deliveries: Vec<DeliveryRow>,
}

#[server(endpoint = "webhooks/list")]
pub async fn list_webhooks(runtime: String) -> Result<Vec<WebhookRow>, ConsoleError> {
    let (services, _) = ssr::admin(None, &runtime).await?;
    backend::runtimes::get(&services.db, &runtime).await?;
    let list = backend::webhooks::list(&services.db, Some(&runtime))
        .await
        .map_err(crate::server::unavailable)?;
    Ok(list.into_iter().map(ssr::row).collect())
}

/// Adds an endpoint to `runtime` for the event kinds in `events`.
#[server(endpoint = "webhooks/create")]
pub async fn create_webhook(
    runtime: String,
    url: String,
    #[server(default)] events: std::collections::BTreeMap<String, String>,
) -> Result<NewWebhook, ConsoleError> {
    let (services, user) =
        ssr::admin(Some(lifecycle::AuditAction::WebhookCreate), &runtime).await?;
    let names: Vec<String> = events.keys().map(|key| kind_of_field(key)).collect();
    let kinds = lifecycle::webhooks::event_kinds(&names).map_err(ConsoleError::Invalid)?;
    let created = backend::webhooks::create(
        &services.db,
        &services.keyring(),
        &user.actor(),
        &runtime,
        &url,
        &kinds,
        services.webhooks.allow_http,
    )
    .await?;
    Ok(NewWebhook {
        secret: created.secret,
        row: ssr::row(created.endpoint),
    })
}

#[server(endpoint = "webhooks/delete")]
pub async fn delete_webhook(runtime: String, id: i64) -> Result<(), ConsoleError> {
    let (services, user) =
        ssr::admin(Some(lifecycle::AuditAction::WebhookDelete), &runtime).await?;
    backend::webhooks::of_runtime(&services.db, &runtime, id).await?;
    backend::webhooks::delete(&services.db, &user.actor(), id).await?;
    Ok(())
}

/// Endpoint `id`'s newest deliveries.
#[server(endpoint = "webhooks/deliveries")]
pub async fn webhook_deliveries(runtime: String, id: i64) -> Result<DeliveryLog, ConsoleError> {
    let (services, _) = ssr::admin(None, &runtime).await?;
    let webhook = backend::webhooks::of_runtime(&services.db, &runtime, id).await?;
    let deliveries = backend::webhooks::deliveries(&services.db, id, None, 100)
        .await
        .map_err(crate::server::unavailable)?;
    Ok(DeliveryLog {
        webhook: ssr::row(webhook),
        deliveries: deliveries.into_iter().map(ssr::delivery).collect(),
    })
}

/// Sends delivery `delivery` of endpoint `id` again, from its first try.
#[server(endpoint = "webhooks/resend")]
pub async fn resend_delivery(
    runtime: String,
    id: i64,
    delivery: i64,
) -> Result<DeliveryRow, ConsoleError> {
    let (services, user) =
        ssr::admin(Some(lifecycle::AuditAction::WebhookResend), &runtime).await?;
    backend::webhooks::of_runtime(&services.db, &runtime, id).await?;
    let sent = backend::webhooks::resend(&services.db, &user.actor(), id, delivery).await?;
    Ok(ssr::delivery(sent))
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{DeliveryRow, WebhookRow};
    use backend::auth::SessionUser;

    use crate::{
        ConsoleError,
        server::{Attempt, require},
    };

    /// An admin; a refused change is audited as denied.
    pub async fn admin(
        action: Option<lifecycle::AuditAction>,
        runtime: &str,
    ) -> Result<(backend::Services, SessionUser), ConsoleError> {
        let attempt = action.map(|action| Attempt {
            action,
            runtime: Some(runtime.to_owned()),
            version: None,
        });
        require(lifecycle::Permission::ManageRuntimes, attempt).await
    }

    pub fn row(e: backend::webhooks::Endpoint) -> WebhookRow {
        WebhookRow {
            id: e.id,
            runtime: e.runtime,
            url: e.url,
            kinds: e.kinds,
            created_at: e.created_at,
            created_by: e.created_by,
            pending: e.pending,
            failed: e.failed,
        }
    }

    pub fn delivery(d: backend::webhooks::Delivery) -> DeliveryRow {
        DeliveryRow {
            id: d.id,
            event_id: d.audit_id,
            kind: d.kind,
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
        }
    }
}
