//! A running sandbox: started on a bound listener, driven and inspected by
//! its owner (faults, token expiry, users, teams, counts, the request log,
//! a user deleted by hand), and stopped.

use std::{net::SocketAddr, sync::Arc};

use serde_json::Value;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{Faults, LoggedRequest, SandboxOptions, SandboxStats, conn, routes, state::Shared};

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
    /// Serves on an already-bound listener (tests bind 127.0.0.1:0 first:
    /// ready with no sleep). Options that cannot describe a company (two
    /// seeded teams with one integration external id) are `InvalidInput`.
    pub async fn start(listener: TcpListener, options: SandboxOptions) -> std::io::Result<Sandbox> {
        let addr = listener.local_addr()?;
        let shared = Shared::new(options, base_url(addr))
            .map_err(|message| std::io::Error::new(std::io::ErrorKind::InvalidInput, message))?;
        let shared = Arc::new(shared);
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

    /// Replaces the faults injected from the next request on (and refills
    /// the rate limit's bucket).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// Makes every token issued so far invalid now (a later request with one
    /// gets 401 "The access token expired").
    pub fn expire_tokens(&self) {
        self.shared.expire_tokens();
    }

    /// Every user as the API's full JSON, ordered by id.
    pub fn users(&self) -> Vec<Value> {
        self.shared.users_json()
    }

    /// Every team as `GET /v1/teams` lists it, ordered by id.
    pub fn teams(&self) -> Vec<Value> {
        self.shared.teams_json()
    }

    /// Buys (or drops) the HR-role package, as the company would in Learn
    /// Amp's web app: `role=hr` is taken (or 422) from the next request on.
    pub fn set_hr_package(&self, on: bool) {
        self.shared.set_hr_package(on);
    }

    /// Deletes user `id` as an administrator would in Learn Amp's web app
    /// (not through the API, so not counted in [`SandboxStats::deletes`]);
    /// false when there is no such user.
    pub fn delete_user(&self, id: u64) -> bool {
        self.shared.delete_user_by_hand(id)
    }

    /// The counts so far.
    pub fn stats(&self) -> SandboxStats {
        self.shared.stats()
    }

    /// The `/v1/*` and `/oauth/token` requests answered so far, in the order
    /// they were answered (the most recent 100,000).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.requests()
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
