//! Calls to the API server: each with its own deadline, retried on server
//! errors, throttling, conflicts and dropped connections; server-side apply
//! under the console's field manager; delete and count by label.

use std::{fmt, future::Future, time::Duration};

use k8s_openapi::NamespaceResourceScope;
use kube::{
    Api, Client, Resource,
    api::{DeleteParams, ListParams, Patch, PatchParams},
};
use serde::de::DeserializeOwned;

use super::{error::RuntimeError, resources::FIELD_MANAGER};

/// Tries per call, the first included.
pub const ATTEMPTS: u32 = 3;

/// The cluster as the runtime calls it.
#[derive(Clone)]
pub struct Kube {
    pub client: Client,
    /// Each call's own deadline; retries get a fresh one.
    pub call_timeout: Duration,
}

impl Kube {
    /// One cluster call with its deadline, retried on server errors,
    /// throttling, conflicts and connection failures.
    pub async fn call<T, F, Fut>(&self, what: &str, call: F) -> Result<T, RuntimeError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let mut attempt = 1;
        loop {
            let error = match tokio::time::timeout(self.call_timeout, call()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) if attempt < ATTEMPTS && retryable(&error) => kube_detail(&error),
                Ok(Err(error)) => {
                    return Err(RuntimeError::Call {
                        what: what.to_owned(),
                        detail: kube_detail(&error),
                        code: match &error {
                            kube::Error::Api(status) => Some(status.code),
                            _ => None,
                        },
                    });
                }
                Err(_) if attempt < ATTEMPTS => "timed out".to_owned(),
                Err(_) => {
                    return Err(RuntimeError::Timeout {
                        what: what.to_owned(),
                        after: self.call_timeout,
                    });
                }
            };
            tracing::debug!(what, attempt, %error, "cluster call failed; retrying");
            tokio::time::sleep(Duration::from_millis(200) * 2u32.pow(attempt - 1)).await;
            attempt += 1;
        }
    }

    pub async fn apply<K>(
        &self,
        api: &Api<K>,
        name: &str,
        object: &serde_json::Value,
        what: String,
    ) -> Result<K, RuntimeError>
    where
        K: Clone + DeserializeOwned + fmt::Debug,
    {
        // Force: the console owns these objects; a hand edit is taken back.
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let patch = Patch::Apply(object);
        self.call(&what, || api.patch(name, &params, &patch)).await
    }

    pub async fn delete_labelled<K>(
        &self,
        ns: &str,
        list: &ListParams,
        what: &str,
    ) -> Result<(), RuntimeError>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), ns);
        let params = DeleteParams::background();
        self.call(&format!("deleting the version's {what}"), || async {
            api.delete_collection(&params, list).await.map(drop)
        })
        .await
    }

    pub async fn count_labelled<'w, K>(
        &self,
        ns: &str,
        list: &ListParams,
        what: &'w str,
    ) -> Result<(usize, &'w str), RuntimeError>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), ns);
        let found = self
            .call(&format!("listing the version's {what}"), || api.list(list))
            .await?;
        Ok((found.items.len(), what))
    }
}

fn kube_detail(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.reason),
        other => other.to_string(),
    }
}

fn retryable(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => status.code >= 500 || status.code == 429 || status.code == 409,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

pub fn is_forbidden(error: &RuntimeError) -> bool {
    matches!(
        error,
        RuntimeError::Call {
            code: Some(403),
            ..
        }
    )
}
