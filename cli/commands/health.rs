//! The daemon's `/healthz` and `/metrics` (Prometheus text format).
//!
//! `/healthz` is 200 `ok` unless a run has been going longer than
//! `schedule.max_run_minutes`: then 503 and why, so a run stuck on a server
//! that never answers is noticed.

use std::fmt::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ampsync_engine::runlog::{self, RunOutcome};
use ampsync_engine::store::Store;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// What the endpoints read.
#[derive(Clone)]
pub struct Health {
    pub store: Arc<Store>,
    pub runs: PathBuf,
    pub watch: RunWatch,
}

/// The run under way, if any, and how long one may go.
#[derive(Debug, Clone)]
pub struct RunWatch {
    running: Arc<Mutex<Option<(Instant, String)>>>,
    limit: Duration,
}

impl RunWatch {
    pub fn new(limit: Duration) -> RunWatch {
        RunWatch {
            running: Arc::new(Mutex::new(None)),
            limit,
        }
    }

    /// A run began (`start`: its start time as recorded).
    pub fn started(&self, start: &str) {
        if let Ok(mut running) = self.running.lock() {
            *running = Some((Instant::now(), start.to_owned()));
        }
    }

    /// The run ended.
    pub fn ended(&self) {
        if let Ok(mut running) = self.running.lock() {
            *running = None;
        }
    }

    /// Why the daemon is unhealthy, if it is.
    pub fn problem(&self) -> Option<String> {
        let running = self.running.lock().ok()?;
        let (since, start) = running.as_ref()?;
        stuck(since.elapsed(), self.limit, start)
    }
}

/// The complaint about a run `elapsed` long, if that is over `limit`.
fn stuck(elapsed: Duration, limit: Duration, start: &str) -> Option<String> {
    (elapsed > limit).then(|| {
        format!(
            "unhealthy: the run that started at {start} has been going for {} s, longer than schedule.max_run_minutes ({} s)",
            elapsed.as_secs(),
            limit.as_secs_f64()
        )
    })
}

/// `/healthz` and `/metrics`, open to anyone who can reach them (a probe
/// and a scraper carry no token; they show no personal data).
pub fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(health)
}

/// Serves until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, health: Health) {
    let app = router(health);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("health server stopped: {e}");
    }
}

async fn healthz(State(h): State<Health>) -> impl IntoResponse {
    match h.watch.problem() {
        None => (StatusCode::OK, "ok\n".to_owned()),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
    }
}

async fn metrics(State(h): State<Health>) -> impl IntoResponse {
    match tokio::task::spawn_blocking(move || render(&h)).await {
        Ok(Ok(text)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            text,
        ),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            format!("{e}\n"),
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            format!("{e}\n"),
        ),
    }
}

const OUTCOMES: [RunOutcome; 7] = [
    RunOutcome::Held,
    RunOutcome::Imported,
    RunOutcome::NoNewFile,
    RunOutcome::MissingFile,
    RunOutcome::Unsettled,
    RunOutcome::Failed,
    RunOutcome::Interrupted,
];

fn render(h: &Health) -> anyhow::Result<String> {
    let mut out = String::new();
    let last = runlog::last(&h.runs)?;
    writeln!(
        out,
        "# HELP ampsync_last_run_timestamp_seconds End of the last run (Unix time)."
    )?;
    writeln!(out, "# TYPE ampsync_last_run_timestamp_seconds gauge")?;
    let end = last
        .as_ref()
        .and_then(|r| chrono::DateTime::parse_from_rfc3339(&r.end).ok())
        .map_or(0, |t| t.timestamp());
    writeln!(out, "ampsync_last_run_timestamp_seconds {end}")?;
    writeln!(
        out,
        "# HELP ampsync_last_run_outcome 1 for the outcome of the last run."
    )?;
    writeln!(out, "# TYPE ampsync_last_run_outcome gauge")?;
    for outcome in OUTCOMES {
        let value = u8::from(last.as_ref().is_some_and(|r| r.outcome == outcome));
        writeln!(
            out,
            "ampsync_last_run_outcome{{outcome=\"{}\"}} {value}",
            outcome.name()
        )?;
    }
    writeln!(
        out,
        "# HELP ampsync_missing_file 1 when the last run found no new file by schedule.expect_file_by."
    )?;
    writeln!(out, "# TYPE ampsync_missing_file gauge")?;
    writeln!(
        out,
        "ampsync_missing_file {}",
        u8::from(last.as_ref().is_some_and(|r| r.outcome == RunOutcome::MissingFile))
    )?;

    let snapshots = h.store.snapshots()?;
    let sum = |f: fn(&ampsync_engine::store::Counts) -> u64| snapshots.iter().map(|s| f(&s.counts)).sum::<u64>();
    writeln!(
        out,
        "# HELP ampsync_events_total Events in the log, by kind (from imports)."
    )?;
    writeln!(out, "# TYPE ampsync_events_total counter")?;
    writeln!(out, "ampsync_events_total{{kind=\"created\"}} {}", sum(|c| c.created))?;
    writeln!(out, "ampsync_events_total{{kind=\"updated\"}} {}", sum(|c| c.updated))?;
    writeln!(
        out,
        "ampsync_events_total{{kind=\"deactivated\"}} {}",
        sum(|c| c.deactivated)
    )?;
    writeln!(
        out,
        "ampsync_events_total{{kind=\"reactivated\"}} {}",
        sum(|c| c.reactivated)
    )?;
    let deliveries = h.store.delivery_counts()?;
    writeln!(out, "# HELP ampsync_deliveries Events by delivery status.")?;
    writeln!(out, "# TYPE ampsync_deliveries gauge")?;
    for status in [
        "pending",
        "waiting",
        "delivered",
        "superseded",
        "failed",
        "dead",
        "skipped",
    ] {
        writeln!(
            out,
            "ampsync_deliveries{{status=\"{status}\"}} {}",
            deliveries.get(status).copied().unwrap_or(0)
        )?;
    }
    // An API down for days shows here although every run exits 0.
    let age = match h.store.oldest_due()? {
        Some((_, time)) => {
            let now = ampsync_engine::clock::now_micros().unwrap_or_default();
            (now - time).max(0) / 1_000_000
        }
        None => 0,
    };
    writeln!(
        out,
        "# HELP ampsync_oldest_undelivered_seconds Age of the oldest event still to send (0: none)."
    )?;
    writeln!(out, "# TYPE ampsync_oldest_undelivered_seconds gauge")?;
    writeln!(out, "ampsync_oldest_undelivered_seconds {age}")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_stuck_only_past_the_limit() {
        let limit = Duration::from_secs(120 * 60);
        assert_eq!(stuck(Duration::from_secs(60), limit, "2026-11-24T06:30:00Z"), None);
        assert_eq!(
            stuck(Duration::from_secs(121 * 60), limit, "2026-11-24T06:30:00Z").as_deref(),
            Some(
                "unhealthy: the run that started at 2026-11-24T06:30:00Z has been going for 7260 s, longer than \
                 schedule.max_run_minutes (7200 s)"
            )
        );
        let watch = RunWatch::new(Duration::ZERO);
        assert_eq!(watch.problem(), None, "no run, no problem");
        watch.started("t");
        // Any time at all is past a zero limit (the monotonic clock counts nanoseconds).
        assert!(watch.problem().is_some());
        watch.ended();
        assert_eq!(watch.problem(), None);
    }
}
