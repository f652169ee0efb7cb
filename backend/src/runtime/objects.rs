//! A version's objects in the cluster: applying all of them (a start),
//! deleting them by label (a stop) and telling what is left.

use futures::future::{try_join, try_join_all};
use k8s_openapi::api::{
    apps::v1::{Deployment, ReplicaSet},
    core::v1::{ConfigMap, Namespace, Pod, Service},
    networking::v1::Ingress,
};
use kube::{Api, api::ListParams};

use super::{context::Context, error::RuntimeError, kube::is_forbidden, resources};
use crate::versions::VersionRecord;

impl Context {
    /// Server-side applies every object of a version: the namespace, the
    /// ConfigMap (the owner of the rest), then every Deployment and the
    /// Service at once. Re-running it changes nothing.
    pub(super) async fn apply_version(&self, record: &VersionRecord) -> Result<(), RuntimeError> {
        let ns = record.runtime.as_str();
        let manifest = &record.manifest;
        // The runtime's workload defaults as they are at this start.
        let settings = crate::runtimes::get(&self.db, ns)
            .await
            .map(|runtime| runtime.settings)?;
        let namespaces: Api<Namespace> = Api::all(self.kube.client.clone());
        match self
            .kube
            .apply(
                &namespaces,
                ns,
                &resources::namespace(ns),
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
        let cm_name = resources::config_map_name(&manifest.name);
        let config = self
            .kube
            .apply(
                &config_maps,
                &cm_name,
                &resources::config_map(ns, manifest),
                format!("applying ConfigMap {cm_name}"),
            )
            .await?;
        let Some(owner_uid) = config.metadata.uid else {
            return Err(RuntimeError::Call {
                what: format!("applying ConfigMap {cm_name}"),
                detail: "the API server returned no uid".into(),
                code: None,
            });
        };
        let deployments: Api<Deployment> = Api::namespaced(self.kube.client.clone(), ns);
        let services: Api<Service> = Api::namespaced(self.kube.client.clone(), ns);
        let nodes = resources::node_specs(manifest);
        let applied_deployments = try_join_all(nodes.iter().map(|node| {
            let name = lifecycle::manifest::resource_name(&manifest.name, node.name);
            let object = resources::deployment(ns, &settings, manifest, node, &owner_uid);
            let deployments = &deployments;
            async move {
                self.kube
                    .apply(
                        deployments,
                        &name,
                        &object,
                        format!("applying Deployment {name}"),
                    )
                    .await
            }
        }));
        let service_name = resources::service_name(&manifest.name);
        let service = resources::service(ns, manifest, &owner_uid);
        let applied_service = self.kube.apply(
            &services,
            &service_name,
            &service,
            format!("applying Service {service_name}"),
        );
        try_join(applied_deployments, applied_service).await?;
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
        )?;
        let counts = [counts.0, counts.1, counts.2, counts.3, counts.4];
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
