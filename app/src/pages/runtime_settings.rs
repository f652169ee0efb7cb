//! `/runtimes/<runtime>/settings`: a runtime's settings, its versions, and
//! for admins changing them (with a reason; the page says when each change
//! takes effect) and deleting the runtime once none of its versions runs.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};
use lifecycle::{Permission, Status};

use crate::{
    components::{PageError, Refusal, RuntimeFieldset, StatusBadge, short_time},
    error::page_data,
    releases::releases_path,
    runtimes::{DeleteRuntime, RuntimeView, SettingsSaved, UpdateRuntime, get_runtime},
    versions::version_path,
};

#[component]
pub fn RuntimeSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let runtime = move || params.with(|p| p.get("runtime").unwrap_or_default());
    let update = ServerAction::<UpdateRuntime>::new();
    // Reload after a save only: a refused one keeps what was typed.
    let saved = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Some(Ok(_)) = update.value().get() {
            saved.update(|n| *n += 1);
        }
    });
    // Blocking: an unknown runtime answers 404 before the first byte.
    let view_data = Resource::new_blocking(
        move || (runtime(), saved.get()),
        |(runtime, _)| page_data(get_runtime(runtime)),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the runtime…"</p> }>
            {move || view_data.get().map(|answer| match answer {
                Ok(view) => view! { <SettingsScreen view update/> }.into_any(),
                Err(error) => view! { <PageError title="Runtime" error/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn SettingsScreen(view: RuntimeView, update: ServerAction<UpdateRuntime>) -> impl IntoView {
    let RuntimeView {
        role,
        name,
        host,
        fields,
        created_at,
        created_by,
        updated_at,
        serving_version,
        routing_error,
        versions,
    } = view;
    let admin = role.allows(Permission::ManageRuntimes);
    let running: Vec<String> = versions
        .iter()
        .filter(|v| v.status != Status::Stopped)
        .map(|v| v.name.clone())
        .collect();
    let pending = update.pending();
    let outcome = move || {
        update.value().get().map(|answer| match answer {
            Ok(saved) => {
                view! { <p class="success" role="status">{saved_message(&saved)}</p> }.into_any()
            }
            Err(error) => view! { <Refusal error subject="runtime"/> }.into_any(),
        })
    };
    let runtime = name.clone();
    view! {
        <Title text=format!("Settings of {name}")/>
        <nav class="breadcrumbs" aria-label="Breadcrumbs"><a href="/runtimes">"Runtimes"</a>" / "{name.clone()}</nav>
        <section class="card" data-runtime=name.clone()>
            <h1>{format!("Settings of {name}")}</h1>
            <dl class="status-list">
                <dt>"Served at"</dt><dd data-runtime-host=host.clone()>{host.clone()}</dd>
                <dt>"Serving"</dt><dd>{serving_version.unwrap_or_else(|| "nothing".into())}" · "<a href=releases_path(&name)>"Release history"</a>
                    {admin.then(|| view! { " · "<a href=crate::webhooks::webhooks_path(&name) data-webhooks-link="">"Webhooks"</a> })}</dd>
                <dt>"Created"</dt><dd><time datetime=created_at.clone()>{short_time(&created_at)}</time>{format!(" by {}", if created_by.is_empty() { "the system" } else { &created_by })}</dd>
                {updated_at.map(|at| view! { <dt>"Changed"</dt><dd><time datetime=at.clone()>{short_time(&at)}</time></dd> })}
            </dl>
            {routing_error.map(|e| view! { <p class="error" role="alert" data-routing-error="">{format!("The Ingress could not be brought in line: {e}")}</p> })}
            {if admin {
                view! {
                    <ActionForm action=update attr:class="form">
                        <input type="hidden" name="runtime" value=runtime.clone()/>
                        <RuntimeFieldset fields/>
                        <label for="settings-reason">"Reason"</label>
                        <input id="settings-reason" name="reason" type="text" required maxlength="1000"/>
                        {outcome}
                        <button type="submit" class="button" disabled=move || pending.get()>
                            {move || if pending.get() { "Saving…" } else { "Save settings" }}
                        </button>
                    </ActionForm>
                }.into_any()
            } else {
                view! {
                    <p class="muted" data-read-only="">"Only admins change a runtime's settings."</p>
                    <RuntimeFieldset fields read_only=true/>
                }.into_any()
            }}
        </section>
        <section class="card" aria-labelledby="runtime-versions-heading">
            <h2 id="runtime-versions-heading">"Versions"</h2>
            {if versions.is_empty() {
                view! { <p class="muted">"No versions registered."</p> }.into_any()
            } else {
                view! {
                    <ul>
                        {versions.into_iter().map(|v| view! {
                            <li><a href=version_path(&name, &v.name)>{v.name.clone()}</a>" " <StatusBadge status=Signal::stored(v.status)/></li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        {admin.then(|| view! { <DeleteRuntimeForm runtime=name.clone() running/> })}
    }
}

fn saved_message(saved: &SettingsSaved) -> String {
    let mut message = String::from("Saved.");
    if saved.routing {
        message.push_str(" The Ingress follows the new routing settings within seconds.");
    }
    if saved.workloads {
        message.push_str(" Workload defaults take effect at each version's next start.");
    }
    message
}

#[component]
fn DeleteRuntimeForm(runtime: String, running: Vec<String>) -> impl IntoView {
    let delete = ServerAction::<DeleteRuntime>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/runtimes", Default::default());
        }
    });
    let blocked = (!running.is_empty()).then(|| {
        format!(
            "Stop {} first: a runtime is deleted only once none of its versions runs.",
            running.join(", ")
        )
    });
    let disabled = blocked.is_some();
    view! {
        <section class="card narrow-left" aria-labelledby="delete-runtime-heading">
            <h2 id="delete-runtime-heading">"Delete this runtime"</h2>
            <p class="muted">"Its stopped versions and their logs go with it; the audit log keeps their history."</p>
            {blocked.map(|why| view! { <p class="muted" data-delete-blocked="">{why}</p> })}
            <ActionForm action=delete attr:class="form">
                <input type="hidden" name="runtime" value=runtime/>
                <label for="delete-reason">"Reason"</label>
                <input id="delete-reason" name="reason" type="text" required maxlength="1000"/>
                {move || delete.value().get().and_then(Result::err).map(|error| view! { <Refusal error subject="runtime"/> })}
                <button type="submit" class="button button-danger" disabled=disabled>"Delete runtime"</button>
            </ActionForm>
        </section>
    }
}
