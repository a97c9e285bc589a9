//! The Runs page: the run log, newest first.

use std::sync::Arc;

use ampsync_engine::runlog::{self, RunRecord};
use askama::Template;
use axum::extract::State;

use super::Console;
use super::page::{self, PageResult};

/// One run as a table row.
pub struct RunRow {
    pub start: String,
    pub outcome: &'static str,
    pub file: String,
    pub snapshot: Option<u64>,
    pub created: u64,
    pub updated: u64,
    pub deactivated: u64,
    pub reactivated: u64,
    pub sent: u64,
    pub failed: u64,
    /// The error, and alerts that could not be sent.
    pub note: String,
}

impl RunRow {
    pub fn of(r: &RunRecord) -> RunRow {
        let c = r.counts.unwrap_or_default();
        let push = r.push.clone().unwrap_or_default();
        let mut note: Vec<String> = r.error.iter().cloned().collect();
        note.extend(r.alert_errors.iter().map(|e| format!("alert not sent: {e}")));
        RunRow {
            start: r.start.clone(),
            outcome: r.outcome.name(),
            file: r.file.clone().unwrap_or_default(),
            snapshot: r.snapshot,
            created: c.created,
            updated: c.updated,
            deactivated: c.deactivated,
            reactivated: c.reactivated,
            sent: push.sent,
            failed: push.failed,
            note: note.join("; "),
        }
    }
}

#[derive(Template)]
#[template(path = "runs.html")]
struct Runs {
    runs: Vec<RunRow>,
}

pub async fn page(State(console): State<Arc<Console>>) -> PageResult {
    let path = console.runs_path();
    let runs = tokio::task::spawn_blocking(move || runlog::runs(&path)).await??;
    Ok(page::render(&Runs {
        runs: runs.iter().rev().map(RunRow::of).collect(),
    }))
}
