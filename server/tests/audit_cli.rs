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
