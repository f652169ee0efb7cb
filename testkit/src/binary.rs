//! The console binary as a child process: for tests that kill it (SIGKILL)
//! or run several at once on one database.

use std::{
    ffi::OsString,
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

const STARTUP: Duration = Duration::from_secs(60);

pub struct Server {
    child: Child,
    pub base: String,
    /// `/metrics`, when `--metrics-listen` was among the arguments.
    pub metrics: Option<String>,
}

impl Server {
    /// Starts the console binary `bin` (`env!("CARGO_BIN_EXE_server")` in the
    /// server's tests) as `server --demo` on a free port against
    /// `database_url` and the cluster in `kubeconfig`, with `extra`
    /// arguments; waits until it listens. Its standard input is a pipe: the
    /// server stops when the test process goes, even if the test never gets
    /// to kill it.
    pub fn start(
        bin: &Path,
        database_url: &str,
        kubeconfig: &Path,
        site: &Path,
        extra: &[&str],
    ) -> Self {
        let mut command = Command::new(bin);
        // Demo mode keeps its keys beside a SQLite file, or under `data/`
        // of the working directory for another database: the test's own
        // directory, never the source tree.
        command
            .current_dir(site)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("KUBECONFIG", kubeconfig)
            .env("CONSOLE_SHUTDOWN_ON_STDIN_EOF", "true")
            .args([
                "--demo",
                "--cluster",
                "kubeconfig",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--log", "warn", "--failure-grace-seconds", "1"])
            .args(extra)
            .arg("--database-url")
            .arg(database_url)
            .arg("--site-root")
            .arg(OsString::from(site));
        let (child, base, metrics) = spawn_until_listening(&mut command);
        Self {
            child,
            base,
            metrics,
        }
    }

    /// `bin` in demo mode with its own SQLite database in `dir`, against a
    /// fresh emulator whose pods turn Ready `ready_after` after scheduling;
    /// the emulator must live as long as the server.
    pub async fn on_emulator(
        bin: &Path,
        dir: &Path,
        ready_after: Duration,
    ) -> (Self, kube_emulator::Running) {
        let emulator = crate::emulator(ready_after).await;
        let kubeconfig = dir.join("kubeconfig");
        kube_emulator::write_kubeconfig(&kubeconfig, &emulator.url()).expect("kubeconfig");
        let database = format!("sqlite://{}/console.db", dir.display());
        let server = Self::start(bin, &database, &kubeconfig, dir, &[]);
        (server, emulator)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(mut self) {
        self.child.kill().expect("killed");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `command` (the server) with piped standard input and output and
/// waits until it prints the address it listens on: the child, that
/// address, and where `/metrics` is served if it said so first.
pub fn spawn_until_listening(command: &mut Command) -> (Child, String, Option<String>) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server binary starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut metrics = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("metrics on ") {
                metrics = Some(url.to_owned());
            }
            if let Some(base) = line.strip_prefix("listening on ") {
                let _ = tx.send((base.to_owned(), metrics.take()));
            }
        }
    });
    let (base, metrics) = rx
        .recv_timeout(STARTUP)
        .expect("server printed its address within the deadline");
    (child, base, metrics)
}
