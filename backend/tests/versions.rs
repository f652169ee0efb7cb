//! The version registry and lifecycle transitions against a real database:
//! registration, the compare-and-set, one published version per runtime,
//! concurrent operators, and the audit entries each step leaves.

use backend::{
    Database,
    audit::{self, Actor, Filter, Verification},
    versions::{self, VersionError},
};
use lifecycle::{
    Action, AuditAction, Manifest, Outcome, Reason, Status, SystemEvent,
    manifest::{Entrypoint, Process},
};

use testkit::{actors, db::TestDb};

async fn databases() -> Vec<(&'static str, TestDb)> {
    let all = testkit::db::databases().await;
    for (_, t) in &all {
        backend::runtimes::ensure(&t.db, "demo", "demo.example.com")
            .await
            .expect("runtime");
    }
    all
}

fn manager(n: i64) -> Actor {
    actors::user(n, &format!("manager{n}@example.com"), "manager")
}

fn manifest(name: &str) -> Manifest {
    Manifest {
        name: name.into(),
        description: format!("version {name}"),
        entrypoint: Entrypoint {
            image: "registry.example.com/entry:1".into(),
            port: 8080,
            readiness: None,
            ..Default::default()
        },
        processes: vec![Process {
            name: "worker".into(),
            image: "registry.example.com/worker:1".into(),
            replicas: 2,
            env: Default::default(),
            inputs: vec!["entrypoint".into()],
            readiness: None,
            ..Default::default()
        }],
        config: Default::default(),
        variables: Vec::new(),
    }
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).expect("valid reason")
}

async fn register(db: &Database, name: &str) {
    versions::register(db, &manager(1), "demo", &manifest(name))
        .await
        .expect("registers");
}

/// Drives a version to `started` the way the system would.
async fn started(db: &Database, name: &str) {
    versions::apply_action(
        db,
        &manager(1),
        "demo",
        name,
        Action::Start,
        Status::Stopped,
        &reason("go"),
    )
    .await
    .expect("start");
    versions::apply_system_event(db, "demo", name, SystemEvent::AllReady, None)
        .await
        .expect("ready");
}

#[tokio::test]
async fn registration_stores_a_stopped_version_and_refuses_bad_or_duplicate_ones() {
    for (name, t) in databases().await {
        let db = t.db.clone();
        register(&db, "v1").await;
        let v1 = versions::get(&db, "demo", "v1").await.expect("found");
        assert_eq!(v1.status, Status::Stopped, "{name}");
        assert_eq!(v1.manifest, manifest("v1"), "{name}");
        assert_eq!(v1.created_by, "manager1@example.com", "{name}");

        let dup = versions::register(&db, &manager(1), "demo", &manifest("v1")).await;
        assert!(
            matches!(dup, Err(VersionError::Duplicate { .. })),
            "{name}: {dup:?}"
        );

        let mut bad = manifest("v2");
        bad.processes[0].image.clear();
        match versions::register(&db, &manager(1), "demo", &bad).await {
            Err(VersionError::Invalid(problems)) => {
                assert_eq!(
                    problems[0].to_string(),
                    "processes[0].image: required",
                    "{name}"
                )
            }
            other => panic!("{name}: {other:?}"),
        }
        let unknown = versions::register(&db, &manager(1), "nowhere", &manifest("v3")).await;
        assert!(
            matches!(unknown, Err(VersionError::UnknownRuntime(_))),
            "{name}"
        );

        let listed: Vec<_> = versions::list(&db, "demo")
            .await
            .expect("list")
            .into_iter()
            .map(|v| v.name)
            .collect();
        assert_eq!(
            listed,
            ["v1"],
            "{name}: refused registrations wrote nothing"
        );

        let registrations = audit::query(
            &db,
            &Filter {
                action: Some(AuditAction::Register),
                ..Filter::default()
            },
            None,
            10,
        )
        .await
        .expect("audit");
        let outcomes: Vec<_> = registrations
            .entries
            .iter()
            .map(|e| e.outcome.as_str())
            .collect();
        assert_eq!(
            outcomes,
            ["denied", "denied", "denied", "accepted"],
            "{name}"
        );
    }
}

