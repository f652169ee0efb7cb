//! The server side of every server function: the services and session the
//! request carries, who is signed in and what their role allows, and how
//! backend errors become the [`ConsoleError`] the caller sees (each logged
//! here when its detail must not reach the caller).

use std::net::{IpAddr, SocketAddr};

use backend::{
    Services,
    auth::{AuthServices, AuthSession, SessionUser, SignInError},
    manifest_file::ManifestError,
    runtimes::RuntimesError,
    users::UserError,
    versions::VersionError,
};
use leptos::prelude::use_context;
use lifecycle::Permission;

use crate::ConsoleError;

/// Session key holding when the user signed in (Unix seconds), for the
/// absolute session lifetime.
pub const LOGIN_AT_KEY: &str = "console.login_at";

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Logs the detail; the caller gets the generic message.
pub fn internal(error: impl std::fmt::Display) -> ConsoleError {
    tracing::error!(%error, "server function failed");
    ConsoleError::Internal
}

/// A dependency (the database) did not answer; logged, answered as 503.
pub fn unavailable(error: impl std::fmt::Display) -> ConsoleError {
    tracing::error!(%error, "a dependency failed during a server function");
    ConsoleError::Unavailable
}

/// The services the server put into the request's context. Missing
/// services are a wiring bug, logged here and answered as `Internal`.
pub fn services() -> Result<Services, ConsoleError> {
    use_context::<Services>().ok_or_else(|| internal("backend::Services missing from context"))
}

pub fn auth_services() -> Result<AuthServices, ConsoleError> {
    use_context::<AuthServices>().ok_or_else(|| internal("AuthServices missing from context"))
}

pub async fn auth_session() -> Result<AuthSession, ConsoleError> {
    leptos_axum::extract::<AuthSession>()
        .await
        .map_err(|e| internal(format!("no auth session on the request: {e}")))
}

/// The client's address: the TCP peer, or behind trusted proxies
/// (`--trusted-proxy-hops`) the one they recorded in `X-Forwarded-For`.
/// Throttling per address depends on it: behind an ingress the peer is
/// the ingress itself, shared by everyone.
pub async fn client_ip() -> Option<IpAddr> {
    let peer = leptos_axum::extract::<axum::extract::ConnectInfo<SocketAddr>>()
        .await
        .ok()
        .map(|info| info.0.ip());
    let hops = auth_services().map_or(0, |a| a.trusted_proxy_hops);
    if hops == 0 {
        return peer;
    }
    let headers = leptos_axum::extract::<http::HeaderMap>().await.ok();
    let forwarded = headers
        .iter()
        .flat_map(|h| h.get_all("x-forwarded-for"))
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    backend::auth::forwarded_client(&forwarded, hops).or(peer)
}

/// The signed-in user, or 401.
pub async fn signed_in() -> Result<(Services, SessionUser), ConsoleError> {
    let services = services()?;
    match auth_session().await?.user {
        Some(user) => Ok((services, user)),
        None => Err(ConsoleError::Unauthenticated),
    }
}

pub use backend::auth::Attempt;

/// Whether a form's checkbox (or a JSON flag) is on.
pub fn checked(value: Option<&str>) -> bool {
    matches!(value, Some("on" | "true"))
}

/// The signed-in user when their role grants `permission`; otherwise 401
/// or 403. A 403 for a change (`audit_as` given) is audited as `denied`;
/// refused reads are not.
pub async fn require(
    permission: Permission,
    audit_as: Option<Attempt>,
) -> Result<(Services, SessionUser), ConsoleError> {
    let (services, user) = signed_in().await?;
    match backend::auth::authorize(&services.db, &user.actor(), user.role, permission, audit_as)
        .await
        .map_err(unavailable)?
    {
        Ok(()) => Ok((services, user)),
        Err(refusal) => Err(ConsoleError::Forbidden(refusal.to_owned())),
    }
}

impl From<VersionError> for ConsoleError {
    fn from(error: VersionError) -> Self {
        match error {
            VersionError::Invalid(problems) => Self::InvalidFields(problems),
            VersionError::UnknownRuntime(_)
            | VersionError::UnknownVersion { .. }
            | VersionError::NoRollbackTarget { .. } => Self::NotFound(error.to_string()),
            VersionError::Duplicate { .. }
            | VersionError::Conflict { .. }
            | VersionError::Refused(_)
            | VersionError::MarkedBad { .. }
            | VersionError::BadMarkUnchanged { .. }
            | VersionError::RollbackNeedsStart { .. }
            | VersionError::WindowClosed(_)
            | VersionError::ConfigurationIncomplete { .. }
            | VersionError::ScheduleNeedsApproval(_)
            | VersionError::AlreadyCarriedOut => Self::Conflict(error.to_string()),
            VersionError::OverrideNotAllowed { .. } | VersionError::NoLongerAllowed(_) => {
                Self::Forbidden(error.to_string())
            }
            VersionError::NoCluster => Self::NotConfigured(error.to_string()),
            VersionError::Store(error) => unavailable(error),
        }
    }
}

