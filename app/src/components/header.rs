use leptos::prelude::*;

use crate::{
    PRODUCT_NAME,
    auth::{Logout, get_current_user},
};

/// The top bar: product name, navigation and who is signed in.
#[component]
pub fn Header() -> impl IntoView {
    // Signing in or out ends in a client-side navigation after hydration;
    // asking again on every navigation keeps the slot true.
    let location = leptos_router::hooks::use_location();
    // Blocking: the signed-in user is in the first bytes of the page, so the
    // header is right even where scripts never run.
    let user = Resource::new_blocking(move || location.pathname.get(), |_| get_current_user());
    let logout = ServerAction::<Logout>::new();

    view! {
        <header class="header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                {PRODUCT_NAME}
            </a>
            <nav class="nav" aria-label="Main">
                // Links only to what the user may open; the server refuses
                // the rest anyway.
                <Suspense fallback=|| ()>
                    {move || user.get().and_then(Result::ok).flatten().map(|user| {
                        use lifecycle::Permission;
                        view! {
                            <a href="/runtimes">"Runtimes"</a>
                            {user.role.allows(Permission::Operate).then(|| view! { <a href="/approvals">"Approvals"</a> })}
                            {user.role.allows(Permission::ReadAudit).then(|| view! { <a href="/audit">"Audit"</a> })}
                            {user.role.allows(Permission::ManageUsers).then(|| view! { <a href="/users">"Users"</a> })}
                        }
                    })}
                </Suspense>
            </nav>
            <div class="user-slot" data-user-slot="">
                <Suspense fallback=|| view! { <span class="muted">"…"</span> }>
                    {move || user.get().map(|answer| match answer {
                        Ok(Some(user)) => view! {
                            <a class="user-email" href="/profile" data-user-email=user.email.clone()>{user.email.clone()}</a>
                            " "
                            <span class="role-badge" data-user-role=user.role.as_str()>{user.role.label()}</span>
                            <ActionForm action=logout attr:class="inline-form">
                                <button type="submit" class="link-button">"Sign out"</button>
                            </ActionForm>
                        }.into_any(),
                        _ => view! { <a href="/login">"Sign in"</a> }.into_any(),
                    })}
                </Suspense>
            </div>
        </header>
    }
}
