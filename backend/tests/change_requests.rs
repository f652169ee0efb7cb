//! Four-eyes change control: under a runtime's policy an action becomes a
//! change request; distinct eligible people (never the requester, never one
//! twice) approve it; the quorum carries it out as the requester, or fails
//! it with the conflict when the version moved on; requests expire by the
//! clock. Every step is in the audit chain.

use std::collections::BTreeSet;

use backend::{
    Services,
    actions::Acted,
    audit::Actor,
    change_requests::{self, RequestError},
    manifest_file, runtimes, versions,
};
use chrono::{Duration, Utc};
use lifecycle::{Action, ChangePolicy, Reason, RequestState, Role, Status, policy::NotEligible};
use testkit::actors;

struct Setup {
    db: testkit::db::TestDb,
    services: Services,
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).expect("reason")
}

fn operator(id: i64, name: &str, role: &str) -> Actor {
    actors::user(id, &format!("{name}@example.com"), role)
}

impl Setup {
    /// The demo runtime with v1 and v2 registered and `policy` on.
    async fn new(policy: ChangePolicy) -> Self {
        Self::on(testkit::db::sqlite().await, policy).await
    }

    async fn on(db: testkit::db::TestDb, policy: ChangePolicy) -> Self {
        runtimes::ensure(&db.db, "demo", "apps.example.com")
            .await
            .expect("runtime");
        for text in [
            include_str!("../../examples/manifests/v1.yaml"),
            include_str!("../../examples/manifests/v2.yaml"),
        ] {
            let manifest = manifest_file::parse(text.as_bytes()).expect("manifest");
            versions::register(&db.db, &Actor::System, "demo", &manifest)
                .await
                .expect("registered");
        }
        let current = runtimes::get(&db.db, "demo").await.expect("runtime");
        let mut draft = runtimes::RuntimeDraft {
            description: current.description,
            base_domain: current.base_domain,
            settings: current.settings,
        };
        draft.settings.change_policy = Some(policy);
        runtimes::update(
            &db.db,
            &actors::admin(),
            "demo",
            &draft,
            &reason("four eyes"),
        )
        .await
        .expect("policy on");
        let services = Services {
            db: db.db.clone(),
            cluster: None,
            runtime: None,
            webhooks: Default::default(),
        };
        Self { db, services }
    }

    /// `requester` asks for `action` on v1 through the one action path.
    async fn request(&self, requester: &Actor, action: Action) -> change_requests::ChangeRequest {
        let status = versions::get(&self.db.db, "demo", "v1")
            .await
            .expect("v1")
            .status;
        match self
            .services
            .act(
                requester,
                "demo",
                "v1",
                action,
                status,
                &reason("release 1.0"),
            )
            .await
            .expect("asked")
        {
            Acted::Requested(request) => *request,
            Acted::Applied(applied) => panic!("carried out without approval: {applied:?}"),
        }
    }

    async fn entries(&self, action: &str) -> Vec<backend::audit::Entry> {
        testkit::db::audit_entries(&self.db.db, Default::default())
            .await
            .into_iter()
            .filter(|e| e.action == action)
            .collect()
    }
}

fn details(entry: &backend::audit::Entry) -> serde_json::Value {
    serde_json::from_str(&entry.details).expect("details")
}

fn two_of(actions: &[Action]) -> ChangePolicy {
    ChangePolicy {
        actions: actions.iter().copied().collect(),
        approvals: 2,
        ..ChangePolicy::default()
    }
}

#[tokio::test]
async fn the_requester_cannot_approve_and_one_person_counts_once() {
    for (name, db) in testkit::db::databases().await {
        println!("on {name}");
        quorum_of_two(Setup::on(db, two_of(&[Action::Start])).await).await;
    }
}

