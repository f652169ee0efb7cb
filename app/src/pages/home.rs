use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    Hydrated,
    api::{Dependency, StatusReport, server_status},
};

/// The overview: what the console is and whether its dependencies answer.
#[component]
pub fn Home() -> impl IntoView {
    let Hydrated(hydrated) = expect_context::<Hydrated>();
    let check = Action::new(|_: &()| server_status());
    let pending = check.pending();
    let result = check.value();

    view! {
        <Title text=""/>
        <section class="card">
            <h1>"Runtime versions on Kubernetes"</h1>
            <p>
                "Open a version, start, stop, publish or unpublish it with a recorded reason, and watch "
                "each process turn green as its pods become ready. Every action lands in the audit log."
            </p>
        </section>
        <section class="card" aria-labelledby="server-status-heading">
            <h2 id="server-status-heading">"Server status"</h2>
            <p class="muted">"Asks the server whether its database and cluster answer right now."</p>
            <button
                type="button"
                class="button"
                // Disabled in the server-rendered HTML: the button needs the wasm.
                disabled=move || !hydrated.get() || pending.get()
                on:click=move |_| {
                    check.dispatch(());
                }
            >
                {move || if pending.get() { "Checking…" } else { "Check server status" }}
            </button>
            <div class="status-result" role="status" aria-live="polite">
                {move || result.get().map(|outcome| match outcome {
                    Ok(status) => view! { <StatusList status/> }.into_any(),
                    Err(error) => {
                                                view! { <p class="error">{error.to_string()}</p> }.into_any()
                    }
                })}
            </div>
        </section>
    }
}

#[component]
fn StatusList(status: StatusReport) -> impl IntoView {
    let version = status.version;
    view! {
        <dl class="status-list">
            <dt>"Console"</dt>
            <dd>{version}</dd>
            <DependencyRow name="Database" dependency=status.database/>
            <DependencyRow name="Cluster" dependency=status.cluster/>
        </dl>
    }
}

#[component]
fn DependencyRow(name: &'static str, dependency: Dependency) -> impl IntoView {
    let class = format!("dependency dependency-{}", dependency.state.css_class());
    let text = match &dependency.detail {
        Some(detail) => format!("{} ({detail})", dependency.state.label()),
        None => dependency.state.label().to_owned(),
    };
    view! {
        <dt>{name}</dt>
        <dd class=class data-dependency=name.to_ascii_lowercase() data-state=dependency.state.css_class()>
            {text}
        </dd>
    }
}
