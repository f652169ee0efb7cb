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
    /// The node's allocatable CPU (a quantity: `8`, `500m`). Pods whose
    /// requests do not fit stay Pending as Unschedulable.
    #[arg(long, default_value = "8")]
    node_cpu: String,
    /// The node's allocatable memory (a quantity: `32Gi`).
    #[arg(long, default_value = "32Gi")]
    node_memory: String,
    /// How many pods the node takes.
    #[arg(long, default_value_t = 110)]
    node_pods: usize,
    /// Extra node labels (`key=value`, repeatable) for `nodeSelector`.
    #[arg(long = "node-label", value_parser = label)]
    node_labels: Vec<(String, String)>,
    #[arg(long, env = "EMULATOR_LOG", default_value = "warn")]
    log: String,
}

fn label(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{text:?} is not key=value"))
}

fn quantity(flag: &str, text: &str) -> Result<i128, String> {
    kube_emulator::quantity::milli(&serde_json::Value::String(text.to_owned()))
        .filter(|q| *q >= 0)
        .ok_or_else(|| format!("--{flag} {text:?} is not a quantity (such as 8, 500m or 32Gi)"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .init();
    let (cpu_milli, memory_milli) = match (
        quantity("node-cpu", &cli.node_cpu),
        quantity("node-memory", &cli.node_memory),
    ) {
        (Ok(cpu), Ok(memory)) => (cpu, memory),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut node = kube_emulator::NodeConfig {
        cpu_milli,
        memory_milli,
        pods: cli.node_pods,
        ..Default::default()
    };
    node.labels.extend(cli.node_labels);
    let config = kube_emulator::Config {
        ready_after: Duration::from_millis(cli.ready_after_ms),
        history: cli.history,
        node,
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
