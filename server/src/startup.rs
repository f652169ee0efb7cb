//! Wiring: connects the services, builds the router and runs it.

use std::{future::Future, net::SocketAddr, path::Path, sync::OnceLock};

use app::{App, BUNDLE_NAME, shell};
use axum::{
    Router, middleware,
    routing::{get, post},
    serve::ListenerExt,
};
use axum_login::AuthManagerLayerBuilder;
use backend::{Cluster, ClusterMode, Database, Services, auth::AuthBackend};
use leptos::{
    config::{Env, LeptosOptions},
    prelude::provide_context,
};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tower_http::{
    CompressionLevel,
    compression::CompressionLayer,
    services::ServeDir,
    trace::{DefaultOnFailure, TraceLayer},
};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};
use tracing::Level;

use crate::{
    config::Config,
    emulated,
    headers::{self, HeaderPolicy},
    housekeeping,
    routes::{audit_export, change_trail, csp_report, diff, health, live, metrics, serving},
    security::{self, SessionPolicy},
    state::AppState,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database {url}: {source}")]
    Database { url: String, source: backend::Error },
    #[error("cannot configure the cluster connection ({mode}): {source}")]
    Cluster {
        mode: ClusterMode,
        source: backend::Error,
    },
    #[error("cannot load the audit signing key: {0}")]
    AuditKey(backend::audit::receipt::KeyError),
    #[error("the secret key: {0}")]
    SecretKey(backend::configuration::KeyError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub fn leptos_options(site_root: &Path, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(BUNDLE_NAME)
        .site_root(site_root.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(if cfg!(debug_assertions) {
            Env::DEV
        } else {
            Env::PROD
        })
        .build()
}

/// The app's routes, walked once per process. Walking them renders the app
/// with resource loading switched off through a process-wide flag
/// (`leptos::server::SuppressResourceLoad`): a page rendered anywhere in the
/// process meanwhile never loads its resources and never answers. Building a
/// second router (the tests build one per test, in parallel with other
/// tests' requests) must not walk them again.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: OnceLock<Vec<leptos_axum::AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole HTTP surface: probes, server functions, pages, static files.
pub fn router(state: AppState) -> Router {
    let routes = route_list();
    let context = {
        let services = state.services.clone();
        let auth = state.auth.clone();
        let receipts = app::server::Receipts(state.audit_key.clone());
        move || {
            provide_context(services.clone());
            provide_context(auth.clone());
            provide_context(receipts.clone());
            // The nonce of this response's Content-Security-Policy, for the
            // hydration script (overrides the one leptos_axum made).
            if let Some(nonce) = headers::request_nonce() {
                provide_context(nonce);
            }
        }
    };
    let session_layer = SessionManagerLayer::new(state.auth.sessions.clone())
        .with_name("console_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.sessions.secure_cookies)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::seconds(
                i64::try_from(state.sessions.idle.as_secs()).unwrap_or(i64::MAX),
            ),
        ));
    let auth_layer =
        AuthManagerLayerBuilder::new(AuthBackend::new(state.services.db.clone()), session_layer)
            .build();
    let policy = SessionPolicy {
        absolute: state.sessions.absolute,
    };
    let render = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        // The bundle, with the .br/.gz copies `make build-release` writes
        // next to it when the browser accepts them.
        .nest_service(
            "/pkg",
            ServeDir::new(
                Path::new(&*state.leptos_options.site_root)
                    .join(&*state.leptos_options.site_pkg_dir),
            )
            .precompressed_br()
            .precompressed_gzip(),
        )
        .nest("/api/v1", crate::api::routes(&state))
        .route("/api/audit/export", get(audit_export::export))
        .route("/api/runtimes/{runtime}/serving", get(serving::serving))
        .route(
            "/api/runtimes/{runtime}/change-requests",
            get(change_trail::trail),
        )
        .route("/api/runtimes/{runtime}/diff", get(diff::diff))
        .route(headers::CSP_REPORT_PATH, post(csp_report::receive))
        .route(
            "/api/live/runtimes/{runtime}/versions/{version}",
            get(live::version_events),
        )
        .leptos_routes_with_context(&state, routes, context.clone(), render)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(middleware::from_fn_with_state(
            policy,
            security::session_gate,
        ))
        .layer(auth_layer)
        .layer(middleware::from_fn(security::refuse_cross_site))
        .layer(middleware::from_fn(security::limit_body))
        .layer(middleware::from_fn(security::refuse_unusable_paths))
        .layer(middleware::from_fn_with_state(
            HeaderPolicy {
                secure: state.sessions.secure_cookies,
            },
            headers::protect,
        ))
        // Brotli or gzip for pages, the wasm bundle and exports; the default
        // predicate leaves event streams (and tiny bodies) uncompressed.
        // A quick level: these are compressed on every request.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(middleware::from_fn(metrics::measure))
        // The server logs its own failures at ERROR where their detail is;
        // the trace line for a 5xx (a 503 for an action without a cluster)
        // is a warning.
        .layer(TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(Level::WARN)))
        .with_state(state)
}

