//! Routing, level-triggered on the leader: on every pass each runtime's
//! Ingress is compared with what the database says (the published version,
//! or none) and any difference is corrected, whatever caused it (a publish,
//! a client that went away mid-request, `kubectl delete`, a hand edit, a
//! stale replica). A switch that cannot be made before its deadline is
//! undone in the database, never in the cluster: the Ingress keeps pointing
//! at the version that served, which is published again.

use std::{collections::BTreeMap, sync::Arc};

use k8s_openapi::api::networking::v1::Ingress;
use kube::{
    Api,
    api::{DeleteParams, ListParams},
};
use lifecycle::{AuditAction, Outcome};

use super::{
    changes::VersionKey,
    context::{Context, lock, since_status_change},
    error::RuntimeError,
    events::Happened,
    kube::is_not_found,
    resources,
};
use crate::{
    audit::{Actor, NewEntry},
    runtimes::{self, RuntimeRecord},
    versions::{self, VersionRecord},
};

/// What a runtime's Ingress is, as far as the console decides it: host,
/// Service, class, TLS and annotations. Any difference is corrected.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    host: String,
    service: String,
    class: Option<String>,
    tls_secret: Option<String>,
    annotations: BTreeMap<String, String>,
    /// Which change of the runtime's settings the Ingress was applied
    /// from: a difference with the same revision is drift, one with an
    /// older revision is a settings change reaching the cluster.
    revision: Option<String>,
}