#[tokio::test]
async fn actions_follow_the_table_and_each_leaves_one_audit_entry() {
    for (name, t) in databases().await {
        let db = t.db.clone();
        register(&db, "v1").await;
        let applied = versions::apply_action(
            &db,
            &manager(1),
            "demo",
            "v1",
            Action::Start,
            Status::Stopped,
            &reason("release 1.0"),
        )
        .await
        .expect("start");
        assert_eq!(
            (applied.transition.from, applied.transition.to),
            (Status::Stopped, Status::Starting)
        );

        let refused = versions::apply_action(
            &db,
            &manager(1),
            "demo",
            "v1",
            Action::Publish,
            Status::Starting,
            &reason("too early"),
        )
        .await;
        match refused {
            Err(VersionError::Refused(r)) => {
                assert_eq!(r.hint, "wait until it has started", "{name}")
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(
            versions::get(&db, "demo", "v1").await.expect("get").status,
            Status::Starting
        );

        let t = versions::apply_system_event(&db, "demo", "v1", SystemEvent::AllReady, None)
            .await
            .expect("system");
        assert_eq!(t.map(|t| t.to), Some(Status::Started), "{name}");
        // A late duplicate event changes nothing.
        assert_eq!(
            versions::apply_system_event(&db, "demo", "v1", SystemEvent::AllReady, None)
                .await
                .expect("noop"),
            None
        );

        let page = audit::query(
            &db,
            &Filter {
                version: Some("v1".into()),
                ..Filter::default()
            },
            None,
            50,
        )
        .await
        .expect("audit");
        let trail: Vec<_> = page
            .entries
            .iter()
            .rev()
            .map(|e| {
                (
                    e.action.as_str(),
                    e.outcome.as_str(),
                    e.status_after.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            trail,
            [
                ("version.register", "accepted", Some("stopped")),
                ("version.start", "accepted", Some("starting")),
                ("version.publish", "denied", None),
                ("version.system_transition", "completed", Some("started")),
            ],
            "{name}"
        );
        assert_eq!(page.entries[1].reason.as_deref(), Some("too early"));
        assert_eq!(
            page.entries[2].actor_email.as_deref(),
            Some("manager1@example.com")
        );
        assert!(matches!(
            audit::verify(&db).await.expect("verify"),
            Verification::Intact { .. }
        ));
    }
}

#[tokio::test]
async fn publishing_demotes_the_previously_published_version_in_the_same_step() {
    for (name, t) in databases().await {
        let db = t.db.clone();
        for v in ["v1", "v2"] {
            register(&db, v).await;
            started(&db, v).await;
        }
        versions::apply_action(
            &db,
            &manager(1),
            "demo",
            "v1",
            Action::Publish,
            Status::Started,
            &reason("go live"),
        )
        .await
        .expect("publish v1");
        let applied = versions::apply_action(
            &db,
            &manager(2),
            "demo",
            "v2",
            Action::Publish,
            Status::Started,
            &reason("switch"),
        )
        .await
        .expect("publish v2");
        assert_eq!(applied.demoted.as_deref(), Some("v1"), "{name}");
        assert_eq!(
            versions::get(&db, "demo", "v1").await.expect("v1").status,
            Status::Started
        );
        assert_eq!(
            versions::get(&db, "demo", "v2").await.expect("v2").status,
            Status::Published
        );
        let entry = audit::query(
            &db,
            &Filter {
                version: Some("v2".into()),
                action: Some(AuditAction::Publish),
                ..Filter::default()
            },
            None,
            1,
        )
        .await
        .expect("audit");
        assert!(
            entry.entries[0].details.contains("\"demoted\":\"v1\""),
            "{name}: {:?}",
            entry.entries[0]
        );
    }
}

#[tokio::test]
async fn of_two_operators_acting_at_once_exactly_one_wins_and_the_other_is_told_who() {
    for (name, t) in databases().await {
        let db = t.db.clone();
        register(&db, "v1").await;
        let mut tasks = Vec::new();
        for n in 1..=8 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                versions::apply_action(
                    &db,
                    &manager(n),
                    "demo",
                    "v1",
                    Action::Start,
                    Status::Stopped,
                    &reason("mine"),
                )
                .await
            }));
        }
        let mut wins = 0;
        let mut conflicts = Vec::new();
        for task in tasks {
            match task.await.expect("joined") {
                Ok(_) => wins += 1,
                Err(VersionError::Conflict { by, current, .. }) => conflicts.push((by, current)),
                Err(other) => panic!("{name}: unexpected {other}"),
            }
        }
        assert_eq!(wins, 1, "{name}");
        assert_eq!(conflicts.len(), 7, "{name}");
        let winner = versions::get(&db, "demo", "v1")
            .await
            .expect("get")
            .status_actor;
        for (by, current) in &conflicts {
            assert_eq!(by, &winner, "{name}");
            assert_eq!(*current, Status::Starting, "{name}");
        }
        let message = VersionError::Conflict {
            version: "v1".into(),
            current: Status::Starting,
            by: winner.clone(),
            action: "version.start".into(),
            at: "2026-11-28T10:02:00.000000Z".into(),
        }
        .to_string();
        assert!(
            message.contains(&winner) && message.contains("starting"),
            "{message}"
        );
        let accepted = audit::query(
            &db,
            &Filter {
                outcome: Some(Outcome::Accepted),
                action: Some(AuditAction::Start),
                ..Filter::default()
            },
            None,
            50,
        )
        .await
        .expect("audit");
        assert_eq!(
            accepted.entries.len(),
            1,
            "{name}: exactly one accepted entry"
        );
        assert!(matches!(
            audit::verify(&db).await.expect("verify"),
            Verification::Intact { .. }
        ));
    }
}

#[tokio::test]
async fn the_database_itself_refuses_a_second_published_version() {
    let (_, t) = databases().await.remove(0);
    let db = t.db.clone();
    for v in ["v1", "v2"] {
        register(&db, v).await;
    }
    let Database::Sqlite(pool) = &db else {
        panic!("sqlite first")
    };
    sqlx::query("UPDATE versions SET status = 'published' WHERE name = 'v1'")
        .execute(pool)
        .await
        .expect("first");
    let second = sqlx::query("UPDATE versions SET status = 'published' WHERE name = 'v2'")
        .execute(pool)
        .await;
    assert!(
        second.is_err(),
        "the unique index must refuse two published versions"
    );
}
