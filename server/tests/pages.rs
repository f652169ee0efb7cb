//! The pages as the server renders them (before any wasm), and the audit
//! export, over HTTP in-process: the testability hooks are in the HTML, the
//! page's status code says what happened, `/audit` pages by keyset with its
//! filters in the URL, and the export streams exactly what the filter
//! selects.

use axum::http::{StatusCode, header};
use backend::audit::{self, Actor, NewEntry};
use lifecycle::{AuditAction, Outcome};

mod common;
use common::{Answer, TestApp, get};

#[tokio::test]
async fn the_details_screen_renders_on_the_server_with_its_hooks() {
    let app = TestApp::new().await;
    let manager = app.sign_in("manager@example.com").await;
    let page = app
        .send(get("/runtimes/demo/versions/v1", Some(&manager)))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.body;
    assert!(html.contains(r#"data-version-status="stopped""#), "{html}");
    for node in ["entrypoint", "enrich", "score"] {
        assert!(
            html.contains(&format!(r#"data-node="{node}""#)),
            "node {node} missing"
        );
    }
    assert_eq!(html.matches(r#"data-status="stopped""#).count(), 3);
    // Start is offered; the others say why not, from the lifecycle table.
    assert!(
        html.contains("Stop is not possible: the version is stopped; it is already stopped."),
        "{html}"
    );
    assert!(html.contains("Publish is not possible: the version is stopped; start it first."));
    // Managers see the timeline with the registration.
    assert!(html.contains(r#"data-audit-action="version.register""#));
    // No dialog until asked for.
    assert!(!html.contains(r#"role="dialog""#));

    // `?action=start` (the no-wasm path) renders the dialog open, with the
    // status the operator saw as the expected one.
    let page = app
        .send(get(
            "/runtimes/demo/versions/v1?action=start",
            Some(&manager),
        ))
        .await;
    let html = &page.body;
    assert!(html.contains(r#"role="dialog""#), "{html}");
    assert!(
        html.contains(r#"name="expected" value="stopped""#),
        "{html}"
    );
    assert!(html.contains(r#"name="action" value="start""#));
    // An action the status does not allow opens nothing.
    let page = app
        .send(get(
            "/runtimes/demo/versions/v1?action=publish",
            Some(&manager),
        ))
        .await;
    assert!(!page.body.contains(r#"role="dialog""#));
}

#[tokio::test]
async fn a_viewer_gets_disabled_actions_with_the_reason_and_no_timeline() {
    let app = TestApp::new().await;
    let viewer = app.sign_in("viewer@example.com").await;
    let page = app
        .send(get(
            "/runtimes/demo/versions/v1?action=start",
            Some(&viewer),
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.body;
    let refusal =
        "Only managers and admins can register, start, stop, publish or unpublish versions.";
    assert_eq!(html.matches(refusal).count(), 4, "{html}");
    assert!(!html.contains("data-audit-action"), "no timeline");
    assert!(!html.contains(r#"role="dialog""#), "no dialog from the URL");

    let audit = app.send(get("/audit", Some(&viewer))).await;
    assert_eq!(audit.status, StatusCode::FORBIDDEN);
    assert!(
        audit
            .body
            .contains("Only managers and admins can read the audit log.")
    );
    let list = app.send(get("/runtimes", Some(&viewer))).await;
    assert!(list.body.contains(r#"data-version="broken""#));
    assert!(!list.body.contains("Register a version"));
}

#[tokio::test]
async fn an_unknown_version_is_a_404_page() {
    let app = TestApp::new().await;
    let manager = app.sign_in("manager@example.com").await;
    let page = app
        .send(get("/runtimes/demo/versions/nope", Some(&manager)))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.body
            .contains("There is no version &quot;nope&quot; in runtime &quot;demo&quot;.")
            || page
                .body
                .contains(r#"There is no version "nope" in runtime "demo"."#),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_runtimes_list_shows_status_and_the_register_form_to_managers() {
    let app = TestApp::new().await;
    let manager = app.sign_in("manager@example.com").await;
    let page = app.send(get("/runtimes", Some(&manager))).await;
    assert_eq!(page.status, StatusCode::OK);
    for version in ["v1", "v2", "broken"] {
        assert!(
            page.body.contains(&format!(
                r#"data-version="{version}" data-list-status="stopped""#
            )),
            "{version}: {}",
            page.body
        );
    }
    assert!(page.body.contains(r#"href="/runtimes/demo/versions/v2""#));
    assert!(page.body.contains("Register a version"));
}

// An admin creates a runtime from the form's fields (every problem named
// at once), changes it and is told when each change takes effect; others
// read the settings only; an empty runtime is deleted, audited with what it
// was.
#[tokio::test]
async fn runtimes_are_created_changed_and_deleted_from_their_settings_page() {
    use common::{call, form};
    let app = TestApp::new().await;
    let admin = app.sign_in("admin@example.com").await;
    let create = |fields: &[(&str, &str)]| {
        let mut all = vec![("name", "payments"), ("reason", "new team")];
        all.extend_from_slice(fields);
        call("/api/runtimes/create", &form(&all), Some(&admin))
    };

    let refused = app
        .send(create(&[
            ("fields[host]", "Not A Host"),
            ("fields[annotations]", "just-a-word"),
            ("fields[pull_secrets]", "ok, Bad_Secret"),
            ("fields[tls]", "secret"),
            (
                "fields[workloads]",
                "default_resources: {requests: {cpu: lots}}",
            ),
        ]))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let paths: Vec<String> = refused.json()["InvalidFields"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["path"].as_str().map(str::to_owned))
        .collect();
    for path in [
        "host",
        "ingress_annotations",
        "image_pull_secrets[1]",
        "tls.secret",
        "default_resources.requests.cpu",
    ] {
        assert!(
            paths.iter().any(|p| p == path),
            "{path} missing from {paths:?}"
        );
    }
    assert!(
        backend::runtimes::get(&app.db, "payments").await.is_err(),
        "nothing saved"
    );

    let created = app
        .send(create(&[
            ("fields[description]", "Card payments"),
            ("fields[host]", "pay.example.com"),
            ("fields[ingress_class]", "nginx"),
            ("fields[tls]", "secret"),
            ("fields[tls_secret]", "pay-cert"),
            ("fields[annotations]", "nginx.ingress.kubernetes.io/proxy-body-size=8m\n"),
            ("fields[pull_secrets]", "registry-a, registry-b"),
            ("fields[pod_security]", "restricted"),
            (
                "fields[workloads]",
                "default_resources:\n  requests: {cpu: 100m, memory: 128Mi}\nplacements:\n  gpu:\n    node_selector: {accelerator: nvidia}\n",
            ),
        ]))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let record = backend::runtimes::get(&app.db, "payments")
        .await
        .expect("created");
    assert_eq!(record.host(), "pay.example.com");
    assert_eq!(
        record.settings.image_pull_secrets,
        ["registry-a", "registry-b"]
    );
    assert_eq!(
        record.settings.default_resources.requests.cpu.as_deref(),
        Some("100m")
    );
    assert!(record.settings.placements.contains_key("gpu"));
    let again = app
        .send(create(&[("fields[host]", "pay.example.com")]))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    // The page shows what was saved, editable for the admin.
    let page = app
        .send(get("/runtimes/payments/settings", Some(&admin)))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        r#"value="pay.example.com""#,
        r#"value="nginx""#,
        r#"value="pay-cert""#,
        r#"value="registry-a, registry-b""#,
        "Save settings",
        "Delete runtime",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let manager = app.sign_in("manager@example.com").await;
    let page = app
        .send(get("/runtimes/payments/settings", Some(&manager)))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-read-only"), "{}", page.body);
    assert!(page.body.contains(r#"value="pay.example.com""#));
    assert!(!page.body.contains("Save settings") && !page.body.contains("Delete runtime"));
    let unknown = app
        .send(get("/runtimes/nope/settings", Some(&manager)))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // Routing and workload changes are told apart.
    let update = |fields: &[(&str, &str)]| {
        let mut all = vec![("runtime", "payments"), ("reason", "move host")];
        all.extend_from_slice(fields);
        call("/api/runtimes/update", &form(&all), Some(&admin))
    };
    let saved = app
        .send(update(&[
            ("fields[host]", "payments.example.com"),
            ("fields[pull_secrets]", "registry-a, registry-b"),
            (
                "fields[workloads]",
                "default_resources:\n  requests: {cpu: 100m, memory: 128Mi}\nplacements:\n  gpu:\n    node_selector: {accelerator: nvidia}\n",
            ),
        ]))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(
        saved.json(),
        serde_json::json!({"routing": true, "workloads": false})
    );
    let saved = app
        .send(update(&[("fields[host]", "payments.example.com")]))
        .await;
    assert_eq!(
        saved.json(),
        serde_json::json!({"routing": false, "workloads": true})
    );
    let entries = testkit::db::audit_entries(
        &app.db,
        audit::Filter {
            action: Some(AuditAction::RuntimeUpdate),
            ..audit::Filter::default()
        },
    )
    .await;
    let (first, details) = entries
        .iter()
        .map(|e| {
            (
                e,
                serde_json::from_str::<serde_json::Value>(&e.details).expect("json"),
            )
        })
        .find(|(_, details)| details["routing"] == true)
        .expect("the host change");
    assert_eq!(details["old"]["settings"]["host"], "pay.example.com");
    assert_eq!(details["new"]["settings"]["host"], "payments.example.com");
    assert_eq!(first.reason.as_deref(), Some("move host"));

    let deleted = app
        .send(call(
            "/api/runtimes/delete",
            &form(&[("runtime", "payments"), ("reason", "team left")]),
            Some(&admin),
        ))
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert!(backend::runtimes::get(&app.db, "payments").await.is_err());
    let gone = app
        .send(get("/runtimes/payments/settings", Some(&admin)))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

/// Appends `n` entries alternating between two actions, with reasons that
/// try to break out of HTML and CSV.
async fn fill_log(app: &TestApp, n: usize) {
    let manager = Actor::User {
        id: None,
        email: "manager@example.com".into(),
        role: "manager".into(),
    };
    let entries: Vec<NewEntry> = (0..n)
        .map(|i| {
            let action = if i % 2 == 0 {
                AuditAction::Start
            } else {
                AuditAction::Stop
            };
            NewEntry::new(manager.clone(), action, Outcome::Accepted)
                .target("demo", Some("v1".into()))
                .reason(format!("<script>alert({i})</script>, \"quoted\"\nline"))
        })
        .collect();
    audit::append_many(&app.db, &entries).await.expect("append");
}

fn older_link(html: &str) -> Option<String> {
    let at = html.find(r#"rel="next""#)?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&amp;", "&"))
}

#[tokio::test]
async fn audit_pages_by_keyset_with_its_filter_in_the_url_and_escapes_what_it_shows() {
    let app = TestApp::new().await;
    fill_log(&app, 120).await;
    let admin = app.sign_in("admin@example.com").await;

    let mut url = "/audit?action=version.start&version=v1".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = app.send(get(&url, Some(&admin))).await;
        assert_eq!(page.status, StatusCode::OK, "{url}");
        let html = &page.body;
        assert!(!html.contains("<script>alert("), "reasons are escaped");
        assert!(html.contains("&lt;script&gt;alert("));
        let rows = html.matches(r#"data-audit-action="version.start""#).count();
        assert_eq!(
            html.matches("data-audit-action=").count(),
            rows,
            "only the filtered action"
        );
        for id in html.split(r#"data-audit-id=""#).skip(1) {
            seen.push(id[..id.find('"').expect("end")].parse::<i64>().expect("id"));
        }
        pages += 1;
        match older_link(html) {
            Some(next) => {
                assert!(next.contains("action=version.start"), "{next}");
                assert!(next.contains("version=v1"), "{next}");
                url = next;
            }
            None => break,
        }
    }
    // 60 starts at 50 a page: two pages, newest first, none twice.
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 60);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
}

#[tokio::test]
async fn the_export_streams_exactly_the_filter_and_only_for_auditors() {
    let app = TestApp::new().await;
    fill_log(&app, 30).await;
    let admin = app.sign_in("admin@example.com").await;

    let csv = app
        .send(get(
            "/api/audit/export?format=csv&action=version.stop&user=manager%40example.com",
            Some(&admin),
        ))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.content_type(), Some("text/csv; charset=utf-8"));
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("ascii")
            .contains("audit.csv")
    );
    // Reasons hold quotes, commas and line breaks: count records, not lines.
    let records = csv.body.matches(",version.stop,").count();
    assert_eq!(records, 15, "{}", csv.body);
    assert!(csv.body.starts_with("id,at,actor_kind"));

    let json = app
        .send(get(
            "/api/audit/export?format=json&action=version.stop&outcome=accepted",
            Some(&admin),
        ))
        .await;
    assert_eq!(json.status, StatusCode::OK);
    let entries = json.json();
    let entries = entries.as_array().expect("array");
    assert_eq!(entries.len(), 15);
    assert!(entries.iter().all(|e| e["action"] == "version.stop"));

    let bad = app
        .send(get(
            "/api/audit/export?format=csv&from=yesterday",
            Some(&admin),
        ))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("from:"), "{}", bad.body);
    let bad = app
        .send(get("/api/audit/export?format=xml", Some(&admin)))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Compressed for a browser: the body is read to its end (the
    // compressor polls the export once more after its last chunk).
    let mut request = get("/api/audit/export?format=csv", Some(&admin));
    request
        .headers_mut()
        .insert(header::ACCEPT_ENCODING, "gzip".parse().expect("header"));
    let compressed = app.open(request).await;
    assert_eq!(compressed.status(), StatusCode::OK);
    assert_eq!(
        compressed
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    let bytes = axum::body::to_bytes(compressed.into_body(), usize::MAX)
        .await
        .expect("the whole compressed export");
    assert!(bytes.starts_with(&[0x1f, 0x8b]), "a gzip stream");

    let viewer = app.sign_in("viewer@example.com").await;
    let refused = app
        .send(get("/api/audit/export?format=csv", Some(&viewer)))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let anonymous = app.send(get("/api/audit/export?format=csv", None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pages_are_compressed_for_browsers_that_ask_and_live_streams_are_not() {
    let app = TestApp::new().await;
    let manager = app.sign_in("manager@example.com").await;
    let mut request = get("/runtimes/demo/versions/v1", Some(&manager));
    request
        .headers_mut()
        .insert(header::ACCEPT_ENCODING, "br, gzip".parse().expect("header"));
    let page = app.open(request).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        page.headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.as_bytes()),
        Some(&b"br"[..])
    );

    let mut request = get("/api/live/runtimes/demo/versions/v1", Some(&manager));
    request
        .headers_mut()
        .insert(header::ACCEPT_ENCODING, "br, gzip".parse().expect("header"));
    let stream = app.open(request).await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers().get(header::CONTENT_ENCODING).is_none());
}

/// Server rendering always finishes, even while another router is being
/// built in the same process. Building a router walks the app's routes with
/// leptos' process-wide "suppress resource loading" flag raised; a page
/// rendered meanwhile never loaded its resources and never answered. That
/// hung CI (each test builds its own router), so the walk happens once per
/// process. Every page, many times at once on a work-stealing runtime, with
/// routers built alongside, each render under a deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_page_finishes_rendering_under_concurrency() {
    use std::sync::Arc;
    let app = Arc::new(TestApp::new().await);
    let manager = app.sign_in("manager@example.com").await;
    let viewer = app.sign_in("viewer@example.com").await;
    let admin = app.sign_in("admin@example.com").await;
    let pages = [
        ("/", &manager),
        ("/runtimes", &manager),
        ("/runtimes/demo/versions/v1", &manager),
        ("/runtimes/demo/versions/v1?action=start", &manager),
        ("/runtimes/demo/versions/v1", &viewer),
        ("/runtimes/demo/versions/nope", &manager),
        ("/audit", &admin),
        ("/audit?outcome=denied", &manager),
        ("/users", &admin),
    ];
    let builders = tokio::spawn(async {
        for _ in 0..3 {
            drop(TestApp::new().await);
        }
    });
    let mut renders = tokio::task::JoinSet::new();
    for _ in 0..40 {
        for (path, cookie) in pages {
            let (app, cookie) = (Arc::clone(&app), cookie.clone());
            // `send` fails the render, naming the page, if it stalls.
            renders.spawn(async move { (path, app.send(get(path, Some(&cookie))).await) });
        }
    }
    while let Some(joined) = renders.join_next().await {
        let (path, Answer { status, body, .. }) = joined.expect("the page finished rendering");
        assert!(
            status == StatusCode::OK || status == StatusCode::NOT_FOUND,
            "{path}: {status}"
        );
        // A complete stream ends with leptos' trailer after every resolved
        // resource; a stalled one stops before it.
        assert!(
            body.contains("</html>") && body.ends_with("__INCOMPLETE_CHUNKS=[];</script>"),
            "{path} ended early: {body}"
        );
    }
    builders.await.expect("routers built");
}

// The release history page and the JSON point-in-time answer read the same
// rows: the routing records (the leader's, here called directly) open and
// close releases; every signed-in user reads them.
#[tokio::test]
async fn release_history_and_what_served_at_an_instant() {
    let app = TestApp::new().await;
    let viewer = app.sign_in("viewer@example.com").await;
    let before_any = chrono::Utc::now();
    for serving in [Some("v1"), Some("v2"), None] {
        backend::versions::record_routing(&app.db, "demo", serving, None, None)
            .await
            .expect("routing recorded");
    }
    let history = backend::releases::history(&app.db, "demo", None, 10)
        .await
        .expect("history");
    let [v2, v1] = history.releases.as_slice() else {
        panic!("two releases: {:?}", history.releases);
    };

    let page = app
        .send(get("/runtimes/demo/releases", Some(&viewer)))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let rows: Vec<&str> = page
        .body
        .match_indices("data-release-version=\"")
        .map(|(i, m)| {
            let rest = &page.body[i + m.len()..];
            &rest[..rest.find('"').unwrap_or(0)]
        })
        .collect();
    assert_eq!(rows, ["v2", "v1"], "newest first");
    assert!(page.body.contains("superseded by v2"), "{}", page.body);
    assert!(!page.body.contains("data-release-state=\"serving\""));

    // While v1 served: the page and the JSON say so, who published it too.
    let during = v1.started_at.clone();
    let answer = app
        .send(get(
            &format!("/runtimes/demo/releases?at={during}"),
            Some(&viewer),
        ))
        .await;
    assert!(
        answer.body.contains("data-serving-version=\"v1\""),
        "{}",
        answer.body
    );
    let json = app
        .send(get(
            &format!("/api/runtimes/demo/serving?at={during}"),
            Some(&viewer),
        ))
        .await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.body);
    assert_eq!(json.json()["serving"]["version"], "v1");
    // After the last one ended: nothing; before the runtime: it did not exist.
    let after = app
        .send(get(
            &format!(
                "/api/runtimes/demo/serving?at={}",
                v2.ended_at.as_deref().expect("ended")
            ),
            Some(&viewer),
        ))
        .await;
    assert_eq!(after.json()["serving"], serde_json::Value::Null);
    let ancient = app
        .send(get(
            "/api/runtimes/demo/serving?at=2000-01-01T00:00:00%2B01:00",
            Some(&viewer),
        ))
        .await;
    assert_eq!(ancient.json()["at"], "1999-12-31T23:00:00.000000Z");
    assert_eq!(ancient.json()["before_runtime"], true);
    let quiet = app
        .send(get(
            &format!(
                "/api/runtimes/demo/serving?at={}",
                before_any.format("%Y-%m-%dT%H:%M:%S%.6fZ")
            ),
            Some(&viewer),
        ))
        .await;
    assert_eq!(
        (&quiet.json()["serving"], &quiet.json()["before_runtime"]),
        (&serde_json::Value::Null, &serde_json::Value::Bool(false))
    );

    // Bad input is a clear refusal, never a 5xx; strangers are turned away.
    let bad = app
        .send(get(
            "/api/runtimes/demo/serving?at=yesterday",
            Some(&viewer),
        ))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("RFC 3339"), "{}", bad.body);
    let bad_page = app
        .send(get("/runtimes/demo/releases?at=yesterday", Some(&viewer)))
        .await;
    assert_eq!(bad_page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app
        .send(get("/api/runtimes/nope/serving", Some(&viewer)))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let unknown_page = app
        .send(get("/runtimes/nope/releases", Some(&viewer)))
        .await;
    assert_eq!(unknown_page.status, StatusCode::NOT_FOUND);
    let anonymous = app.send(get("/api/runtimes/demo/serving", None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

// Two versions compared field by field, on the page and as JSON.
#[tokio::test]
async fn two_versions_are_compared_field_by_field() {
    let app = TestApp::new().await;
    let viewer = app.sign_in("viewer@example.com").await;
    let page = app
        .send(get("/runtimes/demo/diff?from=v1&to=v2", Some(&viewer)))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for (path, kind) in [
        ("processes.score.image", "changed"),
        ("processes.rules", "added"),
        ("processes.enrich.env.LOG_LEVEL", "removed"),
    ] {
        let row = format!("data-diff-path=\"{path}\" data-diff-kind=\"{kind}\"");
        assert!(page.body.contains(&row), "{row} in {}", page.body);
    }
    assert!(
        !page
            .body
            .contains("data-diff-path=\"processes.enrich.replicas\"")
    );
    // The objects each would apply, compared the same way.
    for (path, kind) in [
        (
            "Deployment/score.spec.template.spec.containers.score.image",
            "changed",
        ),
        ("Deployment/rules", "added"),
        ("ConfigMap/config.data.threshold", "changed"),
    ] {
        let row = format!("data-diff-path=\"{path}\" data-diff-kind=\"{kind}\"");
        assert!(page.body.contains(&row), "{row} in {}", page.body);
    }

    let json = app
        .send(get("/api/runtimes/demo/diff?from=v1&to=v2", Some(&viewer)))
        .await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.body);
    let changes = json.json()["changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let inputs = changes
        .iter()
        .find(|c| c["path"] == "processes.score.inputs")
        .expect("inputs changed");
    assert_eq!(inputs["to"], r#"["enrich","rules"]"#);
    assert!(
        json.json()["objects"]
            .as_array()
            .is_some_and(|o| o.iter().any(|c| c["path"] == "Deployment/rules")),
        "{}",
        json.body
    );

    let unknown = app
        .send(get("/api/runtimes/demo/diff?from=v1&to=v7", Some(&viewer)))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let unknown_page = app
        .send(get("/runtimes/demo/diff?from=v1&to=v7", Some(&viewer)))
        .await;
    assert_eq!(unknown_page.status, StatusCode::NOT_FOUND);
    let incomplete = app
        .send(get("/api/runtimes/demo/diff?from=v1", Some(&viewer)))
        .await;
    assert_eq!(incomplete.status, StatusCode::BAD_REQUEST);
    let anonymous = app
        .send(get("/api/runtimes/demo/diff?from=v1&to=v2", None))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
