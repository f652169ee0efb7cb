//! The connection to the Kubernetes cluster the console operates.

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use kube::{Client, Config, config::KubeConfigOptions};

use crate::{
    error::{Error, Result},
    health::Check,
};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the cluster connection comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterMode {
    /// In-cluster service account when running in a pod, else `KUBECONFIG`
    /// (or `~/.kube/config`) when present, else no cluster.
    Auto,
    InCluster,
    Kubeconfig,
    /// The Kubernetes API emulator, started inside the console process (the
    /// demo default when no real cluster is configured).
    Emulated,
    None,
}

impl FromStr for ClusterMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "in-cluster" | "incluster" => Ok(Self::InCluster),
            "kubeconfig" => Ok(Self::Kubeconfig),
            "emulated" | "emulator" => Ok(Self::Emulated),
            "none" => Ok(Self::None),
            _ => Err(Error::UnknownClusterMode(s.to_owned())),
        }
    }
}

impl fmt::Display for ClusterMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::InCluster => "in-cluster",
            Self::Kubeconfig => "kubeconfig",
            Self::Emulated => "emulated",
            Self::None => "none",
        })
    }
}

impl ClusterMode {
    /// Turns `Auto` into the concrete mode this environment offers.
    pub fn resolve(self) -> Self {
        self.resolve_or(Self::None)
    }

    /// Like [`resolve`](Self::resolve), with `fallback` when the environment
    /// offers no cluster.
    pub fn resolve_or(self, fallback: Self) -> Self {
        if self != Self::Auto {
            return self;
        }
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            Self::InCluster
        } else if kubeconfig_present() {
            Self::Kubeconfig
        } else {
            fallback
        }
    }
}

fn kubeconfig_present() -> bool {
    if std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty()) {
        return true;
    }
    std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".kube/config").is_file())
        .unwrap_or(false)
}

/// A kube client plus where it points, for logs and the readiness report.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    mode: ClusterMode,
    url: String,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("mode", &self.mode)
            .field("url", &self.url)
            .finish()
    }
}

impl Cluster {
    /// Builds the client for `mode` (after resolving `Auto`); `Ok(None)` when
    /// the console runs without a cluster. Does not contact the cluster.
    pub async fn connect(mode: ClusterMode) -> Result<Option<Self>> {
        let mode = mode.resolve();
        let config = match mode {
            ClusterMode::None => return Ok(None),
            ClusterMode::Emulated => {
                return Err(Error::ClusterConfig(
                    "the emulated cluster is started by the server process".into(),
                ));
            }
            ClusterMode::InCluster => {
                Config::incluster().map_err(|e| Error::ClusterConfig(e.to_string()))?
            }
            ClusterMode::Kubeconfig | ClusterMode::Auto => {
                Config::from_kubeconfig(&KubeConfigOptions::default())
                    .await
                    .map_err(|e| Error::ClusterConfig(e.to_string()))?
            }
        };
        Self::from_config(config, mode).map(Some)
    }

    pub fn from_config(mut config: Config, mode: ClusterMode) -> Result<Self> {
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        let url = config.cluster_url.to_string();
        let client = Client::try_from(config)?;
        Ok(Self { client, mode, url })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn mode(&self) -> ClusterMode {
        self.mode
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The API server's version, proving it answers.
    pub async fn version(&self) -> Result<String> {
        let info = tokio::time::timeout(CHECK_TIMEOUT, self.client.apiserver_version())
            .await
            .map_err(|_| Error::Timeout {
                what: "cluster version request",
                after: CHECK_TIMEOUT,
            })??;
        Ok(info.git_version)
    }

    pub async fn check(&self) -> Check {
        match self.version().await {
            Ok(version) => Check::ok(version),
            Err(error) => {
                tracing::warn!(%error, url = %self.url, "cluster readiness check failed");
                Check::unreachable()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modes_case_insensitively_and_rejects_others() {
        assert_eq!("auto".parse::<ClusterMode>().ok(), Some(ClusterMode::Auto));
        assert_eq!(
            "In-Cluster".parse::<ClusterMode>().ok(),
            Some(ClusterMode::InCluster)
        );
        assert_eq!(
            "kubeconfig".parse::<ClusterMode>().ok(),
            Some(ClusterMode::Kubeconfig)
        );
        assert_eq!("none".parse::<ClusterMode>().ok(), Some(ClusterMode::None));
        assert!(matches!(
            "minikube".parse::<ClusterMode>(),
            Err(Error::UnknownClusterMode(_))
        ));
    }

    #[test]
    fn display_round_trips() {
        for mode in [
            ClusterMode::Auto,
            ClusterMode::InCluster,
            ClusterMode::Kubeconfig,
            ClusterMode::Emulated,
            ClusterMode::None,
        ] {
            assert_eq!(mode.to_string().parse::<ClusterMode>().ok(), Some(mode));
        }
    }

    #[tokio::test]
    async fn mode_none_has_no_cluster() {
        assert!(
            Cluster::connect(ClusterMode::None)
                .await
                .expect("no error")
                .is_none()
        );
    }

    #[tokio::test]
    async fn an_api_server_that_refuses_connections_is_unreachable() {
        let config = Config::new("http://127.0.0.1:1".parse().expect("valid uri"));
        let cluster = Cluster::from_config(config, ClusterMode::Kubeconfig).expect("client builds");
        assert_eq!(cluster.check().await, Check::unreachable());
    }
}
