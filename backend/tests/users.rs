//! Users, signing in and demo seeding against a real database: validation,
//! the last-admin rule, session invalidation, throttling and the audit
//! entries each leaves.

use backend::{
    audit::{self, Actor, Filter, Verification},
    auth::{self, SignInError, Throttle},
    demo,
    users::{self, UserError},
};
use lifecycle::{AuditAction, Reason, Role};

use testkit::{
    actors,
    db::{databases, sqlite},
};

fn reason() -> Reason {
    Reason::parse("onboarding ticket IT-9").expect("reason")
}

fn admin_actor() -> Actor {
    actors::user(1, "root@example.com", "admin")
}

async fn entries(db: &backend::Database, action: AuditAction) -> Vec<audit::Entry> {
    let filter = Filter {
        action: Some(action),
        ..Filter::default()
    };
    testkit::db::audit_entries(db, filter).await
}

#[tokio::test]
async fn creation_validates_normalises_and_refuses_duplicates() {
    for (name, t) in databases().await {
        let user = users::create(
            &t.db,
            &admin_actor(),
            "  Ops@Example.COM ",
            Role::Manager,
            "long enough password",
            &reason(),
        )
        .await
        .expect("created");
        assert_eq!(user.email, "ops@example.com", "{name}");
        assert_eq!(user.role, Role::Manager);
        assert!(!user.disabled);

        let duplicate = users::create(
            &t.db,
            &admin_actor(),
            "ops@example.com",
            Role::Viewer,
            "long enough password",
            &reason(),
        )
        .await;
        assert!(
            matches!(duplicate, Err(UserError::EmailTaken(_))),
            "{name}: {duplicate:?}"
        );

        for (email, password, expected) in [
            ("", "long enough password", "Email is required"),
            ("not-an-email", "long enough password", "name@example.com"),
            ("a@b", "long enough password", "name@example.com"),
            (
                "<script>@example.com",
                "long enough password",
                "name@example.com",
            ),
            ("new@example.com", "short", "at least 12"),
        ] {
            match users::create(
                &t.db,
                &admin_actor(),
                email,
                Role::Viewer,
                password,
                &reason(),
            )
            .await
            {
                Err(UserError::Invalid(message)) => {
                    assert!(message.contains(expected), "{name}: {email}: {message}")
                }
                other => panic!("{name}: {email:?} accepted: {other:?}"),
            }
        }
        assert_eq!(
            users::list(&t.db).await.expect("list").len(),
            1,
            "{name}: nothing else written"
        );
        let created = entries(&t.db, AuditAction::UserCreate).await;
        assert_eq!(created.len(), 1, "{name}");
        assert!(
            !created[0].details.contains("password"),
            "{name}: {}",
            created[0].details
        );
    }
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_demoted_or_disabled() {
    for (name, t) in databases().await {
        let first = users::create(
            &t.db,
            &admin_actor(),
            "a1@example.com",
            Role::Admin,
            "long enough password",
            &reason(),
        )
        .await
        .expect("admin");
        let refused =
            users::change_role(&t.db, &admin_actor(), first.id, Role::Viewer, &reason()).await;
        assert!(
            matches!(refused, Err(UserError::LastAdmin)),
            "{name}: {refused:?}"
        );
        let refused = users::set_disabled(&t.db, &admin_actor(), first.id, true, &reason()).await;
        assert!(
            matches!(refused, Err(UserError::LastAdmin)),
            "{name}: {refused:?}"
        );
        let denied = entries(&t.db, AuditAction::UserRoleChange).await;
        assert_eq!(denied.len(), 1, "{name}");
        assert_eq!(denied[0].outcome, "denied", "{name}");

        let second = users::create(
            &t.db,
            &admin_actor(),
            "a2@example.com",
            Role::Admin,
            "long enough password",
            &reason(),
        )
        .await
        .expect("second admin");
        let demoted = users::change_role(&t.db, &admin_actor(), first.id, Role::Manager, &reason())
            .await
            .expect("now allowed");
        assert_eq!(demoted.role, Role::Manager, "{name}");
        let refused = users::set_disabled(&t.db, &admin_actor(), second.id, true, &reason()).await;
        assert!(
            matches!(refused, Err(UserError::LastAdmin)),
            "{name}: {refused:?}"
        );
        let missing = users::revoke_sessions(&t.db, &admin_actor(), 9999, &reason()).await;
        assert!(matches!(missing, Err(UserError::NotFound)), "{name}");
        assert!(matches!(
            audit::verify(&t.db).await.expect("verify"),
            Verification::Intact { .. }
        ));
    }
}

#[tokio::test]
async fn sign_in_gives_one_answer_for_every_failure_and_audits_each() {
    for (name, t) in databases().await {
        let throttle = Throttle;
        let user = users::create(
            &t.db,
            &admin_actor(),
            "op@example.com",
            Role::Manager,
            "correct horse battery",
            &reason(),
        )
        .await
        .expect("user");
        let ok = auth::sign_in(
            &t.db,
            &throttle,
            "OP@example.com",
            "correct horse battery",
            None,
        )
        .await
        .expect("signs in");
        assert_eq!(ok.id, user.id, "{name}");
        assert_eq!(ok.role, Role::Manager);

        let wrong = auth::sign_in(
            &t.db,
            &throttle,
            "op@example.com",
            "wrong horse battery",
            None,
        )
        .await;
        let unknown = auth::sign_in(
            &t.db,
            &throttle,
            "nobody@example.com",
            "correct horse battery",
            None,
        )
        .await;
        users::set_disabled(&t.db, &admin_actor(), user.id, true, &reason())
            .await
            .expect("disable");
        let disabled = auth::sign_in(
            &t.db,
            &throttle,
            "op@example.com",
            "correct horse battery",
            None,
        )
        .await;
        for outcome in [&wrong, &unknown, &disabled] {
            match outcome {
                Err(error @ SignInError::Invalid) => {
                    assert_eq!(error.to_string(), "Wrong email or password.")
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        let failures = entries(&t.db, AuditAction::LoginFailed).await;
        assert_eq!(failures.len(), 3, "{name}");
        assert!(
            failures
                .iter()
                .all(|e| e.outcome == "denied" && !e.details.contains("horse")),
            "{name}: passwords never logged"
        );
        assert_eq!(entries(&t.db, AuditAction::Login).await.len(), 1, "{name}");
    }
}

#[tokio::test]
async fn repeated_failures_are_throttled_even_with_the_right_password() {
    let (_, t) = databases().await.remove(0);
    let throttle = Throttle;
    users::create(
        &t.db,
        &admin_actor(),
        "op@example.com",
        Role::Viewer,
        "correct horse battery",
        &reason(),
    )
    .await
    .expect("user");
    for _ in 0..Throttle::FREE_FAILURES {
        let failed = auth::sign_in(
            &t.db,
            &throttle,
            "op@example.com",
            "guess guess guess",
            None,
        )
        .await;
        assert!(matches!(failed, Err(SignInError::Invalid)));
    }
    let throttled = auth::sign_in(
        &t.db,
        &throttle,
        "op@example.com",
        "correct horse battery",
        None,
    )
    .await;
    match throttled {
        Err(error @ SignInError::Throttled(_)) => {
            assert!(error.to_string().contains("Try again in 1 seconds"))
        }
        other => panic!("not throttled: {other:?}"),
    }
    let failures = entries(&t.db, AuditAction::LoginFailed).await;
    assert!(
        failures[0].details.contains("throttled"),
        "{}",
        failures[0].details
    );
}

#[tokio::test]
async fn demo_seeding_is_idempotent_and_never_resets_passwords() {
    for (name, t) in databases().await {
        let first = demo::seed(&t.db, demo::DEFAULT_PASSWORD)
            .await
            .expect("seeds");
        assert_eq!(
            first,
            demo::Seeded {
                users: 3,
                versions: 4
            },
            "{name}"
        );
        let second = demo::seed(&t.db, "another password")
            .await
            .expect("seeds again");
        assert_eq!(second, demo::Seeded::default(), "{name}");
        let throttle = Throttle;
        for (email, role) in demo::USERS {
            let user = auth::sign_in(&t.db, &throttle, email, demo::DEFAULT_PASSWORD, None)
                .await
                .unwrap_or_else(|e| panic!("{name}: {email}: {e}"));
            assert_eq!(user.role, role);
        }
        let versions = backend::versions::list(&t.db, demo::RUNTIME)
            .await
            .expect("list");
        let mut names: Vec<_> = versions.iter().map(|v| v.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["broken", "v1", "v2", "v4"], "{name}");
        assert!(
            versions
                .iter()
                .all(|v| v.status == lifecycle::Status::Stopped)
        );
        // The runtime shows an ingress class and a pull secret, and an
        // admin's later change to it survives the next seeding.
        let runtime = backend::runtimes::get(&t.db, demo::RUNTIME)
            .await
            .expect("demo runtime");
        assert_eq!(
            runtime.settings.ingress_class.as_deref(),
            Some(demo::INGRESS_CLASS)
        );
        assert_eq!(runtime.settings.image_pull_secrets, [demo::PULL_SECRET]);
        let mut draft = backend::runtimes::RuntimeDraft {
            description: runtime.description,
            base_domain: runtime.base_domain,
            settings: runtime.settings,
        };
        draft.settings.ingress_class = Some("traefik".into());
        backend::runtimes::update(
            &t.db,
            &backend::audit::Actor::System,
            demo::RUNTIME,
            &draft,
            &lifecycle::Reason::parse("switch controllers").expect("reason"),
        )
        .await
        .expect("changed");
        demo::seed(&t.db, demo::DEFAULT_PASSWORD)
            .await
            .expect("seeds a third time");
        let runtime = backend::runtimes::get(&t.db, demo::RUNTIME)
            .await
            .expect("demo runtime");
        assert_eq!(
            runtime.settings.ingress_class.as_deref(),
            Some("traefik"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn strikes_are_shared_by_every_replica_and_by_address_across_accounts() {
    for (name, t) in databases().await {
        // Two replicas: two throttles (and pools) on one database.
        let a = Throttle;
        let b = Throttle;
        let other_replica = backend::Database::connect_lazy(&t.url).expect("second pool");
        let ip: std::net::IpAddr = "192.0.2.7".parse().expect("ip");
        // Guesses at different accounts from one address, spread over both.
        for n in 0..Throttle::ADDRESS_FREE_FAILURES {
            let (db, throttle) = if n % 2 == 0 {
                (&t.db, &a)
            } else {
                (&other_replica, &b)
            };
            let failed = auth::sign_in(
                db,
                throttle,
                &format!("user{n}@example.com"),
                "guess guess guess",
                Some(ip),
            )
            .await;
            assert!(
                matches!(failed, Err(SignInError::Invalid)),
                "{name}: {failed:?}"
            );
        }
        // The next one from that address waits, on either replica, for any
        // account; another address does not.
        for (db, throttle) in [(&t.db, &a), (&other_replica, &b)] {
            let refused = auth::sign_in(
                db,
                throttle,
                "fresh@example.com",
                "guess guess guess",
                Some(ip),
            )
            .await;
            assert!(
                matches!(refused, Err(SignInError::Throttled(_))),
                "{name}: {refused:?}"
            );
        }
        let elsewhere = auth::sign_in(
            &other_replica,
            &b,
            "fresh@example.com",
            "guess guess guess",
            Some("198.51.100.1".parse().expect("ip")),
        )
        .await;
        assert!(
            matches!(elsewhere, Err(SignInError::Invalid)),
            "{name}: {elsewhere:?}"
        );
    }
}

// After guesses at the admin from one address, the admin still signs in
// from another; and a guesser spread over many addresses is slowed to one
// guess per address while the rightful user, from an address that has not
// failed, is let in.
#[tokio::test]
async fn nobody_locks_the_rightful_user_out_by_guessing() {
    let t = sqlite().await;
    demo::seed(&t.db, demo::DEFAULT_PASSWORD)
        .await
        .expect("seed");
    let throttle = Throttle;
    let admin = "admin@example.com";
    let at =
        |n: u32| -> std::net::IpAddr { format!("198.51.100.{}", n % 250 + 1).parse().expect("ip") };
    let attempt =
        |password: &'static str, ip| auth::sign_in(&t.db, &throttle, admin, password, Some(ip));
    for _ in 0..Throttle::FREE_FAILURES {
        assert!(matches!(
            attempt("guess guess guess", at(0)).await,
            Err(SignInError::Invalid)
        ));
    }
    assert!(matches!(
        attempt(demo::DEFAULT_PASSWORD, at(0)).await,
        Err(SignInError::Throttled(_))
    ));
    let elsewhere = attempt(demo::DEFAULT_PASSWORD, at(1)).await;
    assert!(elsewhere.is_ok(), "{elsewhere:?}");

    // One guess from each of many addresses, past the account's allowance.
    for n in 2..Throttle::ACCOUNT_FREE_FAILURES + 2 {
        assert!(matches!(
            attempt("guess guess guess", at(n)).await,
            Err(SignInError::Invalid)
        ));
    }
    // A second guess from an address that has failed waits...
    let again = attempt("guess guess guess", at(2)).await;
    assert!(matches!(again, Err(SignInError::Throttled(_))), "{again:?}");
    // ... and the admin, from an address that has not, signs in.
    let rightful = attempt(demo::DEFAULT_PASSWORD, at(200)).await;
    assert!(rightful.is_ok(), "{rightful:?}");
}
