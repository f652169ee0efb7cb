//! The audit log against a real database: the chain, the append-only rule,
//! tamper detection, concurrent appends, filters and keyset paging.
//! Runs on SQLite always, and on PostgreSQL too when `TEST_POSTGRES_URL`
//! names a database it may create schemas in.

use std::time::Duration;

use backend::audit::{self, Actor, Filter, GENESIS_HASH, NewEntry, Verification};
use lifecycle::{AuditAction, Outcome, Status};

use testkit::{
    actors::{self, manager},
    db::{databases, execute, sqlite},
};

fn start_of(version: &str, outcome: Outcome) -> NewEntry {
    NewEntry::new(manager(), AuditAction::Start, outcome)
        .target("demo", Some(version.into()))
        .reason("roll out INC-42 fix")
        .statuses(Some(Status::Stopped), Some(Status::Starting))
}

#[tokio::test]
async fn entries_chain_to_each_other_and_verify() {
    for (name, t) in databases().await {
        let first = audit::append(&t.db, &start_of("v1", Outcome::Accepted))
            .await
            .expect("append");
        let second = audit::append(
            &t.db,
            &NewEntry::new(
                Actor::System,
                AuditAction::SystemTransition,
                Outcome::Completed,
            )
            .target("demo", Some("v1".into()))
            .statuses(Some(Status::Starting), Some(Status::Started)),
        )
        .await
        .expect("append");
        assert_eq!(first.prev_hash, GENESIS_HASH, "{name}");
        assert_eq!(second.prev_hash, first.hash, "{name}");
        assert_eq!(second.actor_kind, "system", "{name}");
        assert_eq!(first.expected_hash(), first.hash, "{name}");
        assert_eq!(
            audit::verify(&t.db).await.expect("verify"),
            Verification::Intact {
                entries: 2,
                last_hash: second.hash.clone(),
                checkpoint: None,
            },
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_database_refuses_updates_and_deletes() {
    for (name, t) in databases().await {
        audit::append(&t.db, &start_of("v1", Outcome::Accepted))
            .await
            .expect("append");
        for sql in [
            "UPDATE audit_log SET reason = 'nothing to see'",
            "DELETE FROM audit_log",
        ] {
            let error = execute(&t.db, sql).await.expect_err("refused");
            assert!(
                error.to_string().contains("append-only"),
                "{name}: {sql}: {error}"
            );
        }
        let page = audit::query(&t.db, &Filter::default(), None, 10)
            .await
            .expect("query");
        assert_eq!(page.entries.len(), 1, "{name}");
        assert_eq!(
            page.entries[0].reason.as_deref(),
            Some("roll out INC-42 fix")
        );
    }
}

#[tokio::test]
async fn verify_finds_the_first_altered_or_removed_entry() {
    // Someone with database-owner rights can drop the triggers; the chain
    // still tells.
    let t = sqlite().await;
    let mut ids = Vec::new();
    for v in ["v1", "v2", "v3", "v4"] {
        ids.push(
            audit::append(&t.db, &start_of(v, Outcome::Accepted))
                .await
                .expect("append")
                .id,
        );
    }
    execute(&t.db, "DROP TRIGGER audit_log_no_update")
        .await
        .expect("drop");
    execute(&t.db, "DROP TRIGGER audit_log_no_delete")
        .await
        .expect("drop");

    execute(
        &t.db,
        &format!(
            "UPDATE audit_log SET reason = 'edited' WHERE id = {}",
            ids[2]
        ),
    )
    .await
    .expect("tamper");
    match audit::verify(&t.db).await.expect("verify") {
        Verification::Broken {
            first_bad_id,
            entries_checked,
            problem,
        } => {
            assert_eq!(first_bad_id, ids[2]);
            assert_eq!(entries_checked, 2);
            assert!(problem.contains("altered"), "{problem}");
        }
        other => panic!("tampering not detected: {other:?}"),
    }

    execute(
        &t.db,
        &format!("DELETE FROM audit_log WHERE id = {}", ids[1]),
    )
    .await
    .expect("tamper");
    match audit::verify(&t.db).await.expect("verify") {
        Verification::Broken {
            first_bad_id,
            problem,
            ..
        } => {
            assert_eq!(first_bad_id, ids[2], "the entry after the gap");
            assert!(problem.contains("removed"), "{problem}");
        }
        other => panic!("removal not detected: {other:?}"),
    }
}

#[tokio::test]
async fn concurrent_appends_keep_one_unbroken_chain() {
    for (name, t) in databases().await {
        let mut tasks = Vec::new();
        for writer in 0..10 {
            let db = t.db.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..10 {
                    audit::append(&db, &start_of(&format!("v{writer}-{i}"), Outcome::Accepted))
                        .await
                        .expect("append under contention");
                }
            }));
        }
        for task in tasks {
            task.await.expect("writer finished");
        }
        match audit::verify(&t.db).await.expect("verify") {
            Verification::Intact { entries, .. } => assert_eq!(entries, 100, "{name}"),
            other => panic!("{name}: chain broken under concurrency: {other:?}"),
        }
    }
}

