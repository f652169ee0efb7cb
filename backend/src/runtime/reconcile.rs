//! The leader's reconcile loop: on every wake-up and at least once a second,
//! it compares what the database says with what runs and starts or ends a
//! drive per in-flight version, keeps a pod watcher per runtime, follows the
//! logs of running pods and brings each runtime's Ingress in line. Followers
//! only watch pods.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use lifecycle::Status;
use tokio::task::JoinHandle;

use super::{
    changes::VersionKey,
    context::{Context, lock},
    drive,
    error::RuntimeError,
    logs, pods, replicas,
};
use crate::versions;

/// How often the reconciler rescans in-flight versions without a wake-up.
const RESCAN: Duration = Duration::from_secs(1);

impl Context {
    pub(super) fn ensure_followers(&self, namespaces: &[String]) {
        let running: HashMap<String, (String, pods::PodSummary)> = namespaces
            .iter()
            .flat_map(|ns| {
                self.pods
                    .running_pods(ns)
                    .into_iter()
                    .map(move |pod| (format!("{ns}/{}", pod.name), (ns.clone(), pod)))
            })
            .collect();
        let mut followers = lock(&self.followers);
        // A pod that stopped running or is gone: its stream may never end by
        // itself (a hung connection), so end it here.
        followers.retain(|id, task| {
            let keep = !task.is_finished() && running.contains_key(id);
            if !keep {
                task.abort();
            }
            keep
        });
        for (id, (ns, pod)) in running {
            if followers.contains_key(&id) {
                continue;
            }
            let task = logs::follow(
                self.kube.client.clone(),
                self.db.clone(),
                ns,
                pod,
                self.log_sink.clone(),
            );
            followers.insert(id, tokio::spawn(task));
        }
    }

    /// Another replica leads: this one drives nothing, follows no logs and
    /// leaves Ingresses alone, but keeps watching pods so its pages and
    /// streams show live nodes.
    async fn follow_the_leader(
        self: &Arc<Self>,
        drives: &mut HashMap<VersionKey, (String, JoinHandle<()>)>,
    ) -> Result<(), RuntimeError> {
        for (_, (_, task)) in drives.drain() {
            task.abort();
        }
        for (_, task) in lock(&self.followers).drain() {
            task.abort();
        }
        // Only the leader writes Ingresses.
        for (_, pass) in lock(&self.routing).drain() {
            pass.task.abort();
        }
        for runtime in crate::runtimes::list(&self.db).await? {
            self.ensure_watcher(&runtime.name);
        }
        Ok(())
    }

    async fn reconcile_once(
        self: &Arc<Self>,
        drives: &mut HashMap<VersionKey, (String, JoinHandle<()>)>,
    ) -> Result<(), RuntimeError> {
        let records = crate::runtimes::list(&self.db).await?;
        self.route_every_runtime(&records);
        let runtimes: Vec<String> = records.into_iter().map(|r| r.name).collect();
        for runtime in &runtimes {
            self.ensure_watcher(runtime);
        }
        self.ensure_followers(&runtimes);
        self.carry_out_rollbacks().await?;
        let in_flight = versions::in_flight(&self.db).await?;
        let mut current = HashSet::new();
        for record in in_flight {
            let key = VersionKey::new(&record.runtime, &record.name);
            let epoch = format!("{}@{}", record.status, record.status_changed_at);
            current.insert(key.clone());
            if let Some((running_epoch, task)) = drives.get(&key)
                && *running_epoch == epoch
                && !task.is_finished()
            {
                continue;
            }
            if let Some((_, stale)) = drives.remove(&key) {
                stale.abort();
            }
            let task = match record.status {
                Status::Starting => tokio::spawn(drive::drive_start(self.clone(), record)),
                _ => tokio::spawn(drive::drive_stop(self.clone(), record)),
            };
            drives.insert(key, (epoch, task));
        }
        drives.retain(|key, (_, task)| {
            let keep = current.contains(key);
            if !keep {
                task.abort();
            }
            keep
        });
        Ok(())
    }
}

pub(super) async fn reconcile_loop(inner: Arc<Context>) {
    let mut drives = HashMap::new();
    let mut leadership = replicas::Leadership::new(inner.db.clone());
    loop {
        let leading = leadership.check().await;
        crate::metrics::set_leader(leading);
        inner
            .leading
            .store(leading, std::sync::atomic::Ordering::Relaxed);
        let result = if leading {
            inner.reconcile_once(&mut drives).await
        } else {
            inner.follow_the_leader(&mut drives).await
        };
        if let Err(error) = result {
            tracing::warn!(%error, "reconcile pass failed; retrying");
        }
        tokio::select! {
            _ = inner.wake.notified() => {}
            _ = tokio::time::sleep(RESCAN) => {}
        }
    }
}
