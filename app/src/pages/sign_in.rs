use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::Login;

/// `/login`: email and password. A plain form POST before the wasm loads,
/// a server action after; either way the server redirects on success.
#[component]
pub fn SignIn() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let pending = action.pending();

    view! {
        <Title text="Sign in"/>
        <section class="card narrow" aria-labelledby="sign-in-heading">
            <h1 id="sign-in-heading">"Sign in"</h1>
            <ActionForm action attr:class="form">
                // An attribute, not a property: it must be in the server-rendered HTML
                // for the form to work before the wasm loads.
                <input type="hidden" name="next" value=next/>
                <label for="sign-in-email">"Email"</label>
                <input id="sign-in-email" name="email" type="email" autocomplete="username" required maxlength="254"/>
                <label for="sign-in-password">"Password"</label>
                <input id="sign-in-password" name="password" type="password" autocomplete="current-password" required maxlength="1024"/>
                <button type="submit" class="button" disabled=move || pending.get()>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <div role="alert" class="form-error">
                {move || action.value().get().and_then(Result::err).map(|error| error.to_string())}
            </div>
        </section>
    }
}
