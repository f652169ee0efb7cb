//! The command-line tasks (`server audit ...`, `server version register`) on
//! a real database file, through the built binary.

use std::process::Command;

use backend::{
    Database,
    audit::{self, Actor, NewEntry},
};
use lifecycle::{AuditAction, Outcome};

mod common;

/// Runs `server ARGS...` with no database from the environment; answers
/// the exit code and standard output followed by standard error.
fn server<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .env_remove("CONSOLE_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .args(args)
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

fn verify(url: &str) -> (Option<i32>, String) {
    server(&["audit", "verify", "--database-url", url])
}

#[tokio::test]
async fn verify_reports_an_intact_chain_then_the_first_tampered_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/console.db", dir.path().display());
    let db = Database::connect(&url).await.expect("opens");
    db.migrate().await.expect("migrates");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let entry = NewEntry::new(
            Actor::System,
            AuditAction::SystemTransition,
            Outcome::Completed,
        )
        .target("demo", Some("v1".into()));
        ids.push(audit::append(&db, &entry).await.expect("append").id);
    }

    let (code, out) = verify(&url);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("audit log intact: 3 entries"), "{out}");

    let Database::Sqlite(pool) = &db else {
        panic!("sqlite expected")
    };
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(pool)
        .await
        .expect("drop trigger");
    sqlx::query("UPDATE audit_log SET outcome = 'denied' WHERE id = $1")
        .bind(ids[1])
        .execute(pool)
        .await
        .expect("tamper");
    db.close().await;

    let (code, out) = verify(&url);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("BROKEN at entry {}", ids[1])),
        "{out}"
    );
}

#[test]
fn verify_refuses_an_unreadable_database_with_exit_2() {
    let (code, out) = verify("mysql://nobody@nowhere/db");
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("cannot open the database"), "{out}");
}

fn register(url: &str, file: &str) -> (Option<i32>, String) {
    let path = format!(
        "{}/../examples/manifests/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    server(&[
        "version",
        "register",
        "--runtime",
        "demo",
        "--database-url",
        url,
        &path,
    ])
}

#[tokio::test]
async fn version_register_stores_the_examples_and_refuses_a_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/console.db", dir.path().display());
    for (file, expected) in [
        ("v1.yaml", "registered demo/v1 (stopped, 2 processes)"),
        ("v2.yaml", "registered demo/v2 (stopped, 3 processes)"),
        (
            "broken.json",
            "registered demo/broken (stopped, 1 processes)",
        ),
    ] {
        let (code, out) = register(&url, file);
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains(expected), "{out}");
    }
    let (code, out) = register(&url, "v1.yaml");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("already has a version named \"v1\""), "{out}");

    let db = Database::connect(&url).await.expect("opens");
    let listed = backend::versions::list(&db, "demo").await.expect("list");
    assert_eq!(listed.len(), 3);
    let (code, out) = verify(&url);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("intact: 4 entries"),
        "registrations and the refusal are audited: {out}"
    );
}

#[test]
fn version_register_prints_every_problem_of_an_invalid_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "name: Bad_Name\nentrypoint: {image: e, port: 0}\nprocesses: [{name: w, image: ''}]\n",
    )
    .expect("write");
    let (code, err) = server(&[
        "version".as_ref(),
        "register".as_ref(),
        "--runtime".as_ref(),
        "demo".as_ref(),
        "--database-url".as_ref(),
        format!("sqlite://{}/console.db", dir.path().display()).as_ref(),
        file.as_os_str(),
    ]);
    assert_eq!(code, Some(1), "{err}");
    for expected in ["name:", "entrypoint.port:", "processes[0].image: required"] {
        assert!(err.contains(expected), "missing {expected:?} in {err}");
    }
}

async fn log_with_entries(n: usize) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/console.db", dir.path().display());
    let db = Database::connect(&url).await.expect("opens");
    db.migrate().await.expect("migrates");
    for i in 0..n {
        let entry = NewEntry::new(
            Actor::User {
                id: Some(2),
                email: "manager@example.com".into(),
                role: "manager".into(),
            },
            if i % 2 == 0 {
                AuditAction::Start
            } else {
                AuditAction::Stop
            },
            Outcome::Accepted,
        )
        .target("demo", Some(format!("v{i}")))
        .reason(format!("=cmd|' /C calc'!A{i}, \"quoted\""));
        audit::append(&db, &entry).await.expect("append");
    }
    db.close().await;
    (dir, url)
}

