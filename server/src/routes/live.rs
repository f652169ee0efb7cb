//! The live stream of a version for its details screen: server-sent events,
//! one `version` event with the whole state on connect and one at every
//! change of its status, nodes or routing. The caller's access is checked
//! again at every change and at least every 10 s: once the session is gone
//! (signed out, revoked, expired) or the user disabled or no longer allowed,
//! the stream sends an `ended` event and ends.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use backend::{
    Services,
    auth::{AuthSession, SessionUser, Sessions},
    runtime::VersionKey,
    versions::VersionError,
};
use futures::{Stream, stream};
use lifecycle::{Permission, VersionLive};
use tokio::sync::broadcast;

use super::{permitted, refuse};
use crate::state::AppState;

/// Without a cluster nothing announces changes: re-read this often.
const REFRESH: Duration = Duration::from_secs(5);
/// The caller's access is checked again at least this often.
const RECHECK: Duration = Duration::from_secs(10);

/// Who opened the stream, to check again while it runs.
struct Access {
    sessions: Sessions,
    session: tower_sessions::session::Id,
    user: SessionUser,
}

pub async fn version_events(
    State(state): State<AppState>,
    auth: AuthSession,
    Path((runtime, version)): Path<(String, String)>,
) -> Response {
    let session = auth.session.id();
    let user = match permitted(auth, Permission::View, "Your role may not see versions.") {
        Ok(user) => user,
        Err((code, message)) => return refuse(code, message),
    };
    let Some(session) = session else {
        return refuse(StatusCode::UNAUTHORIZED, "Please sign in to continue.");
    };
    let access = Access {
        sessions: state.auth.sessions.clone(),
        session,
        user,
    };
    let services = state.services.clone();
    // Subscribe before the first read: no change can fall between them.
    let changes = services
        .runtime
        .as_ref()
        .map(|rt| (rt.subscribe(), rt.settings().stream_refresh));
    let first = match services.live(&runtime, &version).await {
        Ok(live) => live,
        Err(VersionError::UnknownVersion { .. }) => {
            return refuse(StatusCode::NOT_FOUND, "There is no such version.");
        }
        Err(error) => {
            tracing::error!(%error, "live stream could not read the version");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "The console cannot reach a service it depends on. Try again in a moment.",
            );
        }
    };
    let key = VersionKey::new(&runtime, &version);
    Sse::new(updates(services, access, key, first, changes))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn event(live: &VersionLive) -> Result<Event, Infallible> {
    Ok(Event::default()
        .event("version")
        .json_data(live)
        .unwrap_or_else(|error| {
            tracing::error!(%error, "version state did not serialise");
            Event::default().event("error").data("unavailable")
        }))
}

struct Updates {
    services: Services,
    access: Access,
    ended: bool,
    key: VersionKey,
    changes: Option<(broadcast::Receiver<VersionKey>, Duration)>,
    last: Option<VersionLive>,
    pending_first: Option<VersionLive>,
}

/// The first state, then a new one whenever it differs from the last sent.
fn updates(
    services: Services,
    access: Access,
    key: VersionKey,
    first: VersionLive,
    changes: Option<(broadcast::Receiver<VersionKey>, Duration)>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = Updates {
        services,
        access,
        ended: false,
        key,
        changes,
        last: None,
        pending_first: Some(first),
    };
    stream::unfold(state, |mut state| async move {
        if let Some(first) = state.pending_first.take() {
            let sent = event(&first);
            state.last = Some(first);
            return Some((sent, state));
        }
        if state.ended {
            return None;
        }
        loop {
            wait_for_change(&mut state.changes, &state.key).await;
            // Both reads at once: a change is on the stream in the time of
            // the slower read, not of both.
            let (allowed, read) = tokio::join!(
                state.allowed(),
                state.services.live(&state.key.runtime, &state.key.version)
            );
            if !allowed {
                state.ended = true;
                tracing::info!(user = %state.access.user.email, version = %state.key, "live stream ended: access is gone");
                return Some((
                    Ok(Event::default().event("ended").data("access ended")),
                    state,
                ));
            }
            match read {
                Ok(live) if state.last.as_ref() != Some(&live) => {
                    let sent = event(&live);
                    state.last = Some(live);
                    return Some((sent, state));
                }
                Ok(_) => continue,
                // The version is gone: end the stream.
                Err(VersionError::UnknownVersion { .. }) => return None,
                Err(error) => {
                    tracing::warn!(%error, version = %state.key, "live stream could not refresh");
                    continue;
                }
            }
        }
    })
}

impl Updates {
    /// Whether the caller may still see the version. A store that does not
    /// answer keeps the stream (the next check decides).
    async fn allowed(&self) -> bool {
        let access = &self.access;
        match backend::auth::still_allowed(
            &self.services.db,
            &access.sessions,
            access.session,
            &access.user,
            Permission::View,
        )
        .await
        {
            Ok(allowed) => allowed,
            Err(error) => {
                tracing::warn!(%error, "live stream could not check access");
                true
            }
        }
    }
}

/// Until the version changes, or at most until its access is due a check.
async fn wait_for_change(
    changes: &mut Option<(broadcast::Receiver<VersionKey>, Duration)>,
    key: &VersionKey,
) {
    match changes {
        Some((changes, refresh)) => {
            backend::runtime::changed_within(changes, key, (*refresh).min(RECHECK)).await
        }
        None => tokio::time::sleep(REFRESH.min(RECHECK)).await,
    }
}
