//! Audit log benchmark: insert throughput, and first-page / deep-page latency
//! of filtered keyset queries over 1,000,000 entries, on SQLite and (when
//! `TEST_POSTGRES_URL` is set) PostgreSQL, each next to the same SQL run raw
//! (no query builder, no row decoding into entries) as the floor.
//!
//! Writes a Markdown report to `bench/audit-log.md` (or `$BENCH_REPORT`).
//! `BENCH_ENTRIES` overrides the 1,000,000 (for a quick look).

use std::time::{Duration, Instant};

use backend::{
    Database,
    audit::{self, Actor, Filter, NewEntry},
};
use lifecycle::{AuditAction, Outcome, Status};

const PAGE: u32 = 50;
const REPEATS: usize = 25;

fn entry(i: u64) -> NewEntry {
    let user = i % 20;
    let actor = if i.is_multiple_of(7) {
        Actor::System
    } else {
        Actor::User {
            id: Some(user as i64),
            email: format!("user{user}@example.com"),
            role: if user < 3 { "admin" } else { "manager" }.into(),
        }
    };
    let action = match i % 5 {
        0 => AuditAction::Start,
        1 => AuditAction::Stop,
        2 => AuditAction::Publish,
        3 => AuditAction::Unpublish,
        _ => AuditAction::SystemTransition,
    };
    let outcome = if i.is_multiple_of(20) {
        Outcome::Denied
    } else {
        Outcome::Accepted
    };
    NewEntry::new(actor, action, outcome)
        .target("demo", Some(format!("v{}", i % 50)))
        .reason(format!(
            "change ticket CHG-{i}: routine rollout of the nightly build"
        ))
        .statuses(Some(Status::Stopped), Some(Status::Starting))
}

struct Case {
    name: &'static str,
    filter: Filter,
    /// The raw floor: the same predicate written by hand, `$1` = the keyset
    /// bound.
    raw_where: String,
}

