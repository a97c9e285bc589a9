//! The push: every planned event sent to Learn Amp, per person in order,
//! people in parallel, within the rate limit, retried when a retry can help,
//! and every outcome recorded in the store as it happens.
//!
//! Exactly-once effect: a create whose outcome is unknown (no answer, or a
//! 5xx) is never blindly re-sent. The next attempt first looks the person up
//! (by external id, else email); "already taken" likewise means they exist,
//! and the full record is sent as an update instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ampsync_store::{Delivery, DeliveryUpdate, EventKind, Record, Store, StoreError};
use tokio::sync::{Semaphore, mpsc};

use super::limiter::RateLimiter;
use super::plan::{Plan, Step, UserQueue};
use super::requests::{Action, CallOptions, FormValue, ManagerField, UserCall, update_with_record};
use super::teams::{TeamError, Teams};
use crate::clock;
use crate::config::{LearnAmpConfig, PolicyConfig};
use crate::learnamp::{ApiError, ApiRequest, LearnAmpClient, Method, RemoteUser};

/// Outcomes are committed in batches at least this often.
const RECORD_EVERY: Duration = Duration::from_millis(50);
/// The first retry waits this long; each next one twice as long.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// How a push behaves.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub concurrency: usize,
    pub max_requests_per_second: f64,
    pub max_attempts: u32,
    pub create_missing_teams: bool,
    pub call: CallOptions,
    /// Set to stop: requests under way finish and are recorded, no new
    /// event is started; the next push resumes (SIGTERM in the daemon).
    pub stop: Option<Arc<AtomicBool>>,
}

impl PushOptions {
    pub fn from_config(learnamp: &LearnAmpConfig, policy: &PolicyConfig) -> PushOptions {
        PushOptions {
            concurrency: learnamp.concurrency,
            max_requests_per_second: learnamp.max_requests_per_second,
            max_attempts: learnamp.max_attempts,
            create_missing_teams: learnamp.create_missing_teams,
            call: CallOptions {
                skip_invitation: policy.skip_invitation,
            },
            stop: None,
        }
    }
}

/// An event that was not delivered this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    pub seq: u64,
    pub key: String,
    pub error: String,
}

/// What a push did.
#[derive(Debug, Clone, Default)]
pub struct PushReport {
    /// Events the plan held.
    pub events: u64,
    pub delivered: u64,
    /// Attempts that were retried.
    pub retried: u64,
    /// Failed this time; the next push tries again.
    pub failed: Vec<Undelivered>,
    /// Given up on: needs a person.
    pub dead: Vec<Undelivered>,
    /// Waiting behind an earlier failed event of the same person.
    pub blocked: u64,
    /// Not started because the push was asked to stop.
    pub stopped: u64,
    pub warnings: Vec<String>,
    pub requests: u64,
    pub elapsed: Duration,
}

/// A push that could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the delivery recorder stopped")]
    Recorder,
}

/// Progress: events done so far, of how many.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Shared by the tasks of one push.
struct Ctx {
    client: Arc<LearnAmpClient>,
    store: Arc<Store>,
    options: PushOptions,
    limiter: RateLimiter,
    teams: Teams,
    remote_ids: Mutex<HashMap<String, u64>>,
    record: mpsc::UnboundedSender<DeliveryUpdate>,
    requests: AtomicU64,
    retried: AtomicU64,
    done: AtomicU64,
    total: u64,
    progress: Option<Progress>,
    outcomes: Mutex<PushReport>,
}

