//! The sandbox: a local HTTP server that implements the part of Learn Amp's
//! public REST API that ampsync uses (OAuth client credentials, users and
//! teams), faithfully enough that the real client, the tests, the benches and
//! `ampsync demo` can run against it.
//!
//! It keeps one company in memory and can inject the faults a real network
//! and server produce: 429 with `Retry-After`, 500/503, added latency, and
//! connections dropped after a write was applied. Faults touch only `/v1/*`;
//! `/oauth/token` and the admin routes under `/_sandbox/` are never faulted.
//!
//! Admin routes (no token needed), for the separately run `ampsync sandbox`:
//! `GET /_sandbox/users`, `GET /_sandbox/teams`, `GET /_sandbox/stats`,
//! `GET`/`PUT /_sandbox/faults` (JSON [`Faults`]) and
//! `POST /_sandbox/expire-tokens`.
//!
//! This file holds the public surface; the API lives in the files beside it:
//! `routes` (the router), `auth` (tokens), `faults` (fault injection), `conn`
//! (connections that can be cut), `company` (the users and teams), `user_form`
//! and `user_write` (user parameters and their effect), `render` (the JSON).

mod admin;
mod auth;
mod company;
mod conn;
mod error;
mod faults;
mod page;
mod params;
mod render;
mod routes;
mod state;
mod teams;
mod user_filter;
mod user_form;
mod user_write;
mod users;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use state::Shared;

/// How a sandbox starts: the API credentials it accepts, how long its tokens
/// live, the teams the company has at the start, and the faults to inject.
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// The only `client_id` that `/oauth/token` accepts.
    pub client_id: String,
    /// The `client_secret` that goes with it.
    pub client_secret: String,
    /// How long an issued access token is valid (`expires_in`).
    pub token_ttl: Duration,
    /// Names of the teams that exist from the start (ids 1, 2, … in order).
    pub teams: Vec<String>,
    /// Faults to inject from the first request.
    pub faults: Faults,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            client_id: "sandbox".to_owned(),
            client_secret: "sandbox-secret".to_owned(),
            token_ttl: Duration::from_secs(7200),
            teams: Vec::new(),
            faults: Faults::default(),
        }
    }
}

/// Faults injected into `/v1/*` requests. The default injects none.
///
/// Which request gets a fault is drawn from `seed` and the request's number
/// (counted from the last time the faults were set), so a client that sends
/// requests one at a time meets the same faults on every run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Requests admitted per second (a window opened by the first request
    /// after the previous one closed); beyond it: 429 with `Retry-After: 1`.
    pub rate_limit_per_second: Option<u32>,
    /// Share of requests answered 500 or 503 before anything else is done.
    pub error_rate: f64,
    /// Milliseconds added to every request.
    pub latency_ms: u64,
    /// Share of successful writes (POST/PUT) that are applied and then
    /// answered by closing the connection with no response at all.
    pub drop_after_write_rate: f64,
    /// Seed of the deterministic fault choice.
    pub seed: u64,
}

/// What the sandbox has seen and done since it started.
///
/// Write counts are of successful write requests, whether or not they
/// changed anything (deactivating a deactivated user counts), including
/// those whose response was then dropped. A `PUT /v1/users/…` with
/// `reactivate=true` counts as an update and as a reactivation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SandboxStats {
    /// Requests to `/v1/*`, faulted or not.
    pub requests: u64,
    /// Access tokens issued by `/oauth/token`.
    pub tokens_issued: u64,
    /// Users created.
    pub creates: u64,
    /// Users updated.
    pub updates: u64,
    /// Users deactivated.
    pub deactivations: u64,
    /// Users reactivated.
    pub reactivations: u64,
    /// Teams created.
    pub teams_created: u64,
    /// Requests answered 429 by the rate limit.
    pub rate_limited: u64,
    /// Requests answered 500 or 503 by the error fault.
    pub server_errors: u64,
    /// Writes applied whose connection was then dropped.
    pub dropped: u64,
}

/// A running sandbox. Stop it with [`Sandbox::shutdown`]; dropping it stops
/// it too, without waiting.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Serves on an already-bound listener (tests bind 127.0.0.1:0 first: ready with no sleep).
    pub async fn start(listener: TcpListener, options: SandboxOptions) -> std::io::Result<Sandbox> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(options, base_url(addr)));
        let app = routes::router(Arc::clone(&shared)).into_make_service_with_connect_info::<conn::Cutter>();
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = axum::serve(conn::Listener::new(listener), app).with_graceful_shutdown(async move {
            // A dropped sender stops the server as well as a sent `()`.
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move { serve.await });
        Ok(Sandbox {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL, such as `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        base_url(self.addr)
    }

    /// Replaces the faults injected from the next request on.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// Makes every token issued so far invalid now (a later request with one
    /// gets 401 "The access token expired").
    pub fn expire_tokens(&self) {
        self.shared.expire_tokens();
    }

    /// Every user as the API's full JSON, ordered by id.
    pub fn users(&self) -> Vec<serde_json::Value> {
        self.shared.users_json()
    }

    /// Every team as the API's JSON, ordered by id.
    pub fn teams(&self) -> Vec<serde_json::Value> {
        self.shared.teams_json()
    }

    /// The counts so far.
    pub fn stats(&self) -> SandboxStats {
        self.shared.stats()
    }

    /// Stops accepting connections, lets requests in flight finish, and
    /// waits for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "sandbox server ended with an error"),
                Err(e) => tracing::warn!(error = %e, "sandbox server task failed"),
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `http://HOST:PORT`, with an unspecified bind address (`0.0.0.0`, `::`)
/// shown as loopback, which is where a local client reaches it.
fn base_url(addr: SocketAddr) -> String {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("http://{}:{}", Ipv4Addr::LOCALHOST, addr.port()),
        IpAddr::V4(ip) => format!("http://{ip}:{}", addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => format!("http://[{}]:{}", Ipv6Addr::LOCALHOST, addr.port()),
        IpAddr::V6(ip) => format!("http://[{ip}]:{}", addr.port()),
    }
}
