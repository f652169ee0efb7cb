//! Command-line flags and `CONSOLE_*` environment variables. A flag wins over
//! its variable, which wins over the default.

use std::{net::SocketAddr, path::PathBuf};

use backend::ClusterMode;
use clap::{Args, Parser, Subcommand};

use crate::config::{
    Config, DEFAULT_DATABASE_URL, DEFAULT_LISTEN, DEFAULT_SITE_ROOT, KeySource, LogFormat,
    demo_audit_key_file, demo_secret_key_file,
};

#[derive(Debug, Parser)]
#[command(
    name = "server",
    version,
    about = "The runtime version console",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Without a subcommand the server serves, with these flags.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the console (the default).
    Serve(ServeArgs),
    /// Work with the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Work with versions.
    Version {
        #[command(subcommand)]
        command: VersionCommand,
    },
    /// Work with console users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Work with the key sealing secret values.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Seal every secret value with a new key, in one transaction. With
    /// the key in a file (--secret-key-file), a new key replaces it there
    /// (written first beside it, as <file>.next, so a rotation cut short
    /// loses nothing); with the key from CONSOLE_SECRET_KEY, the new key
    /// is written to --new-key-file, to put in its place. Stop the
    /// console's replicas first, or restart them after: they keep the key
    /// they started with.
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub key: SecretKeyArgs,
    /// Where the new key goes (it must not exist yet); required when the
    /// current key is not in a file.
    #[arg(long)]
    pub new_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input (one line).
    /// This is how the first admin of a real deployment is made.
    Add(UserAddArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    #[arg(long)]
    pub email: String,
    /// viewer, manager or admin.
    #[arg(long, value_parser = parse_role)]
    pub role: lifecycle::Role,
    /// Recorded in the audit log.
    #[arg(long, default_value = "created from the command line")]
    pub reason: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

fn parse_role(value: &str) -> Result<lifecycle::Role, String> {
    value
        .parse()
        .map_err(|_| "unknown role (viewer, manager or admin)".to_owned())
}

#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Register a version from a YAML or JSON manifest; it starts `stopped`.
    /// Creates the runtime when it does not exist yet.
    Register(RegisterArgs),
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The runtime (Kubernetes namespace) the version belongs to.
    #[arg(long)]
    pub runtime: String,
    /// Base domain of the runtime's Ingress, used when the runtime is created.
    #[arg(long)]
    pub base_domain: Option<String>,
    /// The manifest file.
    pub file: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and report the first broken link; with
    /// `--receipt`, also that the log still holds the head a receipt names
    /// (so its newest entries were not cut off). Exits 0 when the log is
    /// intact, 1 when it is not.
    Verify(VerifyArgs),
    /// Print a signed receipt of the chain's head now (JSON), to keep
    /// somewhere the database's administrator cannot reach.
    Checkpoint(CheckpointArgs),
    /// Write what a filter selects as CSV or JSON, streamed (newest first).
    Export(ExportArgs),
    /// Remove entries older than the retention period. The run is recorded in
    /// the log with its reason, and the chain stays verifiable.
    Retention(RetentionArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A receipt: an action's `Audit-Receipt` answer or a logged checkpoint,
    /// as JSON or the path of a file holding it.
    #[arg(long, alias = "checkpoint")]
    pub receipt: Option<String>,
    /// The public key (64 hex digits) the receipt must be signed with, as
    /// the console logs it at start; without it the receipt's own key is
    /// taken, which proves the receipt unaltered but not who made it.
    #[arg(long)]
    pub public_key: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub key: AuditKeyArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Where the audit signing key comes from, for the server and the
/// `audit checkpoint` task alike.
#[derive(Debug, Args)]
pub struct AuditKeyArgs {
    /// The Ed25519 key (64 hex digits in a file, outside the database) that
    /// signs audit receipts and checkpoints. Demo mode makes one beside its
    /// SQLite file (audit-signing.key) when neither this nor
    /// CONSOLE_AUDIT_KEY is set.
    #[arg(long, env = "CONSOLE_AUDIT_KEY_FILE")]
    pub audit_key_file: Option<PathBuf>,

    /// The audit signing key itself (64 hex digits), for secret stores that
    /// hand out environment variables.
    #[arg(
        long = "audit-key",
        env = "CONSOLE_AUDIT_KEY",
        hide_env_values = true,
        conflicts_with = "audit_key_file"
    )]
    pub audit_key: Option<String>,
}

