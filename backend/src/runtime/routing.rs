//! Routing: the runtime's one Ingress points at its published version, or
//! is removed when none is published.

use k8s_openapi::api::networking::v1::Ingress;
use kube::{Api, api::DeleteParams};
use lifecycle::SystemEvent;

use super::{
    changes::VersionKey,
    context::{Context, lock},
    error::RuntimeError,
    kube::{ATTEMPTS, is_not_found},
    resources,
};
use crate::versions;

impl Context {
    /// After a publish or unpublish: points the runtime's Ingress at its
    /// published version (or removes it). On failure the version moves to
    /// `error` with the reason.
    pub(super) async fn route(&self, key: VersionKey) {
        let inner = self;
        let result = tokio::time::timeout(
            inner.settings.call_timeout * ATTEMPTS,
            inner.sync_routing(&key.runtime),
        )
        .await
        .unwrap_or_else(|_| {
            Err(RuntimeError::Timeout {
                what: "updating the runtime's Ingress".into(),
                after: inner.settings.call_timeout * ATTEMPTS,
            })
        });
        match result {
            Ok(()) => {
                lock(&inner.routed).insert(key.runtime.clone());
                inner.changed(key);
            }
            Err(error) => {
                tracing::warn!(%error, version = %key, "routing failed");
                lock(&inner.routed).remove(&key.runtime);
                inner
                    .record_system_event(
                        &key,
                        SystemEvent::RoutingFailed,
                        Some(format!("Could not update the runtime's Ingress: {error}")),
                    )
                    .await;
                inner.wake.notify_one();
            }
        }
    }

    /// Points the runtime's Ingress at its published version, or deletes it
    /// when none is published.
    pub(super) async fn sync_routing(&self, runtime: &str) -> Result<(), RuntimeError> {
        let published = versions::published(&self.db)
            .await?
            .into_iter()
            .find(|v| v.runtime == runtime);
        let api: Api<Ingress> = Api::namespaced(self.kube.client.clone(), runtime);
        let name = resources::ingress_name(runtime);
        match published {
            Some(version) => {
                let base_domain = versions::runtimes(&self.db)
                    .await?
                    .into_iter()
                    .find(|r| r.name == runtime)
                    .map(|r| r.base_domain)
                    .unwrap_or_default();
                let object = resources::ingress(runtime, &base_domain, &version.name);
                self.kube
                    .apply(&api, &name, &object, format!("applying Ingress {name}"))
                    .await?;
            }
            None => {
                self.kube
                    .call(&format!("deleting Ingress {name}"), || async {
                        match api.delete(&name, &DeleteParams::default()).await {
                            Ok(_) => Ok(()),
                            Err(error) if is_not_found(&error) => Ok(()),
                            Err(error) => Err(error),
                        }
                    })
                    .await?;
            }
        }
        Ok(())
    }
}
