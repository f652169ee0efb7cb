//! API tokens on `/profile` (the signed-in user's own) and `/users` (every
//! user's, for admins). The secret is answered once, by `create_token`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

/// A token as the pages list it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: i64,
    pub owner: String,
    pub name: String,
    pub scope: lifecycle::TokenScope,
    pub prefix: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub last_address: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub state: String,
}

/// A token just made, with the secret shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub token: String,
    pub row: TokenRow,
}

#[server(endpoint = "tokens/mine")]
pub async fn my_tokens() -> Result<Vec<TokenRow>, ConsoleError> {
    let (services, user) = crate::server::signed_in().await?;
    let tokens = backend::tokens::list(&services.db, Some(user.id))
        .await
        .map_err(crate::server::unavailable)?;
    Ok(ssr::rows(tokens))
}

/// Every user's tokens, for admins.
#[server(endpoint = "tokens/all")]
pub async fn all_tokens() -> Result<Vec<TokenRow>, ConsoleError> {
    let (services, _) = crate::server::require(lifecycle::Permission::ManageUsers, None).await?;
    let tokens = backend::tokens::list(&services.db, None)
        .await
        .map_err(crate::server::unavailable)?;
    Ok(ssr::rows(tokens))
}

/// Makes a token for the signed-in user: a name, a scope no wider than
/// their role, and a lifetime in days (at most a year).
#[server(endpoint = "tokens/create")]
pub async fn create_token(
    name: String,
    scope: String,
    days: String,
) -> Result<NewToken, ConsoleError> {
    let (services, user) = crate::server::signed_in().await?;
    let scope: lifecycle::TokenScope = scope
        .parse()
        .map_err(|_| ConsoleError::Invalid("Scope: read, operate or admin.".to_owned()))?;
    let days = lifecycle::tokens::token_days(&days).map_err(ConsoleError::Invalid)?;
    let created = backend::tokens::create(
        &services.db,
        &user.actor(),
        user.id,
        user.role,
        &name,
        scope,
        days,
    )
    .await?;
    let row = ssr::rows(vec![created.info])
        .pop()
        .ok_or(ConsoleError::Internal)?;
    Ok(NewToken {
        token: created.token,
        row,
    })
}

/// Revokes a token: the caller's own, or anyone's for an admin. The next
/// request with it is refused, on every replica.
#[server(endpoint = "tokens/revoke")]
pub async fn revoke_token(id: i64) -> Result<(), ConsoleError> {
    let (services, user) = crate::server::signed_in().await?;
    backend::tokens::revoke(&services.db, &user.actor(), user.id, user.role, id).await?;
    Ok(())
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::TokenRow;

    pub fn rows(tokens: Vec<backend::tokens::TokenInfo>) -> Vec<TokenRow> {
        let now = backend::audit::now_timestamp();
        tokens
            .into_iter()
            .map(|t| TokenRow {
                state: t.state(&now).to_owned(),
                id: t.id,
                owner: t.owner,
                name: t.name,
                scope: t.scope,
                prefix: t.prefix,
                created_at: t.created_at,
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
                last_address: t.last_address,
            })
            .collect()
    }
}