impl AuditKeyArgs {
    /// The key given, if one was.
    pub fn source(self) -> Option<KeySource> {
        key_source(self.audit_key, self.audit_key_file)
    }
}

fn key_source(text: Option<String>, file: Option<PathBuf>) -> Option<KeySource> {
    match (text, file) {
        (Some(text), _) => Some(KeySource::Text(text)),
        (None, Some(path)) => Some(KeySource::File(path)),
        (None, None) => None,
    }
}

/// Where the key sealing secret values at rest comes from, for the server
/// and `secrets rotate` alike.
#[derive(Debug, Args)]
pub struct SecretKeyArgs {
    /// A file holding the key (32 bytes as base64 or 64 hex digits) that
    /// seals secret values in the database. Demo mode makes one beside
    /// its SQLite file (secret.key) when neither this nor
    /// CONSOLE_SECRET_KEY is set. Without a key, secret values cannot be
    /// stored.
    #[arg(long, env = "CONSOLE_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// The key itself, for secret stores that hand out environment
    /// variables.
    #[arg(
        long = "secret-key",
        env = "CONSOLE_SECRET_KEY",
        hide_env_values = true,
        conflicts_with = "secret_key_file"
    )]
    pub secret_key: Option<String>,
}

impl SecretKeyArgs {
    pub fn source(self) -> Option<KeySource> {
        key_source(self.secret_key, self.secret_key_file)
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_parser = ["csv", "json"], default_value = "csv")]
    pub format: String,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Only entries by this user (email).
    #[arg(long)]
    pub user: Option<String>,
    /// Only this action, e.g. `version.start`.
    #[arg(long, value_parser = parse_audit_action)]
    pub action: Option<lifecycle::AuditAction>,
    #[arg(long)]
    pub runtime: Option<String>,
    #[arg(long)]
    pub version: Option<String>,
    /// accepted, denied, failed or completed.
    #[arg(long, value_parser = parse_outcome)]
    pub outcome: Option<lifecycle::Outcome>,
    /// Entries at or after this time (`2026-11-28` or `2026-11-28T09:00:00Z`).
    #[arg(long)]
    pub from: Option<String>,
    /// Entries before this time.
    #[arg(long)]
    pub to: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

