//! The overview: the last runs, what comes next, what waits for a person
//! (held imports, refused events), deliveries by status, and a chart of
//! events per day by kind over 90 days.

use std::collections::BTreeMap;
use std::sync::Arc;

use ampsync_engine::clock::{self, format_micros};
use ampsync_engine::runlog;
use ampsync_engine::schedule::Schedule;
use ampsync_engine::store::{Delivery, SnapshotStatus};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use chrono::{DateTime, Utc};

use super::Console;
use super::auth::Session;
use super::chart;
use super::page::{self, PageResult};
use super::runs::RunRow;

/// Days the chart covers.
const CHART_DAYS: u32 = 90;
/// Runs listed.
const LAST_RUNS: usize = 10;
/// Refused events listed (the rest: `ampsync retry --failed`).
const LISTED_FAILED: usize = 50;

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    csrf: String,
    runs: Vec<RunRow>,
    next_run: Option<String>,
    expect_file_by: Option<String>,
    held: Vec<HeldRow>,
    deliveries: Vec<(&'static str, u64)>,
    failed: Vec<FailedRow>,
    failed_total: u64,
    chart: String,
    legend: [(&'static str, &'static str); 4],
}

struct HeldRow {
    id: u64,
    source: String,
    received: String,
    reason: String,
}

/// A refused event, with its Retry button.
pub struct FailedRow {
    pub seq: u64,
    pub key: String,
    pub kind: &'static str,
    pub error: String,
}

pub async fn page(State(console): State<Arc<Console>>, Extension(session): Extension<Session>) -> PageResult {
    let overview = console
        .with_store(move |console, store| {
            let now = clock::now_micros()?;
            let runs = runlog::runs(&console.runs_path())?;
            let snapshots = store.snapshots()?;
            let held = snapshots
                .iter()
                .filter(|s| s.status == SnapshotStatus::Held)
                .map(|s| HeldRow {
                    id: s.id,
                    source: s.source.clone(),
                    received: format_micros(s.received),
                    reason: s.held_because.clone().unwrap_or_default(),
                })
                .collect();
            let mut per_day: BTreeMap<chrono::NaiveDate, [u64; 4]> = BTreeMap::new();
            for s in snapshots
                .iter()
                .filter(|s| matches!(s.status, SnapshotStatus::Applied | SnapshotStatus::RolledBack))
            {
                if let Some(t) = DateTime::<Utc>::from_timestamp_micros(s.received) {
                    let day = per_day.entry(t.date_naive()).or_default();
                    let c = s.counts;
                    for (slot, n) in day.iter_mut().zip([c.created, c.updated, c.deactivated, c.reactivated]) {
                        *slot += n;
                    }
                }
            }
            let today = DateTime::<Utc>::from_timestamp_micros(now)
                .unwrap_or_default()
                .date_naive();
            // One pass over the delivery table for the counts and the list.
            let summary = store.delivery_summary(LISTED_FAILED)?;
            let deliveries = ["pending", "waiting", "failed", "dead", "delivered"]
                .into_iter()
                .map(|status| (status, summary.count(status)))
                .collect();
            let failed = summary
                .failed
                .iter()
                .map(|(e, d)| FailedRow {
                    seq: e.seq,
                    key: e.body.key.clone(),
                    kind: e.body.kind.name(),
                    error: match d {
                        Delivery::Failed { error, .. } => error.clone(),
                        d => crate::output::delivery_text(d),
                    },
                })
                .collect();
            let schedule = console.config.schedule.as_ref();
            let next_run = schedule.and_then(|s| {
                let schedule = Schedule::new(s);
                let now = DateTime::<Utc>::from_timestamp_micros(now)?;
                let next = schedule.next_after(now).ok()?;
                Some(format!(
                    "{} ({})",
                    next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    next.with_timezone(&schedule.zone()).format("%Y-%m-%d %H:%M %Z")
                ))
            });
            Ok(Overview {
                csrf: String::new(),
                runs: runs.iter().rev().take(LAST_RUNS).map(RunRow::of).collect(),
                next_run,
                expect_file_by: schedule.and_then(|s| s.expect_file_by).map(|t| {
                    format!(
                        "{} {}",
                        t.format("%H:%M"),
                        schedule.map(|s| s.timezone.name()).unwrap_or("UTC")
                    )
                }),
                held,
                deliveries,
                failed_total: summary.count("failed"),
                failed,
                chart: chart::events_per_day(&per_day, today, CHART_DAYS),
                legend: chart::KINDS,
            })
        })
        .await?;
    Ok(page::render(&Overview {
        csrf: session.csrf,
        ..overview
    }))
}
