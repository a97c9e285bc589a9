//! `ampsync sync`: import from the configured source, then push. The
//! scheduled job, run once.

use std::path::Path;
use std::sync::Arc;

use ampsync_engine::clock;
use ampsync_engine::learnamp::Credentials;
use ampsync_engine::runlock::RunLock;
use ampsync_engine::runlog::{self, RunOutcome};
use ampsync_engine::schedule::Schedule;
use ampsync_engine::sync::{SyncStep, sync_once};
use anyhow::Context;

use crate::Exit;
use crate::output::{self, Format, say};

pub fn run(config_path: &Path, format: Format) -> anyhow::Result<Exit> {
    let config = super::load_config(config_path)?;
    // Check the credentials first: a run that cannot push should not import.
    let credentials = Credentials::from_env(&config.learnamp)?;
    let schedule = config.schedule.as_ref().map(Schedule::new);
    let store_path = config.store_path();
    let holder = format!(
        "{} (pid {})",
        clock::format_micros(clock::now_micros()?),
        std::process::id()
    );
    // The run lock comes first: it says who holds the store, and since when.
    let _lock = RunLock::acquire(&store_path, &holder)?;
    let store = super::open_or_create_store(&config)?;
    let report = super::runtime()?.block_on(sync_once(
        &config,
        Arc::new(store),
        credentials,
        schedule.as_ref(),
        None,
    ));
    let runs = runlog::path_for(&store_path);
    runlog::append(&runs, &report.run).with_context(|| format!("appending to {}", runs.display()))?;
    if format == Format::Json {
        output::json(&report)?;
    } else {
        for line in report.steps.iter().flat_map(step_lines) {
            say!("{line}");
        }
        for line in row_error_lines(&report.run) {
            say!("{line}");
        }
        if let Some(push) = &report.push {
            super::push::print_report(push, format)?;
        }
    }
    let pushed = report.push.as_ref().map_or(Exit::Success, super::push::exit_for);
    Ok(match report.run.outcome {
        RunOutcome::Failed => Exit::Failed,
        RunOutcome::Held => Exit::Held,
        // Events that failed to go are the more pressing news.
        RunOutcome::MissingFile if pushed == Exit::Success => Exit::MissingFile,
        _ => pushed,
    })
}

/// A step of a run as a sentence.
/// The refused rows a run recorded, one indented line each.
pub fn row_error_lines(run: &ampsync_engine::runlog::RunRecord) -> Vec<String> {
    run.row_errors
        .iter()
        .map(|e| match &e.column {
            Some(column) => format!("  line {}, column {column:?}: {}", e.line, e.message),
            None => format!("  line {}: {}", e.line, e.message),
        })
        .collect()
}

/// A step of a run as lines: its sentence, then its warnings.
pub fn step_lines(step: &SyncStep) -> Vec<String> {
    let mut lines = vec![step_text(step)];
    if let SyncStep::Imported { warnings, counts, .. } = step {
        if counts.forgotten_by_retention > 0 {
            lines.push(retention_line(counts.forgotten_by_retention));
        }
        lines.extend(warnings.iter().map(|w| format!("warning: {w}")));
    }
    lines
}

/// How many leavers an import forgot by retention (never who).
pub fn retention_line(n: u64) -> String {
    format!("forgot {n} leaver(s) by retention (policy.forget_leavers_after_days); the log still verifies")
}

pub fn step_text(step: &SyncStep) -> String {
    match step {
        SyncStep::NoFile { place, pattern } => format!("no file matching {pattern:?} in {place}"),
        SyncStep::Unsettled { file, settle_seconds } => {
            format!("{file} changed less than {settle_seconds} s ago: still being written, not taken")
        }
        SyncStep::AlreadyFetched { file, snapshot } => {
            format!("{file} was already imported as snapshot {snapshot}: not downloaded again")
        }
        SyncStep::AlreadyImported { file, snapshot } => format!("{file} was already imported as snapshot {snapshot}"),
        SyncStep::Imported {
            file,
            snapshot,
            counts: c,
            ..
        } => format!(
            "imported {file} as snapshot {snapshot}: {} created, {} updated, {} deactivated, {} reactivated, {} skipped",
            c.created, c.updated, c.deactivated, c.reactivated, c.skipped
        ),
        SyncStep::Held { file, snapshot, reason } => format!(
            "{file} is held as snapshot {snapshot}: {reason}; review it with `ampsync events --snapshot {snapshot}`, \
             then `ampsync approve {snapshot}` or `ampsync reject {snapshot}`"
        ),
        SyncStep::Failed { error } => format!("error: {error}"),
        SyncStep::Interrupted => "stopped by a signal before the run finished".to_owned(),
        SyncStep::MissingFile => {
            "no new file has arrived by schedule.expect_file_by: the export is late or lost".to_owned()
        }
        // The engine may learn new steps before the CLI words them.
        other => format!("{other:?}"),
    }
}
