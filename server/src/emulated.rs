//! The embedded Kubernetes API emulator, for demo mode and `--cluster
//! emulated`. Behind the `emulator` feature (on by default, so `make run`
//! has it): the production image is built without it, and there asking for
//! it is refused with a clear error instead of a pretend cluster.

use backend::{Cluster, Error};

#[cfg(feature = "emulator")]
pub use kube_emulator::Running;

/// Without the feature nothing runs; the type only keeps the application's
/// shape the same.
#[cfg(not(feature = "emulator"))]
pub enum Running {}

/// Starts the emulator on a free loopback port and a client for it, with
/// a banner on the terminal and in the logs.
#[cfg(feature = "emulator")]
pub async fn start() -> Result<(Cluster, Running), Error> {
    use std::net::SocketAddr;

    let running = kube_emulator::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        kube_emulator::Config::default(),
    )
    .await
    .map_err(|e| Error::ClusterConfig(e.to_string()))?;
    let url = running.url();
    let client_config =
        kube::Config::new(url.parse().map_err(|_| Error::ClusterConfig(url.clone()))?);
    let cluster = Cluster::from_config(client_config, backend::ClusterMode::Emulated)?;
    banner(&url);
    Ok((cluster, running))
}

#[cfg(not(feature = "emulator"))]
pub async fn start() -> Result<(Cluster, Running), Error> {
    Err(Error::ClusterConfig(NOT_BUILT.into()))
}

/// What a console built without the emulator says when asked for it.
pub const NOT_BUILT: &str = "this console was built without the Kubernetes emulator \
     (the production build); point it at a cluster (KUBECONFIG, or run it in a pod) \
     or choose --cluster none";

/// Whether this build can run the emulator: demo mode falls back to it only
/// then.
pub const AVAILABLE: bool = cfg!(feature = "emulator");

/// Nobody should mistake the emulator for a cluster: say so on the
/// terminal and in the logs.
#[cfg(feature = "emulator")]
fn banner(url: &str) {
    let line = "=".repeat(72);
    eprintln!(
        "{line}\n  EMULATED CLUSTER: no Kubernetes cluster is configured, so the console runs\n  \
         on its built-in Kubernetes API emulator at {url}.\n  Nothing here reaches a real \
         cluster. Set KUBECONFIG or run in a pod for that.\n{line}"
    );
    tracing::warn!(
        url,
        "EMULATED CLUSTER: the console runs on its built-in Kubernetes API emulator"
    );
}
