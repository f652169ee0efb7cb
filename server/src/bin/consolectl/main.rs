//! `consolectl`: the console's command-line client, for people at a shell
//! and for pipelines. It talks to the REST API (`/api/v1`) with an API
//! token, and answers with an exit code a pipeline can branch on:
//! 0 done, 1 refused or failed, 2 usage, 3 conflict, 4 timed out.

mod changes;
mod client;
mod commands;
mod output;
mod span;
mod webhooks;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use client::{Client, Failure};

#[derive(Debug, Parser)]
#[command(
    name = "consolectl",
    version,
    about = "Drive the runtime console from a shell or a pipeline",
    after_help = "Exit codes: 0 done, 1 refused or failed, 2 usage, 3 conflict (someone else changed it first), 4 timed out."
)]
struct Cli {
    /// The console's address, for example https://console.example.com.
    #[arg(
        long,
        env = "CONSOLE_URL",
        global = true,
        default_value = "http://127.0.0.1:3000"
    )]
    url: String,
    /// An API token (make one on the console's /profile page).
    #[arg(long, env = "CONSOLE_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// A table for people, JSON for scripts.
    #[arg(long, short = 'o', value_enum, global = true, default_value_t = Output::Table)]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The runtimes.
    Runtimes {
        #[command(subcommand)]
        command: RuntimesCommand,
    },
    /// The versions of one runtime, or of all of them.
    Versions {
        #[command(subcommand)]
        command: VersionsCommand,
    },
    /// One version: its status, health and nodes.
    Version {
        #[command(subcommand)]
        command: VersionCommand,
    },
    /// Registers a version from a manifest file (YAML or JSON).
    Register {
        /// The manifest; `-` reads standard input.
        #[arg(short = 'f', long = "file")]
        file: String,
        /// The runtime to register it in.
        #[arg(long, short = 'r')]
        runtime: String,
    },
    /// Starts a version.
    Start(ActionArgs),
    /// Stops a version.
    Stop(ActionArgs),
    /// Publishes a version: the runtime's traffic goes to it.
    Publish(ActionArgs),
    /// Unpublishes a version: the runtime serves nothing.
    Unpublish(ActionArgs),
    /// Waits until a version reaches a status (exit 4 when it does not in time).
    Wait {
        /// `<runtime>/<version>`.
        target: String,
        /// The status to wait for: started, published, stopped, ...
        #[arg(long = "for")]
        status: String,
        /// How long to wait, for example 90s, 5m or 1h.
        #[arg(long, default_value = "5m")]
        timeout: String,
    },
    /// Reads the audit log, newest first.
    Audit {
        /// Only entries this recent, for example 30m, 1h or 7d.
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        runtime: Option<String>,
        #[arg(long)]
        version: Option<String>,
        /// An action code, for example version.publish.
        #[arg(long)]
        action: Option<String>,
        /// A user's email.
        #[arg(long)]
        user: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// A runtime's releases (what served it, from when to when), newest first.
    Releases {
        runtime: String,
        /// At most this many releases.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Change requests waiting for a decision.
    Approvals {
        #[command(subcommand)]
        command: ApprovalsCommand,
    },
    /// Approves a change request (not your own; four eyes).
    Approve(DecisionArgs),
    /// Rejects a change request.
    Reject(DecisionArgs),
    /// A runtime's signed webhooks and their delivery logs (admins).
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ApprovalsCommand {
    /// Lists the open change requests.
    List,
}

#[derive(Debug, clap::Args)]
pub struct DecisionArgs {
    /// The change request's number.
    pub id: i64,
    /// Why, for the audit log (required).
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Subcommand)]
enum WebhooksCommand {
    /// Lists a runtime's webhooks.
    List { runtime: String },
    /// Adds a webhook; prints its signing secret this once.
    Add {
        runtime: String,
        /// Where to send, https:// (http:// only where the console allows it).
        /// Not --url: that one is the console's own address.
        #[arg(long)]
        endpoint: String,
        /// An event kind, repeatable: version.status, version.publish,
        /// version.register, change.
        #[arg(long = "event", required = true)]
        events: Vec<String>,
    },
    /// Removes a webhook: nothing more is sent to it.
    Remove { runtime: String, id: i64 },
    /// A webhook's newest deliveries: state, tries, last error.
    Deliveries { runtime: String, id: i64 },
    /// Sends a delivery again, from its first try.
    Resend {
        runtime: String,
        id: i64,
        delivery: i64,
    },
}

#[derive(Debug, Subcommand)]
enum RuntimesCommand {
    /// Lists the runtimes.
    List,
}

#[derive(Debug, Subcommand)]
enum VersionsCommand {
    /// Lists versions.
    List {
        /// Only this runtime's.
        #[arg(long, short = 'r')]
        runtime: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum VersionCommand {
    /// Shows a version.
    Show {
        /// `<runtime>/<version>`.
        target: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct ActionArgs {
    /// `<runtime>/<version>`.
    pub target: String,
    /// Why, for the audit log (required).
    #[arg(long)]
    pub reason: String,
    /// The status you expect it in; refused with exit 3 if it has moved
    /// on. Read from the console when left out.
    #[arg(long)]
    pub expected: Option<String>,
    /// Override a closed change window, where your role may.
    #[arg(long)]
    pub break_glass: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start: {error}");
            return ExitCode::from(1);
        }
    };
    let Some(token) = cli.token.clone().filter(|t| !t.trim().is_empty()) else {
        eprintln!("error: no API token: set CONSOLE_TOKEN or pass --token (make one on /profile)");
        return ExitCode::from(2);
    };
    let client = match Client::new(&cli.url, &token) {
        Ok(client) => client,
        Err(failure) => return failure.report(),
    };
    match runtime.block_on(run(&client, cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

async fn run(client: &Client, cli: Cli) -> Result<(), Failure> {
    let out = cli.output;
    match cli.command {
        Command::Runtimes {
            command: RuntimesCommand::List,
        } => commands::runtimes(client, out).await,
        Command::Versions {
            command: VersionsCommand::List { runtime },
        } => commands::versions(client, runtime.as_deref(), out).await,
        Command::Version {
            command: VersionCommand::Show { target },
        } => commands::show(client, &target, out).await,
        Command::Register { file, runtime } => {
            commands::register(client, &file, &runtime, out).await
        }
        Command::Start(args) => commands::act(client, "start", &args, out).await,
        Command::Stop(args) => commands::act(client, "stop", &args, out).await,
        Command::Publish(args) => commands::act(client, "publish", &args, out).await,
        Command::Unpublish(args) => commands::act(client, "unpublish", &args, out).await,
        Command::Wait {
            target,
            status,
            timeout,
        } => commands::wait(client, &target, &status, &timeout, out).await,
        Command::Audit {
            since,
            runtime,
            version,
            action,
            user,
            limit,
        } => {
            let filter = commands::AuditFilter {
                since,
                runtime,
                version,
                action,
                user,
                limit,
            };
            commands::audit(client, filter, out).await
        }
        Command::Releases { runtime, limit } => {
            changes::releases(client, &runtime, limit, out).await
        }
        Command::Approvals {
            command: ApprovalsCommand::List,
        } => changes::approvals(client, out).await,
        Command::Approve(args) => changes::decide(client, args.id, true, &args.reason, out).await,
        Command::Reject(args) => changes::decide(client, args.id, false, &args.reason, out).await,
        Command::Webhooks { command } => match command {
            WebhooksCommand::List { runtime } => webhooks::list(client, &runtime, out).await,
            WebhooksCommand::Add {
                runtime,
                endpoint,
                events,
            } => webhooks::add(client, &runtime, &endpoint, &events, out).await,
            WebhooksCommand::Remove { runtime, id } => webhooks::remove(client, &runtime, id).await,
            WebhooksCommand::Deliveries { runtime, id } => {
                webhooks::deliveries(client, &runtime, id, out).await
            }
            WebhooksCommand::Resend {
                runtime,
                id,
                delivery,
            } => webhooks::resend(client, &runtime, id, delivery, out).await,
        },
    }
}