async fn quorum_of_two(s: Setup) {
    let (ana, ben, cy) = (
        operator(10, "ana", "manager"),
        operator(11, "ben", "manager"),
        operator(12, "cy", "admin"),
    );
    let request = s.request(&ana, Action::Start).await;
    assert_eq!(
        (request.state, request.approvals_needed),
        (RequestState::Open, 2)
    );
    assert_eq!(
        versions::get(&s.db.db, "demo", "v1")
            .await
            .expect("v1")
            .status,
        Status::Stopped,
        "nothing is carried out before the quorum"
    );
    let own = s
        .services
        .decide(&ana, request.id, true, &reason("looks fine"))
        .await
        .expect_err("four eyes");
    assert!(
        matches!(own, RequestError::NotEligible(NotEligible::OwnRequest)),
        "{own}"
    );
    let viewer = s
        .services
        .decide(
            &operator(13, "vi", "viewer"),
            request.id,
            true,
            &reason("ok"),
        )
        .await
        .expect_err("viewers are not approvers");
    assert!(matches!(
        viewer,
        RequestError::NotEligible(NotEligible::Role(Role::Viewer))
    ));

    let once = s
        .services
        .decide(&ben, request.id, true, &reason("looks fine"))
        .await
        .expect("approved once");
    assert_eq!((once.state, once.approvals()), (RequestState::Open, 1));
    let twice = s
        .services
        .decide(&ben, request.id, true, &reason("again"))
        .await
        .expect_err("one person counts once");
    assert!(matches!(
        twice,
        RequestError::NotEligible(NotEligible::AlreadyDecided)
    ));
    let open = change_requests::get(&s.db.db, request.id)
        .await
        .expect("request");
    assert_eq!((open.state, open.approvals()), (RequestState::Open, 1));

    // The second eligible person reaches the quorum: approved, and carried
    // out (here, with no cluster, by the database's compare-and-set).
    let approved = s
        .services
        .decide(&cy, request.id, true, &reason("agreed"))
        .await
        .expect("quorum");
    assert_eq!(approved.state, RequestState::Approved);
    let (done, applied) = change_requests::carry_out(
        &s.db.db,
        approved.clone(),
        &approved.requester(),
        None,
        Utc::now(),
    )
    .await
    .expect("carried out");
    assert_eq!(done.state, RequestState::Done);
    assert_eq!(applied.expect("applied").transition.to, Status::Starting);
    // A second replica carrying out the same approval changes nothing: the
    // action's own transaction marked the request done.
    let (again, applied) = change_requests::carry_out(
        &s.db.db,
        approved.clone(),
        &approved.requester(),
        None,
        Utc::now(),
    )
    .await
    .expect("a second try answers");
    assert!(applied.is_none());
    assert_eq!(again.state, RequestState::Done);
    let starts = s.entries("version.start").await;
    assert_eq!(
        starts.iter().filter(|e| e.outcome == "accepted").count(),
        1,
        "carried out once"
    );
    let start = s
        .entries("version.start")
        .await
        .into_iter()
        .find(|e| e.outcome == "accepted")
        .expect("the start");
    assert_eq!(start.actor_email.as_deref(), Some("ana@example.com"));
    assert_eq!(
        details(&start)["approved_by"],
        serde_json::json!(["ben@example.com", "cy@example.com"])
    );
    assert_eq!(details(&start)["change_request"], request.id);
    let denied: Vec<_> = s
        .entries("change.approve")
        .await
        .into_iter()
        .filter(|e| e.outcome == "denied")
        .collect();
    assert_eq!(denied.len(), 3, "own, viewer, twice: {denied:#?}");
    assert_eq!(s.entries("change.request").await.len(), 1);
    assert!(matches!(
        backend::audit::verify(&s.db.db).await.expect("verify"),
        backend::audit::Verification::Intact { .. }
    ));
}

#[tokio::test]
async fn a_request_whose_version_moved_on_fails_with_the_conflict() {
    let s = Setup::new(ChangePolicy {
        actions: BTreeSet::from([Action::Start]),
        ..ChangePolicy::default()
    })
    .await;
    let ana = operator(10, "ana", "manager");
    let request = s.request(&ana, Action::Start).await;
    // Meanwhile the system (never held) starts it.
    versions::apply_action(
        &s.db.db,
        &Actor::System,
        "demo",
        "v1",
        Action::Start,
        Status::Stopped,
        &reason("by hand"),
    )
    .await
    .expect("started");
    let approved = s
        .services
        .decide(
            &operator(11, "ben", "admin"),
            request.id,
            true,
            &reason("ok"),
        )
        .await
        .expect("approved");
    let (failed, applied) = change_requests::carry_out(
        &s.db.db,
        approved.clone(),
        &approved.requester(),
        None,
        Utc::now(),
    )
    .await
    .expect("carried out");
    assert!(applied.is_none());
    assert_eq!(failed.state, RequestState::Failed);
    assert!(
        failed
            .outcome
            .as_deref()
            .is_some_and(|o| o.contains("changed while you were looking")),
        "{failed:?}"
    );
    assert_eq!(
        versions::get(&s.db.db, "demo", "v1")
            .await
            .expect("v1")
            .status,
        Status::Starting
    );
}