impl ExportArgs {
    pub fn filter(&self) -> backend::audit::Filter {
        backend::audit::Filter {
            actor_email: self.user.clone(),
            action: self.action,
            runtime: self.runtime.clone(),
            version: self.version.clone(),
            outcome: self.outcome,
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

fn parse_audit_action(value: &str) -> Result<lifecycle::AuditAction, String> {
    value.parse().map_err(|_| {
        let known: Vec<&str> = lifecycle::AuditAction::ALL
            .iter()
            .map(|a| a.as_str())
            .collect();
        format!("unknown action (one of {})", known.join(", "))
    })
}

fn parse_outcome(value: &str) -> Result<lifecycle::Outcome, String> {
    value
        .parse()
        .map_err(|_| "unknown outcome (accepted, denied, failed or completed)".to_owned())
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Keep this many days of entries; older ones are removed.
    #[arg(long)]
    pub keep_days: u32,
    /// Why, recorded in the log (1-1000 characters).
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// `sqlite:...` or `postgres://...`; falls back to `DATABASE_URL`.
    #[arg(long, env = "CONSOLE_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    pub fn resolve(self) -> String {
        resolve_database_url(self.database_url, std::env::var("DATABASE_URL").ok())
    }
}

fn resolve_database_url(flag: Option<String>, fallback: Option<String>) -> String {
    flag.or(fallback)
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "CONSOLE_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Serve Prometheus `/metrics` on this address (a port of its own, for
    /// scrapers inside the cluster); not served when unset.
    #[arg(long, env = "CONSOLE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// `sqlite:...` (embedded) or `postgres://...`. Falls back to
    /// `DATABASE_URL`, then to an SQLite file under `data/`.
    #[arg(long, env = "CONSOLE_DATABASE_URL")]
    pub database_url: Option<String>,

    /// auto (in-cluster, else KUBECONFIG, else the embedded emulator in demo
    /// mode, else none), in-cluster, kubeconfig, emulated, none.
    #[arg(long, env = "CONSOLE_CLUSTER", default_value = "auto", value_parser = parse_cluster_mode)]
    pub cluster: ClusterMode,

    /// Log level or `tracing` filter directives.
    #[arg(long = "log", env = "CONSOLE_LOG", default_value = "info")]
    pub log_filter: String,

    #[arg(long, env = "CONSOLE_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Directory with the built front end (cargo-leptos's site root).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = DEFAULT_SITE_ROOT)]
    pub site_root: PathBuf,

    /// Demo mode: seed admin@, manager@ and viewer@example.com and the `demo`
    /// runtime (idempotent; existing users keep their passwords).
    #[arg(long, env = "CONSOLE_DEMO", default_value_t = false)]
    pub demo: bool,

    /// Password of the demo users.
    #[arg(long, env = "CONSOLE_DEMO_PASSWORD", default_value = backend::demo::DEFAULT_PASSWORD, hide_env_values = true)]
    pub demo_password: String,

    /// Mark the session cookie Secure: set it when users reach the console
    /// over HTTPS (directly or through a TLS-terminating ingress).
    #[arg(long, env = "CONSOLE_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Sign users out after this many minutes without a request.
    #[arg(long, env = "CONSOLE_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u32,

    /// Sign users out this many hours after they signed in, however active.
    #[arg(long, env = "CONSOLE_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: u32,

    /// Keep this many days of audit entries and remove older ones daily (each
    /// run is itself audited). Unset: nothing is ever removed.
    #[arg(long, env = "CONSOLE_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<u32>,

    #[command(flatten)]
    pub audit_key: AuditKeyArgs,

    #[command(flatten)]
    pub secret_key: SecretKeyArgs,

    /// Log a signed checkpoint of the audit chain this often (the leader,
    /// when the chain has grown).
    #[arg(long, env = "CONSOLE_AUDIT_CHECKPOINT_SECONDS", default_value_t = 300)]
    pub audit_checkpoint_seconds: u32,

    /// Shut down when standard input reaches end of file.
    #[arg(long, env = "CONSOLE_SHUTDOWN_ON_STDIN_EOF", default_value_t = false)]
    pub shutdown_on_stdin_eof: bool,

    /// A start fails when its nodes are not all ready this many seconds
    /// after it began.
    #[arg(long, env = "CONSOLE_START_DEADLINE_SECONDS", default_value_t = 300)]
    pub start_deadline_seconds: u32,

    /// A stop fails when the version's resources are not all gone this many
    /// seconds after it began.
    #[arg(long, env = "CONSOLE_STOP_DEADLINE_SECONDS", default_value_t = 120)]
    pub stop_deadline_seconds: u32,

    /// How long a node may stay in an image-pull or crash-loop failure
    /// during a start before the start is failed.
    #[arg(long, env = "CONSOLE_FAILURE_GRACE_SECONDS", default_value_t = 15)]
    pub failure_grace_seconds: u32,

    /// A publish (or unpublish) whose Ingress switch has not happened this
    /// many seconds after it is undone: the version that served stays
    /// published and serving, the other goes back to started.
    #[arg(long, env = "CONSOLE_SWITCH_DEADLINE_SECONDS", default_value_t = 30)]
    pub switch_deadline_seconds: u32,

    /// Proxies in front of the console that append the client's address to
    /// `X-Forwarded-For` (1 behind an ingress controller). Sign-in
    /// throttling per address uses that address; 0 uses the TCP peer.
    #[arg(long, env = "CONSOLE_TRUSTED_PROXY_HOPS", default_value_t = 0)]
    pub trusted_proxy_hops: usize,

    /// Event streams re-read their version at least this often. Changes
    /// made through any replica arrive at once (PostgreSQL LISTEN/NOTIFY);
    /// this only bounds the delay when an announcement was lost.
    #[arg(long, env = "CONSOLE_STREAM_REFRESH_SECONDS", default_value_t = 5)]
    pub stream_refresh_seconds: u32,

    /// Allow webhook endpoints on plain http:// (on in demo mode). Off,
    /// endpoints must be https://.
    #[arg(long, env = "CONSOLE_WEBHOOKS_ALLOW_HTTP", default_value_t = false)]
    pub webhooks_allow_http: bool,

    /// Seconds a webhook receiver has to answer before the try counts as
    /// failed.
    #[arg(long, env = "CONSOLE_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10)]
    pub webhook_timeout_seconds: u32,

    /// Seconds before a failed webhook delivery is tried again; the wait
    /// doubles after each failed try (8 tries in all).
    #[arg(
        long,
        env = "CONSOLE_WEBHOOK_FIRST_RETRY_SECONDS",
        default_value_t = 30
    )]
    pub webhook_first_retry_seconds: u32,
}

