//! What every handler shares: the company, the tokens, the faults, the
//! counters and the fixed options. Each lock is held only between awaits,
//! never across one; a poisoned lock (a panic elsewhere) is taken over
//! rather than spreading the panic to every later request.

use std::{
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::NaiveDate;
use serde_json::Value;
use tokio::time::Instant;

use super::{
    Faults, SandboxOptions, SandboxStats,
    auth::{Refusal, Tokens},
    company::Company,
    faults::{FaultState, Plan},
    render::View,
};

/// The counters behind [`SandboxStats`].
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) requests: AtomicU64,
    pub(super) tokens_issued: AtomicU64,
    pub(super) creates: AtomicU64,
    pub(super) updates: AtomicU64,
    pub(super) deactivations: AtomicU64,
    pub(super) reactivations: AtomicU64,
    pub(super) teams_created: AtomicU64,
    pub(super) rate_limited: AtomicU64,
    pub(super) server_errors: AtomicU64,
    pub(super) dropped: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub(super) fn bump(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> SandboxStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SandboxStats {
            requests: get(&self.requests),
            tokens_issued: get(&self.tokens_issued),
            creates: get(&self.creates),
            updates: get(&self.updates),
            deactivations: get(&self.deactivations),
            reactivations: get(&self.reactivations),
            teams_created: get(&self.teams_created),
            rate_limited: get(&self.rate_limited),
            server_errors: get(&self.server_errors),
            dropped: get(&self.dropped),
        }
    }
}

/// The sandbox's state, behind an `Arc` in every handler.
#[derive(Debug)]
pub(super) struct Shared {
    company: Mutex<Company>,
    tokens: Mutex<Tokens>,
    faults: Mutex<FaultState>,
    pub(super) counters: Counters,
    client_id: String,
    client_secret: String,
    token_ttl: Duration,
    base_url: String,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// The state a sandbox starts with.
    pub(super) fn new(options: SandboxOptions, base_url: String) -> Self {
        Shared {
            company: Mutex::new(Company::with_teams(&options.teams)),
            tokens: Mutex::new(Tokens::default()),
            faults: Mutex::new(FaultState::new(options.faults)),
            counters: Counters::default(),
            client_id: options.client_id,
            client_secret: options.client_secret,
            token_ttl: options.token_ttl,
            base_url,
        }
    }

    /// The company, locked.
    pub(super) fn company(&self) -> MutexGuard<'_, Company> {
        lock(&self.company)
    }

    /// A renderer over a locked company.
    pub(super) fn view<'a>(&'a self, company: &'a Company) -> View<'a> {
        View {
            company,
            base_url: &self.base_url,
        }
    }

    /// Today, by ampsync's clock (pinned by `AMPSYNC_NOW` in demos and
    /// end-to-end tests), for `status.time`.
    pub(super) fn today(&self) -> NaiveDate {
        let micros = crate::clock::now_micros().unwrap_or_else(|_| chrono::Utc::now().timestamp_micros());
        chrono::DateTime::from_timestamp_micros(micros)
            .unwrap_or_default()
            .date_naive()
    }

    /// Whether these are the configured client credentials.
    pub(super) fn is_client(&self, id: Option<&str>, secret: Option<&str>) -> bool {
        id == Some(self.client_id.as_str()) && secret == Some(self.client_secret.as_str())
    }

    /// How long tokens live.
    pub(super) fn token_ttl(&self) -> Duration {
        self.token_ttl
    }

    /// Issues a token and counts it.
    pub(super) fn issue_token(&self) -> String {
        self.counters.bump(&self.counters.tokens_issued);
        lock(&self.tokens).issue(Instant::now(), self.token_ttl)
    }

    /// Whether `token` is live now.
    pub(super) fn check_token(&self, token: &str) -> Result<(), Refusal> {
        lock(&self.tokens).check(token, Instant::now())
    }

    /// Makes every issued token expire now.
    pub(super) fn expire_tokens(&self) {
        lock(&self.tokens).expire_all(Instant::now());
    }

    /// Counts a `/v1` request and draws its fault plan.
    pub(super) fn plan(&self, is_write: bool) -> Plan {
        self.counters.bump(&self.counters.requests);
        lock(&self.faults).plan(Instant::now(), is_write)
    }

    /// The faults in force.
    pub(super) fn faults(&self) -> Faults {
        lock(&self.faults).faults().clone()
    }

    /// Replaces the faults.
    pub(super) fn set_faults(&self, faults: Faults) {
        lock(&self.faults).set(faults);
    }

    /// The counts so far.
    pub(super) fn stats(&self) -> SandboxStats {
        self.counters.snapshot()
    }

    /// Every user as full JSON, by id.
    pub(super) fn users_json(&self) -> Vec<Value> {
        let company = self.company();
        let view = self.view(&company);
        company.users().map(|u| view.user(u)).collect()
    }

    /// Every team as JSON, by id.
    pub(super) fn teams_json(&self) -> Vec<Value> {
        let company = self.company();
        let view = self.view(&company);
        company.teams().map(|t| view.team(t)).collect()
    }
}
