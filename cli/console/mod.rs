//! The operator console: server-rendered pages and a JSON API over the
//! store and the run log, for `ampsync serve` and `daemon --http-addr`.
//!
//! The pages and `/api/` render the same values the CLI prints with
//! `--format json` (the JSON builders live with their commands and are
//! called from both). This module owns the router and the state every
//! handler shares; [`auth`] owns who may read and act, [`access_log`] what
//! is logged about requests; each page has its own file. Every page reads
//! without JavaScript; every action is a POST form carrying a CSRF token.

mod access_log;
mod api;
mod auth;
mod chart;
mod held;
mod overview;
mod page;
mod person;
mod rollback;
mod runs;
mod snapshot;

use std::path::PathBuf;
use std::sync::Arc;

use ampsync_engine::Config;
use ampsync_engine::runlog;
use ampsync_engine::store::Store;
use axum::Router;
use axum::routing::{get, post};

pub use auth::{Auth, TokenSource};

/// Where handlers get the store from.
#[derive(Debug)]
pub enum StoreAccess {
    /// The daemon's own handle (it holds the store for its whole life).
    Shared(Arc<Store>),
    /// A handle opened for each request and dropped after it, so `serve`
    /// never keeps the write lock another process's run needs.
    PerRequest,
}

/// What every handler reads.
#[derive(Debug)]
pub struct Console {
    pub config: Config,
    pub access: StoreAccess,
    pub auth: Auth,
    /// Opaque page ids of the people looked up, so no key, email or name
    /// is ever in a URL a page links to.
    people: person::PageIds,
}

impl Console {
    pub fn new(config: Config, access: StoreAccess, auth: Auth) -> Console {
        Console {
            config,
            access,
            auth,
            people: person::PageIds::default(),
        }
    }

    /// The run log beside the store.
    pub fn runs_path(&self) -> PathBuf {
        runlog::path_for(&self.config.store_path())
    }

    fn store(&self) -> anyhow::Result<Arc<Store>> {
        match &self.access {
            StoreAccess::Shared(store) => Ok(store.clone()),
            StoreAccess::PerRequest => Ok(Arc::new(crate::commands::open_store(&self.config)?)),
        }
    }

    /// Runs `f` with the store on a blocking thread (redb reads block).
    pub async fn with_store<T, F>(self: &Arc<Self>, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Console, &Arc<Store>) -> anyhow::Result<T> + Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let store = me.store()?;
            f(&me, &store)
        })
        .await?
    }
}

/// The console's routes, behind the token; `/login` is open.
pub fn router(console: Arc<Console>) -> Router {
    let pages = Router::new()
        .route("/", get(overview::page))
        .route("/runs", get(runs::page))
        .route("/snapshots/{n}", get(snapshot::page))
        .route("/held/{n}", get(held::page))
        .route("/held/{n}/approve", post(held::approve))
        .route("/held/{n}/reject", post(held::reject))
        .route("/people", get(person::search_page).post(person::search))
        .route("/people/{id}", get(person::page))
        .route("/events/{seq}/retry", post(person::retry))
        .route("/rollback", get(rollback::page).post(rollback::dry_run))
        .route("/rollback/confirm", post(rollback::confirm))
        .route("/api/snapshots", get(api::snapshots))
        .route("/api/events", get(api::events))
        .route("/api/people", post(api::person_by_form))
        .route("/api/people/{key}", get(api::person))
        .route("/api/runs", get(api::runs))
        .route("/api/snapshots/{n}/approve", post(api::approve))
        .route("/api/snapshots/{n}/reject", post(api::reject))
        .route("/api/events/{seq}/retry", post(api::retry))
        .route_layer(axum::middleware::from_fn_with_state(console.clone(), auth::require));
    Router::new()
        .route("/login", get(auth::login))
        .merge(pages)
        .route_layer(axum::middleware::from_fn(access_log::log))
        .with_state(console)
}

/// Serves the console on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) {
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("console server stopped: {e}");
    }
}

/// Warns unless `addr` is a loopback address: the console speaks plain
/// HTTP and must sit behind a TLS proxy to be reached from elsewhere.
pub fn warn_if_exposed(addr: std::net::SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "warning: the console listens on {addr}, beyond this machine, over plain HTTP: put it behind a TLS \
             proxy (see the README's \"Console and alerts\") and set console.public_url to its https address"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_loopback_address_goes_without_a_warning() {
        for (addr, warns) in [
            ("127.0.0.1:8080", false),
            ("[::1]:8080", false),
            ("0.0.0.0:8080", true),
            ("192.168.1.20:80", true),
        ] {
            let addr: std::net::SocketAddr = addr.parse().expect("addr");
            assert_eq!(warn_if_exposed(addr).is_some(), warns, "{addr}");
        }
    }
}
