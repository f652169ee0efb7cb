//! The version's Configuration: each declared variable labelled with its
//! name, its description, where its value came from, and a field to set it.
//! A secret shows only whether it is set (`data-config-secret-set`) and
//! when; its field is always empty and replaces it when filled. One form,
//! one reason, saved without the wasm too.

use leptos::prelude::*;
use lifecycle::{MAX_REASON_CHARS, Permission, Role, VariableKind};

use crate::{
    components::short_time,
    configuration::{ConfigField, ConfigureVersion},
};

fn origin(field: &ConfigField) -> String {
    let when = |f: &ConfigField| {
        format!(
            "{} at {}",
            f.set_by.clone().unwrap_or_default(),
            short_time(f.set_at.as_deref().unwrap_or_default())
        )
    };
    match field.source.as_deref() {
        Some(source) => match source.strip_prefix("carried:") {
            Some(from) => format!("Carried over from {from} (set by {}).", when(field)),
            None => format!("Set by {}.", when(field)),
        },
        None => match &field.default {
            Some(default) if !field.secret => format!("Not set: the default {default:?} applies."),
            _ if field.missing() => "Not set: required before a start.".to_owned(),
            _ => "Not set (optional).".to_owned(),
        },
    }
}

#[component]
pub fn Configuration(
    role: Role,
    runtime: String,
    version: String,
    configuration: RwSignal<Vec<ConfigField>>,
) -> impl IntoView {
    let save = ServerAction::<ConfigureVersion>::new();
    // Each save empties the secret fields: what was typed is never kept
    // on the screen.
    let saves = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Some(Ok(fresh)) = save.value().get() {
            configuration.set(fresh);
            saves.update(|n| *n += 1);
        }
    });
    let error = move || {
        save.value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let saved = move || matches!(save.value().get(), Some(Ok(_))).then_some("Saved.");
    let may_edit = role.allows(Permission::Operate);
    let max = MAX_REASON_CHARS.to_string();
    view! {
        <section class="card" aria-labelledby="configuration-heading" id="configuration">
            <h2 id="configuration-heading">"Configuration"</h2>
            <Show
                when=move || configuration.with(|c| !c.is_empty())
                fallback=|| view! { <p class="muted">"This version declares no variables."</p> }
            >
                {let (runtime, version, max) = (runtime.clone(), version.clone(), max.clone());
                view! {
                <ActionForm action=save attr:class="form configuration-form">
                    <input type="hidden" name="runtime" value=runtime.clone()/>
                    <input type="hidden" name="version" value=version.clone()/>
                    {move || configuration.get().into_iter().map(|field| {
                        let id = format!("config-{}", field.name);
                        let described = format!("{id}-about");
                        let name = if field.secret {
                            format!("secrets[{}]", field.name)
                        } else {
                            format!("values[{}]", field.name)
                        };
                        let input = match (field.secret, field.kind) {
                            (true, _) => view! {
                                <input id=id.clone() name=name type="password" autocomplete="new-password"
                                    prop:value=move || { saves.track(); String::new() }
                                    placeholder=if field.set { "Replace the secret" } else { "Set the secret" }
                                    disabled=!may_edit aria-describedby=described.clone()/>
                            }.into_any(),
                            (false, VariableKind::File) => view! {
                                <textarea id=id.clone() name=name rows="4" disabled=!may_edit
                                    aria-describedby=described.clone()
                                    prop:value=field.value.clone().unwrap_or_default()>
                                    {field.value.clone().unwrap_or_default()}
                                </textarea>
                            }.into_any(),
                            (false, VariableKind::Variable) => view! {
                                <input id=id.clone() name=name type="text" disabled=!may_edit
                                    aria-describedby=described.clone()
                                    value=field.value.clone().unwrap_or_default()/>
                            }.into_any(),
                        };
                        view! {
                            <div class="config-field" data-config-field=field.name.clone()
                                data-config-missing=field.missing().to_string()>
                                <label for=id.clone()>{field.name.clone()}</label>
                                {input}
                                <p class="muted" id=described>
                                    {(!field.description.is_empty()).then(|| format!("{} ", field.description))}
                                    {field.kind_word()}
                                    {field.secret.then_some(", secret")}
                                    {(!field.required).then_some(", optional")}
                                    ". "
                                    {field.secret.then(|| view! {
                                        <span data-config-secret-set=field.set.to_string()>
                                            {if field.set { "Set. " } else { "Not set. " }}
                                        </span>
                                    })}
                                    <span data-config-source=field.source.clone().unwrap_or_default()>
                                        {origin(&field)}
                                    </span>
                                </p>
                            </div>
                        }
                    }).collect_view()}
                    {may_edit.then(|| view! {
                        <label for="config-reason">"Reason for the change"</label>
                        <input id="config-reason" name="reason" type="text" required maxlength=max.clone()/>
                        <p class="muted">
                            "A running version's pods restart with the new values."
                        </p>
                        <button type="submit" class="button secondary" disabled=move || save.pending().get()>
                            "Save configuration"
                        </button>
                    })}
                    <p role="alert" class="form-error" data-config-error="">{error}</p>
                    <p role="status" class="muted" data-config-saved="">{saved}</p>
                </ActionForm>
                }}
            </Show>
        </section>
    }
}
