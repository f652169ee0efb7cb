//! The harness every conformance suite shares: the in-process emulator,
//! and the real cluster `CONFORMANCE_KUBECONFIG` names, with helpers that
//! make fresh namespaces and standard objects.
#![allow(dead_code)]

use std::time::Duration;

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Namespace},
};
use kube::{Api, Client, Config, api::PostParams};
use serde_json::json;

pub struct Cluster {
    pub client: Client,
    pub _emulator: Option<kube_emulator::Running>,
}

pub async fn emulator_with(config: kube_emulator::Config) -> (Cluster, String) {
    let running = kube_emulator::start("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("emulator starts");
    let url = running.url();
    let client = Client::try_from(Config::new(url.parse().expect("url"))).expect("client");
    (
        Cluster {
            client,
            _emulator: Some(running),
        },
        url,
    )
}

pub async fn emulator() -> Cluster {
    emulator_with(kube_emulator::Config {
        ready_after: Duration::from_millis(200),
        ..Default::default()
    })
    .await
    .0
}

/// The emulator, then the real cluster when one is configured.
pub async fn clusters() -> Vec<(&'static str, Cluster)> {
    let mut all = vec![("emulator", emulator().await)];
    match std::env::var("CONFORMANCE_KUBECONFIG") {
        Ok(path) if !path.is_empty() => {
            let kubeconfig = kube::config::Kubeconfig::read_from(&path).expect("kubeconfig");
            let config = Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .expect("config");
            all.push((
                "real cluster",
                Cluster {
                    client: Client::try_from(config).expect("client"),
                    _emulator: None,
                },
            ));
        }
        _ => println!("real cluster: skipped (CONFORMANCE_KUBECONFIG not set)"),
    }
    all
}

pub async fn namespace(client: &Client) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "conf-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace");
    name
}

/// Creates `object` through `api`; the server must accept it.
pub async fn create<K>(api: &Api<K>, object: &K) -> K
where
    K: Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.create(&PostParams::default(), object)
        .await
        .expect("create")
}

pub fn api_error(error: kube::Error) -> (u16, String) {
    match error {
        kube::Error::Api(status) => (status.code, status.reason.clone()),
        other => panic!("not an API error: {other:?}"),
    }
}

pub fn configmap(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": "web", "tier": value}}, "data": {"key": value}}))
        .expect("configmap")
}

pub fn deployment(name: &str, image: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]}
            }
        }
    }))
    .expect("deployment")
}

/// An emulator with a fast readiness delay and a kubeconfig for it in
/// `dir`, for the suites that drive it with other clients (kubectl, the
/// Python client).
pub async fn with_kubeconfig(
    dir: &std::path::Path,
) -> (kube_emulator::Running, std::path::PathBuf) {
    let running = kube_emulator::start(
        "127.0.0.1:0".parse().expect("addr"),
        kube_emulator::Config {
            ready_after: Duration::from_millis(200),
            ..Default::default()
        },
    )
    .await
    .expect("emulator starts");
    let kubeconfig = dir.join("kubeconfig");
    kube_emulator::write_kubeconfig(&kubeconfig, &running.url()).expect("kubeconfig");
    (running, kubeconfig)
}
