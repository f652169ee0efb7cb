//! A version's configuration for people: the declared variables with what
//! is set (a secret only as "set", never its value) and saving values with
//! a reason. The rules (declared names, sizes, text, secrets as secrets,
//! sealing, the audit, rolling a running version) are the backend's.

use std::collections::BTreeMap;

use leptos::prelude::*;
pub use lifecycle::variables::ConfigField;

use crate::ConsoleError;

/// Saves values for a version's declared variables. `values` are the
/// plain ones by name (an empty one clears it); `secrets` the secret ones
/// (an empty one is left as it is: a secret is only ever replaced).
/// Answers the configuration as it is now.
#[server(endpoint = "versions/configure")]
pub async fn configure_version(
    runtime: String,
    version: String,
    reason: String,
    #[server(default)] values: BTreeMap<String, String>,
    #[server(default)] secrets: BTreeMap<String, String>,
) -> Result<Vec<ConfigField>, ConsoleError> {
    use backend::configuration::ValueChange;
    use lifecycle::{AuditAction, Permission};

    let attempt = crate::server::Attempt {
        action: AuditAction::Configure,
        runtime: Some(runtime.clone()),
        version: Some(version.clone()),
    };
    let (services, user) = crate::server::require(Permission::Operate, Some(attempt)).await?;
    let reason = crate::approvals::ssr::reason(&reason)?;
    let changes: Vec<ValueChange> = values
        .into_iter()
        .map(|(name, value)| ValueChange {
            name,
            value,
            secret: false,
        })
        .chain(
            secrets
                .into_iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| ValueChange {
                    name,
                    value,
                    secret: true,
                }),
        )
        .collect();
    services
        .configure(&user.actor(), &runtime, &version, &changes, &reason)
        .await?;
    if crate::response::plain_form_post() {
        leptos_axum::redirect(&crate::paths::version_path(&runtime, &version));
    }
    Ok(services.configuration(&runtime, &version).await?)
}
