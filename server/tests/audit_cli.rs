//! `server audit verify` on a real database file.

use std::process::Command;

use backend::{
    Database,
    audit::{self, Actor, NewEntry},
};
use lifecycle::{AuditAction, Outcome};

fn verify(url: &str) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .env_remove("CONSOLE_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .args(["audit", "verify", "--database-url", url])
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
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
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .env_remove("CONSOLE_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .args([
            "version",
            "register",
            "--runtime",
            "demo",
            "--database-url",
            url,
            &path,
        ])
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
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
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["version", "register", "--runtime", "demo", "--database-url"])
        .arg(format!("sqlite://{}/console.db", dir.path().display()))
        .arg(&file)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    for expected in ["name:", "entrypoint.port:", "processes[0].image: required"] {
        assert!(err.contains(expected), "missing {expected:?} in {err}");
    }
}
