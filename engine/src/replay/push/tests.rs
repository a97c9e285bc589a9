//! The push against a scripted HTTP server on 127.0.0.1: the real client
//! and the real push, with Learn Amp's answers chosen request by request.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use ampsync_store::{EventKind, Record, Store};

use super::*;
use crate::learnamp::{ClientOptions, Credentials};
use crate::replay::plan::Manager;
use crate::replay::requests::{CallOptions, TeamForms};

/// A server that answers each request with `script(method, path, n)`,
/// where `n` counts earlier requests with the same method and path, and
/// logs "METHOD path" of each.
struct Scripted {
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

type Script = dyn Fn(&str, &str, usize) -> (u16, String) + Send + Sync;

impl Scripted {
    fn start(script: Box<Script>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = log.clone();
        std::thread::spawn(move || {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_owned();
                let target = parts.next().unwrap_or_default().to_owned();
                let path = target.split('?').next().unwrap_or_default().to_owned();
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let id = format!("{method} {path}");
                let n = counts.entry(id.clone()).or_default();
                let (status, answer) = script(&method, &path, *n);
                *n += 1;
                seen.lock().expect("log").push(id);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Scripted { url, log }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }
}

fn created_step() -> Step {
    let record = Record::from_pairs([
        ("email", "ann@x.io"),
        ("firstName", "Ann"),
        ("lastName", "Lee"),
        ("integrationExternalId", "E1"),
    ]);
    let event = EventKind::Created { record };
    let options = CallOptions { skip_invitation: true };
    Step {
        seq: 1,
        call: call_for(&event, ManagerField::AsIs, TeamForms::default(), options),
        event,
        covers: Vec::new(),
        manager: Manager::AsIs,
        teams: TeamForms::default(),
        external_id: None,
        prior_attempts: 0,
        waiting_since: None,
    }
}

fn run_push(server: &Scripted, steps: Vec<Step>) -> PushReport {
    let dir = tempfile::tempdir().expect("dir");
    let store = Arc::new(Store::open(&dir.path().join("s.redb")).expect("store"));
    let client = LearnAmpClient::new(
        &ClientOptions {
            base_url: server.url.clone(),
            scopes: "users:read users:create".into(),
            max_requests_per_second: 1000.0,
        },
        Credentials::new("id", "secret"),
    )
    .expect("client");
    let plan = Plan {
        queues: vec![UserQueue {
            key: "E1".into(),
            level: 0,
            steps,
        }],
        follow_ups: Vec::new(),
        warnings: Vec::new(),
        refused: Vec::new(),
        oldest: None,
        options: CallOptions { skip_invitation: true },
    };
    let options = PushOptions {
        concurrency: 1,
        retry_for: Duration::from_secs(30),
        create_missing_teams: false,
        stop: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(push(store, Arc::new(client), plan, options, None))
        .expect("push")
}

const TOKEN: &str = r#"{"access_token":"t","token_type":"Bearer","expires_in":7200}"#;

#[test]
fn an_uncertain_create_is_looked_up_and_a_lookup_finding_nobody_sends_it_again() {
    assert_eq!(create_next(true, None), CreateNext::LookUp);
    assert_eq!(create_next(true, Some(false)), CreateNext::Send);
    assert_eq!(create_next(true, Some(true)), CreateNext::UpdateExisting);
    assert_eq!(create_next(false, None), CreateNext::Send);
}

/// Regression: a create answered 503, then a lookup finding nobody, was
/// followed by more lookups (each an attempt) until the event was dead.
#[test]
fn create_answered_503_then_lookup_404_sends_the_create_again() {
    let server = Scripted::start(Box::new(|method, path, n| match (method, path, n) {
        ("POST", "/oauth/token", _) => (200, TOKEN.into()),
        ("POST", "/v1/users", 0) => (503, r#"{"error":"Service Unavailable"}"#.into()),
        ("POST", "/v1/users", _) => (201, r#"{"id":5,"email":"ann@x.io"}"#.into()),
        ("GET", "/v1/users", _) => (200, r#"{"users":[]}"#.into()),
        _ => (404, r#"{"error":"Not found"}"#.into()),
    }));
    let report = run_push(&server, vec![created_step()]);
    assert_eq!(
        server.log(),
        vec![
            "POST /oauth/token",
            "POST /v1/users",
            "GET /v1/users", // by external id: nobody
            "GET /v1/users", // by email: nobody
            "POST /v1/users",
        ]
    );
    assert_eq!((report.delivered, report.failed.len(), report.waiting.len()), (1, 0, 0));
}

#[test]
fn a_refusal_is_failed_at_once_with_the_api_message_and_not_retried() {
    let server = Scripted::start(Box::new(|method, path, _| match (method, path) {
        ("POST", "/oauth/token") => (200, TOKEN.into()),
        ("POST", "/v1/users") => (422, r#"{"error":"hr role requires the HR-role package"}"#.into()),
        _ => (500, "{}".into()),
    }));
    let report = run_push(&server, vec![created_step()]);
    assert_eq!(server.log(), vec!["POST /oauth/token", "POST /v1/users"]);
    assert_eq!(
        report.failed,
        vec![Undelivered {
            seq: 1,
            key: "E1".into(),
            status: Some(422),
            error: "Learn Amp answered 422: hr role requires the HR-role package".into(),
        }]
    );
}
