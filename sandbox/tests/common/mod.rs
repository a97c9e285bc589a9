//! What the sandbox's HTTP tests share: a sandbox on 127.0.0.1:0 (ready at
//! once, no sleep), a reqwest client, a token, and whole-body replies.

#![allow(dead_code)]

use std::time::Duration;

use ampsync_sandbox::{Sandbox, SandboxOptions, TeamSeed};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

/// A sandbox, a client and a live token.
pub struct Env {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
    pub token: String,
}

/// A finished exchange: status, headers, and the body as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The ids of a `{"users": […]}` or `{"teams": […]}` list.
    pub fn ids(&self, key: &str) -> Vec<u64> {
        self.body[key]
            .as_array()
            .map(|items| items.iter().filter_map(|i| i["id"].as_u64()).collect())
            .unwrap_or_default()
    }
}

/// A sandbox with these options and a token from its default scope request
/// (none named: fine for legacy credentials; empty for provisioned ones).
pub async fn start(options: SandboxOptions) -> Env {
    let legacy = options.scopes.is_none();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let sandbox = Sandbox::start(listener, options).await.expect("start sandbox");
    // reqwest built with `rustls-no-provider` panics without a process-wide
    // crypto provider, even for plain http; a second install is a no-op error.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client");
    let mut env = Env {
        sandbox,
        http,
        token: String::new(),
    };
    if legacy {
        env.token = env.new_token().await;
    }
    env
}

pub async fn start_with_teams(teams: &[&str]) -> Env {
    start(SandboxOptions {
        teams: teams.iter().map(|t| TeamSeed::from(*t)).collect(),
        ..SandboxOptions::default()
    })
    .await
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.url())
    }

    /// A token for the default credentials, asking for no scope.
    pub async fn new_token(&self) -> String {
        let reply = self.token_request(None).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// A token for the default credentials with these scopes.
    pub async fn token_for(&self, scope: &str) -> String {
        let reply = self.token_request(Some(scope)).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// `POST /oauth/token` with the default credentials.
    pub async fn token_request(&self, scope: Option<&str>) -> Reply {
        let mut form = vec![
            ("client_id", "sandbox"),
            ("client_secret", "sandbox-secret"),
            ("grant_type", "client_credentials"),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.exchange(self.http.post(self.url("/oauth/token")).form(&form))
            .await
    }

    pub async fn exchange(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        Reply { status, headers, body }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(&self.token)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.exchange(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.exchange(self.request(Method::POST, path).form(form)).await
    }

    pub async fn put(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.exchange(self.request(Method::PUT, path).form(form)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.exchange(self.request(Method::DELETE, path)).await
    }

    /// The admin route `path` (no token).
    pub async fn admin(&self, method: Method, path: &str) -> Reply {
        self.exchange(self.http.request(method, self.url(path))).await
    }

    /// Creates a user with just the required fields and returns its id.
    pub async fn create(&self, email: &str, external_id: &str) -> u64 {
        self.create_with(email, external_id, &[]).await
    }

    /// Creates a user with the required fields and `extra`; returns its id.
    pub async fn create_with(&self, email: &str, external_id: &str, extra: &[(&str, &str)]) -> u64 {
        let mut form = vec![
            ("email", email),
            ("firstName", "F"),
            ("lastName", "L"),
            ("integrationExternalId", external_id),
        ];
        form.extend_from_slice(extra);
        let reply = self.post("/v1/users", &form).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body["id"].as_u64().expect("id")
    }
}

/// How `status.time` shows today: "Sent 5 Nov 26" / "On 5 Nov 26", by the
/// clock the sandbox reads (`AMPSYNC_NOW`, else the real one).
pub fn today(prefix: &str) -> String {
    let day = std::env::var("AMPSYNC_NOW")
        .ok()
        .and_then(|v| chrono::DateTime::parse_from_rfc3339(&v).ok())
        .map(|t| t.with_timezone(&chrono::Utc).date_naive())
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    format!("{prefix} {}", day.format("%-d %b %y"))
}

/// `{"error": error, "fullErrors": full_errors}`.
pub fn bad_request(error: &str, full_errors: Value) -> Value {
    json!({ "error": error, "fullErrors": full_errors })
}

/// `{"error": "Not found"}`.
pub fn not_found() -> Value {
    json!({ "error": "Not found" })
}

/// Sets each of `patch`'s fields on `value`.
pub fn merge(value: &mut Value, patch: &Value) {
    if let (Value::Object(target), Value::Object(fields)) = (value, patch) {
        for (k, v) in fields {
            target.insert(k.clone(), v.clone());
        }
    }
}
