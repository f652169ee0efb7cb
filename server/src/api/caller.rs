//! Who calls the REST API: a bearer token's owner (narrowed to its scope and
//! their role now) or the signed-in user of a same-origin session, whose
//! cross-site refusal the outer layers keep. Anyone else gets 401.

use std::net::SocketAddr;

use app::ConsoleError;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use backend::{
    Services,
    audit::{Actor, via::TokenRef},
    auth::{Attempt, AuthSession},
    tokens::{self, Refused},
};
use lifecycle::{Permission, Role};

use super::problem::Problem;
use crate::state::AppState;

/// The caller of one API request, put into its extensions by
/// [`authenticate`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    /// The token the request came with; `None` for a session.
    pub token: Option<TokenRef>,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: Some(self.user_id),
            email: self.email.clone(),
            role: self.role.as_str().to_owned(),
        }
    }

    /// `Ok` when the caller's role (a token's: capped by its scope) grants
    /// `permission`; a refused change is audited as the pages' are.
    pub async fn require(
        &self,
        services: &Services,
        permission: Permission,
        audit_as: Option<Attempt>,
    ) -> Result<(), Problem> {
        match backend::auth::authorize(&services.db, &self.actor(), self.role, permission, audit_as)
            .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(refusal)) => Err(ConsoleError::Forbidden(refusal.to_owned()).into()),
            Err(error) => {
                tracing::error!(%error, "could not check a permission");
                Err(ConsoleError::Unavailable.into())
            }
        }
    }
}

/// The one answer for every token that is not accepted.
fn bad_token() -> Response {
    let mut problem = Problem::from(ConsoleError::Unauthenticated);
    problem.detail = Refused::Invalid.to_string();
    let mut response = problem.into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"console\""),
    );
    response
}

/// Authenticates the request and runs it as its caller: a token's request
/// runs inside [`backend::audit::via::with_token`], so each audit entry it
/// writes names the token.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().map(str::to_owned));
    match authorization {
        Some(value) => {
            let Some(presented) = value
                .ok()
                .and_then(|v| v.strip_prefix("Bearer ").map(|t| t.trim().to_owned()))
            else {
                return bad_token();
            };
            let client = client_ip(&request, state.auth.trusted_proxy_hops);
            match tokens::authenticate(&state.services.db, &state.auth.throttle, &presented, client)
                .await
            {
                Ok(bearer) => {
                    let caller = Caller {
                        user_id: bearer.user_id,
                        email: bearer.email,
                        role: bearer.role,
                        token: Some(bearer.token.clone()),
                    };
                    request.extensions_mut().insert(caller);
                    backend::audit::via::with_token(bearer.token, next.run(request)).await
                }
                Err(Refused::Invalid) => bad_token(),
                Err(Refused::Throttled(seconds)) => Problem::from(ConsoleError::Throttled(
                    Refused::Throttled(seconds).to_string(),
                    seconds,
                ))
                .into_response(),
                Err(Refused::Store(error)) => {
                    tracing::error!(%error, "could not check an API token");
                    Problem::from(ConsoleError::Unavailable).into_response()
                }
            }
        }
        None => {
            let user = request
                .extensions()
                .get::<AuthSession>()
                .and_then(|auth| auth.user.clone());
            let Some(user) = user else {
                return Problem::from(ConsoleError::Unauthenticated).into_response();
            };
            request.extensions_mut().insert(Caller {
                user_id: user.id,
                email: user.email,
                role: user.role,
                token: None,
            });
            next.run(request).await
        }
    }
}

/// The client's address: the TCP peer, or behind `hops` trusted proxies
/// the one they recorded in `X-Forwarded-For`.
fn client_ip(request: &Request, hops: usize) -> Option<std::net::IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    backend::auth::forwarded_client(&forwarded, hops).or(peer)
}
