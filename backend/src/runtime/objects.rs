//! A version's objects in the cluster: applying all of them (a start),
//! deleting them by label (a stop) and telling what is left.

use futures::future::try_join_all;
use k8s_openapi::api::{
    apps::v1::{Deployment, ReplicaSet},
    core::v1::{ConfigMap, Namespace, Pod, Secret, Service},
    networking::v1::Ingress,
};
use kube::{Api, api::ListParams};

use super::{context::Context, error::RuntimeError, kube::is_forbidden, plan, resources};
use crate::versions::VersionRecord;

impl Context {
    /// Server-side applies every object of a version (see `plan`): the
    /// namespace, the ConfigMap (the owner of the rest), then every
    /// Deployment and the Service at once. Re-running it changes nothing.
    pub(super) async fn apply_version(&self, record: &VersionRecord) -> Result<(), RuntimeError> {
        let ns = record.runtime.as_str();
        // The runtime's workload defaults as they are at this start.
        let runtime = crate::runtimes::get(&self.db, ns).await?;
        // The values as they are now, secrets opened for the Secret only.
        let settled = crate::configuration::settled(&self.db, &self.settings.keyring, record)
            .await
            .map_err(|error| RuntimeError::Configuration(error.to_string()))?;
        let [namespace, config] = plan::foundation(&runtime, &record.manifest, &settled);
        let namespaces: Api<Namespace> = Api::all(self.kube.client.clone());
        match self
            .kube
            .apply(
                &namespaces,
                &namespace.name,
                &namespace.object,
                format!("creating namespace {ns}"),
            )
            .await
        {
            Ok(_) => {}
            // A console allowed only inside existing namespaces.
            Err(error) if is_forbidden(&error) => {
                tracing::debug!(%error, "namespace not applied")
            }
            Err(error) => return Err(error),
        }
        let config_maps: Api<ConfigMap> = Api::namespaced(self.kube.client.clone(), ns);
        let what = format!("applying ConfigMap {}", config.name);
        let applied = self
            .kube
            .apply(&config_maps, &config.name, &config.object, what.clone())
            .await?;
        let Some(owner_uid) = applied.metadata.uid else {
            return Err(RuntimeError::Call {
                what,
                detail: "the API server returned no uid".into(),
                code: None,
            });
        };
        // The Secret and the files first: pods that mount them wait for them.
        let secrets: Api<Secret> = Api::namespaced(self.kube.client.clone(), ns);
        for object in plan::configuration(&runtime, &record.manifest, &settled, &owner_uid) {
            let what = format!("applying {} {}", object.kind, object.name);
            match object.kind {
                "Secret" => self
                    .kube
                    .apply(&secrets, &object.name, &object.object, what)
                    .await
                    .map(drop)?,
                _ => self
                    .kube
                    .apply(&config_maps, &object.name, &object.object, what)
                    .await
                    .map(drop)?,
            }
        }
        let deployments: Api<Deployment> = Api::namespaced(self.kube.client.clone(), ns);
        let services: Api<Service> = Api::namespaced(self.kube.client.clone(), ns);
        let planned = plan::workloads(&runtime, &record.manifest, &settled, &owner_uid);
        try_join_all(planned.iter().map(|object| {
            let (deployments, services) = (&deployments, &services);
            async move {
                let what = format!("applying {} {}", object.kind, object.name);
                match object.kind {
                    "Deployment" => self
                        .kube
                        .apply(deployments, &object.name, &object.object, what)
                        .await
                        .map(drop),
                    _ => self
                        .kube
                        .apply(services, &object.name, &object.object, what)
                        .await
                        .map(drop),
                }
            }
        }))
        .await?;
        Ok(())
    }

    /// Deletes everything of a version by label (idempotent).
    pub(super) async fn delete_version(&self, record: &VersionRecord) -> Result<(), RuntimeError> {
        let ns = record.runtime.as_str();
        let list = ListParams::default().labels(&resources::version_selector(ns, &record.name));
        futures::try_join!(
            self.kube
                .delete_labelled::<Deployment>(ns, &list, "Deployments"),
            self.kube
                .delete_labelled::<ReplicaSet>(ns, &list, "ReplicaSets"),
            self.kube.delete_labelled::<Pod>(ns, &list, "Pods"),
            self.kube.delete_labelled::<Service>(ns, &list, "Services"),
            self.kube
                .delete_labelled::<ConfigMap>(ns, &list, "ConfigMaps"),
            self.kube.delete_labelled::<Secret>(ns, &list, "Secrets"),
            self.kube.delete_labelled::<Ingress>(ns, &list, "Ingress"),
        )?;
        Ok(())
    }

    /// What of a version is still in the cluster, as "2 Pods, 1 Service";
    /// empty when nothing is.
    pub(super) async fn remaining(&self, record: &VersionRecord) -> Result<String, RuntimeError> {
        let ns = record.runtime.as_str();
        let pods = self.pods.version_pods(ns, &record.name).len();
        if pods > 0 {
            return Ok(format!("{pods} Pods"));
        }
        let list = ListParams::default().labels(&resources::version_selector(ns, &record.name));
        let counts = futures::try_join!(
            self.kube.count_labelled::<Pod>(ns, &list, "Pods"),
            self.kube
                .count_labelled::<Deployment>(ns, &list, "Deployments"),
            self.kube
                .count_labelled::<ReplicaSet>(ns, &list, "ReplicaSets"),
            self.kube.count_labelled::<Service>(ns, &list, "Services"),
            self.kube
                .count_labelled::<ConfigMap>(ns, &list, "ConfigMaps"),
            self.kube.count_labelled::<Secret>(ns, &list, "Secrets"),
        )?;
        let counts = [counts.0, counts.1, counts.2, counts.3, counts.4, counts.5];
        Ok(counts
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect::<Vec<_>>()
            .join(", "))
    }

    /// The version's Deployments whose pods the cluster refuses to create
    /// (a ResourceQuota, an admission webhook): each node with the API
    /// server's message, from the `ReplicaFailure` condition.
    pub(super) async fn replica_failures(
        &self,
        record: &VersionRecord,
    ) -> Result<Vec<(String, String, String)>, RuntimeError> {
        let ns = record.runtime.as_str();
        let api: Api<Deployment> = Api::namespaced(self.kube.client.clone(), ns);
        let list = ListParams::default().labels(&resources::version_selector(ns, &record.name));
        let found = self
            .kube
            .call("listing the version's Deployments", || api.list(&list))
            .await?;
        Ok(found
            .items
            .iter()
            .filter_map(|deployment| {
                let node = deployment
                    .metadata
                    .labels
                    .as_ref()?
                    .get(resources::NODE_LABEL)?;
                let conditions = deployment.status.as_ref()?.conditions.as_ref()?;
                let failure = conditions
                    .iter()
                    .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")?;
                Some((
                    node.clone(),
                    failure
                        .reason
                        .clone()
                        .unwrap_or_else(|| "ReplicaFailure".into()),
                    failure.message.clone().unwrap_or_default(),
                ))
            })
            .collect())
    }
}
