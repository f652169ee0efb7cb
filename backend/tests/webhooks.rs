//! Webhooks against receivers written here, on loopback: signed deliveries
//! in order (the signature checked by this file's own HMAC and by Python's
//! `hmac`, the documented scheme), retries of a receiver that fails, giving
//! up and sending again, each event once with two replicas on one database,
//! and an action that completes while its receiver hangs.

mod support;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use backend::{
    Database,
    audit::{self, NewEntry},
    configuration::Keyring,
    webhooks::{self, DeliveryState, Dispatcher, Settings},
};
use hmac::{Hmac, Mac};
use lifecycle::{Action, AuditAction, Outcome, Status, webhooks::EventKind};
use sha2::Sha256;
use testkit::{actors, db::databases, eventually};

const LIMIT: Duration = Duration::from_secs(20);

/// How the receiver answers.
#[derive(Clone, Copy)]
enum Answer {
    /// 500 to the first `n` requests, 200 after.
    FailFirst(usize),
    /// Never answers.
    Hang,
}

#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: String,
}

#[derive(Clone)]
struct Receiver {
    answer: Arc<Mutex<Answer>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(answer: Answer) -> (String, Self) {
        let receiver = Self {
            answer: Arc::new(Mutex::new(answer)),
            got: Arc::default(),
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (url, receiver)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().expect("lock") = answer;
    }

    /// The event ids received, in arrival order.
    fn ids(&self) -> Vec<i64> {
        self.got().iter().map(|r| event_id(&r.headers)).collect()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let answer = *r.answer.lock().expect("lock");
    let n = {
        let mut got = r.got.lock().expect("lock");
        got.push(Received { headers, body });
        got.len()
    };
    match answer {
        Answer::FailFirst(fails) if n <= fails => StatusCode::INTERNAL_SERVER_ERROR,
        Answer::FailFirst(_) => StatusCode::OK,
        Answer::Hang => std::future::pending().await,
    }
}

fn event_id(headers: &HeaderMap) -> i64 {
    headers["console-event-id"]
        .to_str()
        .expect("text")
        .parse()
        .expect("an id")
}

fn fast() -> Settings {
    Settings {
        poll: Duration::from_millis(10),
        timeout: Duration::from_millis(500),
        first_retry: Duration::from_millis(5),
        allow_http: true,
    }
}

fn start(db: &Database, keyring: &Keyring, settings: Settings) {
    let dispatcher = Dispatcher::new(db.clone(), keyring.clone(), settings).expect("dispatcher");
    tokio::spawn(webhooks::run(dispatcher));
}

async fn endpoint(
    db: &Database,
    keyring: &Keyring,
    url: &str,
    kinds: &[EventKind],
) -> (i64, String) {
    backend::runtimes::ensure(db, "demo", "apps.example.com")
        .await
        .expect("runtime");
    let created = webhooks::create(db, keyring, &actors::admin(), "demo", url, kinds, true)
        .await
        .expect("endpoint");
    (created.endpoint.id, created.secret)
}

/// An event of `kind`'s sort about `version` of `demo`, through the audit log
/// every change goes through.
async fn event(db: &Database, action: AuditAction, version: &str) -> i64 {
    let entry = NewEntry::new(actors::manager(), action, Outcome::Accepted)
        .target("demo", Some(version.to_owned()))
        .reason("webhook test")
        .statuses(Some(Status::Stopped), Some(Status::Starting));
    audit::append(db, &entry).await.expect("appended").id
}

/// This file's own check of `t=<ts>,v1=<hex>` over `"<ts>.<body>"`.
fn verify(secret: &str, signature: &str, body: &str) -> bool {
    let Some((t, v1)) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

/// The README's Python verification, run by python3 on what was received:
/// exit 0 when the signature holds.
fn python_verifies(secret: &str, signature: &str, body: &str) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    let body_file = dir.path().join("body");
    std::fs::write(&body_file, body).expect("body written");
    let script = r#"
import hashlib, hmac, sys, time
secret, header, path = sys.argv[1], sys.argv[2], sys.argv[3]
body = open(path, "rb").read()
fields = dict(part.split("=", 1) for part in header.split(","))
timestamp, signature = fields["t"], fields["v1"]
expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
fresh = abs(time.time() - int(timestamp)) < 300
sys.exit(0 if fresh and hmac.compare_digest(expected, signature) else 1)
"#;
    std::process::Command::new("python3")
        .args(["-c", script, secret, signature])
        .arg(&body_file)
        .status()
        .expect("python3 runs")
        .success()
}

async fn delivery_states(db: &Database, id: i64) -> Vec<(i64, DeliveryState, i64)> {
    let mut all: Vec<_> = webhooks::deliveries(db, id, None, 200)
        .await
        .expect("deliveries")
        .into_iter()
        .map(|d| (d.audit_id, d.state, d.attempts))
        .collect();
    all.sort_by_key(|(audit_id, _, _)| *audit_id);
    all
}

#[tokio::test]
async fn events_arrive_signed_and_in_order_and_python_verifies_them() {
    for (name, t) in databases().await {
        let keyring = Keyring::generate().expect("key");
        let (url, receiver) = Receiver::start(Answer::FailFirst(0)).await;
        let (id, secret) = endpoint(
            &t.db,
            &keyring,
            &url,
            &[EventKind::Status, EventKind::Register],
        )
        .await;
        assert!(secret.starts_with(webhooks::SECRET_PREFIX), "{name}");

        let mut expected = Vec::new();
        // A real registration, then status changes; a sign-in is no event.
        let manifest = backend::manifest_file::parse(
            include_str!("../../examples/manifests/v1.yaml").as_bytes(),
        )
        .expect("manifest");
        backend::versions::register(&t.db, &actors::manager(), "demo", &manifest)
            .await
            .expect("registered");
        let registered = audit::query(&t.db, &audit::Filter::default(), None, 1)
            .await
            .expect("audit")
            .entries[0]
            .id;
        expected.push(registered);
        audit::append(
            &t.db,
            &NewEntry::new(actors::manager(), AuditAction::Login, Outcome::Accepted),
        )
        .await
        .expect("login");
        for v in ["v1", "v2", "v3"] {
            expected.push(event(&t.db, AuditAction::Start, v).await);
        }
        // A denied action changed nothing: not an event.
        audit::append(
            &t.db,
            &NewEntry::new(actors::viewer(), AuditAction::Start, Outcome::Denied)
                .target("demo", Some("v1".into())),
        )
        .await
        .expect("denied");

        start(&t.db, &keyring, fast());
        eventually("every event received", LIMIT, || async {
            receiver.got().len() >= expected.len()
        })
        .await;
        eventually("every delivery recorded", LIMIT, || async {
            delivery_states(&t.db, id)
                .await
                .iter()
                .all(|(_, state, _)| *state == DeliveryState::Delivered)
        })
        .await;
        assert_eq!(receiver.ids(), expected, "{name}: once each, oldest first");

        let got = receiver.got();
        for r in &got {
            let signature = r.headers[webhooks::SIGNATURE_HEADER]
                .to_str()
                .expect("text");
            assert!(verify(&secret, signature, &r.body), "{name}: {signature}");
            assert!(
                python_verifies(&secret, signature, &r.body),
                "{name}: python"
            );
            assert!(!verify("whsec_other", signature, &r.body), "{name}");
            assert!(
                !python_verifies(&secret, signature, &format!("{} ", r.body)),
                "{name}: a changed body fails"
            );
            assert_eq!(r.headers["content-type"], "application/json", "{name}");
        }
        let first: serde_json::Value = serde_json::from_str(&got[0].body).expect("json");
        assert_eq!(first["kind"], "version.register", "{name}");
        assert_eq!(first["version"], "v1", "{name}");
        assert_eq!(first["id"], expected[0], "{name}");
        let start: serde_json::Value = serde_json::from_str(&got[1].body).expect("json");
        assert_eq!(start["kind"], "version.status", "{name}");
        assert_eq!(start["status_after"], "starting", "{name}");
        assert_eq!(start["actor"]["email"], "manager@example.com", "{name}");
        assert_eq!(start["reason"], "webhook test", "{name}");
        assert_eq!(got[1].headers["console-event"], "version.status", "{name}");
    }
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_each_event_in_order_on_later_tries() {
    for (name, t) in databases().await {
        let keyring = Keyring::generate().expect("key");
        let (url, receiver) = Receiver::start(Answer::FailFirst(3)).await;
        let (id, _) = endpoint(&t.db, &keyring, &url, &[EventKind::Register]).await;
        let first = event(&t.db, AuditAction::Register, "v1").await;
        let second = event(&t.db, AuditAction::Register, "v2").await;
        start(&t.db, &keyring, fast());
        eventually("both delivered", LIMIT, || async {
            delivery_states(&t.db, id).await
                == vec![
                    (first, DeliveryState::Delivered, 4),
                    (second, DeliveryState::Delivered, 1),
                ]
        })
        .await;
        // The second waited until the first got through.
        assert_eq!(
            receiver.ids(),
            vec![first, first, first, first, second],
            "{name}"
        );
        let bodies: Vec<String> = receiver.got().into_iter().map(|r| r.body).collect();
        assert!(
            bodies[..4].iter().all(|b| b == &bodies[0]),
            "{name}: every try sends the same body"
        );
    }
}

#[tokio::test]
async fn a_delivery_given_up_after_every_try_is_sent_again_by_an_admin() {
    for (name, t) in databases().await {
        let keyring = Keyring::generate().expect("key");
        let (url, receiver) = Receiver::start(Answer::FailFirst(usize::MAX)).await;
        let (id, _) = endpoint(&t.db, &keyring, &url, &[EventKind::Publish]).await;
        let published = event(&t.db, AuditAction::Publish, "v1").await;
        let next = event(&t.db, AuditAction::Unpublish, "v1").await;
        start(&t.db, &keyring, fast());
        let tries = i64::from(lifecycle::webhooks::MAX_ATTEMPTS);
        eventually("both given up", LIMIT, || async {
            delivery_states(&t.db, id).await
                == vec![
                    (published, DeliveryState::Failed, tries),
                    (next, DeliveryState::Failed, tries),
                ]
        })
        .await;
        let log = webhooks::deliveries(&t.db, id, None, 10)
            .await
            .expect("log");
        assert_eq!(log[0].last_status, Some(500), "{name}");
        assert!(
            log[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("500")),
            "{name}"
        );
        assert_eq!(
            webhooks::get(&t.db, id)
                .await
                .expect("get")
                .expect("there")
                .failed,
            2,
            "{name}"
        );

        receiver.answer(Answer::FailFirst(0));
        let again = log
            .iter()
            .find(|d| d.audit_id == published)
            .expect("first")
            .id;
        let resent = webhooks::resend(&t.db, &actors::admin(), id, again)
            .await
            .expect("resend");
        assert_eq!(resent.state, DeliveryState::Pending, "{name}");
        eventually("sent again", LIMIT, || async {
            delivery_states(&t.db, id).await[0] == (published, DeliveryState::Delivered, 1)
        })
        .await;
        assert_eq!(receiver.ids().last(), Some(&published), "{name}");
        // Another endpoint's delivery is not this one's to resend.
        assert!(
            webhooks::resend(&t.db, &actors::admin(), id + 1, again)
                .await
                .is_err(),
            "{name}"
        );
        let audited = audit::query(
            &t.db,
            &audit::Filter {
                action: Some(AuditAction::WebhookResend),
                ..audit::Filter::default()
            },
            None,
            10,
        )
        .await
        .expect("audit");
        assert_eq!(audited.entries.len(), 1, "{name}");
    }
}

#[tokio::test]
async fn two_replicas_send_each_event_once_and_in_order() {
    for (name, t) in databases().await {
        let keyring = Keyring::generate().expect("key");
        let (url, receiver) = Receiver::start(Answer::FailFirst(0)).await;
        let (id, _) = endpoint(&t.db, &keyring, &url, &[EventKind::Status]).await;
        // Two replicas: two processes' pools on one database, each with its
        // own dispatcher, their passes run at the same moments so that both
        // find the same deliveries due: the endpoint's lease must decide.
        let other = Database::connect(&t.url).await.expect("second pool");
        let a = Dispatcher::new(t.db.clone(), keyring.clone(), fast()).expect("a");
        let b = Dispatcher::new(other.clone(), keyring.clone(), fast()).expect("b");
        let mut expected = Vec::new();
        for n in 0..40 {
            let db = if n % 2 == 0 { &t.db } else { &other };
            expected.push(event(db, AuditAction::Start, &format!("v{n}")).await);
        }
        eventually("all delivered", LIMIT, || async {
            let (ra, rb) = tokio::join!(a.pass(), b.pass());
            ra.expect("pass a");
            rb.expect("pass b");
            let states = delivery_states(&t.db, id).await;
            states.len() == expected.len()
                && states
                    .iter()
                    .all(|(_, s, _)| *s == DeliveryState::Delivered)
        })
        .await;
        // Marked delivered only by the replica that sent it, after it was
        // sent: nothing can still be on its way.
        assert_eq!(receiver.ids(), expected, "{name}: each once, in order");
    }
}

#[tokio::test]
async fn an_action_completes_while_its_receiver_hangs() {
    let s = support::cluster::Setup::new().await;
    let keyring = Keyring::generate().expect("key");
    let (url, receiver) = Receiver::start(Answer::Hang).await;
    let (id, _) = endpoint(&s.db.db, &keyring, &url, &[EventKind::Status]).await;
    start(
        &s.db.db,
        &keyring,
        Settings {
            timeout: Duration::from_secs(2),
            ..fast()
        },
    );
    // Start and stop settle as they do with no webhook at all, while every
    // try waits on the receiver.
    s.act("v1", Action::Start).await;
    s.settles("v1", Status::Started).await;
    s.act("v1", Action::Stop).await;
    s.settles("v1", Status::Stopped).await;
    eventually("the receiver was called", LIMIT, || async {
        !receiver.got().is_empty()
    })
    .await;
    eventually("the hung try recorded", LIMIT, || async {
        webhooks::deliveries(&s.db.db, id, None, 50)
            .await
            .expect("log")
            .iter()
            .any(|d| d.last_error.as_deref() == Some("no answer in time"))
    })
    .await;
}
