//! Who is signed in, and signing in and out.

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
    let session = crate::server::auth_session().await?;
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
    use crate::server::{
        LOGIN_AT_KEY, auth_services, auth_session, client_ip, internal, services, unix_now,
    };

    let services = services()?;
    let auth_services = auth_services()?;
    let mut session = auth_session().await?;
    let client = client_ip().await;
    let user = backend::auth::sign_in(
        &services.db,
        &auth_services.throttle,
        &email,
        &password,
        client,
    )
    .await?;
    // A sign-in is always a new session under a new id. axum-login cycles
    // the id only for a session not signed in yet; over a signed-in one (a
    // cookie someone planted, say) the old session ends here first, so its
    // id never carries this user's privileges.
    if session.user.is_some() {
        session.logout().await.map_err(internal)?;
    }
    session.login(&user).await.map_err(internal)?;
    session.session.cycle_id().await.map_err(internal)?;
    session
        .session
        .insert(LOGIN_AT_KEY, unix_now())
        .await
        .map_err(internal)?;
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Ends the session on the server (the cookie is useless afterwards) and
/// goes to the sign-in page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ConsoleError> {
    use crate::server::{auth_session, internal, services, unavailable};
    use backend::audit::{self, NewEntry};
    use lifecycle::{AuditAction, Outcome};

    let services = services()?;
    let mut session = auth_session().await?;
    if let Some(user) = session.user.clone() {
        audit::append(
            &services.db,
            &NewEntry::new(user.actor(), AuditAction::Logout, Outcome::Accepted),
        )
        .await
        .map_err(unavailable)?;
    }
    session.logout().await.map_err(internal)?;
    leptos_axum::redirect("/login");
    Ok(())
}
