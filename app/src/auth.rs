//! Who is signed in, signing in and out, and the permission check every
//! other server function starts with.

use leptos::prelude::*;
use lifecycle::Role;
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

/// The signed-in user as the pages see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
}

/// `next` after signing in, when it is a path on this site; anything else
/// (absolute URLs, `//host`, backslashes) falls back to the overview.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control)
                && path.len() <= 2000 =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[server(endpoint = "me")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, ConsoleError> {
    let session = ssr::auth_session().await?;
    Ok(session.user.map(|u| CurrentUser {
        id: u.id,
        email: u.email,
        role: u.role,
    }))
}

/// Signs in and redirects to `next`. Works as a plain form POST before the
/// wasm has loaded.
#[server(endpoint = "login")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), ConsoleError> {
    use backend::auth::{self, SignInError};
    use http::StatusCode;

    let services = crate::api::ssr::services()?;
    let auth_services = ssr::auth_services()?;
    let mut session = ssr::auth_session().await?;
    let client = ssr::client_ip().await;
    match auth::sign_in(
        &services.db,
        &auth_services.throttle,
        &email,
        &password,
        client,
    )
    .await
    {
        Ok(user) => {
            session.login(&user).await.map_err(ssr::internal)?;
            session
                .session
                .insert(ssr::LOGIN_AT_KEY, ssr::unix_now())
                .await
                .map_err(ssr::internal)?;
            leptos_axum::redirect(&safe_next(next.as_deref()));
            Ok(())
        }
        Err(SignInError::Invalid) => {
            ssr::set_status(StatusCode::UNAUTHORIZED);
            Err(ConsoleError::Invalid(SignInError::Invalid.to_string()))
        }
        Err(error @ SignInError::Throttled(_)) => {
            ssr::set_status(StatusCode::TOO_MANY_REQUESTS);
            Err(ConsoleError::Invalid(error.to_string()))
        }
        Err(SignInError::Store(error)) => Err(ssr::unavailable(error)),
    }
}

/// Ends the session on the server (the cookie is useless afterwards) and
/// goes to the sign-in page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ConsoleError> {
    use backend::audit::{self, NewEntry};
    use lifecycle::{AuditAction, Outcome};

    let services = crate::api::ssr::services()?;
    let mut session = ssr::auth_session().await?;
    if let Some(user) = session.user.clone() {
        audit::append(
            &services.db,
            &NewEntry::new(user.actor(), AuditAction::Logout, Outcome::Accepted),
        )
        .await
        .map_err(ssr::unavailable)?;
    }
    session.logout().await.map_err(ssr::internal)?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! The server side of authentication for server functions.

    use std::net::{IpAddr, SocketAddr};

    use backend::{
        Services,
        audit::{self, NewEntry},
        auth::{AuthServices, AuthSession, SessionUser},
    };
    use http::StatusCode;
    use leptos::prelude::use_context;
    use leptos_axum::ResponseOptions;
    use lifecycle::{AuditAction, Outcome, Permission};

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

    /// Sets the answer's status for calls from the wasm (and curl). A plain
    /// form post (before the wasm loads) keeps leptos' redirect back to the
    /// form, which carries the error for the form to show.
    pub fn set_status(status: StatusCode) {
        if plain_form_post() {
            return;
        }
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(status);
        }
    }

    /// Whether the call is a browser's plain form submission (no wasm yet),
    /// which expects a page back rather than data.
    pub fn plain_form_post() -> bool {
        use_context::<http::request::Parts>().is_some_and(|parts| {
            parts.method == http::Method::POST
                && parts
                    .headers
                    .get(http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("text/html"))
        })
    }

    /// Logs the detail; the browser gets the generic message.
    pub fn internal(error: impl std::fmt::Display) -> ConsoleError {
        tracing::error!(%error, "server function failed");
        set_status(StatusCode::INTERNAL_SERVER_ERROR);
        ConsoleError::Internal
    }

    /// A dependency (database) did not answer; logged, answered as 503.
    pub fn unavailable(error: impl std::fmt::Display) -> ConsoleError {
        tracing::error!(%error, "a dependency failed during a server function");
        set_status(StatusCode::SERVICE_UNAVAILABLE);
        ConsoleError::Unavailable
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
        let services = crate::api::ssr::services()?;
        match auth_session().await?.user {
            Some(user) => Ok((services, user)),
            None => {
                set_status(StatusCode::UNAUTHORIZED);
                Err(ConsoleError::Unauthenticated)
            }
        }
    }

    /// What a refused caller was trying to do, for the `denied` entry.
    pub struct Attempt {
        pub action: AuditAction,
        pub runtime: Option<String>,
        pub version: Option<String>,
    }

    /// The signed-in user when their role grants `permission`; otherwise 401
    /// or 403. A 403 for a change (`audit_as` given) is audited as `denied`;
    /// refused reads are not.
    pub async fn require(
        permission: Permission,
        audit_as: Option<Attempt>,
    ) -> Result<(Services, SessionUser), ConsoleError> {
        let (services, user) = signed_in().await?;
        if user.role.allows(permission) {
            return Ok((services, user));
        }
        if let Some(attempt) = audit_as {
            let mut entry = NewEntry::new(user.actor(), attempt.action, Outcome::Denied)
                .details(serde_json::json!({"missing_permission": permission, "role": user.role}));
            if let Some(runtime) = attempt.runtime {
                entry = entry.target(runtime, attempt.version);
            }
            if let Err(error) = audit::append(&services.db, &entry).await {
                return Err(unavailable(error));
            }
        }
        tracing::info!(user = %user.email, %permission, "refused");
        set_status(StatusCode::FORBIDDEN);
        Err(ConsoleError::Forbidden(permission.refusal().to_owned()))
    }
}
