//! User management for admins: every call needs the `manage_users`
//! permission, a reason, and leaves an audit entry (accepted or denied).

use leptos::prelude::*;
use lifecycle::Role;
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
}

#[server(endpoint = "users/list")]
pub async fn list_users() -> Result<Vec<UserRow>, ConsoleError> {
    let (services, _) = ssr::admin(None).await?;
    let users = backend::users::list(&services.db)
        .await
        .map_err(crate::server::unavailable)?;
    Ok(users.into_iter().map(ssr::row).collect())
}

#[server(endpoint = "users/create")]
pub async fn create_user(
    email: String,
    role: String,
    password: String,
    reason: String,
) -> Result<UserRow, ConsoleError> {
    let (services, admin) = ssr::admin(Some(lifecycle::AuditAction::UserCreate)).await?;
    let role = ssr::role(&role)?;
    let reason = ssr::reason(&reason)?;
    backend::users::create(
        &services.db,
        &admin.actor(),
        &email,
        role,
        &password,
        &reason,
    )
    .await
    .map(ssr::row)
    .map_err(ConsoleError::from)
}

#[server(endpoint = "users/role")]
pub async fn change_user_role(
    id: i64,
    role: String,
    reason: String,
) -> Result<UserRow, ConsoleError> {
    let (services, admin) = ssr::admin(Some(lifecycle::AuditAction::UserRoleChange)).await?;
    let role = ssr::role(&role)?;
    let reason = ssr::reason(&reason)?;
    backend::users::change_role(&services.db, &admin.actor(), id, role, &reason)
        .await
        .map(ssr::row)
        .map_err(ConsoleError::from)
}

/// Disabling ends every session of the user at once.
#[server(endpoint = "users/disabled")]
pub async fn set_user_disabled(
    id: i64,
    disabled: bool,
    reason: String,
) -> Result<UserRow, ConsoleError> {
    let action = if disabled {
        lifecycle::AuditAction::UserDisable
    } else {
        lifecycle::AuditAction::UserEnable
    };
    let (services, admin) = ssr::admin(Some(action)).await?;
    let reason = ssr::reason(&reason)?;
    backend::users::set_disabled(&services.db, &admin.actor(), id, disabled, &reason)
        .await
        .map(ssr::row)
        .map_err(ConsoleError::from)
}

#[server(endpoint = "users/revoke")]
pub async fn revoke_user_sessions(id: i64, reason: String) -> Result<UserRow, ConsoleError> {
    let (services, admin) = ssr::admin(Some(lifecycle::AuditAction::UserRevokeSessions)).await?;
    let reason = ssr::reason(&reason)?;
    backend::users::revoke_sessions(&services.db, &admin.actor(), id, &reason)
        .await
        .map(ssr::row)
        .map_err(ConsoleError::from)
}

/// Sets a new password and ends the user's sessions.
#[server(endpoint = "users/password")]
pub async fn reset_user_password(
    id: i64,
    password: String,
    reason: String,
) -> Result<UserRow, ConsoleError> {
    let (services, admin) = ssr::admin(Some(lifecycle::AuditAction::UserPasswordReset)).await?;
    let reason = ssr::reason(&reason)?;
    backend::users::reset_password(&services.db, &admin.actor(), id, &password, &reason)
        .await
        .map(ssr::row)
        .map_err(ConsoleError::from)
}

#[cfg(feature = "ssr")]
mod ssr {
    use backend::{Services, auth::SessionUser, users::User};
    use lifecycle::{AuditAction, Permission, Reason, Role};

    use super::UserRow;
    use crate::{
        ConsoleError,
        server::{Attempt, require},
    };

    /// An admin, or a refusal; a refused change (`action` given) is
    /// audited, a refused read is not.
    pub async fn admin(
        action: Option<AuditAction>,
    ) -> Result<(Services, SessionUser), ConsoleError> {
        let attempt = action.map(|action| Attempt {
            action,
            runtime: None,
            version: None,
        });
        require(Permission::ManageUsers, attempt).await
    }

    pub fn row(user: User) -> UserRow {
        UserRow {
            id: user.id,
            email: user.email,
            role: user.role,
            disabled: user.disabled,
            created_at: user.created_at,
        }
    }

    pub fn role(text: &str) -> Result<Role, ConsoleError> {
        text.parse()
            .map_err(|_| ConsoleError::Invalid("Role must be viewer, manager or admin.".into()))
    }

    pub fn reason(text: &str) -> Result<Reason, ConsoleError> {
        Reason::parse(text).map_err(|e| ConsoleError::Invalid(e.to_string()))
    }
}
