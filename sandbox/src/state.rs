//! What every handler shares: the company, the tokens, the faults, the
//! counters, the request log and the fixed options. Each lock is held only
//! between awaits, never across one; a poisoned lock (a panic elsewhere) is
//! taken over rather than spreading the panic to every later request.

use std::{
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use serde_json::Value;
use tokio::time::Instant;

use crate::{
    Faults, LoggedRequest, SandboxOptions, SandboxStats,
    auth::{Refusal, Tokens},
    company::Company,
    faults::{FaultState, Plan},
    render::View,
    request_log::RequestLog,
    scopes::Grant,
    settings::Settings,
    stats::Counters,
};

/// The sandbox's state, behind an `Arc` in every handler.
#[derive(Debug)]
pub(crate) struct Shared {
    company: Mutex<Company>,
    tokens: Mutex<Tokens>,
    faults: Mutex<FaultState>,
    log: Mutex<RequestLog>,
    pub(crate) counters: Counters,
    client_id: String,
    client_secret: String,
    scopes: Option<Vec<String>>,
    token_ttl: Duration,
    base_url: String,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// The state a sandbox starts with; options that cannot describe a
    /// company are an error message.
    pub(crate) fn new(options: SandboxOptions, base_url: String) -> Result<Self, String> {
        let company = Company::new(Settings::from_options(&options), &options.teams)?;
        Ok(Shared {
            company: Mutex::new(company),
            tokens: Mutex::new(Tokens::default()),
            faults: Mutex::new(FaultState::new(options.faults, Instant::now())),
            log: Mutex::new(RequestLog::default()),
            counters: Counters::default(),
            client_id: options.client_id,
            client_secret: options.client_secret,
            scopes: options.scopes,
            token_ttl: options.token_ttl,
            base_url,
        })
    }

    /// The company, locked.
    pub(crate) fn company(&self) -> MutexGuard<'_, Company> {
        lock(&self.company)
    }

    /// A renderer over a locked company.
    pub(crate) fn view<'a>(&'a self, company: &'a Company) -> View<'a> {
        View {
            company,
            base_url: &self.base_url,
        }
    }

    /// Whether these are the configured client credentials.
    pub(crate) fn is_client(&self, id: Option<&str>, secret: Option<&str>) -> bool {
        id == Some(self.client_id.as_str()) && secret == Some(self.client_secret.as_str())
    }

    /// The scopes the credentials were provisioned with (`None`: legacy).
    pub(crate) fn provisioned_scopes(&self) -> Option<&[String]> {
        self.scopes.as_deref()
    }

    /// How long tokens live.
    pub(crate) fn token_ttl(&self) -> Duration {
        self.token_ttl
    }

    /// Issues a token with `grant` and counts it.
    pub(crate) fn issue_token(&self, grant: Grant) -> String {
        self.counters.bump(&self.counters.tokens_issued);
        lock(&self.tokens).issue(Instant::now(), self.token_ttl, grant)
    }

    /// The grant of `token` if it is live now.
    pub(crate) fn check_token(&self, token: &str) -> Result<Grant, Refusal> {
        lock(&self.tokens).check(token, Instant::now())
    }

    /// Makes every issued token expire now.
    pub(crate) fn expire_tokens(&self) {
        lock(&self.tokens).expire_all(Instant::now());
    }

    /// Counts a `/v1` request and draws its fault plan.
    pub(crate) fn plan(&self, is_write: bool) -> Plan {
        self.counters.bump(&self.counters.requests);
        lock(&self.faults).plan(Instant::now(), is_write)
    }

    /// The faults in force.
    pub(crate) fn faults(&self) -> Faults {
        lock(&self.faults).faults().clone()
    }

    /// Replaces the faults.
    pub(crate) fn set_faults(&self, faults: Faults) {
        lock(&self.faults).set(faults, Instant::now());
    }

    /// Appends an answered request to the log.
    pub(crate) fn log_request(&self, request: LoggedRequest) {
        lock(&self.log).push(request);
    }

    /// The logged requests, oldest first.
    pub(crate) fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.log).all()
    }

    /// The counts so far.
    pub(crate) fn stats(&self) -> SandboxStats {
        self.counters.snapshot()
    }

    /// Deletes user `id` as an administrator would, outside the API.
    pub(crate) fn set_hr_package(&self, on: bool) {
        self.company().settings.hr_package = on;
    }

    pub(crate) fn delete_user_by_hand(&self, id: u64) -> bool {
        self.company().remove_user(id).is_some()
    }

    /// Every user as full JSON, by id.
    pub(crate) fn users_json(&self) -> Vec<Value> {
        let company = self.company();
        let view = self.view(&company);
        company.users().map(|u| view.user(u)).collect()
    }

    /// Every team as listed, by id.
    pub(crate) fn teams_json(&self) -> Vec<Value> {
        let company = self.company();
        let view = self.view(&company);
        company.teams().map(|t| view.team(t)).collect()
    }
}
