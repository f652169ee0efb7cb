//! Demo mode (the run command's default): the users and the `demo` runtime
//! the README and end-to-end tests rely on. Idempotent: what exists is kept,
//! so restarting never resets passwords or versions.

use lifecycle::{Reason, Role};

use crate::{
    audit::Actor,
    db::Database,
    error::Error,
    manifest_file,
    users::{self, UserError},
    versions::{self, VersionError},
};

pub const DEFAULT_PASSWORD: &str = "demo-password";
pub const USERS: [(&str, Role); 3] = [
    ("admin@example.com", Role::Admin),
    ("manager@example.com", Role::Manager),
    ("viewer@example.com", Role::Viewer),
];
pub const RUNTIME: &str = "demo";
/// What the demo runtime's settings show: an ingress class and a pull
/// secret (which the emulated cluster does not need for public images).
pub const INGRESS_CLASS: &str = "nginx";
pub const PULL_SECRET: &str = "demo-registry";

const MANIFESTS: [(&str, &str); 4] = [
    ("v1", include_str!("../../examples/manifests/v1.yaml")),
    ("v2", include_str!("../../examples/manifests/v2.yaml")),
    // Declares variables: it starts once they are set.
    ("v4", include_str!("../../examples/manifests/v4.yaml")),
    (
        "broken",
        include_str!("../../examples/manifests/broken.json"),
    ),
];

/// What seeding did, for the startup log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    pub users: usize,
    pub versions: usize,
}

pub async fn seed(db: &Database, password: &str) -> Result<Seeded, Error> {
    let reason = Reason::parse("demo mode seed").map_err(|e| Error::Corrupt(e.to_string()))?;
    let mut seeded = Seeded::default();
    for (email, role) in USERS {
        if users::find_by_email(db, email).await?.is_some() {
            continue;
        }
        match users::create(db, &Actor::System, email, role, password, &reason).await {
            Ok(_) => seeded.users += 1,
            Err(UserError::EmailTaken(_)) => {} // another replica was faster
            Err(UserError::Store(error)) => return Err(error),
            Err(error) => return Err(Error::Corrupt(format!("demo user {email}: {error}"))),
        }
    }
    seed_runtime(db, &reason).await?;
    for (name, text) in MANIFESTS {
        match versions::get(db, RUNTIME, name).await {
            Ok(_) => continue,
            Err(VersionError::UnknownVersion { .. }) => {}
            Err(error) => return Err(Error::Corrupt(format!("demo version {name}: {error}"))),
        }
        let manifest = manifest_file::parse(text.as_bytes())
            .map_err(|e| Error::Corrupt(format!("demo manifest {name}: {e}")))?;
        match versions::register(db, &Actor::System, RUNTIME, &manifest).await {
            Ok(_) => seeded.versions += 1,
            Err(VersionError::Duplicate { .. }) => {}
            Err(error) => return Err(Error::Corrupt(format!("demo version {name}: {error}"))),
        }
    }
    Ok(seeded)
}

/// The demo runtime with settings worth showing, created once: an admin's
/// later changes are kept across restarts.
async fn seed_runtime(db: &Database, reason: &Reason) -> Result<(), Error> {
    use crate::runtimes::{self, RuntimeDraft, RuntimesError};
    match runtimes::get(db, RUNTIME).await {
        Ok(_) => return Ok(()),
        Err(RuntimesError::Unknown(_)) => {}
        Err(RuntimesError::Store(error)) => return Err(error),
        Err(error) => return Err(Error::Corrupt(format!("demo runtime: {error}"))),
    }
    let draft = RuntimeDraft {
        description: "The demo runtime".into(),
        base_domain: "demo.localhost".into(),
        settings: lifecycle::RuntimeSettings {
            ingress_class: Some(INGRESS_CLASS.into()),
            image_pull_secrets: vec![PULL_SECRET.into()],
            ..lifecycle::RuntimeSettings::default()
        },
    };
    match runtimes::create(db, &Actor::System, RUNTIME, &draft, reason).await {
        // Exists: another replica was faster.
        Ok(_) | Err(RuntimesError::Exists(_)) => Ok(()),
        Err(RuntimesError::Store(error)) => Err(error),
        Err(error) => Err(Error::Corrupt(format!("demo runtime: {error}"))),
    }
}
