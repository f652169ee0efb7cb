//! `kube-emulator --addr 127.0.0.1:0 --kubeconfig FILE`: serves the emulated
//! API, prints `listening on http://...` and writes a kubeconfig for it.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "kube-emulator", version, about = "A Kubernetes API emulator")]
struct Cli {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Write a kubeconfig pointing at the emulator here.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// How long a scheduled pod takes to become Ready.
    #[arg(long, default_value_t = 1500)]
    ready_after_ms: u64,
    /// Changes kept for watches to resume from.
    #[arg(long, default_value_t = 10_000)]
    history: usize,
    #[arg(long, env = "EMULATOR_LOG", default_value = "warn")]
    log: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .init();
    let config = kube_emulator::Config {
        ready_after: Duration::from_millis(cli.ready_after_ms),
        history: cli.history,
        ..Default::default()
    };
    let running = match kube_emulator::start(cli.addr, config).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", cli.addr);
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(path) = &cli.kubeconfig
        && let Err(error) = kube_emulator::write_kubeconfig(path, &running.url())
    {
        eprintln!("error: cannot write {}: {error}", path.display());
        return std::process::ExitCode::from(2);
    }
    println!("listening on {}", running.url());
    let _ = tokio::signal::ctrl_c().await;
    drop(running);
    std::process::ExitCode::SUCCESS
}