pub struct Application {
    listener: TcpListener,
    /// `/metrics`, when configured.
    metrics_listener: Option<TcpListener>,
    router: Router,
    services: Services,
    /// The embedded cluster, when the console runs on one; it stops with
    /// the application.
    _emulator: Option<emulated::Running>,
}

impl Application {
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        let db = Database::connect(&config.database_url)
            .await
            .map_err(|source| StartupError::Database {
                url: config.redacted_database_url(),
                source,
            })?;
        db.migrate()
            .await
            .map_err(|source| StartupError::Database {
                url: config.redacted_database_url(),
                source,
            })?;
        tracing::info!(database = %config.redacted_database_url(), backend = db.backend().name(), "database ready");

        let fallback = if config.demo_password.is_some() && emulated::AVAILABLE {
            ClusterMode::Emulated
        } else {
            ClusterMode::None
        };
        let mode = config.cluster.resolve_or(fallback);
        let cluster_error = |source| StartupError::Cluster { mode, source };
        let (cluster, emulator) = if mode == ClusterMode::Emulated {
            let (cluster, running) = emulated::start().await.map_err(cluster_error)?;
            (Some(cluster), Some(running))
        } else {
            (Cluster::connect(mode).await.map_err(cluster_error)?, None)
        };
        match &cluster {
            Some(cluster) => {
                tracing::info!(mode = %cluster.mode(), url = cluster.url(), "cluster configured")
            }
            None => tracing::warn!(
                "no cluster configured: set KUBECONFIG, run in a pod, or choose --cluster; \
                 lifecycle actions need one"
            ),
        }

        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.listen,
            source,
        })?;
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::Bind { addr, source })?,
            ),
            None => None,
        };

        if let Some(password) = &config.demo_password {
            let seeded = backend::demo::seed(&db, password).await.map_err(|source| {
                StartupError::Database {
                    url: config.redacted_database_url(),
                    source,
                }
            })?;
            tracing::warn!(
                users = seeded.users,
                versions = seeded.versions,
                "DEMO MODE: demo users (admin@, manager@, viewer@example.com) and the `demo` runtime are present"
            );
        }

        let mut runtime_settings = config.runtime.clone();
        runtime_settings.keyring = config
            .secret_key
            .load_secrets()
            .map_err(StartupError::SecretKey)?;
        match runtime_settings.keyring.key_id() {
            Some(id) => tracing::info!(key = id, "secret values are sealed with this key"),
            None => tracing::warn!(
                "no secret key (--secret-key-file or CONSOLE_SECRET_KEY): secret values of \
                 versions cannot be stored"
            ),
        }
        let keyring = runtime_settings.keyring.clone();
        let mut services = Services::with_runtime(db, cluster, runtime_settings);
        services.webhooks = config.webhooks.clone();
        // Every replica sends webhooks; each endpoint's lease in the
        // database decides which one sends a delivery.
        match backend::webhooks::Dispatcher::new(
            services.db.clone(),
            keyring,
            config.webhooks.clone(),
        ) {
            Ok(dispatcher) => {
                tokio::spawn(backend::webhooks::run(dispatcher));
            }
            Err(error) => tracing::error!(%error, "webhooks cannot be sent"),
        }
        if let Some(days) = config.audit_retention_days {
            tokio::spawn(housekeeping::retention(services.clone(), days));
        }
        let state = AppState::new(
            leptos_options(&config.site_root, addr),
            services.clone(),
            config.sessions,
            config.trusted_proxy_hops,
        )
        .await
        .map_err(|source| StartupError::Database {
            url: config.redacted_database_url(),
            source,
        })?;
        let audit_key = config
            .audit_key
            .load_audit()
            .map_err(StartupError::AuditKey)?;
        match &audit_key {
            Some(key) => {
                tracing::info!(public_key = %key.public(), "audit receipts are signed; keep this public key to verify them");
                tokio::spawn(housekeeping::audit_checkpoints(
                    services.clone(),
                    key.clone(),
                    config.audit_checkpoint,
                ));
            }
            None => tracing::warn!(
                "no audit signing key (--audit-key-file): actions answer without receipts \
                 and truncation of the audit log cannot be detected"
            ),
        }
        let state = state.with_audit_key(audit_key);
        tokio::spawn(housekeeping::change_control(services.clone()));
        tokio::spawn(housekeeping::expired_sessions(
            services.clone(),
            state.auth.sessions.clone(),
        ));
        Ok(Self {
            listener,
            metrics_listener,
            router: router(state),
            services,
            _emulator: emulator,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        // Bound in `build`, so the address is known; fall back to unspecified
        // rather than panic if the OS cannot tell.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish, then
    /// closes the database pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The peer address feeds sign-in throttling per client.
        // No Nagle: pages stream in several small writes, and on a kept-alive
        // connection each would wait for the client's delayed ACK (~40 ms).
        let listener = self.listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        let metrics = self.metrics_listener.map(|listener| {
            let app = metrics::router(self.services.db.clone());
            tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, app).await {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            })
        });
        let result = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        self.services.db.close().await;
        tracing::info!("shutdown complete");
        result
    }
}