#[tokio::test]
async fn filters_select_and_keyset_pages_are_stable_newest_first() {
    for (name, t) in databases().await {
        let viewer = actors::viewer();
        for i in 0..7 {
            audit::append(&t.db, &start_of(&format!("v{}", i % 2), Outcome::Accepted))
                .await
                .expect("append");
        }
        audit::append(
            &t.db,
            &NewEntry::new(viewer, AuditAction::Start, Outcome::Denied)
                .target("demo", Some("v1".into()))
                .reason("<script>alert(1)</script>"),
        )
        .await
        .expect("append");

        let denied = audit::query(
            &t.db,
            &Filter {
                outcome: Some(Outcome::Denied),
                ..Filter::default()
            },
            None,
            50,
        )
        .await
        .expect("query");
        assert_eq!(denied.entries.len(), 1, "{name}");
        assert_eq!(
            denied.entries[0].reason.as_deref(),
            Some("<script>alert(1)</script>"),
            "{name}: stored verbatim, escaping is the UI's job"
        );

        let by_version = Filter {
            runtime: Some("demo".into()),
            version: Some("v0".into()),
            actor_email: Some("manager@example.com".into()),
            action: Some(AuditAction::Start),
            ..Filter::default()
        };
        let page = audit::query(&t.db, &by_version, None, 50)
            .await
            .expect("query");
        assert_eq!(page.entries.len(), 4, "{name}");

        // Page through everything three at a time while new entries arrive:
        // every original entry is seen exactly once, newest first.
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = audit::query(&t.db, &Filter::default(), before, 3)
                .await
                .expect("page");
            seen.extend(page.entries.iter().map(|e| e.id));
            audit::append(&t.db, &start_of("late", Outcome::Accepted))
                .await
                .expect("concurrent insert");
            match page.next_before {
                Some(cursor) => before = Some(cursor),
                None => break,
            }
        }
        assert_eq!(seen.len(), 8, "{name}: {seen:?}");
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "{name}: {seen:?}");

        let future = Filter {
            from: Some("2999-01-01".into()),
            ..Filter::default()
        };
        assert!(
            audit::query(&t.db, &future, None, 10)
                .await
                .expect("query")
                .entries
                .is_empty(),
            "{name}"
        );
        let until_now = Filter {
            to: Some(audit::now_timestamp()),
            ..Filter::default()
        };
        assert!(
            audit::query(&t.db, &until_now, None, 100)
                .await
                .expect("query")
                .entries
                .len()
                >= 8,
            "{name}"
        );
    }
}