#[tokio::test]
async fn export_writes_the_filtered_selection_as_csv_and_json() {
    let (dir, url) = log_with_entries(1203).await;

    let csv = dir.path().join("starts.csv");
    let (code, out) = server(&[
        "audit".as_ref(),
        "export".as_ref(),
        "--action".as_ref(),
        "version.start".as_ref(),
        "--database-url".as_ref(),
        url.as_ref(),
        "--output".as_ref(),
        csv.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    let text = std::fs::read_to_string(&csv).expect("written");
    let mut reader_lines = text.lines();
    assert!(
        reader_lines
            .next()
            .expect("header")
            .starts_with("id,at,actor_kind")
    );
    // 602 starts across several export pages, each a line (reasons have no
    // line breaks), formula-looking reasons defused.
    assert_eq!(reader_lines.clone().count(), 602);
    assert!(reader_lines.all(|l| l.contains(",version.start,") && l.contains("\"'=cmd|")));

    let (code, json) = server(&[
        "audit",
        "export",
        "--format",
        "json",
        "--version",
        "v7",
        "--database-url",
        &url,
    ]);
    assert_eq!(code, Some(0), "{json}");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["version"], "v7");
    assert_eq!(entries[0]["action"], "version.stop");

    let (code, out) = server(&[
        "audit",
        "export",
        "--action",
        "version.delete",
        "--database-url",
        &url,
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("unknown action"), "{out}");
}

#[tokio::test]
async fn retention_is_recorded_refuses_bad_input_and_keeps_the_chain_verifiable() {
    let (_dir, url) = log_with_entries(4).await;

    let (code, out) = server(&[
        "audit",
        "retention",
        "--keep-days",
        "30",
        "--reason",
        "  ",
        "--database-url",
        &url,
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("--reason"), "{out}");
    let (code, out) = server(&[
        "audit",
        "retention",
        "--keep-days",
        "0",
        "--reason",
        "policy",
        "--database-url",
        &url,
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("between 1 and"), "{out}");

    let (code, out) = server(&[
        "audit",
        "retention",
        "--keep-days",
        "30",
        "--reason",
        "policy SEC-7",
        "--database-url",
        &url,
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("removed 0 entries"), "{out}");

    let (code, out) = verify(&url);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("intact: 5 entries"),
        "the refusals wrote nothing, the run one entry: {out}"
    );

    let (code, json) = server(&[
        "audit",
        "export",
        "--format",
        "json",
        "--action",
        "audit.retention",
        "--database-url",
        &url,
    ]);
    assert_eq!(code, Some(0), "{json}");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["reason"], "policy SEC-7");
}

fn user_add(url: &str, email: &str, role: &str, stdin: &str) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env_remove("CONSOLE_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .args([
            "user",
            "add",
            "--email",
            email,
            "--role",
            role,
            "--database-url",
            url,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("writes");
    let output = child.wait_with_output().expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test]
async fn user_add_reads_the_password_from_stdin_and_refuses_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/console.db", dir.path().display());

    let (code, out) = user_add(
        &url,
        "First.Admin@Example.com",
        "admin",
        "a long admin password\n",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("created first.admin@example.com (admin)"),
        "{out}"
    );

    for (email, role, password, expected) in [
        (
            "first.admin@example.com",
            "viewer",
            "another long password\n",
            "already exists",
        ),
        ("short@example.com", "viewer", "short\n", "at least 12"),
        (
            "not-an-email",
            "viewer",
            "a long enough password\n",
            "name@example.com",
        ),
        (
            "x@example.com",
            "root",
            "a long enough password\n",
            "unknown role",
        ),
    ] {
        let (code, out) = user_add(&url, email, role, password);
        assert_ne!(code, Some(0), "{email}: {out}");
        assert!(out.contains(expected), "{email}: {out}");
    }

    let db = Database::connect(&url).await.expect("opens");
    let users = backend::users::list(&db).await.expect("list");
    assert_eq!(users.len(), 1, "nothing written by the refusals");
    let throttle = backend::auth::Throttle;
    backend::auth::sign_in(
        &db,
        &throttle,
        "first.admin@example.com",
        "a long admin password",
        None,
    )
    .await
    .expect("the stdin password signs in, without its line ending");
}

// The truncation the hash chain cannot see: an action's answer carries a
// signed receipt of the chain's head; someone with database access drops
// the protection and deletes the newest entries (the receipt's among them);
// the chain still verifies, but not against the receipt.
#[tokio::test]
async fn an_action_receipt_catches_the_newest_entries_deleted() {
    use backend::audit::receipt::{AuditKey, Receipt};

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/console.db", dir.path().display());
    let db = Database::connect(&url).await.expect("opens");
    db.migrate().await.expect("migrates");
    let key_file = dir.path().join("audit.key");
    let key = AuditKey::read_or_create(&key_file).expect("key");
    let emulator = testkit::emulator(std::time::Duration::ZERO).await;
    let cluster = backend::Cluster::from_config(
        kube::Config::new(emulator.url().parse().expect("url")),
        backend::ClusterMode::Kubeconfig,
    )
    .expect("client");
    let app = common::TestApp::with_audit_key(
        common::Options {
            db: Some(db.clone()),
            cluster: Some(cluster),
            runtime: Some(backend::runtime::Settings::default()),
            ..common::Options::default()
        },
        key.clone(),
    )
    .await;
    backend::demo::seed(&db, common::PASSWORD)
        .await
        .expect("seed");
    let manager = app.sign_in("manager@example.com").await;
    let answer = app
        .send(common::call(
            "/api/version_action",
            &common::action("v1", "start", "stopped", "roll out"),
            Some(&manager),
        ))
        .await;
    assert_eq!(answer.status, axum::http::StatusCode::OK, "{}", answer.body);
    let receipt_json = answer.headers["audit-receipt"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let receipt: Receipt = serde_json::from_str(&receipt_json).expect("a receipt");
    assert!(receipt.signed_by(Some(&key.public())));
    // More happens after it.
    for _ in 0..3 {
        app.sign_in("viewer@example.com").await;
    }
    let public = key.public();
    let verify_receipt = |receipt: &str| {
        server(&[
            "audit",
            "verify",
            "--database-url",
            &url,
            "--receipt",
            receipt,
            "--public-key",
            &public,
        ])
    };
    let (code, out) = verify_receipt(&receipt_json);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("is in the log with its hash"), "{out}");

    // On demand, from the command line, with the same key.
    let (code, checkpoint) = server(&[
        "audit",
        "checkpoint",
        "--database-url",
        &url,
        "--audit-key-file",
        &key_file.display().to_string(),
    ]);
    assert_eq!(code, Some(0), "{checkpoint}");
    let file = dir.path().join("checkpoint.json");
    std::fs::write(&file, &checkpoint).expect("write");
    let (code, out) = verify_receipt(&file.display().to_string());
    assert_eq!(code, Some(0), "{out}");

    // A receipt altered by hand proves nothing.
    let forged = receipt_json.replace(
        &format!("\"entry_id\":{}", receipt.entry_id),
        "\"entry_id\":1",
    );
    let (code, out) = verify_receipt(&forged);
    assert_eq!(code, Some(2), "{out}");

    // The newest entries deleted under a dropped trigger.
    let Database::Sqlite(pool) = &db else {
        panic!("sqlite expected")
    };
    sqlx::query("DROP TRIGGER audit_log_no_delete")
        .execute(pool)
        .await
        .expect("drop trigger");
    sqlx::query("DELETE FROM audit_log WHERE id >= $1")
        .bind(receipt.entry_id)
        .execute(pool)
        .await
        .expect("truncate");
    drop(app);
    db.close().await;
    let (code, out) = verify(&url);
    assert_eq!(code, Some(0), "the chain alone cannot tell: {out}");
    let (code, out) = verify_receipt(&receipt_json);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "TRUNCATED: the receipt names entry {} ",
            receipt.entry_id
        )),
        "{out}"
    );
}

