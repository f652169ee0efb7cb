//! Databases for the integration tests: SQLite always, PostgreSQL too when
//! `TEST_POSTGRES_URL` names a server (each test gets its own schema).

use backend::Database;

pub struct TestDb {
    pub db: Database,
    /// What a second process would connect with.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/audit.db", dir.path().display());
    let db = Database::connect(&url).await.expect("sqlite opens");
    db.migrate().await.expect("migrates");
    TestDb {
        db,
        url,
        _dir: Some(dir),
    }
}

pub async fn databases() -> Vec<(&'static str, TestDb)> {
    let mut all = vec![("sqlite", sqlite().await)];
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => all.push(("postgres", postgres(&url).await)),
        _ => eprintln!("postgres: skipped (TEST_POSTGRES_URL not set)"),
    }
    all
}

/// A fresh, migrated schema on the PostgreSQL server at `url`.
pub async fn postgres(url: &str) -> TestDb {
    let (db, url) = fresh_postgres(url).await;
    TestDb {
        db,
        url,
        _dir: None,
    }
}

/// A new, empty schema per test so tests never see each other's rows,
/// migrated: the database and the URL a second process would connect with.
pub async fn fresh_postgres(url: &str) -> (Database, String) {
    let (_, url) = fresh_schema(url).await;
    let db = Database::connect(&url).await.expect("connects to schema");
    db.migrate().await.expect("migrates");
    (db, url)
}

/// A new, empty schema on the server at `url`: its name, and the URL that
/// puts a connection (a console's) in it.
pub async fn fresh_schema(url: &str) -> (String, String) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "t{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        clock_suffix()
    );
    let admin = sqlx::PgPool::connect(url)
        .await
        .expect("postgres reachable");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create schema");
    admin.close().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    (
        schema.clone(),
        format!("{url}{sep}options=-c%20search_path%3D{schema}"),
    )
}

fn clock_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000)
        .unwrap_or(0)
}

pub async fn execute(db: &Database, sql: &str) -> Result<(), sqlx::Error> {
    match db {
        Database::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        Database::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
    }
}

/// The newest 100 audit entries `filter` selects, newest first.
pub async fn audit_entries(
    db: &Database,
    filter: backend::audit::Filter,
) -> Vec<backend::audit::Entry> {
    backend::audit::query(db, &filter, None, 100)
        .await
        .expect("audit query")
        .entries
}