#[tokio::test]
async fn exports_stream_every_selected_entry_as_csv_and_json() {
    use backend::audit::export::{Format, export};
    use futures::StreamExt;

    for (name, t) in databases().await {
        // More than one export page, with awkward text in the reasons.
        for i in 0..1203 {
            let outcome = if i % 3 == 0 {
                Outcome::Denied
            } else {
                Outcome::Accepted
            };
            let entry = start_of(&format!("v{i}"), outcome)
                .reason(format!("n{i}, \"quoted\"\nsecond line"));
            audit::append(&t.db, &entry).await.expect("append");
        }
        let collect = |filter: Filter, format: Format| {
            let db = t.db.clone();
            async move {
                let chunks: Vec<_> = export(&db, filter, format).collect().await;
                chunks
                    .into_iter()
                    .map(|c| c.expect("chunk"))
                    .collect::<String>()
            }
        };

        let json = collect(Filter::default(), Format::Json).await;
        let parsed: Vec<serde_json::Value> = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(parsed.len(), 1203, "{name}");
        assert!(
            parsed[0]["id"].as_i64() > parsed[1202]["id"].as_i64(),
            "{name}: newest first"
        );
        assert_eq!(parsed[1202]["reason"], "n0, \"quoted\"\nsecond line");

        let denied = Filter {
            outcome: Some(Outcome::Denied),
            ..Filter::default()
        };
        let csv = collect(denied, Format::Csv).await;
        assert!(csv.starts_with("id,at,actor_kind,"), "{name}");
        // Quoted fields keep their line breaks, so count records by their hash column.
        let records = csv.matches(",denied,").count();
        assert_eq!(records, 401, "{name}");
        assert!(
            csv.contains("\"n0, \"\"quoted\"\"\nsecond line\""),
            "{name}"
        );

        let none = Filter {
            version: Some("nothing".into()),
            ..Filter::default()
        };
        assert_eq!(collect(none.clone(), Format::Json).await, "[\n]\n");
        assert_eq!(
            collect(none, Format::Csv).await.lines().count(),
            1,
            "header only"
        );
    }
}

