//! The resolved configuration the server runs with.

use std::{net::SocketAddr, path::PathBuf};

use backend::ClusterMode;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/console.db";
pub const DEFAULT_SITE_ROOT: &str = "target/site";
/// The file demo mode keeps the audit signing key it makes in.
pub const DEMO_AUDIT_KEY_NAME: &str = "audit-signing.key";

/// The file demo mode keeps the secret key it makes in.
pub const DEMO_SECRET_KEY_NAME: &str = "secret.key";

/// Where demo mode keeps its audit signing key: beside the SQLite database
/// file (each demo database its own key), else under `data/`.
pub fn demo_audit_key_file(database_url: &str) -> PathBuf {
    demo_key_file(database_url, DEMO_AUDIT_KEY_NAME)
}

/// Where demo mode keeps the key sealing secret values, beside the
/// audit signing key.
pub fn demo_secret_key_file(database_url: &str) -> PathBuf {
    demo_key_file(database_url, DEMO_SECRET_KEY_NAME)
}

fn demo_key_file(database_url: &str, name: &str) -> PathBuf {
    let dir = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|path| !path.is_empty() && !path.contains(":memory:"))
        .and_then(|path| std::path::Path::new(path).parent().map(PathBuf::from));
    match dir {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
        Some(_) => PathBuf::from(name),
        None => PathBuf::from("data").join(name),
    }
}

/// Where a key comes from: the audit signing key, or the key secret
/// values are sealed with.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// No key: actions answer without receipts, no checkpoints are logged;
    /// secret values cannot be stored.
    None,
    File(PathBuf),
    /// The key's text (from `CONSOLE_AUDIT_KEY`, `CONSOLE_SECRET_KEY`).
    Text(String),
    /// Demo mode's own key, made at this path on first start.
    DemoFile(PathBuf),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => write!(f, "None"),
            Self::File(path) => write!(f, "File({})", path.display()),
            Self::Text(_) => write!(f, "Text(***)"),
            Self::DemoFile(path) => write!(f, "DemoFile({})", path.display()),
        }
    }
}

impl KeySource {
    pub fn load_audit(
        &self,
    ) -> Result<Option<backend::audit::receipt::AuditKey>, backend::audit::receipt::KeyError> {
        use backend::audit::receipt::AuditKey;
        match self {
            Self::None => Ok(None),
            Self::File(path) => AuditKey::read(path).map(Some),
            Self::Text(text) => AuditKey::from_text(text).map(Some),
            Self::DemoFile(path) => AuditKey::read_or_create(path).map(Some),
        }
    }

    /// The secret key, as a keyring (empty without one).
    pub fn load_secrets(
        &self,
    ) -> Result<backend::configuration::Keyring, backend::configuration::KeyError> {
        use backend::configuration::Keyring;
        match self {
            Self::None => Ok(Keyring::none()),
            Self::File(path) => Keyring::read(path),
            Self::Text(text) => Keyring::from_text(text),
            Self::DemoFile(path) => Keyring::read_or_create(path),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Where `/metrics` is served; `None` serves it nowhere.
    pub metrics_listen: Option<SocketAddr>,
    pub database_url: String,
    pub cluster: ClusterMode,
    /// A `tracing` filter: a level (`info`) or directives (`server=debug,info`).
    pub log_filter: String,
    pub log_format: LogFormat,
    /// Where cargo-leptos put the wasm, js, css and public assets.
    pub site_root: PathBuf,
    /// Demo mode: seed the demo users with this password and the `demo`
    /// runtime. `None` outside demo mode.
    pub demo_password: Option<String>,
    pub sessions: crate::state::SessionSettings,
    /// Proxies in front that append to `X-Forwarded-For`; 0 trusts none.
    pub trusted_proxy_hops: usize,
    /// Days of audit entries to keep; `None` keeps everything.
    pub audit_retention_days: Option<u32>,
    /// The key signing audit receipts and checkpoints.
    pub audit_key: KeySource,
    /// The key secret values are sealed with.
    pub secret_key: KeySource,
    /// How often the leader logs a signed checkpoint of the chain.
    pub audit_checkpoint: std::time::Duration,
    /// Stop when standard input closes: lets a test harness or supervisor
    /// that dies without signalling still take the server down with it.
    pub shutdown_on_stdin_eof: bool,
    /// Deadlines and grace periods of lifecycle actions in the cluster.
    pub runtime: backend::runtime::Settings,
    /// How webhooks are sent.
    pub webhooks: backend::webhooks::Settings,
}

impl Config {
    /// The database URL with any password masked, for logs.
    pub fn redacted_database_url(&self) -> String {
        redact_url_password(&self.database_url)
    }
}

fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_key_lives_beside_its_sqlite_database() {
        for (url, file) in [
            ("sqlite://data/console.db", "data/audit-signing.key"),
            (
                "sqlite:///tmp/x/console.db?mode=rwc",
                "/tmp/x/audit-signing.key",
            ),
            ("sqlite:console.db", "audit-signing.key"),
            ("sqlite::memory:", "data/audit-signing.key"),
            ("postgres://db/console", "data/audit-signing.key"),
        ] {
            assert_eq!(demo_audit_key_file(url), PathBuf::from(file), "{url}");
        }
    }

    #[test]
    fn passwords_are_masked_in_logged_urls() {
        assert_eq!(
            redact_url_password("postgres://console:s3cret@db:5432/console"),
            "postgres://console:***@db:5432/console"
        );
        assert_eq!(
            redact_url_password("postgres://console@db/console"),
            "postgres://console@db/console"
        );
        assert_eq!(
            redact_url_password("sqlite://data/console.db"),
            "sqlite://data/console.db"
        );
    }
}