#[tokio::test]
async fn requests_expire_by_the_clock_and_only_the_requester_withdraws() {
    let s = Setup::new(ChangePolicy::default()).await;
    let (ana, ben) = (
        operator(10, "ana", "manager"),
        operator(11, "ben", "manager"),
    );
    // Publish from stopped is asked for as seen; the request holds it.
    let first = s.request(&ana, Action::Publish).await;
    let second = s.request(&ana, Action::Publish).await;
    let refused = s
        .services
        .withdraw(&ben, second.id, &reason("not mine"))
        .await
        .expect_err("only the requester");
    assert!(matches!(refused, RequestError::NotRequester));
    let withdrawn = s
        .services
        .withdraw(&ana, second.id, &reason("changed my mind"))
        .await
        .expect("withdrawn");
    assert_eq!(withdrawn.state, RequestState::Withdrawn);

    let now = Utc::now();
    assert!(
        change_requests::expire_due(&s.db.db, now)
            .await
            .expect("pass")
            .is_empty()
    );
    let later = now + Duration::hours(24) + Duration::seconds(1);
    assert_eq!(
        change_requests::expire_due(&s.db.db, later)
            .await
            .expect("pass"),
        [first.id]
    );
    let expired = change_requests::get(&s.db.db, first.id)
        .await
        .expect("request");
    assert_eq!(expired.state, RequestState::Expired);
    let entry = s
        .entries("change.expire")
        .await
        .pop()
        .expect("the expiry entry");
    assert_eq!(
        (entry.actor_kind.as_str(), entry.outcome.as_str()),
        ("system", "completed")
    );
    let late = s
        .services
        .decide_at(&ben, first.id, true, &reason("too late"), later)
        .await
        .expect_err("closed");
    assert!(matches!(
        late,
        RequestError::Closed {
            state: RequestState::Expired,
            ..
        }
    ));
    // Without a policy for the action, it is carried out at once (here the
    // missing cluster says so).
    assert!(matches!(
        s.services
            .act(
                &ana,
                "demo",
                "v1",
                Action::Start,
                Status::Stopped,
                &reason("go")
            )
            .await,
        Err(versions::VersionError::NoCluster)
    ));
}

// A rollback is a publish: under the policy a started target's rollback is
// a request marked as a rollback; a stopped target's is refused up front.
#[tokio::test]
async fn a_rollback_under_a_publish_policy_is_a_request() {
    let s = Setup::new(ChangePolicy::default()).await;
    for (version, ended) in [("v1", "'2026-12-01T01:00:00.000000Z'"), ("v2", "NULL")] {
        testkit::db::execute(
            &s.db.db,
            &format!(
                "INSERT INTO releases (runtime, version, published_by, started_at, ended_at, end_cause) \
                 VALUES ('demo', '{version}', 'system', '2026-12-01T00:00:0{}.000000Z', {ended}, {})",
                if version == "v1" { 0 } else { 1 },
                if version == "v1" { "'superseded'" } else { "NULL" },
            ),
        )
        .await
        .expect("release");
    }
    let ana = operator(10, "ana", "manager");
    let refused = s
        .services
        .roll_back(&ana, "demo", None, true, &reason("v2 drops orders"), false)
        .await
        .expect_err("stopped");
    assert!(
        matches!(refused, versions::VersionError::RollbackNeedsStart { .. }),
        "{refused}"
    );
    versions::apply_action(
        &s.db.db,
        &Actor::System,
        "demo",
        "v1",
        Action::Start,
        Status::Stopped,
        &reason("warm"),
    )
    .await
    .expect("starting");
    versions::apply_system_event(
        &s.db.db,
        "demo",
        "v1",
        lifecycle::SystemEvent::AllReady,
        None,
    )
    .await
    .expect("started");
    let (version, acted) = s
        .services
        .roll_back(&ana, "demo", None, false, &reason("v2 drops orders"), false)
        .await
        .expect("asked");
    assert_eq!(version, "v1");
    let Acted::Requested(request) = acted else {
        panic!("carried out without approval")
    };
    assert_eq!(
        (
            request.action,
            request.expected,
            request.rollback_from.is_some()
        ),
        (Action::Publish, Status::Started, true)
    );
    assert_eq!(
        versions::get(&s.db.db, "demo", "v1")
            .await
            .expect("v1")
            .status,
        Status::Started
    );
}
