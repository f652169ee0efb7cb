//! Wiring: connects the services, builds the router and runs it.

use std::{future::Future, net::SocketAddr, path::Path};

use app::{App, BUNDLE_NAME, shell};
use axum::{Router, extract::FromRef, routing::get};
use backend::{Cluster, ClusterMode, Database, Services};
use leptos::{
    config::{Env, LeptosOptions},
    prelude::provide_context,
};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::{config::Config, routes::health};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database {url}: {source}")]
    Database { url: String, source: backend::Error },
    #[error("cannot configure the cluster connection ({mode}): {source}")]
    Cluster {
        mode: ClusterMode,
        source: backend::Error,
    },
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

/// The whole HTTP surface: probes, server functions, pages, static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let services = state.services.clone();
        move || provide_context(services.clone())
    };
    let render = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .leptos_routes_with_context(&state, routes, context.clone(), render)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    services: Services,
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

        let cluster =
            Cluster::connect(config.cluster)
                .await
                .map_err(|source| StartupError::Cluster {
                    mode: config.cluster,
                    source,
                })?;
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

        let services = Services::new(db, cluster);
        if let Some(days) = config.audit_retention_days {
            tokio::spawn(retention_schedule(services.db.clone(), days));
        }
        let state = AppState {
            leptos_options: leptos_options(&config.site_root, addr),
            services: services.clone(),
        };
        Ok(Self {
            listener,
            router: router(state),
            services,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        // Bound in `build`, so the address is known; fall back to unspecified
        // rather than panic if the OS cannot tell.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish, then
    /// closes the database pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        self.services.db.close().await;
        tracing::info!("shutdown complete");
        result
    }
}

/// Applies the configured audit retention now and once a day after, as the
/// system. A failed run is logged and retried at the next tick; the log is
/// never trimmed by anything else.
async fn retention_schedule(db: Database, keep_days: u32) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);
    let reason = match lifecycle::Reason::parse(&format!(
        "configured retention: keep {keep_days} days (--audit-retention-days)"
    )) {
        Ok(reason) => reason,
        Err(error) => {
            tracing::error!(%error, "retention reason refused; retention disabled");
            return;
        }
    };
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) =
            backend::audit_retention::run(&db, &backend::audit::Actor::System, keep_days, &reason)
                .await
        {
            tracing::error!(%error, "audit retention run failed; retrying at the next tick");
        }
    }
}