/// Delivers `plan` (see [`super::build_plan`]).
pub async fn push(
    store: Arc<Store>,
    client: Arc<LearnAmpClient>,
    plan: Plan,
    options: PushOptions,
    progress: Option<Progress>,
) -> Result<PushReport, PushError> {
    let started = Instant::now();
    let total = plan.events() as u64;
    if total == 0 {
        return Ok(PushReport {
            warnings: plan.warnings,
            elapsed: started.elapsed(),
            ..PushReport::default()
        });
    }
    // Refused credentials stop the run before anything is attempted.
    client.authenticate().await?;

    let (tx, rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(record_outcomes(store.clone(), rx));
    let remote_ids = store.remote_ids()?;
    let ctx = Arc::new(Ctx {
        client,
        store,
        limiter: RateLimiter::new(options.max_requests_per_second),
        teams: Teams::new(options.create_missing_teams),
        remote_ids: Mutex::new(remote_ids),
        record: tx,
        requests: AtomicU64::new(0),
        retried: AtomicU64::new(0),
        done: AtomicU64::new(0),
        total,
        progress,
        outcomes: Mutex::new(PushReport::default()),
        options,
    });

    let permits = Arc::new(Semaphore::new(ctx.options.concurrency.max(1)));
    let Plan {
        queues,
        follow_ups,
        warnings,
    } = plan;
    let mut by_level: Vec<Vec<UserQueue>> = Vec::new();
    for q in queues {
        match by_level.last_mut() {
            Some(level) if level.first().is_some_and(|f| f.level == q.level) => level.push(q),
            _ => by_level.push(vec![q]),
        }
    }
    for level in by_level {
        let mut tasks = tokio::task::JoinSet::new();
        for queue in level {
            let (ctx, permits) = (ctx.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                deliver_queue(&ctx, queue).await;
            });
        }
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }

    let mut warnings = warnings;
    for f in follow_ups {
        if let Err(e) = set_manager(&ctx, &f.key, &f.manager_email).await {
            warnings.push(format!(
                "{}: could not set manager {} after creating both: {e}",
                f.key, f.manager_email
            ));
        }
    }

    let report = {
        let mut report = ctx
            .outcomes
            .lock()
            .map_or_else(|p| p.into_inner().clone(), |r| r.clone());
        report.events = total;
        report.retried = ctx.retried.load(Ordering::Relaxed);
        report.requests = ctx.requests.load(Ordering::Relaxed);
        report.warnings = warnings;
        report.failed.sort_by_key(|u| u.seq);
        report.dead.sort_by_key(|u| u.seq);
        report
    };
    drop(ctx); // closes the recorder's channel
    writer.await.map_err(|_| PushError::Recorder)??;
    Ok(PushReport {
        elapsed: started.elapsed(),
        ..report
    })
}

/// One person's events in order; a failure holds back the rest.
async fn deliver_queue(ctx: &Ctx, queue: UserQueue) {
    let mut steps = queue.steps.into_iter();
    while let Some(step) = steps.next() {
        if ctx.options.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
            let left = 1 + steps.len() as u64;
            if let Ok(mut r) = ctx.outcomes.lock() {
                r.stopped += left;
            }
            return;
        }
        let delivered = deliver_step(ctx, &queue.key, step).await;
        ctx.progress_tick();
        if !delivered {
            let rest = steps.len() as u64;
            if let Ok(mut r) = ctx.outcomes.lock() {
                r.blocked += rest;
            }
            for _ in 0..rest {
                ctx.progress_tick();
            }
            return;
        }
    }
}

/// Delivers one event with retries; records the outcome. True if delivered.
async fn deliver_step(ctx: &Ctx, key: &str, step: Step) -> bool {
    let mut attempts = step.prior_attempts;
    let mut uncertain = step.prior_attempts > 0;
    loop {
        attempts += 1;
        let outcome = attempt(ctx, key, &step, uncertain).await;
        let error = match outcome {
            Ok(remote_id) => {
                let time = clock::now_micros().unwrap_or_default();
                ctx.record(
                    step.seq,
                    key,
                    Delivery::Delivered {
                        time,
                        remote_id: Some(remote_id),
                    },
                    Some(remote_id),
                );
                if let Ok(mut r) = ctx.outcomes.lock() {
                    r.delivered += 1;
                }
                return true;
            }
            Err(e) => e,
        };
        uncertain |= error.outcome_unknown();
        let exhausted = attempts >= ctx.options.max_attempts;
        if error.is_retryable() && !exhausted {
            ctx.retried.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(seq = step.seq, key, attempts, "retrying after: {error}");
            tokio::time::sleep(error.retry_after().unwrap_or_else(|| backoff(attempts, step.seq))).await;
            continue;
        }
        let time = clock::now_micros().unwrap_or_default();
        let last_error = error.to_string();
        let failed = Undelivered {
            seq: step.seq,
            key: key.to_owned(),
            error: last_error.clone(),
        };
        if exhausted {
            tracing::error!(seq = step.seq, key, attempts, "gave up: {last_error}");
            ctx.record(
                step.seq,
                key,
                Delivery::Dead {
                    attempts,
                    last_error,
                    time,
                },
                None,
            );
            if let Ok(mut r) = ctx.outcomes.lock() {
                r.dead.push(failed);
            }
        } else {
            tracing::warn!(seq = step.seq, key, "failed: {last_error}");
            ctx.record(
                step.seq,
                key,
                Delivery::Failed {
                    attempts,
                    last_error,
                    time,
                },
                None,
            );
            if let Ok(mut r) = ctx.outcomes.lock() {
                r.failed.push(failed);
            }
        }
        return false;
    }
}

