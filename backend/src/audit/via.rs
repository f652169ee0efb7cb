//! Which API token a request came with, for every audit entry it writes.
//!
//! The REST API runs a token's request inside [`with_token`]; whatever that
//! request appends (the action's entry, a refusal's, a configuration
//! change's) then names the token in its details, without each service
//! having to be told. Work handed to other tasks (the reconciler's system
//! transitions) is not the caller's and is not marked.

use std::future::Future;

use serde::{Deserialize, Serialize};

/// A token as the audit log names it: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRef {
    pub id: i64,
    pub name: String,
}

tokio::task_local! {
    static VIA_TOKEN: TokenRef;
}

/// Runs `work` as a request made with `token`.
pub async fn with_token<F: Future>(token: TokenRef, work: F) -> F::Output {
    VIA_TOKEN.scope(token, work).await
}

/// The token of the request running on this task, if it came with one.
pub fn current_token() -> Option<TokenRef> {
    VIA_TOKEN.try_with(Clone::clone).ok()
}

/// `details` with `"token": {id, name}` when a user's request came with a
/// token (details that are not an object are wrapped as `{"details": ..}`).
pub(super) fn mark(details: &serde_json::Value, actor_is_user: bool) -> String {
    match current_token().filter(|_| actor_is_user) {
        None => details.to_string(),
        Some(token) => {
            let mut object = match details {
                serde_json::Value::Object(map) => map.clone(),
                serde_json::Value::Null => serde_json::Map::new(),
                other => serde_json::Map::from_iter([("details".to_owned(), other.clone())]),
            };
            object.insert(
                "token".to_owned(),
                serde_json::json!({"id": token.id, "name": token.name}),
            );
            serde_json::Value::Object(object).to_string()
        }
    }
}
