//! The cluster the backend's integration tests run against: the Kubernetes
//! API emulator over real HTTP, a database with the demo runtime and its
//! example versions, and the runtime (reconciler, watchers) on top.

use std::time::Duration;

use backend::{
    Cluster, ClusterMode, Services,
    audit::Actor,
    manifest_file,
    runtime::{Runtime, Settings, resources},
    versions::{self, VersionRecord},
};
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Client,
    api::{ListParams, PostParams},
};
use lifecycle::{Action, Reason, Routing, Status};
use testkit::{actors, eventually};

pub const DEADLINE: Duration = Duration::from_secs(30);
/// Drift in the cluster is put back by the leader's next pass (one a
/// second); the limit only turns a routing that never comes into a message.
pub const DRIFT: Duration = Duration::from_secs(10);

pub struct Setup {
    pub emulator: kube_emulator::Running,
    pub db: testkit::db::TestDb,
    pub runtime: Runtime,
    pub services: Services,
    pub client: Client,
}

pub fn fast_emulator() -> kube_emulator::Config {
    kube_emulator::Config {
        ready_after: Duration::from_millis(300),
        log_interval: Duration::from_millis(50),
        crash_interval: Duration::from_millis(200),
        ..kube_emulator::Config::default()
    }
}

pub fn fast_settings() -> Settings {
    Settings {
        start_deadline: Duration::from_secs(20),
        stop_deadline: Duration::from_secs(20),
        failure_grace: Duration::from_millis(500),
        call_timeout: Duration::from_secs(5),
        ..Settings::default()
    }
}

pub const CRASHLOOP: &str = r#"{"name": "crashy", "entrypoint": {"image": "registry.example.com/gw:1", "port": 8080},
  "processes": [{"name": "worker", "image": "registry.example.com/crashloop:1", "replicas": 1}]}"#;

impl Setup {
    pub async fn new() -> Self {
        Self::with(fast_emulator(), fast_settings()).await
    }

    pub async fn with(config: kube_emulator::Config, settings: Settings) -> Self {
        Self::on(testkit::db::sqlite().await, config, settings).await
    }

    /// On a fresh schema of the PostgreSQL server at `url`, where replicas
    /// elect a leader.
    pub async fn on_postgres(url: &str) -> Self {
        Self::on(
            testkit::db::postgres(url).await,
            fast_emulator(),
            fast_settings(),
        )
        .await
    }

    pub fn cluster(&self) -> Cluster {
        self.services.cluster.clone().expect("a cluster")
    }

    pub async fn on(
        db: testkit::db::TestDb,
        config: kube_emulator::Config,
        settings: Settings,
    ) -> Self {
        let emulator = kube_emulator::start("127.0.0.1:0".parse().expect("addr"), config)
            .await
            .expect("emulator starts");
        backend::runtimes::ensure(&db.db, "demo", "apps.example.com")
            .await
            .expect("runtime");
        for text in [
            include_str!("../../../examples/manifests/v1.yaml"),
            include_str!("../../../examples/manifests/v2.yaml"),
            include_str!("../../../examples/manifests/broken.json"),
            CRASHLOOP,
        ] {
            let manifest = manifest_file::parse(text.as_bytes()).expect("manifest");
            versions::register(&db.db, &Actor::System, "demo", &manifest)
                .await
                .expect("registered");
        }
        let config = kube::Config::new(emulator.url().parse().expect("url"));
        let cluster = Cluster::from_config(config, ClusterMode::Kubeconfig).expect("client");
        let client = cluster.client().clone();
        let runtime = Runtime::spawn(db.db.clone(), &cluster, settings);
        let services = Services {
            db: db.db.clone(),
            cluster: Some(cluster),
            runtime: Some(runtime.clone()),
            webhooks: Default::default(),
        };
        Self {
            emulator,
            db,
            runtime,
            services,
            client,
        }
    }

    pub async fn record(&self, version: &str) -> VersionRecord {
        versions::get(&self.db.db, "demo", version)
            .await
            .expect("version")
    }

    /// An operator's action through the one action path; a publish or
    /// unpublish waits, as the operator would, until the traffic has moved.
    pub async fn act(&self, version: &str, action: Action) {
        let current = self.record(version).await.status;
        let actor = actors::user(1, "manager@example.com", "manager");
        let reason = Reason::parse("integration test").expect("reason");
        self.services
            .act(&actor, "demo", version, action, current, &reason)
            .await
            .expect("action accepted");
        if action.changes_traffic() {
            let moved = |record: VersionRecord| match action {
                Action::Publish => record.routing() == Some(Routing::Serving),
                _ => record.serving_version.as_deref() != Some(version),
            };
            eventually("the traffic moved", DEADLINE, || async {
                moved(self.record(version).await)
            })
            .await;
        }
    }

    /// Waits until the version settles in `status`, failing fast (with the
    /// recorded message) if it settles anywhere else.
    pub async fn settles(&self, version: &str, status: Status) -> VersionRecord {
        let wait = async {
            loop {
                let record = self.record(version).await;
                if !record.status.is_in_flight() {
                    return record;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let record = tokio::time::timeout(DEADLINE, wait)
            .await
            .unwrap_or_else(|_| panic!("{version} still in flight after {DEADLINE:?}"));
        assert_eq!(
            record.status, status,
            "{version} settled in {} ({:?})",
            record.status, record.error_message
        );
        record
    }

    pub async fn faults(&self, body: serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/emulator/faults", self.emulator.url()))
            .json(&body)
            .send()
            .await
            .expect("faults endpoint");
        assert!(response.status().is_success());
    }

    /// The runtime's namespace, made by hand before any start, with `labels`.
    pub async fn create_namespace(&self, labels: serde_json::Value) {
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
        let namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "demo", "labels": labels}
        }))
        .expect("namespace");
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .expect("namespace created");
    }

    /// A ResourceQuota in the runtime's namespace allowing `pods` pods.
    pub async fn create_pod_quota(&self, name: &str, pods: &str) {
        let quotas: Api<k8s_openapi::api::core::v1::ResourceQuota> =
            Api::namespaced(self.client.clone(), "demo");
        let quota = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name}, "spec": {"hard": {"pods": pods}}
        }))
        .expect("quota");
        quotas
            .create(&PostParams::default(), &quota)
            .await
            .expect("quota created");
    }

    pub async fn version_objects<K>(&self, version: &str) -> Vec<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), "demo");
        api.list(&ListParams::default().labels(&resources::version_selector("demo", version)))
            .await
            .expect("list")
            .items
    }
}

pub fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}
