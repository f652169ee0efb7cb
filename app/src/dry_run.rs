//! "What would be applied": the dry run a Start or Publish dialog can ask
//! for before anything changes (every object sent to the API server with
//! `dryRun=All`), and, in the Publish dialog, the changes from the version
//! published now. Both only read: nothing is stored, nothing audited.

use leptos::prelude::*;
use lifecycle::Action;
use serde::{Deserialize, Serialize};

use crate::{ConsoleError, components::DiffTable, releases::compare_versions};

/// One object as the API server answered its dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedObject {
    pub kind: String,
    pub name: String,
    /// `create`, `update`, `refused` or `not_checked`.
    pub verdict: String,
    /// The object as it would be stored (JSON), the server's message, or
    /// why it was not sent.
    pub detail: String,
}

/// Every object `action` (start or publish) would apply to the version,
/// as the cluster answers a dry run; for operators.
#[server(endpoint = "versions/dry_run")]
pub async fn dry_run(
    runtime: String,
    version: String,
    action: String,
) -> Result<Vec<CheckedObject>, ConsoleError> {
    use backend::actions::DryRunError;
    use lifecycle::Permission;

    let (services, _) = crate::server::require(Permission::Operate, None).await?;
    let action: Action = action
        .parse()
        .map_err(|_| ConsoleError::Invalid("action: start or publish.".into()))?;
    let checked =
        services
            .dry_run(&runtime, &version, action)
            .await
            .map_err(|error| match error {
                DryRunError::NothingApplied(_) => ConsoleError::Invalid(error.to_string()),
                DryRunError::Version(error) => error.into(),
                DryRunError::Cluster(error) => crate::server::unavailable(error),
            })?;
    Ok(checked
        .into_iter()
        .map(|c| CheckedObject {
            kind: c.kind,
            name: c.name,
            verdict: serde_json::to_value(c.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            detail: c.detail,
        })
        .collect())
}

fn verdict_label(verdict: &str) -> &'static str {
    match verdict {
        "create" => "would be created",
        "update" => "would be updated",
        "refused" => "refused by the API server",
        _ => "not checked",
    }
}

/// The dialog's "Check what would be applied" button and its answer.
#[component]
pub fn DryRunSection(runtime: String, version: String, action: Action) -> impl IntoView {
    let check = ServerAction::<DryRun>::new();
    let pending = check.pending();
    let (rt, v) = (runtime.clone(), version.clone());
    let ask = move |_| {
        check.dispatch(DryRun {
            runtime: rt.clone(),
            version: v.clone(),
            action: action.as_str().to_owned(),
        });
    };
    let answer = move || {
        check.value().get().map(|answer| match answer {
            Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
            Ok(objects) => {
                let refused = objects.iter().filter(|o| o.verdict == "refused").count();
                let summary = if refused == 0 {
                    format!("The API server accepts all {} object(s); nothing was changed.", objects.len())
                } else {
                    format!("The API server refuses {refused} of {} object(s); nothing was changed.", objects.len())
                };
                view! {
                    <p role="status" data-dry-run-refused=refused.to_string()>{summary}</p>
                    <ul class="dry-run">
                        {objects.into_iter().map(|o| {
                            let label = verdict_label(&o.verdict);
                            let refused = o.verdict == "refused";
                            view! {
                                <li data-dry-run-kind=o.kind.clone() data-dry-run-name=o.name.clone() data-dry-run-verdict=o.verdict.clone()>
                                    <strong>{format!("{} {}", o.kind, o.name)}</strong>
                                    {format!(": {label}")}
                                    {if refused {
                                        view! { <p class="error">{o.detail}</p> }.into_any()
                                    } else {
                                        view! {
                                            <details>
                                                <summary>"Object"</summary>
                                                <pre><code>{o.detail}</code></pre>
                                            </details>
                                        }.into_any()
                                    }}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }
        })
    };
    view! {
        <section class="dry-run-section" aria-label="Dry run">
            <button type="button" class="button secondary" on:click=ask disabled=move || pending.get()>
                {move || if pending.get() { "Checking…" } else { "Check what would be applied" }}
            </button>
            {answer}
        </section>
    }
}

/// The Publish dialog's changes from the version published now.
#[component]
pub fn PublishChanges(runtime: String, from: String, to: String) -> impl IntoView {
    let (f, t) = (from.clone(), to.clone());
    let diff = Resource::new(
        || (),
        move |_| compare_versions(runtime.clone(), f.clone(), t.clone()),
    );
    view! {
        <details class="publish-changes" data-publish-changes="">
            <summary>{format!("Changes from {from}")}</summary>
            <Suspense fallback=|| view! { <p class="muted">"Comparing…"</p> }>
                {move || diff.get().map(|answer| match answer {
                    Ok(diff) if diff.changes.is_empty() => view! { <p>"The manifests are the same."</p> }.into_any(),
                    Ok(diff) => view! {
                        <DiffTable rows=diff.changes from=diff.from to=diff.to/>
                    }.into_any(),
                    Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </details>
    }
}
