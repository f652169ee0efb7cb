//! The caller's own API tokens (never their secrets).

use axum::{Extension, Json, extract::State};
use backend::tokens::TokenInfo;
use lifecycle::Permission;
use serde::Serialize;

use super::{
    caller::Caller,
    problem::{Problem, store_failed},
};
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/tokens", operation_id = "listTokens", tag = "tokens",
    responses((status = 200, description = "The caller's tokens, never their secrets", body = [ApiToken]),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn mine(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<ApiToken>>, Problem> {
    caller
        .require(&state.services, Permission::View, None)
        .await?;
    let tokens = backend::tokens::list(&state.services.db, Some(caller.user_id))
        .await
        .map_err(store_failed)?;
    Ok(Json(tokens.into_iter().map(ApiToken::from).collect()))
}

/// A token as the API lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// read, operate or admin (never beyond the owner's role).
    pub scope: String,
    pub prefix: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub last_address: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<TokenInfo> for ApiToken {
    fn from(t: TokenInfo) -> Self {
        Self {
            id: t.id,
            name: t.name,
            scope: t.scope.as_str().to_owned(),
            prefix: t.prefix,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            last_address: t.last_address,
            revoked_at: t.revoked_at,
        }
    }
}