/// One attempt at an event; the person's Learn Amp id on success.
async fn attempt(ctx: &Ctx, key: &str, step: &Step, uncertain: bool) -> Result<u64, StepError> {
    match (step.call.action, &step.event) {
        (Action::Create, EventKind::Created { record }) => {
            if uncertain && let Some(existing) = lookup(ctx, key, Some(record)).await? {
                return update_existing(ctx, key, &existing, record, &step.call).await;
            }
            let request = ctx
                .form(ApiRequest::new(Method::Post, "/v1/users"), &step.call.fields)
                .await?;
            match ctx.send(&request).await {
                Ok(body) => {
                    let id = body["id"].as_u64().ok_or_else(|| {
                        StepError::Api(ApiError::Unexpected(format!("created user without an id: {body}")))
                    })?;
                    ctx.remember(key, id);
                    Ok(id)
                }
                Err(e) if e.is_already_taken() => match lookup(ctx, key, Some(record)).await? {
                    Some(existing) => update_existing(ctx, key, &existing, record, &step.call).await,
                    None => Err(StepError::Api(e)),
                },
                Err(e) => Err(StepError::Api(e)),
            }
        }
        (Action::Deactivate, _) => {
            let id = ctx.remote_id(key).await?;
            ctx.send(&ApiRequest::new(Method::Put, format!("/v1/users/{id}/deactivate")))
                .await?;
            Ok(id)
        }
        (_, _) => {
            let id = ctx.remote_id(key).await?;
            let request = ctx
                .form(
                    ApiRequest::new(Method::Put, format!("/v1/users/{id}")),
                    &step.call.fields,
                )
                .await?;
            ctx.send(&request).await?;
            Ok(id)
        }
    }
}

/// The person exists already: send the whole record as an update.
async fn update_existing(
    ctx: &Ctx,
    key: &str,
    existing: &RemoteUser,
    record: &Record,
    call: &UserCall,
) -> Result<u64, StepError> {
    ctx.remember(key, existing.id);
    // Keep the plan's manager decision: it is the create call's managerEmail.
    let manager = call
        .fields
        .iter()
        .find(|(f, _)| f == "managerEmail")
        .and_then(|(_, v)| match v {
            FormValue::Text(m) => Some(m.as_str()),
            _ => None,
        });
    let manager = manager.map_or(ManagerField::Omit, ManagerField::Set);
    let update = update_with_record(record, manager, existing.deactivated);
    let request = ctx
        .form(
            ApiRequest::new(Method::Put, format!("/v1/users/{}", existing.id)),
            &update.fields,
        )
        .await?;
    ctx.send(&request).await?;
    Ok(existing.id)
}

/// Finds the person in Learn Amp by external id, else by email.
async fn lookup(ctx: &Ctx, key: &str, record: Option<&Record>) -> Result<Option<RemoteUser>, StepError> {
    let owned;
    let record = match record {
        Some(r) => Some(r),
        None => {
            owned = ctx
                .store
                .user_state(key)
                .map_err(|e| StepError::NotFound(format!("{key}: {e}")))?;
            owned.as_ref().map(|s| &s.record)
        }
    };
    let external_id = record.and_then(|r| r.get("integrationExternalId"));
    if let Some(id) = external_id {
        ctx.limiter.wait().await;
        ctx.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(user) = ctx.client.user_by_external_id(id).await? {
            return Ok(Some(user));
        }
    }
    match record.and_then(|r| r.get("email")) {
        Some(email) => {
            ctx.limiter.wait().await;
            ctx.requests.fetch_add(1, Ordering::Relaxed);
            Ok(ctx.client.user_by_email(email).await?)
        }
        None => Ok(None),
    }
}