/// `server secrets rotate` on a key file: every secret re-sealed with a
/// new key that replaces the old one in the file (no `.next` left), the
/// values still open for the cluster, the old key no longer opens them;
/// a key from the environment needs somewhere to write the new one.
#[tokio::test]
async fn secrets_rotate_replaces_the_key_file_and_reseals_every_value() {
    use backend::configuration::{self, Keyring, ValueChange};

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/console.db", dir.path().display());
    let (code, out) = register(&url, "v4.yaml");
    assert_eq!(code, Some(0), "{out}");
    let key_file = dir.path().join("secret.key");
    let old = Keyring::read_or_create(&key_file).expect("key");
    let db = Database::connect(&url).await.expect("opens");
    let reason = lifecycle::Reason::parse("rotation test").expect("reason");
    let secret = ValueChange {
        name: "RULES_API_KEY".into(),
        value: "k-1".into(),
        secret: true,
    };
    configuration::configure(&db, &old, &Actor::System, "demo", "v4", &[secret], &reason)
        .await
        .expect("saved");
    let before = std::fs::read_to_string(&key_file).expect("key file");

    let key_arg = key_file.display().to_string();
    let (code, out) = server(&[
        "secrets",
        "rotate",
        "--secret-key-file",
        &key_arg,
        "--database-url",
        &url,
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("re-sealed 1 secret values"), "{out}");
    let after = std::fs::read_to_string(&key_file).expect("key file");
    assert_ne!(before, after, "the file holds the new key");
    assert!(
        !configuration::next_path(&key_file).exists(),
        "nothing staged is left"
    );
    let new = Keyring::read(&key_file).expect("new key");
    let record = backend::versions::get(&db, "demo", "v4").await.expect("v4");
    let opened = configuration::settled(&db, &new, &record)
        .await
        .expect("opens with the new key");
    assert_eq!(opened.secret_variables["RULES_API_KEY"], "k-1");
    assert!(configuration::settled(&db, &old, &record).await.is_err());

    let text = new.to_text().expect("text");
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("CONSOLE_SECRET_KEY", &text)
        .args(["secrets", "rotate", "--database-url", &url])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--new-key-file"));
    db.close().await;
}
