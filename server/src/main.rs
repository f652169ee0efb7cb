use std::process::ExitCode;

use clap::Parser;
use server::{
    cli::{AuditCommand, Cli, Command, SecretsCommand, ServeArgs, UserCommand, VersionCommand},
    commands,
    startup::Application,
    telemetry,
};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Audit {
            command: AuditCommand::Verify(args),
        }) => commands::audit_verify(args).await,
        Some(Command::Audit {
            command: AuditCommand::Checkpoint(args),
        }) => commands::audit_checkpoint(args).await,
        Some(Command::Audit {
            command: AuditCommand::Export(args),
        }) => commands::audit_export(args).await,
        Some(Command::Audit {
            command: AuditCommand::Retention(args),
        }) => commands::audit_retention(args).await,
        Some(Command::Version {
            command: VersionCommand::Register(args),
        }) => commands::version_register(args).await,
        Some(Command::User {
            command: UserCommand::Add(args),
        }) => commands::user_add(args).await,
        Some(Command::Secrets {
            command: SecretsCommand::Rotate(args),
        }) => commands::secrets_rotate(args).await,
    }
}

async fn serve(args: ServeArgs) -> ExitCode {
    let config = match args.resolve() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = telemetry::init(&config.log_filter, config.log_format) {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }

    let app = match Application::build(&config).await {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "the console could not start");
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(addr) = app.metrics_addr() {
        println!("metrics on http://{addr}/metrics");
    }
    // The one line scripts and tests wait for (last); the port may have been 0.
    println!("listening on http://{}", app.local_addr());

    let shutdown = server::shutdown::signal(config.shutdown_on_stdin_eof);
    match app.run_until_stopped(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the console stopped with an error");
            ExitCode::FAILURE
        }
    }
}
