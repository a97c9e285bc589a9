//! A Learn Amp that misbehaves: redirects carrying the secret or people's
//! data elsewhere, answers of gigabytes, a `Retry-After` of decades, a
//! token endpoint that echoes the secret. Each is a small axum handler on
//! 127.0.0.1 driven by the real binary.


use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use crate::common::TestEnv;
use serde_json::json;

/// A server on its own runtime, counting the requests it gets.
struct Server {
    url: String,
    hits: Arc<AtomicU64>,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start(router: impl FnOnce(Arc<AtomicU64>) -> Router) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let hits = Arc::new(AtomicU64::new(0));
        let app = router(hits.clone());
        let url = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let url = format!("http://{}", listener.local_addr().expect("addr"));
            tokio::spawn(async move { axum::serve(listener, app).await });
            url
        });
        Server {
            url,
            hits,
            _runtime: runtime,
        }
    }

    fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Somewhere a redirect points: it must never be reached.
fn elsewhere() -> Server {
    Server::start(|hits| {
        Router::new().fallback(any(move || {
            hits.fetch_add(1, Ordering::SeqCst);
            async { "stolen" }
        }))
    })
}

fn token() -> Response {
    axum::Json(json!({"access_token": "t", "token_type": "Bearer", "expires_in": 7200})).into_response()
}

fn env_for(url: &str, extra: &str) -> TestEnv {
    let mut env = TestEnv::with_config(&format!(
        "[store]\npath = \"ampsync.redb\"\n[csv]\nkey = \"Employee ID\"\n[learnamp]\nbase_url = \"{url}\"\n{extra}\n"
    ));
    env.env.push(("AMPSYNC_CLIENT_ID".into(), "id".into()));
    env.env.push(("AMPSYNC_CLIENT_SECRET".into(), "s3cr3t-value".into()));
    let mut csv = String::from("Employee ID,First name,Last name,Email\n");
    for i in 0..PEOPLE {
        csv.push_str(&format!("H{i},First{i},Last{i},h{i}@acme.example\n"));
    }
    let file = env.write("people.csv", csv);
    env.import_at("2026-11-24T06:30:00Z", &file);
    env
}

/// People in each test's file.
const PEOPLE: usize = 20;

/// Runs `ampsync push` and waits for it with a deadline: a hang fails.
fn push_within(env: &TestEnv, limit: Duration) -> crate::common::Run {
    let mut child = env
        .command(&["push", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("push still running after {limit:?}");
        }
        std::thread::yield_now();
    }
    let out = child.wait_with_output().expect("output");
    crate::common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_redirecting_token_endpoint_never_gets_the_secret_sent_elsewhere() {
    let thief = elsewhere();
    let target = format!("{}/steal", thief.url);
    let server = Server::start(move |_| {
        Router::new().route(
            "/oauth/token",
            post(move || {
                let target = target.clone();
                async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response() }
            }),
        )
    });
    let env = env_for(&server.url, "");
    let run = env.run(&["push"]).expect_code(1);
    assert!(run.stderr.contains("redirects are not followed"), "{}", run.stderr);
    assert_eq!(thief.hits(), 0, "the secret went to the redirect's target");
    assert!(!run.stderr.contains("s3cr3t-value"));
}

#[test]
fn a_redirect_on_the_api_sends_no_one_elsewhere_and_delivers_nothing() {
    let thief = elsewhere();
    let target = format!("{}/v1/users", thief.url);
    let server = Server::start(move |_| {
        Router::new().route("/oauth/token", post(|| async { token() })).route(
            "/v1/users",
            any(move || {
                let target = target.clone();
                async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response() }
            }),
        )
    });
    let env = env_for(&server.url, "max_requests_per_second = 500");
    let report = push_within(&env, Duration::from_secs(120)).expect_code(1).json();
    assert_eq!(report["sent"], json!(0));
    assert_eq!(report["failed"].as_array().map(Vec::len), Some(PEOPLE));
    assert!(
        report["failed"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("307 redirecting to"),
        "{report}"
    );
    assert_eq!(thief.hits(), 0, "people's data went to the redirect's target");
}

