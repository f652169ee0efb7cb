//! The caller's own API tokens (never their secrets).

use axum::{Extension, Json, extract::State};
use backend::tokens::TokenInfo;
use lifecycle::Permission;

use super::{
    caller::Caller,
    problem::{Problem, store_failed},
};
use crate::state::AppState;

pub async fn mine(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<TokenInfo>>, Problem> {
    caller
        .require(&state.services, Permission::View, None)
        .await?;
    let tokens = backend::tokens::list(&state.services.db, Some(caller.user_id))
        .await
        .map_err(store_failed)?;
    Ok(Json(tokens))
}
