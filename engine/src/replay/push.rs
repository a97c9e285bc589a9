//! The push: every planned request sent to Learn Amp, per person in order,
//! people in parallel, at the client's adaptive pace, and every outcome
//! recorded in the store as it happens.
//!
//! - **Transient faults** (429, 5xx, timeouts, dropped connections) are
//!   retried with backoff, honouring `Retry-After`, for up to
//!   `retry_for` from the start of the push; they never make an event give
//!   up. What is still undelivered then is `waiting` and goes out with the
//!   next push. A 429 is not an attempt.
//! - **Exactly once**: a create whose outcome is unknown (no answer, or a
//!   5xx) is never blindly re-sent: the next step is a lookup (not an
//!   attempt); finding nobody leads straight to sending the create again,
//!   finding them sends the record as an update. "Already taken" likewise.
//! - **Refusals** (400, 403, 404 for an unknown custom field, 422) are
//!   `failed` at once, with Learn Amp's message, and not re-sent by later
//!   pushes. The person's next request carries them: it sends their latest
//!   state ([`super::catch_up`]), so one bad row never blocks them.
//! - **Deleted by hand**: a 404 for a person Learn Amp had means someone
//!   deleted them there; after a lookup confirms it, they are created again
//!   from their full record, and the summary says so.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ampsync_store::{Delivery, DeliveryUpdate, EventKind, Record, Store, StoreError};
use tokio::sync::{Semaphore, mpsc};

use super::catch_up;
use super::plan::{Plan, Step, UserQueue};
use super::requests::{Action, Addressee, FormValue, ManagerField, UserCall, call_for, endpoint, update_with_record};
use super::teams::{TeamError, Teams};
use crate::clock;
use crate::config::LearnAmpConfig;
use crate::learnamp::{ApiError, ApiRequest, LearnAmpClient, Method, RemoteUser};

/// Outcomes are committed in batches at least this often.
const RECORD_EVERY: Duration = Duration::from_millis(50);
/// The first retry waits this long; each next one twice as long.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A stop request is noticed within this long, whatever is waiting.
const STOP_POLL: Duration = Duration::from_millis(100);

/// How a push behaves.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub concurrency: usize,
    /// How long transient faults are retried in this push.
    pub retry_for: Duration,
    pub create_missing_teams: bool,
    /// Set to stop: requests under way finish and are recorded, no new one
    /// starts and no wait goes on; the next push resumes (SIGTERM).
    pub stop: Option<Arc<AtomicBool>>,
}

impl PushOptions {
    pub fn from_config(learnamp: &LearnAmpConfig) -> PushOptions {
        PushOptions {
            concurrency: learnamp.concurrency,
            retry_for: learnamp.retry_for,
            create_missing_teams: learnamp.create_missing_teams,
            stop: None,
        }
    }
}

/// An event that was not delivered this time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Undelivered {
    pub seq: u64,
    pub key: String,
    /// Learn Amp's HTTP status, when it answered.
    pub status: Option<u16>,
    pub error: String,
}

/// What a push did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PushReport {
    /// Requests the plan held.
    pub events: u64,
    /// Events delivered (including refused ones a later request carried).
    #[serde(rename = "sent")]
    pub delivered: u64,
    /// Attempts that were retried.
    pub retried: u64,
    /// Still held back by transient faults when `retry_for` ran out: the
    /// next push sends them.
    pub waiting: Vec<Undelivered>,
    /// Refused by Learn Amp this time: they need a person, or the person's
    /// next change.
    pub failed: Vec<Undelivered>,
    /// Behind a waiting event of the same person.
    pub blocked: u64,
    /// Not started because the push was asked to stop.
    pub stopped: u64,
    /// People deleted in Learn Amp by hand, created again.
    pub recreated: Vec<String>,
    pub warnings: Vec<String>,
    /// Requests sent to `/v1/*`, and how many were answered 429.
    pub requests: u64,
    pub rate_limited: u64,
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl PushReport {
    /// Something was refused: a person must act (exit 1).
    pub fn has_failures(&self) -> bool {
        !self.failed.is_empty()
    }
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
    /// Learn Amp stopped accepting the credentials mid-run: what was not
    /// sent waits for the next push.
    #[error("{0}; the events not yet sent wait for the next push")]
    Halted(String),
}