#[test]
fn answers_of_gigabytes_are_not_read_and_a_huge_error_is_kept_short() {
    // A success body that never ends, and an error body of 50 MB.
    let server = Server::start(|hits| {
        Router::new().route("/oauth/token", post(|| async { token() })).route(
            "/v1/users",
            any(move |headers: HeaderMap| {
                let n = hits.fetch_add(1, Ordering::SeqCst);
                let _ = headers;
                async move {
                    if n % 2 == 0 {
                        let chunk = bytes_of(1024 * 1024, b'x');
                        let stream = futures_stream(chunk, 3 * 1024);
                        (StatusCode::CREATED, Body::from_stream(stream)).into_response()
                    } else {
                        let body = format!("{{\"error\":\"{}\"}}", "e".repeat(50 * 1024 * 1024));
                        (StatusCode::BAD_REQUEST, body).into_response()
                    }
                }
            }),
        )
    });
    let env = env_for(&server.url, "max_requests_per_second = 500\nretry_for = \"2s\"");
    let run = push_within(&env, Duration::from_secs(300));
    let report = run.json();
    let failed = report["failed"].as_array().expect("failed");
    assert!(!failed.is_empty(), "{report}");
    for f in failed {
        let error = f["error"].as_str().unwrap_or_default();
        assert!(error.len() < 2_000, "an error kept whole: {} bytes", error.len());
    }
    let store = std::fs::metadata(env.store_path()).expect("store").len();
    assert!(store < 8 * 1024 * 1024, "the store grew to {store} bytes");
}

#[test]
fn a_retry_after_of_decades_leaves_the_event_waiting_and_the_push_ends() {
    let server = Server::start(|_| {
        Router::new().route("/oauth/token", post(|| async { token() })).route(
            "/v1/users",
            any(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "999999999")],
                    "{\"error\":\"slow down\"}",
                )
                    .into_response()
            }),
        )
    });
    let env = env_for(&server.url, "max_requests_per_second = 500");
    let report = push_within(&env, Duration::from_secs(60)).expect_code(0).json();
    assert_eq!(report["sent"], json!(0));
    assert_eq!(report["waiting"].as_array().map(Vec::len), Some(PEOPLE), "{report}");
}

#[test]
fn a_token_endpoint_echoing_the_secret_does_not_get_it_printed() {
    let server = Server::start(|_| {
        Router::new().route(
            "/oauth/token",
            post(|| async {
                (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(
                        json!({"error": "invalid_client", "error_description": "client_secret s3cr3t-value is wrong"}),
                    ),
                )
                    .into_response()
            }),
        )
    });
    let mut env = env_for(&server.url, "");
    env.env.push(("AMPSYNC_LOG".into(), "trace".into()));
    let run = env.run(&["push"]).expect_code(1);
    assert!(run.stderr.contains("invalid_client"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cr3t-value"), "{}", run.stderr);
    assert!(!run.stdout.contains("s3cr3t-value"));
}

#[test]
fn plain_http_is_refused_except_on_loopback() {
    let env = TestEnv::with_config("[learnamp]\nbase_url = \"http://learnamp.example\"\n");
    let run = env.run(&["plan"]).expect_code(1);
    assert!(
        run.stderr.contains("learnamp.base_url") && run.stderr.contains("plain http is refused"),
        "{}",
        run.stderr
    );
}

fn bytes_of(n: usize, b: u8) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![b; n])
}

/// `count` copies of `chunk`, as a body stream.
fn futures_stream(
    chunk: axum::body::Bytes,
    count: usize,
) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Send {
    futures_util::stream::iter(std::iter::repeat_n(chunk, count).map(Ok))
}
