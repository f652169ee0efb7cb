//! A dry run of a start or a publish: every object the action would apply
//! (see `plan`), sent to the API server with `dryRun=All`, so its defaulting,
//! validation and admission (quotas, Pod Security, webhooks) answer as for a
//! real write, and nothing is stored. A start also dry-runs one pod of each
//! Deployment: the cluster admits Deployments whose pods it then refuses.

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Namespace, Pod, Secret, Service},
    networking::v1::Ingress,
};
use kube::{
    Api,
    api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams},
};
use lifecycle::Action;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    context::Context,
    error::RuntimeError,
    plan::{self, Planned},
    resources::FIELD_MANAGER,
};
use crate::{configuration::Settled, runtimes::RuntimeRecord, versions::VersionRecord};

/// What the API server said of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It does not exist: the action would create it.
    Create,
    /// It exists: the action would update it (perhaps to the same).
    Update,
    /// The API server refused it: the action would fail here.
    Refused,
    /// Not sent: what it depends on does not exist yet.
    NotChecked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    pub kind: String,
    pub name: String,
    pub verdict: Verdict,
    /// The object as the API server would store it (JSON, without managed
    /// fields), or its message when it refused, or why it was not sent.
    pub detail: String,
}

fn api_resource(kind: &str) -> ApiResource {
    match kind {
        "Namespace" => ApiResource::erase::<Namespace>(&()),
        "ConfigMap" => ApiResource::erase::<ConfigMap>(&()),
        "Secret" => ApiResource::erase::<Secret>(&()),
        "Deployment" => ApiResource::erase::<Deployment>(&()),
        "Service" => ApiResource::erase::<Service>(&()),
        "Pod" => ApiResource::erase::<Pod>(&()),
        _ => ApiResource::erase::<Ingress>(&()),
    }
}

/// The answer as the dialog shows it: what would be stored, without the
/// bookkeeping of field managers.
fn shown(mut answer: Value) -> String {
    if let Some(meta) = answer["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    serde_json::to_string_pretty(&answer).unwrap_or_default()
}

fn verdict_of(answer: &Value) -> Verdict {
    // A dry-run create answers without a resourceVersion: there is none yet.
    match answer["metadata"]["resourceVersion"].as_str() {
        Some(rv) if !rv.is_empty() => Verdict::Update,
        _ => Verdict::Create,
    }
}

impl Context {
    fn api(&self, kind: &str, namespace: &str) -> Api<DynamicObject> {
        let resource = api_resource(kind);
        if kind == "Namespace" {
            Api::all_with(self.kube.client.clone(), &resource)
        } else {
            Api::namespaced_with(self.kube.client.clone(), namespace, &resource)
        }
    }

    /// Sends one object with `dryRun=All` (server-side apply, or a create
    /// for a template's pod) and answers the API server's verdict and what
    /// it would store.
    async fn dry_apply(&self, namespace: &str, planned: &Planned) -> (Checked, Option<Value>) {
        let api = self.api(planned.kind, namespace);
        let what = format!("{} {}", planned.kind, planned.name);
        let answer = match serde_json::from_value::<DynamicObject>(planned.object.clone()) {
            Err(error) => Err(RuntimeError::Call {
                what: what.clone(),
                detail: error.to_string(),
                code: None,
            }),
            Ok(object) if planned.kind == "Pod" => {
                let params = PostParams {
                    dry_run: true,
                    field_manager: Some(FIELD_MANAGER.to_owned()),
                };
                self.kube.call(&what, || api.create(&params, &object)).await
            }
            Ok(object) => {
                let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
                let patch = Patch::Apply(&object);
                self.kube
                    .call(&what, || api.patch(&planned.name, &params, &patch))
                    .await
            }
        };
        let checked = |verdict, detail| Checked {
            kind: planned.kind.to_owned(),
            name: planned.name.clone(),
            verdict,
            detail,
        };
        match answer.map(|o| serde_json::to_value(o).unwrap_or(Value::Null)) {
            Ok(answer) => (
                checked(
                    if planned.kind == "Pod" {
                        Verdict::Create
                    } else {
                        verdict_of(&answer)
                    },
                    shown(answer.clone()),
                ),
                Some(answer),
            ),
            Err(RuntimeError::Call { detail, .. }) => (checked(Verdict::Refused, detail), None),
            Err(error) => (checked(Verdict::Refused, error.to_string()), None),
        }
    }

    /// Everything `action` (a start or a publish) would apply for `record`
    /// under `runtime`'s settings now, as the API server answers a dry run.
    pub(super) async fn dry_run(
        &self,
        runtime: &RuntimeRecord,
        record: &VersionRecord,
        action: Action,
    ) -> Result<Vec<Checked>, RuntimeError> {
        let ns = runtime.name.as_str();
        if action != Action::Start {
            let ingress = plan::publish(runtime, &record.name);
            return Ok(vec![self.dry_apply(ns, &ingress).await.0]);
        }
        // Placeholders for the values: an answer (a refusal's message) never
        // quotes a value, least of all a secret.
        let settled = Settled::placeholders(&record.manifest);
        let [namespace, config] = plan::foundation(runtime, &record.manifest, &settled);
        let namespaces: Api<Namespace> = Api::all(self.kube.client.clone());
        let exists = match self
            .kube
            .call("reading the namespace", || namespaces.get(ns))
            .await
        {
            Ok(_) => true,
            Err(RuntimeError::Call {
                code: Some(404), ..
            }) => false,
            Err(error) => return Err(error),
        };
        let mut checked = vec![self.dry_apply(ns, &namespace).await.0];
        let workloads = |uid: &str| {
            let mut planned = plan::configuration(runtime, &record.manifest, &settled, uid);
            planned.extend(plan::workloads(runtime, &record.manifest, &settled, uid));
            planned
        };
        if !exists {
            // Objects in a namespace that does not exist are refused
            // (NotFound) even in a dry run: the start creates it first.
            let why = format!("Checked once namespace {ns} exists; the start creates it first.");
            let planned = std::iter::once(config).chain(workloads(plan::OWNER_UID_UNKNOWN));
            checked.extend(planned.map(|p| Checked {
                kind: p.kind.to_owned(),
                name: p.name,
                verdict: Verdict::NotChecked,
                detail: why.clone(),
            }));
            return Ok(checked);
        }
        let (config_checked, config_answer) = self.dry_apply(ns, &config).await;
        checked.push(config_checked);
        let owner_uid = config_answer
            .as_ref()
            .and_then(|a| a["metadata"]["uid"].as_str())
            .unwrap_or(plan::OWNER_UID_UNKNOWN)
            .to_owned();
        let planned = workloads(&owner_uid);
        let pods: Vec<Planned> = planned
            .iter()
            .filter(|p| p.kind == "Deployment")
            .map(plan::template_pod)
            .collect();
        let answers = futures::future::join_all(
            planned
                .iter()
                .chain(pods.iter())
                .map(|p| self.dry_apply(ns, p)),
        )
        .await;
        checked.extend(answers.into_iter().map(|(c, _)| c));
        Ok(checked)
    }
}