/// Progress: events done so far, of how many.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Shared by the tasks of one push.
struct Ctx {
    client: Arc<LearnAmpClient>,
    store: Arc<Store>,
    options: PushOptions,
    plan_options: super::CallOptions,
    deadline: Instant,
    teams: Teams,
    remote_ids: Mutex<HashMap<String, u64>>,
    record: mpsc::UnboundedSender<DeliveryUpdate>,
    retried: AtomicU64,
    /// Set when Learn Amp refuses the credentials mid-run: nothing more
    /// can be sent, so nothing more is tried.
    halted: Mutex<Option<String>>,
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
    // Refused credentials or scopes stop the run before anything is tried.
    client.authenticate().await?;
    let (requests_before, limited_before) = client.request_counts();

    let (tx, rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(record_outcomes(store.clone(), rx));
    let remote_ids = store.remote_ids()?;
    let ctx = Arc::new(Ctx {
        client,
        store,
        deadline: started + options.retry_for,
        teams: Teams::new(options.create_missing_teams),
        plan_options: plan.options,
        remote_ids: Mutex::new(remote_ids),
        record: tx,
        retried: AtomicU64::new(0),
        halted: Mutex::new(None),
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
        ..
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
        if ctx.stopping() {
            break;
        }
        if let Err(e) = set_manager(&ctx, &f.key, &f.manager_email).await {
            warnings.push(format!(
                "{}: could not set manager {} after creating both: {e}",
                f.key, f.manager_email
            ));
        }
    }

    let (requests_after, limited_after) = ctx.client.request_counts();
    let report = {
        let mut report = ctx
            .outcomes
            .lock()
            .map_or_else(|p| p.into_inner().clone(), |r| r.clone());
        report.events = total;
        report.retried = ctx.retried.load(Ordering::Relaxed);
        report.requests = requests_after - requests_before;
        report.rate_limited = limited_after - limited_before;
        report.warnings.extend(warnings);
        report.failed.sort_by_key(|u| u.seq);
        report.waiting.sort_by_key(|u| u.seq);
        report.recreated.sort();
        report
    };
    let halted = ctx.halted.lock().ok().and_then(|h| h.clone());
    drop(ctx); // closes the recorder's channel
    writer.await.map_err(|_| PushError::Recorder)??;
    if let Some(message) = halted {
        return Err(PushError::Halted(message));
    }
    Ok(PushReport {
        elapsed: started.elapsed(),
        ..report
    })
}

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    /// Refused: the person's next step carries it.
    Refused,
    /// Transient faults outlasted the budget, or the push is stopping.
    Waiting,
}

/// One person's steps in order. A refused step rides along with the next
/// one; a waiting step holds back the rest until the next push.
async fn deliver_queue(ctx: &Ctx, queue: UserQueue) {
    let mut chain: Vec<Step> = Vec::new();
    let mut steps = queue.steps.into_iter();
    while let Some(step) = steps.next() {
        if ctx.stopping() {
            let left = 1 + steps.len() as u64;
            ctx.outcome(|r| r.stopped += left);
            return;
        }
        let step = if chain.is_empty() {
            step
        } else {
            carry(ctx, std::mem::take(&mut chain), step)
        };
        let outcome = deliver_step(ctx, &queue.key, &step).await;
        ctx.progress_tick();
        match outcome {
            Outcome::Delivered => {}
            Outcome::Refused => chain.push(step),
            Outcome::Waiting => {
                let rest = steps.len() as u64;
                ctx.outcome(|r| r.blocked += rest);
                for _ in 0..rest {
                    ctx.progress_tick();
                }
                return;
            }
        }
    }
}

/// `next` carrying the refused steps of `chain`: one request with the
/// person's latest state.
fn carry(ctx: &Ctx, chain: Vec<Step>, next: Step) -> Step {
    let mut kinds: Vec<&EventKind> = chain.iter().map(|s| &s.event).collect();
    kinds.push(&next.event);
    let folded = catch_up::fold(&kinds);
    let mut covers: Vec<u64> = Vec::new();
    for s in &chain {
        covers.extend(&s.covers);
        covers.push(s.seq);
    }
    covers.extend(&next.covers);
    let manager = if next.manager == super::plan::Manager::AsIs {
        chain
            .iter()
            .rev()
            .map(|s| s.manager.clone())
            .find(|m| *m != super::plan::Manager::AsIs)
            .unwrap_or(super::plan::Manager::AsIs)
    } else {
        next.manager.clone()
    };
    let external_id = chain.first().and_then(|s| s.external_id.clone());
    let (event, call) = match folded {
        Some(kind) => {
            let call = call_for(&kind, manager.field(), next.teams, ctx.plan_options);
            (kind, call)
        }
        None => (EventKind::Deactivated, UserCall::nothing()),
    };
    Step {
        event,
        call,
        covers,
        manager,
        external_id,
        ..next
    }
}

/// Delivers one step, retrying transient faults; records the outcome.
async fn deliver_step(ctx: &Ctx, key: &str, step: &Step) -> Outcome {
    if step.call.action == Action::Nothing {
        ctx.finish(
            step,
            key,
            Delivery::Skipped {
                reason: "created and gone again before Learn Amp had them: nothing to send".into(),
            },
            None,
        );
        return Outcome::Delivered;
    }
    if step.call.action == Action::Update && step.call.fields.is_empty() {
        // Only fields Learn Amp cannot take changed (a time zone, a value
        // removed from the file): nothing to send.
        let remote_id = ctx.known_id(key);
        ctx.finish(step, key, Delivery::Delivered { time: now(), remote_id }, remote_id);
        ctx.outcome(|r| r.delivered += 1 + step.covers.len() as u64);
        return Outcome::Delivered;
    }
    let mut attempts = step.prior_attempts;
    // A write from an earlier push may have been applied: look first.
    let mut uncertain = step.prior_attempts > 0;
    let since = step.waiting_since.unwrap_or_else(now);
    let mut retries = 0u32;
    loop {
        let mut wrote = false;
        let result = attempt(ctx, key, step, &mut uncertain, &mut wrote).await;
        let error = match result {
            Ok(remote_id) => {
                let time = now();
                ctx.finish(step, key, Delivery::Delivered { time, remote_id }, remote_id);
                ctx.outcome(|r| r.delivered += 1 + step.covers.len() as u64);
                return Outcome::Delivered;
            }
            Err(e) => e,
        };
        if let Some(message) = error.stops_the_run() {
            // No later request can succeed either: stop here, send nothing more.
            if let Ok(mut halted) = ctx.halted.lock() {
                halted.get_or_insert(message.clone());
            }
            let delivery = Delivery::Waiting {
                attempts,
                last_error: message,
                since,
                time: now(),
            };
            ctx.record(step.seq, key, delivery, None);
            return Outcome::Waiting;
        }
        let rate_limited = error.is_rate_limited();
        if wrote && !rate_limited {
            attempts += 1;
        }
        let message = error.to_string();
        if error.is_retryable() {
            retries += 1;
            let wait = error.retry_after().unwrap_or_else(|| backoff(retries, step.seq));
            let in_time = Instant::now() + wait <= ctx.deadline;
            if in_time && !ctx.stopping() {
                ctx.retried.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(seq = step.seq, retries, "retrying after: {message}");
                if ctx.sleep(wait).await {
                    continue;
                }
            }
            tracing::info!(seq = step.seq, "still undelivered, waits for the next push: {message}");
            let delivery = Delivery::Waiting {
                attempts,
                last_error: message.clone(),
                since,
                time: now(),
            };
            ctx.record(step.seq, key, delivery, None);
            ctx.outcome(|r| {
                r.waiting.push(Undelivered {
                    seq: step.seq,
                    key: key.to_owned(),
                    status: error.status(),
                    error: message,
                })
            });
            return Outcome::Waiting;
        }
        tracing::warn!(seq = step.seq, "refused by Learn Amp: {message}");
        let delivery = Delivery::Failed {
            attempts,
            status: error.status(),
            error: message.clone(),
            time: now(),
        };
        ctx.record(step.seq, key, delivery, None);
        ctx.outcome(|r| {
            r.failed.push(Undelivered {
                seq: step.seq,
                key: key.to_owned(),
                status: error.status(),
                error: message,
            })
        });
        return Outcome::Refused;
    }
}

/// One attempt at a step; the person's Learn Amp id on success (none for
/// a deactivation of someone Learn Amp does not have).
async fn attempt(
    ctx: &Ctx,
    key: &str,
    step: &Step,
    uncertain: &mut bool,
    wrote: &mut bool,
) -> Result<Option<u64>, StepError> {
    match (step.call.action, &step.event) {
        (Action::Create, EventKind::Created { record }) => {
            create(ctx, key, record, step, uncertain, wrote).await.map(Some)
        }
        (Action::Deactivate, _) => deactivate(ctx, key, wrote).await,
        (Action::Update, _) => update(ctx, key, step, wrote).await.map(Some),
        (action, kind) => Err(StepError::Unexpected(format!(
            "a {action:?} call for a {} event",
            kind.name()
        ))),
    }
}

/// What to do about a creation, given whether its outcome is uncertain
/// and what a lookup found. Pinned by a test: an uncertain create is
/// looked up, and finding nobody sends it again.
#[derive(Debug, PartialEq, Eq)]
enum CreateNext {
    LookUp,
    Send,
    UpdateExisting,
}

fn create_next(uncertain: bool, found: Option<bool>) -> CreateNext {
    match (uncertain, found) {
        (true, None) => CreateNext::LookUp,
        (_, Some(true)) => CreateNext::UpdateExisting,
        _ => CreateNext::Send,
    }
}

async fn create(
    ctx: &Ctx,
    key: &str,
    record: &Record,
    step: &Step,
    uncertain: &mut bool,
    wrote: &mut bool,
) -> Result<u64, StepError> {
    let mut found = None;
    loop {
        match create_next(*uncertain, found.as_ref().map(Option::is_some)) {
            CreateNext::LookUp => found = Some(lookup(ctx, key, Some(record)).await?),
            CreateNext::UpdateExisting => {
                let existing = found.flatten().ok_or(StepError::Unexpected("lookup lost".into()))?;
                *wrote = true;
                return update_existing(ctx, key, &existing, record, step.manager.field()).await;
            }
            CreateNext::Send => break,
        }
    }
    // Nobody there (or no doubt): send the create.
    *uncertain = false;
    let request = ctx
        .form(ApiRequest::new(Method::Post, "/v1/users"), &step.call.fields)
        .await?;
    *wrote = true;
    match ctx.send(&request).await {
        Ok(body) => {
            let id = body["id"]
                .as_u64()
                .ok_or_else(|| StepError::Api(ApiError::Unexpected("a created user without an id".into())))?;
            ctx.remember(key, id);
            Ok(id)
        }
        Err(e) if e.is_already_taken() => match lookup(ctx, key, Some(record)).await? {
            Some(existing) => update_existing(ctx, key, &existing, record, step.manager.field()).await,
            None => Err(StepError::Api(e)),
        },
        Err(e) => {
            *uncertain |= e.outcome_unknown();
            Err(unknown_custom_field(e, &step.call))
        }
    }
}

/// An update, by external id when Learn Amp has one for the person, else
/// by id. A 404 means they are gone (deleted by hand: created again) or a
/// custom field is unknown (refused).
async fn update(ctx: &Ctx, key: &str, step: &Step, wrote: &mut bool) -> Result<u64, StepError> {
    let by_external_id = step.external_id.as_deref();
    let known_id = ctx.known_id(key);
    let who = match (by_external_id, known_id) {
        (Some(ext), _) => Addressee::ExternalId(ext),
        (None, Some(id)) => Addressee::Id(id),
        (None, None) => Addressee::Id(ctx.remote_id(key).await?),
    };
    let Some((method, path)) = endpoint(Action::Update, who) else {
        return Err(StepError::Unexpected("no endpoint for an update".into()));
    };
    let request = ctx.form(ApiRequest::new(method, path), &step.call.fields).await?;
    *wrote = true;
    match ctx.send(&request).await {
        Ok(body) => {
            let id = body["id"].as_u64().or(known_id);
            let id = match id {
                Some(id) => id,
                None => ctx.remote_id(key).await?,
            };
            ctx.remember(key, id);
            Ok(id)
        }
        Err(e) if e.is_not_found() => {
            // Gone, or the route did not find them by that external id?
            match lookup(ctx, key, None).await? {
                Some(user) => {
                    ctx.remember(key, user.id);
                    if matches!(who, Addressee::Id(id) if id == user.id) {
                        // They are there: the 404 was about something else.
                        return Err(unknown_custom_field(e, &step.call));
                    }
                    let request = ctx
                        .form(
                            ApiRequest::new(Method::Put, format!("/v1/users/{}", user.id)),
                            &step.call.fields,
                        )
                        .await?;
                    match ctx.send(&request).await {
                        Ok(_) => Ok(user.id),
                        Err(e) => Err(unknown_custom_field(e, &step.call)),
                    }
                }
                None => recreate(ctx, key, step).await,
            }
        }
        Err(e) => Err(unknown_custom_field(e, &step.call)),
    }
}

/// Someone deleted in Learn Amp by hand: created again from their full
/// current record.
async fn recreate(ctx: &Ctx, key: &str, step: &Step) -> Result<u64, StepError> {
    let store = ctx.store.clone();
    let owned_key = key.to_owned();
    let state = tokio::task::spawn_blocking(move || store.user_state(&owned_key))
        .await
        .map_err(|_| StepError::Unexpected("reading the state failed".into()))?
        .map_err(|e| StepError::Unexpected(format!("reading {key}'s state: {e}")))?
        .ok_or_else(|| StepError::NotFound(format!("{key} is in neither Learn Amp nor the log")))?;
    let kind = EventKind::Created { record: state.record };
    let call = call_for(&kind, step.manager.field(), step.teams, ctx.plan_options);
    let request = ctx
        .form(ApiRequest::new(Method::Post, "/v1/users"), &call.fields)
        .await?;
    let body = ctx.send(&request).await.map_err(|e| unknown_custom_field(e, &call))?;
    let id = body["id"]
        .as_u64()
        .ok_or_else(|| StepError::Api(ApiError::Unexpected("a created user without an id".into())))?;
    ctx.remember(key, id);
    tracing::warn!(
        seq = step.seq,
        "a person deleted in Learn Amp by hand was created again"
    );
    ctx.outcome(|r| r.recreated.push(key.to_owned()));
    Ok(id)
}

/// Deactivates by Learn Amp id (there is no external-id route for it). A
/// person Learn Amp does not have is left as they are, with a warning.
async fn deactivate(ctx: &Ctx, key: &str, wrote: &mut bool) -> Result<Option<u64>, StepError> {
    let mut id = match ctx.known_id(key) {
        Some(id) => id,
        None => match lookup(ctx, key, None).await? {
            Some(user) => user.id,
            None => return Ok(not_there(ctx, key)),
        },
    };
    for _ in 0..2 {
        *wrote = true;
        match ctx
            .send(&ApiRequest::new(Method::Put, format!("/v1/users/{id}/deactivate")))
            .await
        {
            Ok(_) => {
                ctx.remember(key, id);
                return Ok(Some(id));
            }
            Err(e) if e.is_not_found() => match lookup(ctx, key, None).await? {
                Some(user) if user.id != id => id = user.id,
                Some(_) => return Err(StepError::Api(e)),
                None => return Ok(not_there(ctx, key)),
            },
            Err(e) => return Err(StepError::Api(e)),
        }
    }
    Ok(Some(id))
}

fn not_there(ctx: &Ctx, key: &str) -> Option<u64> {
    ctx.outcome(|r| {
        r.warnings.push(format!(
            "{key} is not in Learn Amp (deleted there by hand?): nothing to deactivate"
        ))
    });
    None
}

/// A 404 on a call that names custom fields, for a person who exists: one
/// of those fields is unknown to Learn Amp.
fn unknown_custom_field(e: ApiError, call: &UserCall) -> StepError {
    let names = call.custom_fields();
    if e.is_not_found() && !names.is_empty() {
        return StepError::UnknownCustomField {
            names: names.join(", "),
            source: e,
        };
    }
    StepError::Api(e)
}

/// The person exists already: send the whole record as an update.
async fn update_existing(
    ctx: &Ctx,
    key: &str,
    existing: &RemoteUser,
    record: &Record,
    manager: ManagerField<'_>,
) -> Result<u64, StepError> {
    ctx.remember(key, existing.id);
    let update = update_with_record(record, manager, existing.deactivated);
    let request = ctx
        .form(
            ApiRequest::new(Method::Put, format!("/v1/users/{}", existing.id)),
            &update.fields,
        )
        .await?;
    ctx.send(&request).await.map_err(|e| unknown_custom_field(e, &update))?;
    Ok(existing.id)
}

/// Finds the person in Learn Amp by external id, else by email, whatever
/// their status. Not a delivery attempt.
async fn lookup(ctx: &Ctx, key: &str, record: Option<&Record>) -> Result<Option<RemoteUser>, StepError> {
    let owned;
    let record = match record {
        Some(r) => Some(r),
        None => {
            let store = ctx.store.clone();
            let owned_key = key.to_owned();
            owned = tokio::task::spawn_blocking(move || store.user_state(&owned_key))
                .await
                .map_err(|_| StepError::Unexpected("reading the state failed".into()))?
                .map_err(|e| StepError::NotFound(format!("{key}: {e}")))?;
            owned.as_ref().map(|s| &s.record)
        }
    };
    if let Some(id) = record.and_then(|r| r.get("integrationExternalId"))
        && let Some(user) = ctx.client.find_user_by_external_id(id).await?
    {
        return Ok(Some(user));
    }
    match record.and_then(|r| r.get("email")) {
        Some(email) => Ok(ctx.client.find_user_by_email(email).await?),
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

    fn known_id(&self, key: &str) -> Option<u64> {
        self.remote_ids.lock().ok().and_then(|ids| ids.get(key).copied())
    }

    /// The person's Learn Amp id: recorded, or looked up.
    async fn remote_id(&self, key: &str) -> Result<u64, StepError> {
        if let Some(id) = self.known_id(key) {
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

    /// Records `delivery` for the step's event and marks the refused events
    /// it carried as superseded by it.
    fn finish(&self, step: &Step, key: &str, delivery: Delivery, remote_id: Option<u64>) {
        let time = now();
        for &seq in &step.covers {
            let carried = match &delivery {
                Delivery::Skipped { reason } => Delivery::Skipped { reason: reason.clone() },
                _ => Delivery::Superseded { by: step.seq, time },
            };
            self.record(seq, key, carried, None);
        }
        self.record(step.seq, key, delivery, remote_id);
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

    fn outcome(&self, f: impl FnOnce(&mut PushReport)) {
        if let Ok(mut r) = self.outcomes.lock() {
            f(&mut r);
        }
    }

    fn progress_tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(progress) = &self.progress {
            progress(done, self.total);
        }
    }

    fn stopping(&self) -> bool {
        self.options.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed))
            || self.halted.lock().map_or(true, |h| h.is_some())
    }

    /// Sleeps for `wait`, or less when asked to stop: false if stopped.
    async fn sleep(&self, wait: Duration) -> bool {
        let until = tokio::time::Instant::now() + wait;
        loop {
            if self.stopping() {
                return false;
            }
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            tokio::time::sleep(left.min(STOP_POLL)).await;
        }
    }
}

fn now() -> i64 {
    clock::now_micros().unwrap_or_default()
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Team(#[from] TeamError),
    #[error("{source} (a custom field it names may not exist in Learn Amp: {names})")]
    UnknownCustomField {
        names: String,
        #[source]
        source: ApiError,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unexpected(String),
}

impl StepError {
    fn api(&self) -> Option<&ApiError> {
        match self {
            StepError::Api(e) | StepError::Team(TeamError::Api(e)) => Some(e),
            _ => None,
        }
    }
    fn is_retryable(&self) -> bool {
        self.api().is_some_and(ApiError::is_retryable)
    }
    fn is_rate_limited(&self) -> bool {
        self.api().is_some_and(ApiError::is_rate_limited)
    }
    fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(ApiError::retry_after)
    }
    fn status(&self) -> Option<u16> {
        match self {
            StepError::UnknownCustomField { source, .. } => source.status(),
            other => other.api().and_then(ApiError::status),
        }
    }
    /// The credentials stopped working: the message, to end the run with.
    fn stops_the_run(&self) -> Option<String> {
        self.api().filter(|e| e.stops_the_run()).map(ApiError::to_string)
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
mod tests;
