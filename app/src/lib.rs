//! The console's user interface: routes, pages and the server functions they
//! call. Compiled twice: with `ssr` into the server binary, with `hydrate`
//! into the browser bundle.

pub mod api;
pub mod approvals;
pub mod audit;
pub mod auth;
mod components;
pub mod configuration;
pub mod dry_run;
pub mod error;
#[cfg(feature = "hydrate")]
mod live_client;
mod pages;
pub mod paths;
pub mod releases;
#[cfg(feature = "ssr")]
mod response;
pub mod runtimes;
pub mod schedules;
#[cfg(feature = "ssr")]
pub mod server;
mod site;
pub mod tokens;
pub mod users;
pub mod versions;
pub mod webhooks;
pub mod windows;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

pub use error::ConsoleError;
pub use site::{BUNDLE_NAME, Hydrated, PRODUCT_NAME};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    provide_context(Hydrated(hydrated));

    view! {
        <Stylesheet id="leptos" href=format!("/pkg/{BUNDLE_NAME}.css")/>
        <Title formatter=|page: String| {
            if page.is_empty() { PRODUCT_NAME.to_owned() } else { format!("{page} · {PRODUCT_NAME}") }
        }/>
        <Router>
            <div class="app" data-hydrated=move || hydrated.get().to_string()>
                <components::Header/>
                <main class="main">
                    <Routes fallback=pages::NotFound>
                        // In order: what a page waits for (who is signed in)
                        // is in its HTML where it belongs, not streamed in by
                        // script, so pages read right before the wasm runs.
                        <Route path=path!("/") view=pages::Home ssr=SsrMode::InOrder/>
                        <Route path=path!("/login") view=pages::SignIn ssr=SsrMode::InOrder/>
                        <Route path=path!("/users") view=pages::Users ssr=SsrMode::InOrder/>
                        <Route path=path!("/profile") view=pages::Profile ssr=SsrMode::InOrder/>
                        <Route path=path!("/runtimes") view=pages::Runtimes ssr=SsrMode::InOrder/>
                        <Route
                            path=path!("/runtimes/:runtime/diff")
                            view=pages::DiffPage
                            ssr=SsrMode::InOrder
                        />
                        <Route
                            path=path!("/runtimes/:runtime/releases")
                            view=pages::ReleasesPage
                            ssr=SsrMode::InOrder
                        />
                        <Route
                            path=path!("/runtimes/:runtime/settings")
                            view=pages::RuntimeSettingsPage
                            ssr=SsrMode::InOrder
                        />
                        <Route
                            path=path!("/runtimes/:runtime/webhooks")
                            view=pages::WebhooksPage
                            ssr=SsrMode::InOrder
                        />
                        <Route
                            path=path!("/runtimes/:runtime/webhooks/:id")
                            view=pages::DeliveriesPage
                            ssr=SsrMode::InOrder
                        />
                        <Route
                            path=path!("/runtimes/:runtime/versions/:version")
                            view=pages::VersionPage
                            ssr=SsrMode::InOrder
                        />
                        <Route path=path!("/audit") view=pages::Audit ssr=SsrMode::InOrder/>
                        <Route path=path!("/approvals") view=pages::Approvals ssr=SsrMode::InOrder/>
                    </Routes>
                </main>
            </div>
        </Router>
    }
}
