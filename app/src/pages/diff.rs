//! `/runtimes/<runtime>/diff?from=<v>&to=<v>`: two versions' manifests, and
//! the Kubernetes objects each would apply, compared field by field,
//! unchanged fields folded, for everyone signed in;
//! the same as JSON from `GET /api/runtimes/<runtime>/diff?from=&to=`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    components::{DiffTable, PageError},
    error::page_data,
    releases::{VersionDiff, compare_versions, releases_path},
    versions::version_path,
};

#[component]
pub fn DiffPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        let runtime = params.with(|p| p.get("runtime").unwrap_or_default());
        let (from, to) = query.with(|q| {
            (
                q.get("from").unwrap_or_default(),
                q.get("to").unwrap_or_default(),
            )
        });
        (runtime, from, to)
    };
    // Blocking: an unknown version is the page's 404.
    let diff = Resource::new_blocking(key, |(runtime, from, to)| {
        page_data(compare_versions(runtime, from, to))
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Comparing…"</p> }>
            {move || diff.get().map(|answer| match answer {
                Ok(diff) => view! { <Comparison diff/> }.into_any(),
                Err(error) => view! { <PageError title="Compare versions" error/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Comparison(diff: VersionDiff) -> impl IntoView {
    let VersionDiff {
        runtime,
        from,
        to,
        changes,
        unchanged,
        objects,
        objects_unchanged,
    } = diff;
    let json = format!(
        "/api/runtimes/{}/diff?from={}&to={}",
        crate::audit::encode(&runtime),
        crate::audit::encode(&from),
        crate::audit::encode(&to)
    );
    view! {
        <Title text=format!("{from} → {to}")/>
        <section class="card" aria-labelledby="diff-heading">
            <h1 id="diff-heading">
                <a href=version_path(&runtime, &from)>{from.clone()}</a>
                " → "
                <a href=version_path(&runtime, &to)>{to.clone()}</a>
            </h1>
            <p class="muted">
                {format!("{} field(s) differ; {unchanged} unchanged field(s) folded. ", changes.len())}
                <a href=json download=format!("{from}-{to}.diff.json") rel="external" data-export="json">"JSON"</a>
                " · "
                <a href=releases_path(&runtime)>{format!("Releases of {runtime}")}</a>
            </p>
            {if changes.is_empty() {
                view! { <p data-diff-empty="">"The two manifests are the same."</p> }.into_any()
            } else {
                view! { <DiffTable rows=changes from=from.clone() to=to.clone()/> }.into_any()
            }}
        </section>
        <section class="card" aria-labelledby="objects-heading" data-diff-section="objects">
            <h2 id="objects-heading">"Kubernetes objects"</h2>
            <p class="muted">{format!(
                "What each would apply under the runtime's settings now: {} field(s) differ; {objects_unchanged} unchanged field(s) folded.",
                objects.len()
            )}</p>
            <details>
                <summary>{format!("{} changed field(s) of the objects", objects.len())}</summary>
                <DiffTable rows=objects from to/>
            </details>
        </section>
    }
}