/// Annotations others put on every object (`kubectl apply`'s own record):
/// not the runtime's to compare.
fn compared(annotations: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    annotations
        .iter()
        .filter(|(key, _)| {
            !key.starts_with("kubectl.kubernetes.io/") && *key != resources::SETTINGS_REVISION
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl Target {
    fn wanted(runtime: &RuntimeRecord, version: &str) -> Self {
        Self {
            host: runtime.host(),
            service: resources::service_name(version),
            class: runtime.settings.ingress_class.clone(),
            tls_secret: runtime.settings.tls_secret(&runtime.name),
            annotations: runtime.settings.annotations(),
            revision: Some(resources::settings_revision(runtime)),
        }
    }

    fn of(ingress: &Ingress) -> Option<Self> {
        let spec = ingress.spec.as_ref()?;
        let rule = spec.rules.as_ref()?.first()?;
        let path = rule.http.as_ref()?.paths.first()?;
        let service = path.backend.service.as_ref()?;
        let port = service.port.as_ref()?.number?;
        let tls = spec.tls.as_ref().and_then(|tls| tls.first());
        (port == resources::SERVICE_PORT).then(|| Self {
            host: rule.host.clone().unwrap_or_default(),
            service: service.name.clone(),
            class: spec.ingress_class_name.clone(),
            tls_secret: tls.and_then(|tls| {
                // TLS for another host than the rule's is not this runtime's.
                let hosts = tls.hosts.as_deref().unwrap_or_default();
                hosts
                    .iter()
                    .any(|h| Some(h) == rule.host.as_ref())
                    .then(|| tls.secret_name.clone())
                    .flatten()
            }),
            annotations: compared(&ingress.metadata.annotations.clone().unwrap_or_default()),
            revision: ingress
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(resources::SETTINGS_REVISION).cloned()),
        })
    }

    fn describe(ingress: &Ingress) -> String {
        let name = ingress.metadata.name.clone().unwrap_or_default();
        match Self::of(ingress) {
            Some(t) => format!("Ingress {name} to Service {} at {}", t.service, t.host),
            None => format!("Ingress {name} without the console's backend"),
        }
    }
}

/// What one pass found in the cluster for one runtime.
struct Found {
    /// The runtime's own Ingress (named after it).
    own: Option<Ingress>,
    /// Any other Ingress with the console's labels for this runtime.
    strays: Vec<Ingress>,
}

impl Context {
    /// Starts a routing pass for every runtime that has none running, and
    /// asks a running one to go again when it is done.
    pub(super) fn route_every_runtime(self: &Arc<Self>, runtimes: &[RuntimeRecord]) {
        use std::sync::atomic::Ordering;
        let mut passes = lock(&self.routing);
        passes.retain(|_, pass| !pass.task.is_finished());
        for runtime in runtimes {
            if let Some(pass) = passes.get(&runtime.name) {
                pass.again.store(true, Ordering::SeqCst);
                continue;
            }
            let ctx = self.clone();
            let name = runtime.name.clone();
            let again = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let asked = again.clone();
            let task = tokio::spawn(async move {
                loop {
                    asked.store(false, Ordering::SeqCst);
                    if let Err(error) = ctx.route_runtime(&name).await {
                        tracing::warn!(%error, runtime = %name, "routing pass failed; retrying");
                        break;
                    }
                    if !asked.load(Ordering::SeqCst) {
                        break;
                    }
                }
            });
            passes.insert(
                runtime.name.clone(),
                super::context::RoutingPass { task, again },
            );
        }
    }

    /// One pass for one runtime, from what the database says now (not what
    /// it said when the reconciler last looked: the pass before may have
    /// just recorded a switch).
    async fn route_runtime(&self, name: &str) -> Result<(), RuntimeError> {
        let Some(runtime) = runtimes::list(&self.db)
            .await?
            .into_iter()
            .find(|r| r.name == name)
        else {
            return Ok(());
        };
        let wanted = versions::published(&self.db)
            .await?
            .into_iter()
            .find(|v| v.runtime == name);
        self.route(&runtime, wanted.as_ref()).await
    }

    /// One comparison of a runtime's Ingress with the database, and the
    /// correction when they differ.
    async fn route(
        &self,
        runtime: &RuntimeRecord,
        wanted: Option<&VersionRecord>,
    ) -> Result<(), RuntimeError> {
        let found = self.find_ingresses(&runtime.name).await?;
        let target = wanted.map(|v| Target::wanted(runtime, &v.name));
        let own_target = found.own.as_ref().and_then(Target::of);
        let in_line = found.strays.is_empty() && own_target == target;
        let serving = wanted.map(|v| v.name.clone());
        if in_line {
            if runtime.serving_version != serving || runtime.routing_error.is_some() {
                self.switched(runtime, serving.as_deref(), None).await?;
            }
            return Ok(());
        }
        let settings_changed = own_target.as_ref().is_some_and(|own| {
            target
                .as_ref()
                .is_some_and(|t| t.service == own.service && t.revision != own.revision)
        });
        match self.correct(runtime, wanted, &found).await {
            Ok(()) if runtime.serving_version == serving && settings_changed => {
                // The runtime's settings changed (audited when they did):
                // the Ingress now follows them.
                tracing::info!(runtime = %runtime.name, host = %runtime.host(), "Ingress follows the runtime's settings");
                if let Some(version) = &serving {
                    self.record_event(
                        &VersionKey::new(&runtime.name, version),
                        Happened {
                            reason: "SettingsApplied",
                            message: format!(
                                "system: the runtime's Ingress follows its changed settings; {} is served",
                                runtime.host()
                            ),
                            warning: false,
                        },
                    );
                }
                if runtime.routing_error.is_some() {
                    versions::record_routing(
                        &self.db,
                        &runtime.name,
                        serving.as_deref(),
                        None,
                        None,
                    )
                    .await?;
                }
                self.changed_routing(runtime, serving.as_deref());
                Ok(())
            }
            Ok(()) if runtime.serving_version == serving => {
                // The database already had this: the cluster drifted.
                let mut differences: Vec<String> =
                    found.strays.iter().map(Target::describe).collect();
                match &found.own {
                    Some(own) => differences.push(Target::describe(own)),
                    None if target.is_some() => differences.push("no Ingress".into()),
                    None => {}
                }
                let entry =
                    routing_entry(runtime, serving.as_deref(), AuditAction::RoutingCorrected)
                        .details(serde_json::json!({
                            "found": differences,
                            "serving": serving,
                        }));
                versions::record_routing(
                    &self.db,
                    &runtime.name,
                    serving.as_deref(),
                    None,
                    Some(entry),
                )
                .await?;
                tracing::info!(runtime = %runtime.name, ?serving, "Ingress drift corrected");
                if let Some(version) = &serving {
                    self.record_event(
                        &VersionKey::new(&runtime.name, version),
                        Happened {
                            reason: "RoutingCorrected",
                            message: format!(
                                "system: the runtime's Ingress differed ({}) and was put back",
                                differences.join("; ")
                            ),
                            warning: true,
                        },
                    );
                }
                self.changed_routing(runtime, serving.as_deref());
                Ok(())
            }
            Ok(()) => self.switched(runtime, serving.as_deref(), None).await,
            Err(error) => self.switch_failing(runtime, wanted, error).await,
        }
    }

    /// The runtime's own Ingress (whatever its labels now say) and every
    /// other one there that carries the console's labels for the runtime.
    async fn find_ingresses(&self, runtime: &str) -> Result<Found, RuntimeError> {
        let api: Api<Ingress> = Api::namespaced(self.kube.client.clone(), runtime);
        let list = ListParams::default();
        let all = self
            .kube
            .call("listing the runtime's Ingresses", || api.list(&list))
            .await?;
        let own_name = resources::ingress_name(runtime);
        let mut found = Found {
            own: None,
            strays: Vec::new(),
        };
        for ingress in all.items {
            if ingress.metadata.name.as_deref() == Some(own_name.as_str()) {
                found.own = Some(ingress);
            } else if resources::is_runtimes(&ingress.metadata, runtime) {
                found.strays.push(ingress);
            }
        }
        Ok(found)
    }

    /// Makes the cluster match: the runtime's Ingress applied pointing at
    /// `wanted` (or deleted), and every stray removed.
    async fn correct(
        &self,
        runtime: &RuntimeRecord,
        wanted: Option<&VersionRecord>,
        found: &Found,
    ) -> Result<(), RuntimeError> {
        let api: Api<Ingress> = Api::namespaced(self.kube.client.clone(), &runtime.name);
        let name = resources::ingress_name(&runtime.name);
        match wanted {
            Some(version) => {
                let object = resources::ingress(runtime, &version.name);
                self.kube
                    .apply(&api, &name, &object, format!("applying Ingress {name}"))
                    .await?;
            }
            None if found.own.is_some() => self.delete_ingress(&api, &name).await?,
            None => {}
        }
        for stray in &found.strays {
            if let Some(stray) = &stray.metadata.name {
                self.delete_ingress(&api, stray).await?;
            }
        }
        Ok(())
    }

    async fn delete_ingress(&self, api: &Api<Ingress>, name: &str) -> Result<(), RuntimeError> {
        self.kube
            .call(&format!("deleting Ingress {name}"), || async {
                match api.delete(name, &DeleteParams::default()).await {
                    Ok(_) => Ok(()),
                    Err(error) if is_not_found(&error) => Ok(()),
                    Err(error) => Err(error),
                }
            })
            .await
    }

    /// The Ingress now points at `serving` (or is gone): recorded with a
    /// system entry naming the switch, and both versions' streams told.
    async fn switched(
        &self,
        runtime: &RuntimeRecord,
        serving: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), RuntimeError> {
        let entry = (runtime.serving_version.as_deref() != serving).then(|| {
            routing_entry(runtime, serving, AuditAction::RoutingSwitched).details(
                serde_json::json!({
                    "from": runtime.serving_version,
                    "to": serving,
                }),
            )
        });
        versions::record_routing(&self.db, &runtime.name, serving, error, entry).await?;
        if runtime.serving_version.as_deref() != serving {
            tracing::info!(runtime = %runtime.name, from = ?runtime.serving_version, to = ?serving, "traffic switched");
            if let Some(version) = serving {
                self.record_event(
                    &VersionKey::new(&runtime.name, version),
                    Happened {
                        reason: "Serving",
                        message: format!(
                            "system: the runtime's Ingress points here; {} is served",
                            runtime.host()
                        ),
                        warning: false,
                    },
                );
            }
        }
        self.changed_routing(runtime, serving);
        Ok(())
    }

    /// A correction failed. Until the switch deadline it is retried on the
    /// next pass (the error shown meanwhile); past it, the switch is undone
    /// in the database so that the version the Ingress still points at is
    /// the published one again.
    async fn switch_failing(
        &self,
        runtime: &RuntimeRecord,
        wanted: Option<&VersionRecord>,
        error: RuntimeError,
    ) -> Result<(), RuntimeError> {
        let message = format!("Could not update the runtime's Ingress: {error}");
        tracing::warn!(runtime = %runtime.name, %message, "routing failed");
        let serving = runtime.serving_version.as_deref();
        let wanted_name = wanted.map(|v| v.name.as_str());
        // How long the switch has been going on: since the newly published
        // version was published, or since the serving one was unpublished.
        let switching_since = match (wanted, serving) {
            (Some(v), _) if wanted_name != serving => Some(since_status_change(v)),
            (None, Some(old)) => versions::get(&self.db, &runtime.name, old)
                .await
                .ok()
                .map(|old| since_status_change(&old)),
            _ => None,
        };
        match switching_since {
            Some(elapsed) if elapsed >= self.settings.switch_deadline => {
                let failed = wanted_name.filter(|w| Some(*w) != serving);
                let changed =
                    versions::fail_switch(&self.db, &runtime.name, failed, serving, &message)
                        .await?;
                tracing::warn!(runtime = %runtime.name, ?changed, "switch failed; the serving version stays published");
                versions::record_routing(&self.db, &runtime.name, serving, Some(&message), None)
                    .await?;
                for version in changed {
                    let key = VersionKey::new(&runtime.name, &version);
                    let reverted = Some(version.as_str()) == serving;
                    self.record_event(
                        &key,
                        Happened {
                            reason: if reverted {
                                "SwitchReverted"
                            } else {
                                "SwitchFailed"
                            },
                            message: format!("system: {message}"),
                            warning: true,
                        },
                    );
                    self.changed(key);
                }
            }
            _ if runtime.routing_error.as_deref() != Some(message.as_str()) => {
                versions::record_routing(&self.db, &runtime.name, serving, Some(&message), None)
                    .await?;
                self.changed_routing(runtime, wanted_name);
            }
            _ => {}
        }
        Ok(())
    }

    /// Tells the streams of the versions whose routing may have changed.
    fn changed_routing(&self, runtime: &RuntimeRecord, serving: Option<&str>) {
        for version in [runtime.serving_version.as_deref(), serving]
            .into_iter()
            .flatten()
        {
            self.changed(VersionKey::new(&runtime.name, version));
        }
    }
}

fn routing_entry(runtime: &RuntimeRecord, serving: Option<&str>, action: AuditAction) -> NewEntry {
    NewEntry::new(Actor::System, action, Outcome::Completed)
        .target(runtime.name.clone(), serving.map(str::to_owned))
}