fn seconds(n: u32) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(n))
}

fn parse_cluster_mode(value: &str) -> Result<ClusterMode, String> {
    value.parse().map_err(|e: backend::Error| e.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid log filter {filter:?}: {reason}")]
    LogFilter { filter: String, reason: String },
    #[error("{0}")]
    Database(String),
    #[error("session lifetimes must be at least one minute / one hour")]
    Sessions,
    #[error("CONSOLE_DEMO_PASSWORD must be at least 12 characters")]
    DemoPassword,
    #[error("--audit-retention-days: {0}")]
    Retention(String),
    #[error("start and stop deadlines must be at least one second")]
    Deadlines,
}

impl ServeArgs {
    pub fn resolve(self) -> Result<Config, ConfigError> {
        self.resolve_with(std::env::var("DATABASE_URL").ok())
    }

    /// `fallback_database_url` is `DATABASE_URL`, passed in so tests need not
    /// touch the process environment.
    pub fn resolve_with(
        self,
        fallback_database_url: Option<String>,
    ) -> Result<Config, ConfigError> {
        let database_url = resolve_database_url(self.database_url, fallback_database_url);
        backend::db::Backend::from_url(&database_url)
            .map_err(|e| ConfigError::Database(e.to_string()))?;
        if let Some(days) = self.audit_retention_days
            && !(backend::audit::retention::MIN_KEEP_DAYS
                ..=backend::audit::retention::MAX_KEEP_DAYS)
                .contains(&days)
        {
            return Err(ConfigError::Retention(
                backend::audit::retention::RetentionError::KeepDays(days).to_string(),
            ));
        }
        if self.session_idle_minutes == 0 || self.session_max_hours == 0 {
            return Err(ConfigError::Sessions);
        }
        if self.start_deadline_seconds == 0
            || self.stop_deadline_seconds == 0
            || self.switch_deadline_seconds == 0
        {
            return Err(ConfigError::Deadlines);
        }
        if self.demo && backend::password::check_new(&self.demo_password).is_err() {
            return Err(ConfigError::DemoPassword);
        }
        crate::telemetry::parse_filter(&self.log_filter).map_err(|reason| {
            ConfigError::LogFilter {
                filter: self.log_filter.clone(),
                reason,
            }
        })?;
        let audit_key = match self.audit_key.source() {
            Some(source) => source,
            None if self.demo => KeySource::DemoFile(demo_audit_key_file(&database_url)),
            None => KeySource::None,
        };
        let secret_key = match self.secret_key.source() {
            Some(source) => source,
            None if self.demo => KeySource::DemoFile(demo_secret_key_file(&database_url)),
            None => KeySource::None,
        };
        Ok(Config {
            listen: self.listen,
            metrics_listen: self.metrics_listen,
            database_url,
            cluster: self.cluster,
            log_filter: self.log_filter,
            log_format: self.log_format,
            site_root: self.site_root,
            audit_retention_days: self.audit_retention_days,
            audit_key,
            secret_key,
            audit_checkpoint: seconds(self.audit_checkpoint_seconds.max(1)),
            demo_password: self.demo.then_some(self.demo_password),
            sessions: crate::state::SessionSettings {
                secure_cookies: self.secure_cookies,
                idle: std::time::Duration::from_secs(u64::from(self.session_idle_minutes) * 60),
                absolute: std::time::Duration::from_secs(u64::from(self.session_max_hours) * 3600),
            },
            shutdown_on_stdin_eof: self.shutdown_on_stdin_eof,
            trusted_proxy_hops: self.trusted_proxy_hops,
            runtime: backend::runtime::Settings {
                start_deadline: seconds(self.start_deadline_seconds),
                stop_deadline: seconds(self.stop_deadline_seconds),
                failure_grace: seconds(self.failure_grace_seconds),
                switch_deadline: seconds(self.switch_deadline_seconds),
                stream_refresh: seconds(self.stream_refresh_seconds.max(1)),
                ..backend::runtime::Settings::default()
            },
            webhooks: backend::webhooks::Settings {
                timeout: seconds(self.webhook_timeout_seconds.max(1)),
                first_retry: seconds(self.webhook_first_retry_seconds.max(1)),
                allow_http: self.webhooks_allow_http || self.demo,
                ..backend::webhooks::Settings::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses flags as if no `CONSOLE_*` variable were set: clap reads the
    /// environment, so the test clears the ones it might see.
    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("server").chain(args.iter().copied()))
    }

    fn no_console_env() -> bool {
        std::env::vars().all(|(key, _)| !key.starts_with("CONSOLE_") && key != "LEPTOS_SITE_ROOT")
    }

    #[test]
    fn defaults_are_the_embedded_demo_setup() {
        if !no_console_env() {
            eprintln!("skipped: CONSOLE_* variables are set in this environment");
            return;
        }
        let config = parse(&[])
            .expect("parses")
            .serve
            .resolve_with(None)
            .expect("valid");
        assert_eq!(config.listen, DEFAULT_LISTEN.parse().expect("addr"));
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.cluster, ClusterMode::Auto);
        assert_eq!(config.log_filter, "info");
        assert_eq!(config.site_root, PathBuf::from(DEFAULT_SITE_ROOT));
        assert!(!config.shutdown_on_stdin_eof);
        assert_eq!(
            config.audit_retention_days, None,
            "nothing is removed by default"
        );
    }

    #[test]
    fn flags_are_honoured() {
        let config = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://console@db/console",
            "--cluster",
            "none",
            "--log",
            "server=debug,warn",
            "--log-format",
            "json",
            "--site-root",
            "/srv/site",
            "--shutdown-on-stdin-eof",
        ])
        .expect("parses")
        .serve
        .resolve_with(Some("sqlite://ignored.db".into()))
        .expect("valid");
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.database_url, "postgres://console@db/console");
        assert_eq!(config.cluster, ClusterMode::None);
        assert_eq!(config.log_filter, "server=debug,warn");
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.site_root, PathBuf::from("/srv/site"));
        assert!(config.shutdown_on_stdin_eof);
    }

    #[test]
    fn database_url_falls_back_to_database_url_variable() {
        if std::env::var_os("CONSOLE_DATABASE_URL").is_some() {
            eprintln!("skipped: CONSOLE_DATABASE_URL is set in this environment");
            return;
        }
        let config = parse(&[])
            .expect("parses")
            .serve
            .resolve_with(Some("postgres://console@pg/console".into()))
            .expect("valid");
        assert_eq!(config.database_url, "postgres://console@pg/console");
    }

    #[test]
    fn subcommands_parse_and_conflict_with_serve_flags() {
        let cli = parse(&["audit", "verify", "--database-url", "sqlite://x.db"]).expect("parses");
        match cli.command {
            Some(Command::Audit {
                command: AuditCommand::Verify(args),
            }) => assert_eq!(args.database.database_url.as_deref(), Some("sqlite://x.db")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            parse(&["serve", "--listen", "127.0.0.1:0"])
                .expect("parses")
                .command,
            Some(Command::Serve(_))
        ));
        assert!(parse(&["--listen", "127.0.0.1:0", "audit", "verify"]).is_err());
    }

    #[test]
    fn bad_values_are_refused_with_a_clear_message() {
        let error = parse(&["--listen", "not-an-address"]).expect_err("refused");
        assert!(error.to_string().contains("--listen"), "{error}");

        let error = parse(&["--cluster", "minikube"]).expect_err("refused");
        assert!(
            error.to_string().contains("unknown cluster mode"),
            "{error}"
        );

        let error = parse(&["--database-url", "mysql://u:secret@db/x"])
            .expect("parses")
            .serve
            .resolve_with(None)
            .expect_err("refused");
        assert!(
            error.to_string().contains("unsupported database URL"),
            "{error}"
        );
        assert!(!error.to_string().contains("secret"), "{error}");

        let error = parse(&["--audit-retention-days", "0"])
            .expect("parses")
            .serve
            .resolve_with(None)
            .expect_err("refused");
        assert!(error.to_string().contains("between 1 and"), "{error}");

        let error = parse(&["--log", "server=loud"])
            .expect("parses")
            .serve
            .resolve_with(None)
            .expect_err("refused");
        assert!(error.to_string().contains("invalid log filter"), "{error}");
    }
}