impl From<backend::change_requests::RequestError> for ConsoleError {
    fn from(error: backend::change_requests::RequestError) -> Self {
        use backend::change_requests::RequestError as E;
        match error {
            E::Unknown(_) => Self::NotFound(error.to_string()),
            E::Closed { .. } => Self::Conflict(error.to_string()),
            E::NotEligible(_) | E::NotRequester => Self::Forbidden(error.to_string()),
            E::Version(error) => error.into(),
        }
    }
}

impl From<backend::schedules::ScheduleError> for ConsoleError {
    fn from(error: backend::schedules::ScheduleError) -> Self {
        use backend::schedules::ScheduleError as E;
        match error {
            E::Unknown(_) => Self::NotFound(error.to_string()),
            E::InPast | E::TooFar => Self::Invalid(error.to_string()),
            E::Closed { .. } | E::NeedsApproval(_) | E::WindowClosedAt(_) => {
                Self::Conflict(error.to_string())
            }
            E::Version(error) => error.into(),
        }
    }
}

impl From<backend::configuration::ConfigError> for ConsoleError {
    fn from(error: backend::configuration::ConfigError) -> Self {
        use backend::configuration::{ConfigError as E, KeyError};
        match error {
            E::Invalid(problems) => Self::InvalidFields(problems),
            E::Key(KeyError::NoKey) => Self::NotConfigured(KeyError::NoKey.to_string()),
            // A key that cannot open what is stored: the operator's
            // problem, logged, never detailed to the caller.
            E::Key(error) => internal(error),
            E::Version(error) => error.into(),
        }
    }
}

impl From<backend::tokens::TokenError> for ConsoleError {
    fn from(error: backend::tokens::TokenError) -> Self {
        use backend::tokens::TokenError as E;
        match error {
            E::Invalid(message) => Self::Invalid(message),
            E::TooWide { .. } => Self::Forbidden(error.to_string()),
            E::Unknown => Self::NotFound(error.to_string()),
            E::NotYours => Self::Forbidden(error.to_string()),
            E::Store(error) => unavailable(error),
        }
    }
}

impl From<backend::webhooks::WebhookError> for ConsoleError {
    fn from(error: backend::webhooks::WebhookError) -> Self {
        use backend::webhooks::WebhookError as E;
        match error {
            E::Invalid(message) => Self::Invalid(message),
            E::UnknownRuntime(_) | E::Unknown | E::UnknownDelivery => {
                Self::NotFound(error.to_string())
            }
            E::NoKey => Self::NotConfigured(error.to_string()),
            E::Key(error) => internal(error),
            E::Store(error) => unavailable(error),
        }
    }
}

impl From<RuntimesError> for ConsoleError {
    fn from(error: RuntimesError) -> Self {
        match error {
            RuntimesError::Invalid(problems) => Self::InvalidFields(problems),
            RuntimesError::Unknown(_) => Self::NotFound(error.to_string()),
            RuntimesError::Exists(_) | RuntimesError::Running { .. } => {
                Self::Conflict(error.to_string())
            }
            RuntimesError::Store(error) => unavailable(error),
        }
    }
}

impl From<ManifestError> for ConsoleError {
    fn from(error: ManifestError) -> Self {
        match error {
            ManifestError::Invalid(problems) => Self::InvalidFields(problems),
            other => Self::Invalid(other.to_string()),
        }
    }
}

impl From<UserError> for ConsoleError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Invalid(message) => Self::Invalid(message),
            UserError::NotFound => Self::NotFound(error.to_string()),
            UserError::EmailTaken(_) | UserError::LastAdmin => Self::Conflict(error.to_string()),
            UserError::Store(error) => unavailable(error),
        }
    }
}

impl From<SignInError> for ConsoleError {
    fn from(error: SignInError) -> Self {
        match error {
            SignInError::Invalid => Self::WrongCredentials(error.to_string()),
            SignInError::Throttled(seconds) => Self::Throttled(error.to_string(), seconds),
            SignInError::Store(error) => unavailable(error),
        }
    }
}

/// The key that signs action receipts, if the console has one.
#[derive(Clone)]
pub struct Receipts(pub Option<backend::audit::receipt::AuditKey>);

/// Puts the signed receipt of the audit entry `id` with `hash` (the chain's
/// head as the action left it) on the answer, as `Audit-Receipt` JSON:
/// whoever keeps it can later prove the log was not cut short
/// (`server audit verify --receipt`).
pub fn attach_receipt(id: i64, hash: &str) {
    let Some(Receipts(Some(key))) = use_context::<Receipts>() else {
        return;
    };
    let receipt = key.sign(id, hash);
    match serde_json::to_string(&receipt).map(|json| http::HeaderValue::from_str(&json)) {
        Ok(Ok(value)) => {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.insert_header(http::HeaderName::from_static("audit-receipt"), value);
            }
        }
        _ => tracing::warn!("an audit receipt did not encode"),
    }
}
