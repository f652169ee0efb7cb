//! `/runtimes`: every runtime with its versions (status, health, which one
//! is published), and registering a new version from a pasted or uploaded
//! manifest, with every problem shown next to the input.

use leptos::prelude::*;
use leptos_meta::Title;
use lifecycle::{Permission, Status};

use crate::{
    api::RegisterVersion,
    components::{Refusal, RuntimeFieldset, StatusBadge, health_class, health_text, short_time},
    error::page_data,
    releases::releases_path,
    runtimes::{CreateRuntime, RuntimeFields, settings_path},
    versions::{RuntimeSummary, list_runtimes, version_path},
};

/// Largest manifest file the page reads (the server caps it too).
const MAX_UPLOAD_BYTES: f64 = 256.0 * 1024.0;

#[component]
pub fn Runtimes() -> impl IntoView {
    let register = ServerAction::<RegisterVersion>::new();
    let create = ServerAction::<CreateRuntime>::new();
    // Reload the list after a successful registration or creation only: a
    // refused one keeps the form (and what was typed) as it is.
    let registered = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Some(Ok(_)) = register.value().get() {
            registered.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            registered.update(|n| *n += 1);
        }
    });
    let list = Resource::new_blocking(move || registered.get(), |_| page_data(list_runtimes()));
    let can_register = move || {
        list.get()
            .and_then(Result::ok)
            .is_some_and(|view| view.role.allows(Permission::Operate))
    };
    let can_create = move || {
        list.get()
            .and_then(Result::ok)
            .is_some_and(|view| view.role.allows(Permission::ManageRuntimes))
    };
    let runtime_names = Signal::derive(move || {
        list.get()
            .and_then(Result::ok)
            .map(|view| {
                view.runtimes
                    .into_iter()
                    .map(|r| r.name)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });

    view! {
        <Title text="Runtimes"/>
        <section class="card">
            <h1>"Runtimes"</h1>
            <Transition fallback=|| ()>
                <Show when=can_create>
                    <p><a href="#new-runtime" class="button secondary" data-new-runtime="">"New runtime"</a></p>
                </Show>
            </Transition>
            <Transition fallback=|| view! { <p class="muted">"Loading runtimes…"</p> }>
                {move || list.get().map(|answer| match answer {
                    Ok(view) if view.runtimes.is_empty() => view! {
                        <p class="muted">"No runtimes yet."</p>
                    }.into_any(),
                    Ok(view) => view.runtimes.into_iter().map(|runtime| view! { <RuntimeTable runtime/> }).collect_view().into_any(),
                    Err(error) => {
                                                view! { <p class="error" data-error="">{error.to_string()}</p> }.into_any()
                    }
                })}
            </Transition>
        </section>
        <Transition fallback=|| ()>
            <Show when=can_register>
                <RegisterForm register runtime_names/>
            </Show>
            <Show when=can_create>
                <NewRuntimeForm create/>
            </Show>
        </Transition>
    }
}

#[component]
fn RuntimeTable(runtime: RuntimeSummary) -> impl IntoView {
    let heading_id = format!("runtime-{}", runtime.name);
    let name = runtime.name.clone();
    view! {
        <section class="runtime" aria-labelledby=heading_id.clone() data-runtime=runtime.name.clone()>
            <h2 id=heading_id.clone()>{runtime.name.clone()}</h2>
            <p class="muted">
                "Served at "
                <a href=format!("https://{}/", runtime.host) data-runtime-host=runtime.host.clone()>{runtime.host.clone()}</a>
                " · "
                <a href=settings_path(&runtime.name) data-runtime-settings="">{format!("Settings of {}", runtime.name)}</a>
                " · "
                <a href=releases_path(&runtime.name) data-runtime-releases="">{format!("Releases of {}", runtime.name)}</a>
            </p>
            {if runtime.versions.is_empty() {
                view! { <p class="muted">"No versions registered."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table class="table">
                            <thead>
                                <tr>
                                    <th scope="col">"Version"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Health"</th>
                                    <th scope="col">"Since"</th>
                                    <th scope="col">"Description"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {runtime.versions.into_iter().map(|v| {
                                    let published = v.status == Status::Published;
                                    let status = v.status;
                                    let routing = v.routing;
                                    view! {
                                        <tr data-version=v.name.clone() data-list-status=v.status.as_str()>
                                            <th scope="row">
                                                <a href=version_path(&name, &v.name)>{v.name.clone()}</a>
                                                {published.then(|| view! {
                                                    " " <span class="published-marker" data-published="">"★ published"</span>
                                                })}
                                                {v.bad.then(|| view! {
                                                    " " <span class="bad-marker" data-version-bad="true">"marked bad"</span>
                                                })}
                                                {routing.map(|routing| view! {
                                                    " " <span class=format!("routing routing-{routing}") data-routing=routing.as_str()>{routing.label()}</span>
                                                })}
                                            </th>
                                            <td><StatusBadge status=Signal::stored(status)/></td>
                                            <td class=health_class(&v.health)>{health_text(&v.health)}</td>
                                            <td><time datetime=v.status_changed_at.clone()>{short_time(&v.status_changed_at)}</time></td>
                                            <td>{v.description.clone()}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn RegisterForm(
    register: ServerAction<RegisterVersion>,
    runtime_names: Signal<Vec<String>>,
) -> impl IntoView {
    let manifest = RwSignal::new(String::new());
    let upload_error = RwSignal::new(None::<String>);
    let pending = register.pending();
    Effect::new(move |_| {
        if let Some(Ok(_)) = register.value().get() {
            manifest.set(String::new());
        }
    });
    let outcome = move || {
        register.value().get().map(|answer| match answer {
            Ok(done) => view! {
                <p class="success" role="status">
                    {format!("Registered {} in {} ({} processes), stopped.", done.name, done.runtime, done.processes)}
                    " "
                    <a href=version_path(&done.runtime, &done.name)>"Open it"</a>
                </p>
            }
            .into_any(),
            Err(error) => view! { <Refusal error subject="manifest"/> }.into_any(),
        })
    };

    view! {
        <section class="card" aria-labelledby="register-heading">
            <h2 id="register-heading">"Register a version"</h2>
            <ActionForm action=register attr:class="form">
                <label for="register-runtime">"Runtime"</label>
                <select id="register-runtime" name="runtime" required>
                    {move || runtime_names.get().into_iter().map(|name| view! {
                        <option value=name.clone()>{name.clone()}</option>
                    }).collect_view()}
                </select>
                <label for="register-file">"Upload a manifest (YAML or JSON)"</label>
                <input id="register-file" type="file" accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml"
                    on:change=move |ev| read_upload(ev, manifest, upload_error)/>
                {move || upload_error.get().map(|e| view! { <p role="alert" class="form-error">{e}</p> })}
                <label for="register-manifest">"Manifest"</label>
                <textarea
                    id="register-manifest"
                    name="manifest"
                    rows="12"
                    required
                    spellcheck="false"
                    class="code-input"
                    prop:value=move || manifest.get()
                    on:input=move |ev| manifest.set(event_target_value(&ev))
                ></textarea>
                {outcome}
                <button type="submit" class="button" disabled=move || pending.get()>
                    {move || if pending.get() { "Registering…" } else { "Register version" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// For admins: a runtime with its settings. What a form sends is read by
/// the server; nothing typed is lost on a refusal.
#[component]
fn NewRuntimeForm(create: ServerAction<CreateRuntime>) -> impl IntoView {
    let pending = create.pending();
    let outcome = move || {
        create.value().get().map(|answer| match answer {
            Ok(name) => view! {
                <p class="success" role="status">
                    {format!("Created runtime {name}.")}
                    " "
                    <a href=settings_path(&name)>"Open its settings"</a>
                </p>
            }
            .into_any(),
            Err(error) => view! { <Refusal error subject="runtime"/> }.into_any(),
        })
    };
    let fields = RuntimeFields {
        tls: "none".into(),
        pod_security: "restricted".into(),
        ..RuntimeFields::default()
    };
    view! {
        <section class="card" id="new-runtime" aria-labelledby="new-runtime-heading">
            <h2 id="new-runtime-heading">"Create a runtime"</h2>
            <ActionForm action=create attr:class="form">
                <label for="new-runtime-name">"Name"</label>
                <input id="new-runtime-name" name="name" type="text" required maxlength="63"
                    aria-describedby="new-runtime-name-hint"/>
                <p id="new-runtime-name-hint" class="hint muted">"Lowercase letters, digits and '-'; also the name of its namespace."</p>
                <RuntimeFieldset fields/>
                <label for="new-runtime-reason">"Reason"</label>
                <input id="new-runtime-reason" name="reason" type="text" required maxlength="1000"/>
                {outcome}
                <button type="submit" class="button" disabled=move || pending.get()>
                    {move || if pending.get() { "Creating…" } else { "Create runtime" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// Reads the chosen file into the manifest box (the browser reads it; the
/// form posts text either way).
#[cfg(feature = "hydrate")]
fn read_upload(
    ev: leptos::ev::Event,
    manifest: RwSignal<String>,
    upload_error: RwSignal<Option<String>>,
) {
    use wasm_bindgen::JsCast;
    let file = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .and_then(|input| input.files())
        .and_then(|files| files.get(0));
    let Some(file) = file else { return };
    if file.size() > MAX_UPLOAD_BYTES {
        upload_error.set(Some(format!(
            "{} is larger than {} KiB; a manifest is much smaller.",
            file.name(),
            MAX_UPLOAD_BYTES / 1024.0
        )));
        return;
    }
    upload_error.set(None);
    leptos::task::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(file.text()).await {
            Ok(text) => manifest.set(text.as_string().unwrap_or_default()),
            Err(_) => upload_error.set(Some(format!("{} could not be read.", file.name()))),
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn read_upload(
    _ev: leptos::ev::Event,
    _manifest: RwSignal<String>,
    _upload_error: RwSignal<Option<String>>,
) {
    let _ = MAX_UPLOAD_BYTES;
}
