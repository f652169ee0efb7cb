//! The real binary: start-up line, probes over TCP, graceful shutdown, and
//! clear failures on bad configuration.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::Duration,
};

use testkit::binary;

const DEADLINE: Duration = Duration::from_secs(30);

struct Server {
    child: Option<Child>,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn pid(&self) -> i32 {
        let child = self.child.as_ref().expect("running");
        i32::try_from(child.id()).expect("pid fits")
    }

    fn close_stdin(&mut self) {
        drop(self.child.as_mut().and_then(|c| c.stdin.take()));
    }

    /// Waits for the server to exit by itself, within the deadline.
    fn wait(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        rx.recv_timeout(DEADLINE)
            .expect("server exited within the deadline")
            .expect("wait succeeds")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The server with everything in `dir`, on a free port; `listen` and
/// `database_url` replace those defaults when given.
fn command_with(
    dir: &tempfile::TempDir,
    listen: Option<&str>,
    database_url: Option<String>,
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(["--cluster", "none", "--log", "info"])
        .args(["--listen", listen.unwrap_or("127.0.0.1:0")])
        .arg("--database-url")
        .arg(
            database_url.unwrap_or_else(|| format!("sqlite://{}/console.db", dir.path().display())),
        )
        .arg("--site-root")
        .arg(dir.path());
    command
}

fn command(dir: &tempfile::TempDir) -> Command {
    command_with(dir, None, None)
}

fn start(extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, base, _) = binary::spawn_until_listening(command(&dir).args(extra));
    Server {
        child: Some(child),
        base,
        _dir: dir,
    }
}

fn http_get(base: &str, path: &str) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("writes request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("reads response");
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    (code, response)
}

#[test]
fn serves_probes_and_stops_cleanly_on_sigterm() {
    let server = start(&[]);
    let (code, body) = http_get(&server.base, "/healthz");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(r#""status":"ok""#), "{body}");
    let (code, body) = http_get(&server.base, "/readyz");
    assert_eq!(code, 200, "{body}");

    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(server.pid(), libc::SIGTERM) }, 0);
    let status = server.wait();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[test]
fn stops_when_standard_input_closes_if_asked() {
    let mut server = start(&["--shutdown-on-stdin-eof"]);
    let (code, _) = http_get(&server.base, "/healthz");
    assert_eq!(code, 200);
    server.close_stdin();
    let status = server.wait();
    assert!(status.success(), "exits 0 once stdin closes, got {status}");
}

#[test]
fn refuses_an_unsupported_database_url_without_echoing_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = command_with(&dir, None, Some("mysql://root:hunter2@db/console".into()))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn fails_clearly_when_the_database_cannot_be_opened() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A regular file where the database directory should be.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").expect("write");
    let url = format!("sqlite://{}/console.db", blocker.display());
    let output = command_with(&dir, None, Some(url)).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
}

#[test]
fn fails_clearly_when_the_address_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let output = command_with(&dir, Some(&addr), None)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}

#[test]
fn demo_mode_without_a_cluster_runs_on_the_embedded_emulator_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(["--demo", "--listen", "127.0.0.1:0", "--log", "warn"])
        .arg("--database-url")
        .arg(format!("sqlite://{}/console.db", dir.path().display()))
        .arg("--site-root")
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(base) = line.strip_prefix("listening on ") {
                let _ = tx.send(base.to_owned());
            }
        }
    });
    let base = rx.recv_timeout(DEADLINE).expect("address printed");
    let server = Server {
        child: Some(child),
        base,
        _dir: dir,
    };
    let (code, body) = http_get(&server.base, "/readyz");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(r#""cluster":{"state":"ok""#), "{body}");
    assert!(
        body.contains("emulator"),
        "the cluster is named as emulated: {body}"
    );
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(server.pid(), libc::SIGTERM) }, 0);
    assert!(server.wait().success());
    let mut banner = String::new();
    stderr.read_to_string(&mut banner).expect("stderr");
    assert!(banner.contains("EMULATED CLUSTER"), "{banner}");
}
