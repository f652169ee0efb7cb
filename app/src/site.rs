//! What every page shares: the product's and the bundle's names, and whether
//! the browser bundle has taken over the page.

use leptos::prelude::ReadSignal;

/// Product name shown in the header and the page titles.
pub const PRODUCT_NAME: &str = "Runtime Console";

/// Name of the wasm/js/css bundle cargo-leptos writes under `<site-root>/pkg`.
/// Must equal `name` in `[[workspace.metadata.leptos]]` of the root Cargo.toml.
pub const BUNDLE_NAME: &str = "console";

/// Whether the browser bundle has taken over the server-rendered page. Effects
/// never run on the server, so this is `false` in the HTML and turns `true`
/// once hydration completes; controls that need the wasm wait for it.
#[derive(Clone, Copy)]
pub struct Hydrated(pub ReadSignal<bool>);
