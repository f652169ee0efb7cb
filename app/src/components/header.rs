use leptos::prelude::*;

use crate::PRODUCT_NAME;

/// The top bar: product name, navigation and the signed-in user slot.
#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                {PRODUCT_NAME}
            </a>
            <nav class="nav" aria-label="Main"></nav>
            <div class="user-slot" data-user-slot="">
                <span class="muted">"Not signed in"</span>
            </div>
        </header>
    }
}
