//! What the cluster's pods say about each node: one watcher per runtime
//! namespace keeps a summary of every managed pod, from which node states are
//! computed on demand.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
    time::Instant,
};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Client,
    runtime::{WatchStreamExt, watcher},
};
use lifecycle::{Manifest, NodeState, NodeStatus, Status};

use super::{
    changes::VersionKey,
    resources::{NODE_LABEL, VERSION_LABEL, managed_selector},
};

/// Container waiting reasons that mean a pod will not become ready by itself
/// soon. They may still clear (a registry comes back), hence the grace period
/// before a start is failed.
const FAILURE_REASONS: [&str; 7] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: String,
    pub message: Option<String>,
    /// When this watcher first saw the pod fail (reset by recovery).
    pub since: Instant,
}

#[derive(Debug, Clone)]
pub struct PodSummary {
    pub name: String,
    pub version: String,
    pub node: String,
    /// The pod's `Ready` condition is `True`.
    pub ready: bool,
    pub terminating: bool,
    /// At least one container is running (its logs can be followed).
    pub running: bool,
    pub failure: Option<Failure>,
    /// Why the pod waits without failing: the scheduler's reason and
    /// message while it fits no node (`Unschedulable`).
    pub pending: Option<(String, Option<String>)>,
}

impl PodSummary {
    fn from_pod(pod: &Pod, previous: Option<&PodSummary>) -> Option<Self> {
        let labels = pod.metadata.labels.as_ref()?;
        let status = pod.status.as_ref();
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let containers = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        let running = containers
            .iter()
            .any(|c| c.state.as_ref().and_then(|s| s.running.as_ref()).is_some());
        let waiting_failure = containers.iter().find_map(|c| {
            let waiting = c.state.as_ref()?.waiting.as_ref()?;
            let reason = waiting.reason.as_deref()?;
            FAILURE_REASONS
                .contains(&reason)
                .then(|| (reason.to_owned(), waiting.message.clone()))
        });
        let failed_phase = status
            .filter(|s| s.phase.as_deref() == Some("Failed"))
            .map(|s| {
                (
                    s.reason.clone().unwrap_or_else(|| "Failed".to_owned()),
                    s.message.clone(),
                )
            });
        let failure = waiting_failure.or(failed_phase).map(|(reason, message)| {
            let since = previous
                .and_then(|p| p.failure.as_ref())
                .map(|f| f.since)
                .unwrap_or_else(Instant::now);
            Failure {
                reason,
                message,
                since,
            }
        });
        // Unschedulable may clear (capacity freed, a node added): the pod
        // waits, named, until the start deadline.
        let pending = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c.type_ == "PodScheduled" && c.status == "False")
            })
            .map(|c| {
                (
                    c.reason
                        .clone()
                        .unwrap_or_else(|| "Unschedulable".to_owned()),
                    c.message.clone(),
                )
            });
        Some(Self {
            name: pod.metadata.name.clone()?,
            version: labels.get(VERSION_LABEL)?.clone(),
            node: labels.get(NODE_LABEL)?.clone(),
            ready,
            terminating: pod.metadata.deletion_timestamp.is_some(),
            running,
            failure,
            pending,
        })
    }
}

#[derive(Default)]
struct NamespacePods {
    /// The watcher has listed the namespace at least once: until then no
    /// node state is known, and nothing may be concluded from absence.
    synced: bool,
    pods: HashMap<String, PodSummary>,
    /// Pods seen during a relist, swapped in when it completes.
    relisting: Option<HashMap<String, PodSummary>>,
}

/// Summaries of every managed pod, per namespace.
#[derive(Default, Clone)]
pub struct PodStore {
    namespaces: Arc<Mutex<HashMap<String, NamespacePods>>>,
}

/// A node's pods failing for a while: what fails a start after the grace.
#[derive(Debug, Clone)]
pub struct NodeFailure {
    pub node: String,
    pub reason: String,
    pub message: Option<String>,
    pub since: Instant,
}

impl PodStore {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, NamespacePods>> {
        // A panic while holding the lock cannot leave a summary half-written
        // (every write is a single insert or swap), so keep serving.
        self.namespaces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn is_synced(&self, namespace: &str) -> bool {
        self.lock().get(namespace).is_some_and(|ns| ns.synced)
    }

