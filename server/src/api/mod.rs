//! The REST API under `/api/v1`: JSON for pipelines, scripts and the
//! command-line client, authenticated by a bearer token (or a same-origin
//! session). Every handler calls the backend service the pages' server
//! functions call; errors are problem details ([`problem`]).

use axum::{
    Router, middleware,
    routing::{get, post},
};

use crate::state::AppState;

mod audit;
pub mod caller;
mod changes;
pub mod openapi;
pub mod problem;
mod runtimes;
mod schema;
mod tokens;
mod versions;
mod webhooks;

pub use problem::Problem;

/// The API's routes, to be nested at `/api/v1` inside the session layers.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/runtimes", get(runtimes::list))
        .route("/runtimes/{runtime}/releases", get(changes::releases))
        .route(
            "/runtimes/{runtime}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/runtimes/{runtime}/webhooks/{id}",
            axum::routing::delete(webhooks::delete),
        )
        .route(
            "/runtimes/{runtime}/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/runtimes/{runtime}/webhooks/{id}/deliveries/{delivery}/resend",
            post(webhooks::resend),
        )
        .route("/approvals", get(changes::approvals))
        .route("/approvals/{id}/decision", post(changes::decide))
        .route(
            "/runtimes/{runtime}/versions",
            get(versions::list).post(versions::register),
        )
        .route("/runtimes/{runtime}/versions/{version}", get(versions::get))
        .route(
            "/runtimes/{runtime}/versions/{version}/actions",
            post(versions::act),
        )
        .route(
            "/runtimes/{runtime}/versions/{version}/nodes/{node}/logs",
            get(versions::logs),
        )
        .route("/audit", get(audit::list))
        .route("/audit/export", get(audit::export))
        .route("/tokens", get(tokens::mine))
        .fallback(problem::no_such_path)
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            caller::authenticate,
        ))
        // After the layer: the description is public.
        .route("/openapi.json", get(openapi::document))
}
