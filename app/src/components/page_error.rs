//! What a page under `/runtimes` shows when its data cannot be had (an
//! unknown runtime or version, a bad parameter, a refusal): the page's
//! title, the error in words, and the way back to every runtime.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::ConsoleError;

#[component]
pub fn PageError(#[prop(into)] title: String, error: ConsoleError) -> impl IntoView {
    view! {
        <Title text=title.clone()/>
        <section class="card">
            <h1>{title}</h1>
            <p class="error" role="alert" data-error="">{error.to_string()}</p>
            <p><a href="/runtimes">"All runtimes"</a></p>
        </section>
    }
}
