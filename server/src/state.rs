//! What every request handler shares: the Leptos options, the backend
//! services, authentication and the session settings.

use axum::extract::FromRef;
use backend::{
    Services,
    audit::receipt::AuditKey,
    auth::{AuthServices, Sessions},
};
use leptos::config::LeptosOptions;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub auth: AuthServices,
    pub sessions: SessionSettings,
    /// Signs the audit receipts of actions; `None` gives none.
    pub audit_key: Option<AuditKey>,
}

/// How session cookies are issued and how long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// Mark the cookie `Secure` (the console is served over HTTPS, usually
    /// behind a TLS-terminating ingress).
    pub secure_cookies: bool,
    pub idle: std::time::Duration,
    pub absolute: std::time::Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            idle: std::time::Duration::from_secs(30 * 60),
            absolute: std::time::Duration::from_secs(12 * 60 * 60),
        }
    }
}

impl AppState {
    /// State over `services`, with the session store on its database.
    pub async fn new(
        leptos_options: LeptosOptions,
        services: Services,
        sessions: SessionSettings,
        trusted_proxy_hops: usize,
    ) -> Result<Self, backend::Error> {
        let store = Sessions::new(&services.db).await?;
        Ok(Self::with_session_store(
            leptos_options,
            services,
            sessions,
            trusted_proxy_hops,
            store,
        ))
    }

    /// State whose sessions live in `store`, wherever that is (tests keep
    /// them working while the services' database is made unreachable).
    pub fn with_session_store(
        leptos_options: LeptosOptions,
        services: Services,
        sessions: SessionSettings,
        trusted_proxy_hops: usize,
        store: Sessions,
    ) -> Self {
        let auth = AuthServices {
            throttle: Default::default(),
            trusted_proxy_hops,
            sessions: store,
        };
        Self {
            leptos_options,
            services,
            auth,
            sessions,
            audit_key: None,
        }
    }

    /// Actions answer with a receipt of the audit chain's head signed by
    /// `key`.
    pub fn with_audit_key(mut self, key: Option<AuditKey>) -> Self {
        self.audit_key = key;
        self
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