    /// The pods of one version (terminating ones included).
    pub fn version_pods(&self, namespace: &str, version: &str) -> Vec<PodSummary> {
        self.lock()
            .get(namespace)
            .map(|ns| {
                ns.pods
                    .values()
                    .filter(|p| p.version == version)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Node states of a version in `status`, the entrypoint first. `None`
    /// until the namespace has been listed.
    pub fn nodes(
        &self,
        namespace: &str,
        manifest: &Manifest,
        status: Status,
    ) -> Option<Vec<NodeState>> {
        if !self.is_synced(namespace) {
            return None;
        }
        let pods = self.version_pods(namespace, &manifest.name);
        Some(version_nodes(manifest, status, &pods))
    }

    /// The earliest failure of each failing node of a version.
    pub fn failures(&self, namespace: &str, version: &str) -> Vec<NodeFailure> {
        let mut by_node: HashMap<String, NodeFailure> = HashMap::new();
        for pod in self.version_pods(namespace, version) {
            let Some(failure) = pod.failure.filter(|_| !pod.terminating) else {
                continue;
            };
            let entry = by_node.entry(pod.node.clone()).or_insert(NodeFailure {
                node: pod.node.clone(),
                reason: failure.reason.clone(),
                message: failure.message.clone(),
                since: failure.since,
            });
            if failure.since < entry.since {
                entry.since = failure.since;
            }
        }
        let mut failures: Vec<NodeFailure> = by_node.into_values().collect();
        failures.sort_by(|a, b| a.node.cmp(&b.node));
        failures
    }

    /// Applies one watcher event; returns the versions whose pods changed.
    fn apply(&self, namespace: &str, event: watcher::Event<Pod>) -> HashSet<String> {
        let mut guard = self.lock();
        let ns = guard.entry(namespace.to_owned()).or_default();
        let mut touched = HashSet::new();
        match event {
            watcher::Event::Init => ns.relisting = Some(HashMap::new()),
            watcher::Event::InitApply(pod) => {
                let previous = pod.metadata.name.as_ref().and_then(|n| ns.pods.get(n));
                if let Some(summary) = PodSummary::from_pod(&pod, previous) {
                    ns.relisting
                        .get_or_insert_with(HashMap::new)
                        .insert(summary.name.clone(), summary);
                }
            }
            watcher::Event::InitDone => {
                let listed = ns.relisting.take().unwrap_or_default();
                touched.extend(ns.pods.values().map(|p| p.version.clone()));
                touched.extend(listed.values().map(|p| p.version.clone()));
                ns.pods = listed;
                ns.synced = true;
            }
            watcher::Event::Apply(pod) => {
                let previous = pod.metadata.name.as_ref().and_then(|n| ns.pods.get(n));
                if let Some(summary) = PodSummary::from_pod(&pod, previous) {
                    touched.insert(summary.version.clone());
                    ns.pods.insert(summary.name.clone(), summary);
                }
            }
            watcher::Event::Delete(pod) => {
                if let Some(removed) = pod.metadata.name.as_ref().and_then(|n| ns.pods.remove(n)) {
                    touched.insert(removed.version);
                }
            }
        }
        touched
    }

    /// Pods of the namespace whose logs can be followed.
    pub fn running_pods(&self, namespace: &str) -> Vec<PodSummary> {
        self.lock()
            .get(namespace)
            .map(|ns| {
                ns.pods
                    .values()
                    .filter(|p| p.running && !p.terminating)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Every node of a version in `status` from the version's pods (none when
/// the cluster cannot be asked), the entrypoint first.
pub fn version_nodes(manifest: &Manifest, status: Status, pods: &[PodSummary]) -> Vec<NodeState> {
    let expected_running = matches!(
        status,
        Status::Starting | Status::Started | Status::Published
    );
    manifest
        .node_replicas()
        .map(|(node, replicas)| {
            let of_node: Vec<&PodSummary> = pods.iter().filter(|p| p.node == node).collect();
            node_state(node, replicas, &of_node, expected_running)
        })
        .collect()
}

/// One node's state from its pods. Ready means every desired replica has a
/// pod whose `Ready` condition is true and no other pod is left over from a
/// rollout; a failing pod makes the node `error` with the Kubernetes reason.
pub fn node_state(
    node: &str,
    desired: u32,
    pods: &[&PodSummary],
    expected_running: bool,
) -> NodeState {
    let live: Vec<&&PodSummary> = pods.iter().filter(|p| !p.terminating).collect();
    let ready = live.iter().filter(|p| p.ready).count() as u32;
    let failure = live.iter().find_map(|p| p.failure.as_ref());
    let (status, reason, message) = if let Some(failure) = failure {
        (
            NodeStatus::Error,
            Some(failure.reason.clone()),
            failure.message.clone(),
        )
    } else if expected_running && ready >= desired && live.len() as u32 <= desired {
        (NodeStatus::Ready, None, None)
    } else if expected_running && ready >= desired {
        // More pods than desired, all there: a rollout (a configuration
        // change) replacing the old ones, amber until they are gone.
        (
            NodeStatus::Starting,
            Some("RollingOut".to_owned()),
            Some("New pods are replacing the old ones.".to_owned()),
        )
    } else if pods.is_empty() && !expected_running {
        (NodeStatus::Stopped, None, None)
    } else if let Some((reason, message)) = live.iter().find_map(|p| p.pending.as_ref()) {
        (NodeStatus::Starting, Some(reason.clone()), message.clone())
    } else {
        (NodeStatus::Starting, None, None)
    };
    NodeState {
        name: node.to_owned(),
        status,
        ready,
        desired: if expected_running { desired } else { 0 },
        reason,
        message,
    }
}

/// Watches the managed pods of `namespace` until the task is aborted,
/// calling `changed` with every version whose pods changed. The watcher
/// resumes from its last resourceVersion after a dropped watch and relists
/// after `410 Expired`; errors back off instead of spinning.
pub async fn watch_namespace(
    client: Client,
    namespace: String,
    store: PodStore,
    changed: impl Fn(VersionKey),
) {
    let api: Api<Pod> = Api::namespaced(client, &namespace);
    let config = watcher::Config::default().labels(&managed_selector());
    let mut events = watcher(api, config).default_backoff().boxed();
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => {
                for version in store.apply(&namespace, event) {
                    changed(VersionKey::new(&namespace, &version));
                }
            }
            Err(error) => {
                tracing::warn!(%error, %namespace, "pod watch failed; retrying with backoff");
                crate::metrics::watch_restarted();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(node: &str, ready: bool, failure: Option<&str>) -> PodSummary {
        PodSummary {
            name: format!("{node}-pod"),
            version: "v1".into(),
            node: node.into(),
            ready,
            terminating: false,
            running: ready,
            failure: failure.map(|reason| Failure {
                reason: reason.into(),
                message: None,
                since: Instant::now(),
            }),
            pending: None,
        }
    }

    #[test]
    fn a_node_is_ready_only_with_every_desired_replica_ready() {
        let a = pod("score", true, None);
        let b = pod("score", false, None);
        let state = node_state("score", 2, &[&a, &b], true);
        assert_eq!(
            (state.status, state.ready, state.desired),
            (NodeStatus::Starting, 1, 2)
        );
        let c = pod("score", true, None);
        assert_eq!(
            node_state("score", 2, &[&a, &c], true).status,
            NodeStatus::Ready
        );
        assert_eq!(
            node_state("score", 2, &[], true).status,
            NodeStatus::Starting
        );
        assert_eq!(
            node_state("score", 2, &[], false).status,
            NodeStatus::Stopped
        );
    }

    #[test]
    fn a_failing_pod_puts_its_reason_on_the_node() {
        let a = pod("score", true, None);
        let b = pod("score", false, Some("CrashLoopBackOff"));
        let state = node_state("score", 2, &[&a, &b], true);
        assert_eq!(state.status, NodeStatus::Error);
        assert_eq!(state.reason.as_deref(), Some("CrashLoopBackOff"));
    }

    #[test]
    fn a_rollout_is_amber_until_the_old_pods_are_gone() {
        let (old, new) = (pod("score", true, None), pod("score", false, None));
        assert_eq!(
            node_state("score", 1, &[&old, &new], true).status,
            NodeStatus::Starting,
            "the new pod is not ready yet"
        );
        let ready = pod("score", true, None);
        let state = node_state("score", 1, &[&old, &ready], true);
        assert_eq!(
            (state.status, state.reason.as_deref()),
            (NodeStatus::Starting, Some("RollingOut"))
        );
        let mut leaving = old.clone();
        leaving.terminating = true;
        assert_eq!(
            node_state("score", 1, &[&leaving, &ready], true).status,
            NodeStatus::Ready
        );
    }

    #[test]
    fn terminating_pods_do_not_count_as_ready() {
        let mut a = pod("score", true, None);
        a.terminating = true;
        assert_eq!(
            node_state("score", 1, &[&a], true).status,
            NodeStatus::Starting
        );
    }
}
