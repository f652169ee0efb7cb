//! The console as an attacker meets it on the wire: the router served on a
//! real socket, fed requests a browser would never send (undecodable bodies,
//! over-long paths and file names, hostile query strings), then random
//! bytes for the method, path, headers and body for a time budget
//! (`FUZZ_SECONDS`, 5 by default; seeded). No answer is a 5xx and the server
//! logs no ERROR: a client's mistake is a warning at most.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt};

mod common;
use common::{TestApp, form};
use testkit::Rng;

/// Counts ERROR events, whichever test's request logged them.
struct ErrorCounter(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ErrorCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            eprintln!("ERROR logged at {}", event.metadata().name());
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn count_errors() -> Arc<AtomicUsize> {
    static ERRORS: std::sync::OnceLock<Arc<AtomicUsize>> = std::sync::OnceLock::new();
    ERRORS
        .get_or_init(|| {
            let errors = Arc::new(AtomicUsize::new(0));
            tracing_subscriber::registry()
                .with(ErrorCounter(errors.clone()))
                .init();
            errors
        })
        .clone()
}

/// The app on a socket of its own; answers its address.
async fn serve(app: &TestApp) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = app.router.clone();
    tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    addr
}

/// Sends `raw` and answers the status line's code (None when the server
/// closed the connection without an answer, which is fine for garbage).
async fn exchange(addr: std::net::SocketAddr, raw: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // Not shut down after writing: hyper takes a half-closed connection for
    // a client gone and drops its request mid-answer. Every request here is
    // complete (its Content-Length is right) and says `Connection: close`,
    // so the server closes when it has answered.
    let _ = stream.write_all(raw).await;
    // Up to the end of the answer's head: a live stream's body never ends.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut chunk = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "no answer within 20 s to {:?}",
        String::from_utf8_lossy(raw)
    );
    let text = String::from_utf8_lossy(&answer).into_owned();
    let code = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    Some((code, text))
}

fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut raw = raw.into_bytes();
    raw.extend_from_slice(body);
    raw
}

fn assert_client_error(what: &str, answer: Option<(u16, String)>) {
    let Some((code, text)) = answer else {
        panic!("{what}: no answer");
    };
    assert!((400..500).contains(&code), "{what}: {code}\n{text}");
    for leak in [
        "panicked",
        ".rs:",
        "sqlx",
        "invalid utf-8",
        "Utf8Error",
        "os error",
    ] {
        assert!(!text.contains(leak), "{what} leaked {leak:?}: {text}");
    }
}

#[tokio::test]
async fn requests_no_browser_sends_are_client_errors_never_server_errors() {
    let errors = count_errors();
    let app = TestApp::new().await;
    let cookie = app.sign_in("manager@example.com").await;
    let addr = serve(&app).await;
    let form_type = ("Content-Type", "application/x-www-form-urlencoded");
    let accept = ("Accept", "application/json");
    let signed_in = ("Cookie", cookie.as_str());
    let long_name = "a".repeat(300);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "login with a body that is not UTF-8",
            request(
                "POST",
                "/api/login",
                &[form_type, accept],
                b"email=\xff@example.com&password=x",
            ),
        ),
        (
            "an action with a body that is not UTF-8",
            request(
                "POST",
                "/api/version_action",
                &[form_type, accept, signed_in],
                b"runtime=demo&version=v1&action=\xfe\xff&expected=stopped&reason=x",
            ),
        ),
        (
            "login with percent-encoding of bytes that are not UTF-8",
            request(
                "POST",
                "/api/login",
                &[form_type, accept],
                b"email=%ff%fe&password=x",
            ),
        ),
        (
            "login with broken percent-encoding",
            request(
                "POST",
                "/api/login",
                &[form_type, accept],
                b"email=%Z&password=%",
            ),
        ),
        (
            "login as JSON it does not take",
            request(
                "POST",
                "/api/login",
                &[("Content-Type", "application/json"), accept],
                b"{\"email\":[",
            ),
        ),
        (
            "login as multipart",
            request(
                "POST",
                "/api/login",
                &[("Content-Type", "multipart/form-data; boundary=x"), accept],
                b"--x\r\n",
            ),
        ),
        (
            "a bundle file name over 255 bytes",
            request("GET", &format!("/pkg/{long_name}.wasm"), &[], b""),
        ),
        (
            "a static file name over 255 bytes",
            request("GET", &format!("/{long_name}.svg"), &[], b""),
        ),
        (
            "a page path over 255 bytes a segment",
            request(
                "GET",
                &format!("/runtimes/{long_name}/versions/v1"),
                &[signed_in],
                b"",
            ),
        ),
        (
            "a path of 10,000 bytes",
            request("GET", &format!("/{}", "b/".repeat(5000)), &[signed_in], b""),
        ),
        (
            "a bundle file name with a NUL",
            request("GET", "/pkg/console%00.wasm", &[], b""),
        ),
        (
            "a bundle path climbing out",
            request("GET", "/pkg/..%2f..%2fCargo.toml", &[], b""),
        ),
        (
            "an audit query that is not UTF-8",
            request("GET", "/audit?user=%ff%fe&from=%", &[signed_in], b""),
        ),
        (
            "an export query that is not UTF-8",
            request(
                "GET",
                "/api/audit/export?format=%ff&user=%c3",
                &[signed_in],
                b"",
            ),
        ),
        (
            "a live stream for names that are not names",
            request(
                "GET",
                "/api/live/runtimes/%ff/versions/%00",
                &[signed_in],
                b"",
            ),
        ),
        (
            "a server function by GET",
            request("GET", "/api/login?email=%ff", &[accept], b""),
        ),
    ];
    for (what, raw) in &cases {
        assert_client_error(what, exchange(addr, raw).await);
    }
    assert_eq!(errors.load(Ordering::SeqCst), 0, "ERROR lines were logged");
}

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT", "G\u{0}T",
    "get", "",
];
const PATHS: &[&str] = &[
    "/",
    "/login",
    "/audit",
    "/users",
    "/runtimes",
    "/runtimes/demo/versions/v1",
    "/api/login",
    "/api/me",
    "/api/version_action",
    "/api/register_version",
    "/api/audit",
    "/api/audit/export",
    "/api/live/runtimes/demo/versions/v1",
    "/pkg/",
    "/pkg/console.js",
    "/favicon.svg",
    "/healthz",
    "/readyz",
    "*",
    "//",
    "/..",
    "/%2e%2e/",
    "/%",
    "/%ff",
    "/?",
    "/#",
    "http://evil.example/",
];
const HEADERS: &[&str] = &[
    "Content-Type",
    "Accept",
    "Cookie",
    "Origin",
    "Content-Length",
    "Transfer-Encoding",
    "Host",
    "X-Forwarded-For",
    "Accept-Encoding",
    "Sec-Fetch-Site",
    "Range",
    "If-None-Match",
    "Expect",
];
const HEADER_VALUES: &[&str] = &[
    "application/x-www-form-urlencoded",
    "application/json",
    "text/html",
    "multipart/form-data",
    "console_session=x",
    "console_session=",
    "http://evil.example",
    "chunked",
    "gzip, br",
    "-1",
    "99999999999999999999",
    "bytes=0-0,1-1",
    "100-continue",
    "1.2.3.4, ::1",
    "cross-site",
    "",
];

