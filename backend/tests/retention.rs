//! Explicit audit retention: nothing goes without a run, a run is recorded in
//! the log it trims, and the trimmed chain still verifies, while removals
//! outside a run or forged checkpoints are still caught.

use backend::{
    audit::retention::{self as audit_retention, MAX_KEEP_DAYS, RetentionError},
    audit::{self, NewEntry, Verification},
};
use lifecycle::{AuditAction, Outcome, Reason};

use testkit::{
    actors::admin,
    db::{databases, execute},
};

fn reason() -> Reason {
    Reason::parse("keep one year per policy SEC-7").expect("valid reason")
}

async fn write(db: &backend::Database, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let entry = NewEntry::new(admin(), AuditAction::Start, Outcome::Accepted)
            .target("demo", Some(format!("v{i}")))
            .reason("load test");
        ids.push(audit::append(db, &entry).await.expect("append").id);
    }
    ids
}

fn in_two_days() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::days(2)
}

#[tokio::test]
async fn a_run_removes_old_entries_records_itself_and_the_chain_still_verifies() {
    for (name, t) in databases().await {
        let old = write(&t.db, 5).await;

        // As of two days from now with one day kept, all five are old.
        let run = audit_retention::run_as_of(&t.db, &admin(), 1, &reason(), in_two_days())
            .await
            .expect("retention runs");
        assert_eq!(run.removed, 5, "{name}");
        let checkpoint = run.checkpoint.clone().expect("a checkpoint");
        assert_eq!(checkpoint.up_to_id, old[4], "{name}");
        assert_eq!(checkpoint.entry_id, run.entry.id, "{name}");
        assert_eq!(run.entry.action, "audit.retention", "{name}");
        assert_eq!(run.entry.outcome, "completed", "{name}");
        assert_eq!(run.entry.reason.as_deref(), Some(reason().as_str()));

        let page = audit::query(&t.db, &Default::default(), None, 100)
            .await
            .expect("query");
        assert_eq!(
            page.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![run.entry.id],
            "{name}: only the run's own entry is left"
        );

        write(&t.db, 3).await;
        match audit::verify(&t.db).await.expect("verify") {
            Verification::Intact {
                entries,
                checkpoint: Some(c),
                ..
            } => {
                assert_eq!(entries, 4, "{name}");
                assert_eq!(c, checkpoint, "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_run_with_nothing_old_removes_nothing_but_is_recorded() {
    for (name, t) in databases().await {
        write(&t.db, 3).await;
        let run = audit_retention::run(&t.db, &admin(), 30, &reason())
            .await
            .expect("runs");
        assert_eq!(run.removed, 0, "{name}");
        assert!(run.checkpoint.is_none(), "{name}");
        match audit::verify(&t.db).await.expect("verify") {
            Verification::Intact {
                entries,
                checkpoint,
                ..
            } => {
                assert_eq!(entries, 4, "{name}: three entries and the run's");
                assert!(checkpoint.is_none(), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_zero_day_retention_is_refused_and_writes_nothing() {
    for (name, t) in databases().await {
        write(&t.db, 2).await;
        let error = audit_retention::run(&t.db, &admin(), 0, &reason())
            .await
            .expect_err("refused");
        assert!(matches!(error, RetentionError::KeepDays(0)), "{name}");
        assert!(error.to_string().contains("between 1 and"), "{error}");
        let page = audit::query(&t.db, &Default::default(), None, 100)
            .await
            .expect("query");
        assert_eq!(page.entries.len(), 2, "{name}");
    }
}

#[tokio::test]
async fn deletes_outside_a_run_are_still_refused_after_one() {
    for (name, t) in databases().await {
        write(&t.db, 3).await;
        audit_retention::run_as_of(&t.db, &admin(), 1, &reason(), in_two_days())
            .await
            .expect("runs");
        let kept = write(&t.db, 2).await;
        let refused = execute(
            &t.db,
            &format!("DELETE FROM audit_log WHERE id = {}", kept[0]),
        )
        .await;
        assert!(refused.is_err(), "{name}: delete outside a run succeeded");
        let refused = execute(&t.db, "DELETE FROM audit_checkpoints").await;
        assert!(refused.is_err(), "{name}: checkpoint deleted");
        let refused = execute(&t.db, "UPDATE audit_checkpoints SET removed = 0").await;
        assert!(refused.is_err(), "{name}: checkpoint edited");
    }
}

#[tokio::test]
async fn removing_kept_entries_with_a_forged_grant_breaks_the_chain() {
    for (name, t) in databases().await {
        write(&t.db, 3).await;
        let run = audit_retention::run_as_of(&t.db, &admin(), 1, &reason(), in_two_days())
            .await
            .expect("runs");
        let kept = write(&t.db, 3).await;

        // Someone with database access grants themselves a range beyond the
        // checkpoint and removes the run's entry and the next one.
        execute(
            &t.db,
            &format!(
                "INSERT INTO audit_retention_grant (up_to_id) VALUES ({})",
                kept[0]
            ),
        )
        .await
        .expect("grant");
        execute(
            &t.db,
            &format!("DELETE FROM audit_log WHERE id <= {}", kept[0]),
        )
        .await
        .expect("forged removal");

        match audit::verify(&t.db).await.expect("verify") {
            Verification::Broken { first_bad_id, .. } => {
                assert_eq!(first_bad_id, kept[1], "{name}: first entry after the gap");
            }
            other => panic!("{name}: forged removal not detected: {other:?} (run {run:?})"),
        }
    }
}

#[tokio::test]
async fn a_forged_checkpoint_without_its_audit_entry_is_reported() {
    for (name, t) in databases().await {
        let ids = write(&t.db, 4).await;
        // Remove the first two and claim a checkpoint for them, with no
        // audit.retention entry in the chain.
        let anchor = audit::query(&t.db, &Default::default(), None, 100)
            .await
            .expect("query")
            .entries
            .into_iter()
            .find(|e| e.id == ids[1])
            .expect("entry")
            .hash;
        execute(
            &t.db,
            &format!(
                "INSERT INTO audit_retention_grant (up_to_id) VALUES ({})",
                ids[1]
            ),
        )
        .await
        .expect("grant");
        execute(
            &t.db,
            &format!("DELETE FROM audit_log WHERE id <= {}", ids[1]),
        )
        .await
        .expect("removal");
        execute(
            &t.db,
            &format!(
                "INSERT INTO audit_checkpoints (at, cutoff, up_to_id, anchor_hash, removed, entry_id) \
                 VALUES ('2026-01-01T00:00:00.000000Z', '2026-01-01', {}, '{anchor}', 2, {})",
                ids[1], ids[3]
            ),
        )
        .await
        .expect("forged checkpoint");

        match audit::verify(&t.db).await.expect("verify") {
            Verification::Broken { problem, .. } => {
                assert!(problem.contains("not backed"), "{name}: {problem}")
            }
            other => panic!("{name}: forged checkpoint accepted: {other:?}"),
        }
    }
}

// The schedule runs on the leader only, and at most once per UTC day even
// when two replicas (or two leaders for a moment) ask at the same instant:
// across a day boundary on an injected clock, one run per day.
#[tokio::test]
async fn the_scheduled_retention_runs_once_a_day_however_many_replicas_ask() {
    for (name, t) in databases().await {
        let late = chrono::DateTime::parse_from_rfc3339("2031-03-04T23:59:59Z")
            .expect("time")
            .to_utc();
        let next_day = late + chrono::Duration::seconds(2);
        let (admin, reason) = (admin(), reason());
        let mut ran = 0;
        for now in [late, late, next_day, next_day] {
            let (a, b) = tokio::join!(
                audit_retention::run_daily(&t.db, &admin, MAX_KEEP_DAYS, &reason, now),
                audit_retention::run_daily(&t.db, &admin, MAX_KEEP_DAYS, &reason, now),
            );
            ran += [a.expect("runs"), b.expect("runs")]
                .iter()
                .filter(|run| run.is_some())
                .count();
        }
        assert_eq!(ran, 2, "{name}: one run per day");
        let filter = audit::Filter {
            action: Some(AuditAction::Retention),
            ..audit::Filter::default()
        };
        let entries = testkit::db::audit_entries(&t.db, filter).await;
        assert_eq!(entries.len(), 2, "{name}");
        assert!(
            entries[0].details.contains("2031-03-05"),
            "{}",
            entries[0].details
        );
        assert!(
            entries[1].details.contains("2031-03-04"),
            "{}",
            entries[1].details
        );
        assert!(
            matches!(
                audit::verify(&t.db).await.expect("verify"),
                Verification::Intact { .. }
            ),
            "{name}"
        );
    }
}
