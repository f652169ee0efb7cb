use leptos::prelude::*;
use leptos_meta::Title;
use lifecycle::{TokenScope, tokens::MAX_TOKEN_DAYS};

use crate::{
    auth::get_current_user,
    components::TokenTable,
    error::page_data,
    tokens::{CreateToken, RevokeToken, my_tokens},
};

/// `/profile`: who is signed in, and their API tokens: made here, shown
/// once, revoked here.
#[component]
pub fn Profile() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let user = Resource::new(|| (), |_| page_data(get_current_user()));
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| page_data(my_tokens()),
    );
    let error = move || {
        [
            create.value().get().and_then(Result::err),
            revoke.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };
    let created = move || create.value().get().and_then(Result::ok);

    view! {
        <Title text="Profile"/>
        <section class="card">
            <h1>"Profile"</h1>
            <Suspense fallback=|| ()>
                {move || user.get().and_then(Result::ok).flatten().map(|user| view! {
                    <p>{user.email.clone()}" · "{user.role.label()}</p>
                })}
            </Suspense>
        </section>
        <section class="card" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"API tokens"</h2>
            <p class="muted">
                "A token acts as you through the REST API (/api/v1) and the command-line client, never beyond its scope or your role."
            </p>
            <div role="alert" class="form-error">{error}</div>
            {move || created().map(|new| view! {
                <div class="notice" role="status" data-token-created=new.row.name.clone()>
                    <p>{format!("Token {} created. Copy it now: it is not shown again.", new.row.name)}</p>
                    <code data-token-secret="">{new.token}</code>
                </div>
            })}
            <Suspense fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
                {move || tokens.get().map(|answer| match answer {
                    Ok(list) => view! { <TokenTable list revoke show_owner=false/> }.into_any(),
                    Err(error) => view! { <p class="error" data-error="">{error.to_string()}</p> }.into_any(),
                })}
            </Suspense>
            <h3>"New token"</h3>
            <ActionForm action=create attr:class="form">
                <label for="token-name">"Name"</label>
                <input id="token-name" name="name" type="text" required maxlength="64"/>
                <label for="token-scope">"Scope"</label>
                <select id="token-scope" name="scope">
                    {TokenScope::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str() selected=s == TokenScope::Read>{s.label()}</option> })
                        .collect_view()}
                </select>
                <label for="token-days">"Expires in (days)"</label>
                <input id="token-days" name="days" type="number" min="1" max=MAX_TOKEN_DAYS value="90" required/>
                <button type="submit" class="button">"Create token"</button>
            </ActionForm>
        </section>
    }
}
