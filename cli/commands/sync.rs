//! `ampsync sync`: import from the configured source, then push. The
//! scheduled job, run once.

use std::path::Path;
use std::sync::Arc;

use ampsync_engine::clock;
use ampsync_engine::learnamp::Credentials;
use ampsync_engine::runlock::RunLock;
use ampsync_engine::runlog::{self, RunOutcome};
use ampsync_engine::schedule::Schedule;
use ampsync_engine::sync::sync_once;
use anyhow::Context;

use crate::Exit;
use crate::output::Format;
use crate::output::say;

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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(sync_once(
        &config,
        Arc::new(store),
        credentials,
        schedule.as_ref(),
        None,
    ));
    let runs = runlog::path_for(&store_path);
    runlog::append(&runs, &report.record).with_context(|| format!("appending to {}", runs.display()))?;
    for line in &report.lines {
        say!("{line}");
    }
    if let Some(push) = &report.push {
        super::push::print_report(push, format)?;
    }
    let pushed = report.push.as_ref().map_or(Exit::Success, super::push::exit_for);
    Ok(match report.record.outcome {
        RunOutcome::Failed => Exit::Failed,
        RunOutcome::Held => Exit::Held,
        // Events that failed to go are the more pressing news.
        RunOutcome::MissingFile if pushed == Exit::Success => Exit::MissingFile,
        _ => pushed,
    })
}