#[tokio::test]
async fn bulk_appends_chain_like_single_ones_and_are_all_or_nothing() {
    for (name, t) in databases().await {
        audit::append(&t.db, &start_of("v0", Outcome::Accepted))
            .await
            .expect("append");
        let batch: Vec<NewEntry> = (1..=2500)
            .map(|i| start_of(&format!("v{i}"), Outcome::Accepted))
            .collect();
        assert_eq!(
            audit::append_many(&t.db, &batch).await.expect("bulk"),
            2500,
            "{name}"
        );
        audit::append(&t.db, &start_of("v-last", Outcome::Denied))
            .await
            .expect("append after bulk");
        match audit::verify(&t.db).await.expect("verify") {
            Verification::Intact { entries, .. } => assert_eq!(entries, 2502, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }

    // A batch the database refuses in its second chunk leaves nothing of
    // the first behind.
    let t = sqlite().await;
    execute(
        &t.db,
        "CREATE TRIGGER refuse_v1500 BEFORE INSERT ON audit_log WHEN NEW.version = 'v1500' \
         BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .await
    .expect("trigger");
    let batch: Vec<NewEntry> = (1..=2000)
        .map(|i| start_of(&format!("v{i}"), Outcome::Accepted))
        .collect();
    assert!(audit::append_many(&t.db, &batch).await.is_err());
    let page = audit::query(&t.db, &Filter::default(), None, 10)
        .await
        .expect("query");
    assert!(page.entries.is_empty(), "partial batch kept: {page:?}");
}

#[tokio::test]
async fn a_time_window_selects_exactly_its_entries_across_pages() {
    for (name, t) in databases().await {
        let mut ids = Vec::new();
        let mut marks = Vec::new();
        for round in 0..3 {
            // A boundary strictly between two rounds' times.
            let mark = audit::now_timestamp();
            while audit::now_timestamp() == mark {
                tokio::task::yield_now().await;
            }
            marks.push(mark);
            for i in 0..3 {
                let entry = start_of(&format!("r{round}-{i}"), Outcome::Accepted);
                ids.push(audit::append(&t.db, &entry).await.expect("append").id);
            }
        }
        marks.push(audit::now_timestamp());
        let window = Filter {
            from: Some(marks[1].clone()),
            to: Some(marks[2].clone()),
            ..Filter::default()
        };
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = audit::query(&t.db, &window, before, 2)
                .await
                .expect("query");
            seen.extend(page.entries.iter().map(|e| e.id));
            match page.next_before {
                Some(cursor) => before = Some(cursor),
                None => break,
            }
        }
        assert_eq!(seen, vec![ids[5], ids[4], ids[3]], "{name}");

        let all = audit::query(&t.db, &Filter::default(), None, 100)
            .await
            .expect("query")
            .entries;
        assert!(
            all.windows(2).all(|w| w[0].at >= w[1].at),
            "{name}: times follow ids"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_cancelled_at_any_point_leave_every_pooled_connection_usable() {
    // A request whose client goes away, or a drive aborted because its
    // version moved on, drops a write mid-flight. Whatever point that lands
    // on, the pool must not keep a connection stuck inside a transaction
    // (holding SQLite's write lock, refused by sqlx's next `begin_with`).
    for (name, t) in databases().await {
        for i in 0..2000u64 {
            let db = t.db.clone();
            let write = tokio::spawn(async move {
                audit::append(&db, &start_of("cancelled", Outcome::Accepted)).await
            });
            // Cancel after 0 to ~1 ms: anywhere from before the BEGIN to
            // after the COMMIT.
            let at = std::time::Instant::now() + Duration::from_micros(i * 7919 % 1000);
            while std::time::Instant::now() < at {
                tokio::task::yield_now().await;
            }
            write.abort();
            let _ = write.await;
        }
        // More writes in a row than the pool has connections: each one
        // must find a clean connection.
        for n in 0..40 {
            audit::append(&t.db, &start_of("after", Outcome::Accepted))
                .await
                .unwrap_or_else(|e| panic!("{name}: write {n} after cancellations: {e}"));
        }
        let verification = audit::verify(&t.db).await.expect("verify");
        assert!(
            matches!(verification, Verification::Intact { .. }),
            "{name}: {verification:?}"
        );
    }
}

// Verification reads the log a page at a time as one JSON value from the
// database: text that JSON escapes (quotes, backslashes, control
// characters, non-ASCII) must hash as it was written, across page
// boundaries, and a change deep in the log is found with the right count.
#[tokio::test]
async fn verify_walks_many_pages_and_hashes_any_text_as_written() {
    for (name, t) in databases().await {
        let awkward = "quote \" backslash \\ slash / tab \t newline \n bell \u{7} nul-free é 漢字 🚀 </script>";
        let batch: Vec<NewEntry> = (0..12_000)
            .map(|i| {
                start_of(&format!("v{i}"), Outcome::Accepted)
                    .reason(format!("{awkward} #{i}"))
                    .details(serde_json::json!({"note": awkward, "n": i}))
            })
            .collect();
        for chunk in batch.chunks(4_000) {
            audit::append_many(&t.db, chunk).await.expect("bulk");
        }
        match audit::verify(&t.db).await.expect("verify") {
            Verification::Intact { entries, .. } => assert_eq!(entries, 12_000, "{name}"),
            other => panic!("{name}: {other:?}"),
        }

        let drop_trigger = if name == "sqlite" {
            "DROP TRIGGER audit_log_no_update"
        } else {
            "DROP TRIGGER audit_log_no_update ON audit_log"
        };
        execute(&t.db, drop_trigger).await.expect("drop");
        execute(
            &t.db,
            "UPDATE audit_log SET reason = reason || '!' \
             WHERE id = (SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 11000)",
        )
        .await
        .expect("tamper");
        match audit::verify(&t.db).await.expect("verify") {
            Verification::Broken {
                entries_checked,
                problem,
                ..
            } => {
                assert_eq!(entries_checked, 11_000, "{name}");
                assert!(problem.contains("altered"), "{name}: {problem}");
            }
            other => panic!("{name}: tampering not detected: {other:?}"),
        }
    }
}
