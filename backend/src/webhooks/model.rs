//! What webhooks are made of: endpoints, deliveries, settings and errors.

use std::time::Duration;

use lifecycle::webhooks::EventKind;
use serde::{Deserialize, Serialize};

use crate::{configuration::KeyError, error::Error};

/// The name a signing secret is sealed under (with its runtime).
pub(crate) use crate::configuration::keyring::WEBHOOK_SECRET_BINDING as SECRET_BINDING;
/// Every signing secret starts with this.
pub const SECRET_PREFIX: &str = "whsec_";

/// How the dispatcher works; the defaults are production's, tests shorten
/// them.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often the outbox is looked at.
    pub poll: Duration,
    /// How long one try may take before it counts as failed.
    pub timeout: Duration,
    /// The wait after the first failed try; it doubles after each.
    pub first_retry: Duration,
    /// Whether endpoints may be plain `http://` (outside production).
    pub allow_http: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(250),
            timeout: Duration::from_secs(10),
            first_retry: Duration::from_secs(30),
            allow_http: false,
        }
    }
}

/// An endpoint as the admins' pages list it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: i64,
    pub runtime: String,
    pub url: String,
    pub kinds: Vec<EventKind>,
    pub created_at: String,
    pub created_by: String,
    /// Deliveries waiting or being retried.
    pub pending: i64,
    /// Deliveries given up after every try.
    pub failed: i64,
}

/// An endpoint just registered, with its signing secret shown this once.
#[derive(Debug, Clone)]
pub struct Created {
    pub secret: String,
    pub endpoint: Endpoint,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub(super) fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(Error::Corrupt(format!("unknown delivery state {other:?}"))),
        }
    }
}

/// One event's delivery to one endpoint, as its log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: i64,
    /// The audit entry it tells of, also the event's id.
    pub audit_id: i64,
    pub kind: String,
    pub state: DeliveryState,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_attempt_at: Option<String>,
    /// The receiver's HTTP status on the last try, if it answered.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    Invalid(String),
    #[error("There is no runtime {0}.")]
    UnknownRuntime(String),
    #[error("There is no such webhook.")]
    Unknown,
    #[error("There is no such delivery.")]
    UnknownDelivery,
    #[error(
        "The console has no secret key (CONSOLE_SECRET_KEY or --secret-key-file), so it cannot keep a webhook's signing secret."
    )]
    NoKey,
    #[error(transparent)]
    Key(KeyError),
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<sqlx::Error> for WebhookError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

impl From<KeyError> for WebhookError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::NoKey => Self::NoKey,
            other => Self::Key(other),
        }
    }
}
