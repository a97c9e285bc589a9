//! The daemon's `/healthz` and `/metrics` (Prometheus text format).

use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;

use ampsync_engine::runlog::{self, RunOutcome};
use ampsync_engine::store::Store;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

#[derive(Clone)]
struct Health {
    store: Arc<Store>,
    runs: PathBuf,
}

/// Serves until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, store: Arc<Store>, runs: PathBuf) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .with_state(Health { store, runs });
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("health server stopped: {e}");
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