async fn set_manager(ctx: &Ctx, key: &str, manager: &str) -> Result<(), StepError> {
    let id = ctx.remote_id(key).await?;
    ctx.send(&ApiRequest::new(Method::Put, format!("/v1/users/{id}")).field("managerEmail", manager))
        .await?;
    Ok(())
}

impl Ctx {
    async fn send(&self, request: &ApiRequest) -> Result<serde_json::Value, ApiError> {
        self.limiter.wait().await;
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(self.client.send(request).await?.body)
    }

    /// Adds `fields` to `request`, resolving team names to ids.
    async fn form(&self, mut request: ApiRequest, fields: &[(String, FormValue)]) -> Result<ApiRequest, StepError> {
        for (name, value) in fields {
            match value {
                FormValue::Text(text) => request.form.push((name.clone(), text.clone())),
                FormValue::Team(team) => {
                    let id = self.teams.id(&self.client, &team.team).await?;
                    request.form.push((name.clone(), id.to_string()));
                }
                FormValue::Teams(teams) if teams.is_empty() => request.form.push((name.clone(), String::new())),
                FormValue::Teams(teams) => {
                    for team in teams {
                        let id = self.teams.id(&self.client, &team.team).await?;
                        request.form.push((name.clone(), id.to_string()));
                    }
                }
            }
        }
        Ok(request)
    }

    /// The person's Learn Amp id: recorded, or looked up.
    async fn remote_id(&self, key: &str) -> Result<u64, StepError> {
        if let Some(id) = self.remote_ids.lock().ok().and_then(|ids| ids.get(key).copied()) {
            return Ok(id);
        }
        match lookup(self, key, None).await? {
            Some(user) => {
                self.remember(key, user.id);
                Ok(user.id)
            }
            None => Err(StepError::NotFound(format!(
                "{key} is not in Learn Amp (was their creation delivered?)"
            ))),
        }
    }

    fn remember(&self, key: &str, id: u64) {
        if let Ok(mut ids) = self.remote_ids.lock() {
            ids.insert(key.to_owned(), id);
        }
    }

    fn record(&self, seq: u64, key: &str, delivery: Delivery, remote_id: Option<u64>) {
        // The recorder outlives every task; a send error means it failed,
        // which the push reports when it joins it.
        let _ = self.record.send(DeliveryUpdate {
            seq,
            key: key.to_owned(),
            delivery,
            remote_id,
        });
    }

    fn progress_tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(progress) = &self.progress {
            progress(done, self.total);
        }
    }
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Team(#[from] TeamError),
    #[error("{0}")]
    NotFound(String),
}

impl StepError {
    fn is_retryable(&self) -> bool {
        match self {
            StepError::Api(e) | StepError::Team(TeamError::Api(e)) => e.is_retryable(),
            _ => false,
        }
    }
    fn outcome_unknown(&self) -> bool {
        matches!(self, StepError::Api(e) if e.outcome_unknown())
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            StepError::Api(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Exponential backoff with jitter (50–100% of the step), spread by `seq`
/// so retrying tasks do not stampede together.
fn backoff(attempt: u32, seq: u64) -> Duration {
    let step = BACKOFF_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(BACKOFF_MAX);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut x = seq ^ (u64::from(attempt) << 32) ^ u64::from(nanos);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    let jitter = 0.5 + (x >> 11) as f64 / (1u64 << 53) as f64 / 2.0;
    step.mul_f64(jitter)
}

/// Commits delivery outcomes in batches: one redb transaction (and fsync)
/// every `RECORD_EVERY` at most, not one per request.
async fn record_outcomes(store: Arc<Store>, mut rx: mpsc::UnboundedReceiver<DeliveryUpdate>) -> Result<(), PushError> {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + RECORD_EVERY;
        while let Ok(Some(next)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            batch.push(next);
        }
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.record_deliveries(&batch))
            .await
            .map_err(|_| PushError::Recorder)??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..20 {
            let d = backoff(attempt, 7);
            let step = BACKOFF_BASE.saturating_mul(1 << (attempt - 1).min(16)).min(BACKOFF_MAX);
            assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d:?} vs {step:?}");
        }
    }
}