fn cases(mid_from: &str, mid_to: &str) -> Vec<Case> {
    let q = |s: &str| format!("'{s}'");
    vec![
        Case {
            name: "no filter",
            filter: Filter::default(),
            raw_where: "id < $1".into(),
        },
        Case {
            name: "action = version.publish",
            filter: Filter {
                action: Some(AuditAction::Publish),
                ..Default::default()
            },
            raw_where: "action = 'version.publish' AND id < $1".into(),
        },
        Case {
            name: "user = user7@example.com",
            filter: Filter {
                actor_email: Some("user7@example.com".into()),
                ..Default::default()
            },
            raw_where: "actor_email = 'user7@example.com' AND id < $1".into(),
        },
        Case {
            name: "version = demo/v13",
            filter: Filter {
                runtime: Some("demo".into()),
                version: Some("v13".into()),
                ..Default::default()
            },
            raw_where: "runtime = 'demo' AND version = 'v13' AND id < $1".into(),
        },
        Case {
            name: "outcome = denied, action = version.start",
            filter: Filter {
                action: Some(AuditAction::Start),
                outcome: Some(Outcome::Denied),
                ..Default::default()
            },
            raw_where: "action = 'version.start' AND outcome = 'denied' AND id < $1".into(),
        },
        Case {
            name: "time range (middle tenth)",
            filter: Filter {
                from: Some(mid_from.into()),
                to: Some(mid_to.into()),
                ..Default::default()
            },
            // Hand-written with the same id bounds the query API derives.
            raw_where: format!(
                "at >= {f} AND at < {t} AND id < $1 \
                 AND id >= (SELECT id FROM audit_log WHERE at >= {f} ORDER BY at, id LIMIT 1) \
                 AND id < COALESCE((SELECT id FROM audit_log WHERE at >= {t} ORDER BY at, id LIMIT 1), $1)",
                f = q(mid_from),
                t = q(mid_to)
            ),
        },
    ]
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

async fn raw_page(db: &Database, sql: &str, before: i64) -> usize {
    match db {
        Database::Sqlite(pool) => sqlx::query(sql)
            .bind(before)
            .bind(i64::from(PAGE) + 1)
            .fetch_all(pool)
            .await
            .expect("raw query")
            .len(),
        Database::Postgres(pool) => sqlx::query(sql)
            .bind(before)
            .bind(i64::from(PAGE) + 1)
            .fetch_all(pool)
            .await
            .expect("raw query")
            .len(),
    }
}

async fn bench_database(name: &str, db: &Database, total: u64, report: &mut String) {
    use std::fmt::Write;
    eprintln!("{name}: single appends");
    // Insert throughput: one transaction per entry (the product's path).
    let single = 2000u64;
    let started = Instant::now();
    for i in 0..single {
        audit::append(db, &entry(i)).await.expect("append");
    }
    let single_rate = single as f64 / started.elapsed().as_secs_f64();

    // Four concurrent writers: appends serialise on the chain lock.
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let db = db.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..500 {
                audit::append(&db, &entry(w * 1000 + i))
                    .await
                    .expect("append");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let concurrent_rate = 2000.0 / started.elapsed().as_secs_f64();

    eprintln!("{name}: seeding {total} entries");
    let seed = total - 4000;
    let started = Instant::now();
    let batch = 50_000u64;
    let (mut mid_from, mut mid_to) = (String::new(), String::new());
    let mut done = 0u64;
    while done < seed {
        let n = batch.min(seed - done);
        if done >= seed * 45 / 100 && mid_from.is_empty() {
            mid_from = audit::now_timestamp();
        }
        if done >= seed * 55 / 100 && mid_to.is_empty() {
            mid_to = audit::now_timestamp();
        }
        let entries: Vec<NewEntry> = (done..done + n).map(entry).collect();
        audit::append_many(db, &entries).await.expect("bulk append");
        done += n;
    }
    if mid_to.is_empty() {
        mid_to = audit::now_timestamp();
    }
    let bulk_rate = seed as f64 / started.elapsed().as_secs_f64();
    if let Database::Postgres(pool) = db {
        sqlx::query("ANALYZE audit_log")
            .execute(pool)
            .await
            .expect("analyze");
    }
    if let Database::Sqlite(pool) = db {
        sqlx::query("ANALYZE").execute(pool).await.expect("analyze");
    }

    eprintln!("{name}: verify");
    let started = Instant::now();
    let verified = audit::verify(db).await.expect("verify");
    let verify_time = started.elapsed();
    assert!(
        matches!(verified, audit::Verification::Intact { entries, .. } if entries == total),
        "{verified:?}"
    );

    writeln!(report, "\n## {name}\n").ok();
    writeln!(report, "| insert path | entries/s |\n|---|---:|").ok();
    writeln!(
        report,
        "| `audit::append`, one transaction each, 1 writer | {single_rate:.0} |"
    )
    .ok();
    writeln!(
        report,
        "| `audit::append`, 4 concurrent writers | {concurrent_rate:.0} |"
    )
    .ok();
    writeln!(
        report,
        "| `audit::append_many`, 50,000 per transaction | {bulk_rate:.0} |"
    )
    .ok();
    writeln!(
        report,
        "\n`audit::verify` over all {total} entries: {:.2} s ({:.0} entries/s).\n",
        verify_time.as_secs_f64(),
        total as f64 / verify_time.as_secs_f64()
    )
    .ok();
    writeln!(
        report,
        "Query latency, median of {REPEATS} runs, page of {PAGE}, in ms. First page: newest \
         entries. Deep page: the keyset cursor 90% of the way back (`id < {}`).\n",
        total / 10
    )
    .ok();
    writeln!(
        report,
        "| filter | first page | raw SQL | deep page | raw SQL |\n|---|---:|---:|---:|---:|"
    )
    .ok();

    let deep = (total / 10) as i64;
    let note = "Time range: the query API first resolves the window to an id range (two lookups on the \
                `(at, id)` index), then walks the primary key. The raw statement writes those bounds as \
                scalar subqueries; SQLite's planner does not use them for the scan, so on SQLite that raw \
                figure is not a floor.";
    for case in cases(&mid_from, &mid_to) {
        let raw_sql = format!(
            "SELECT id, at, actor_kind, actor_id, actor_email, actor_role, action, runtime, version, \
             reason, outcome, status_before, status_after, details, prev_hash, hash FROM audit_log \
             WHERE {} ORDER BY id DESC LIMIT $2",
            case.raw_where
        );
        let mut cells = Vec::new();
        for before in [None, Some(deep)] {
            let mut ours = Vec::new();
            let mut raw = Vec::new();
            for _ in 0..REPEATS {
                let started = Instant::now();
                let page = audit::query(db, &case.filter, before, PAGE)
                    .await
                    .expect("query");
                ours.push(started.elapsed());
                let started = Instant::now();
                let rows = raw_page(db, &raw_sql, before.unwrap_or(i64::MAX)).await;
                raw.push(started.elapsed());
                assert_eq!(
                    page.entries.len() + usize::from(page.next_before.is_some()),
                    rows,
                    "{name} {}: the raw query must select the same rows",
                    case.name
                );
            }
            cells.push(ms(median(ours)));
            cells.push(ms(median(raw)));
        }
        writeln!(report, "| {} | {} |", case.name, cells.join(" | ")).ok();
        eprintln!("{name}: {} {:?}", case.name, cells);
    }
    writeln!(report, "\n{note}").ok();
}

#[tokio::main]
async fn main() {
    use std::fmt::Write;
    let total: u64 = std::env::var("BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
        .max(10_000);
    let out = std::env::var("BENCH_REPORT")
        .unwrap_or_else(|_| format!("{}/../bench/audit-log.md", env!("CARGO_MANIFEST_DIR")));

    let mut report = String::new();
    writeln!(report, "# Audit log benchmark\n").ok();
    writeln!(
        report,
        "Generated by `make bench` (`scripts/with-postgres.sh cargo bench -p backend --bench audit_log`) \
         on {} with {total} entries. Machine: {} cores. Release build.",
        audit::now_timestamp(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    )
    .ok();
    writeln!(
        report,
        "\nEntries spread over 20 users (+ system), 5 actions, 50 versions, 5% denied. \
         The raw SQL column runs the same statement through sqlx with literals in place of the \
         query builder's binds and without decoding rows into entries: the floor the query API \
         is measured against."
    )
    .ok();

    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Database::connect(&format!("sqlite://{}/bench.db", dir.path().display()))
        .await
        .expect("sqlite");
    sqlite.migrate().await.expect("migrate");
    bench_database(
        "SQLite (WAL, file on local disk)",
        &sqlite,
        total,
        &mut report,
    )
    .await;
    sqlite.close().await;

    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let pg = Database::connect(&url).await.expect("postgres");
            if let Database::Postgres(pool) = &pg {
                for sql in ["DROP SCHEMA IF EXISTS bench CASCADE", "CREATE SCHEMA bench"] {
                    sqlx::query(sql).execute(pool).await.expect("schema");
                }
            }
            pg.close().await;
            let sep = if url.contains('?') { '&' } else { '?' };
            let pg = Database::connect(&format!("{url}{sep}options=-c%20search_path%3Dbench"))
                .await
                .expect("postgres schema");
            pg.migrate().await.expect("migrate");
            bench_database(
                "PostgreSQL 15 (local, default settings)",
                &pg,
                total,
                &mut report,
            )
            .await;
            pg.close().await;
        }
        _ => {
            writeln!(
                report,
                "\n## PostgreSQL\n\nSkipped: TEST_POSTGRES_URL not set."
            )
            .ok();
        }
    }

    std::fs::write(&out, &report).expect("write report");
    println!("{report}");
    eprintln!("report written to {out}");
}