fn bytes(rng: &mut Rng, most: usize) -> Vec<u8> {
    (0..rng.below(most + 1))
        .map(|_| rng.next_u64() as u8)
        .collect()
}

fn piece(rng: &mut Rng, from: &[&str]) -> Vec<u8> {
    match rng.below(10) {
        0 => bytes(rng, 40),
        1 => "x".repeat([255, 256, 5000][rng.below(3)]).into_bytes(),
        _ => rng.pick(from).as_bytes().to_vec(),
    }
}

fn random_request(rng: &mut Rng, cookie: &str) -> Vec<u8> {
    let mut raw = piece(rng, METHODS);
    raw.push(b' ');
    raw.extend(piece(rng, PATHS));
    if rng.chance(30) {
        raw.push(b'?');
        raw.extend(
            form(&[
                ("user", "%ff"),
                ("from", &String::from_utf8_lossy(&bytes(rng, 10))),
            ])
            .as_bytes(),
        );
    }
    raw.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if rng.chance(60) {
        raw.extend(format!("Cookie: {cookie}\r\n").as_bytes());
    }
    for _ in 0..rng.below(4) {
        raw.extend(piece(rng, HEADERS));
        raw.extend_from_slice(b": ");
        raw.extend(piece(rng, HEADER_VALUES));
        raw.extend_from_slice(b"\r\n");
    }
    let body = bytes(rng, 200);
    raw.extend(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    raw.extend(body);
    raw
}

#[tokio::test]
async fn random_bytes_on_the_wire_never_get_a_server_error() {
    let errors = count_errors();
    let app = TestApp::new().await;
    let cookie = app.sign_in("admin@example.com").await;
    let addr = serve(&app).await;
    let budget = Duration::from_secs(
        std::env::var("FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    );
    let mut rng = Rng(0x0bad_c0de_dead_beef);
    let deadline = Instant::now() + budget;
    let mut codes = std::collections::BTreeMap::new();
    while Instant::now() < deadline {
        let raw = random_request(&mut rng, &cookie);
        let answer = exchange(addr, &raw).await;
        let code = answer.as_ref().map(|(code, _)| *code);
        if let Some((code, text)) = &answer {
            // 503: an action without a cluster; never a 500.
            assert!(
                *code < 500 || *code == 503,
                "{code} for {:?}\n{text}",
                String::from_utf8_lossy(&raw)
            );
        }
        *codes.entry(code).or_insert(0) += 1;
    }
    eprintln!("random requests in {budget:?}, by answer: {codes:?}");
    assert!(
        codes.len() > 3,
        "the requests reached past parsing: {codes:?}"
    );
    assert_eq!(errors.load(Ordering::SeqCst), 0, "ERROR lines were logged");
}
