//! `ampsync import FILE`: snapshot, diff, append events.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use ampsync_engine::clock::format_micros;
use ampsync_engine::fingerprint::short;
use ampsync_engine::store::SnapshotStatus;
use ampsync_engine::{ImportOutcome, ImportSummary, Input, import};
use indicatif::{ProgressBar, ProgressStyle};

use crate::Exit;
use crate::output::{self, Format, say, short_hex};

/// Files at least this large get a progress bar on a terminal.
const PROGRESS_MIN_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to import (the configured source is for `sync`); `-` reads
    /// standard input.
    file: PathBuf,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let config = super::load_config(config_path)?;
    // The run lock first: a `forget` (or a retention import) replaces the
    // store file, which this import would go on writing to.
    let _lock = super::run_lock(&config, "import")?;
    let store = super::open_or_create_store(&config)?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let bar = (std::io::stderr().is_terminal() && size >= PROGRESS_MIN_BYTES).then(|| {
        let bar = ProgressBar::new(size);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}") {
            bar.set_style(style);
        }
        bar
    });
    let progress = bar.as_ref().map(|bar| move |n: u64| bar.set_position(n));
    let input = Input::File(args.file.clone());
    let name = input.name();
    let outcome = import(
        &store,
        &config,
        &input,
        progress.as_ref().map(|p| p as &(dyn Fn(u64) + Sync)),
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let outcome = outcome?;
    let origin = store.origin(outcome_id(&outcome))?;
    if format == Format::Json {
        output::json(&ImportSummary::from(&outcome).with_origin(origin.as_ref()))?;
        return Ok(exit_of(&outcome));
    }
    match outcome {
        ImportOutcome::Held(meta) => {
            let why = meta.held_because.clone().unwrap_or_default();
            say!("held {} as snapshot {}: {why}", name, meta.id);
            say!(
                "nothing was applied or will be sent. Review what it would do with `ampsync events --snapshot {}`,",
                meta.id
            );
            say!(
                "then release it with `ampsync approve {}` or discard it with `ampsync reject {}`.",
                meta.id,
                meta.id
            );
            return Ok(Exit::Held);
        }
        ImportOutcome::AlreadyImported(meta) if meta.status == SnapshotStatus::Held => {
            say!(
                "{} was already imported as snapshot {}, which is held: {}",
                name,
                meta.id,
                meta.held_because.as_deref().unwrap_or_default()
            );
            say!(
                "it waits for `ampsync approve {}` or `ampsync reject {}`.",
                meta.id,
                meta.id
            );
            return Ok(Exit::Held);
        }
        ImportOutcome::AlreadyImported(meta) => match origin {
            Some(origin) => say!(
                "{} was already imported as snapshot {} on {} (blake3 {}, config {}): nothing to do",
                name,
                meta.id,
                format_micros(meta.received),
                short_hex(&meta.file_hash),
                short(&origin.fingerprint)
            ),
            None => {
                say!(
                    "{} was already imported as snapshot {} on {} (blake3 {}): nothing to do",
                    name,
                    meta.id,
                    format_micros(meta.received),
                    short_hex(&meta.file_hash)
                );
                say!(
                    "(it was read before config fingerprints were recorded: `ampsync reimport {}` reads it again \
                     with the current config)",
                    meta.id
                );
            }
        },
        ImportOutcome::Imported(report) => {
            let s = &report.snapshot;
            let c = s.counts;
            say!(
                "imported {} as snapshot {} (blake3 {}, config {}) in {:.2} s",
                name,
                s.id,
                short_hex(&s.file_hash),
                config.fingerprint,
                report.elapsed.as_secs_f64()
            );
            output::table(
                &["rows", "created", "updated", "deactivated", "reactivated", "skipped"],
                [[s.rows, c.created, c.updated, c.deactivated, c.reactivated, c.skipped]
                    .map(|n| n.to_string())
                    .to_vec()],
            )?;
            if report.empty_rows > 0 {
                say!(
                    "ignored {} empty row(s) (blank lines, or only delimiters)",
                    report.empty_rows
                );
            }
            let mapped = [
                ("skipped by a [[skip]] rule", report.skipped_by_rule),
                ("leavers by leaveDate", report.leavers_by_date),
                ("future hires waiting for their startDate", report.future_hires),
            ];
            for (what, n) in mapped.into_iter().filter(|(_, n)| *n > 0) {
                say!("{what}: {n} row(s)");
            }
            if report.forgotten_by_retention > 0 {
                say!("{}", super::sync::retention_line(report.forgotten_by_retention));
            }
            for w in &report.warnings {
                say!("warning: {w}");
            }
            for e in report.skipped.iter().take(output::MAX_LISTED_ERRORS) {
                say!("skipped {e}");
            }
            if report.skipped.len() > output::MAX_LISTED_ERRORS {
                say!("… and more: {} skipped row(s) in all", c.skipped);
            }
        }
    }
    Ok(Exit::Success)
}

/// Exit 3 while the import's snapshot waits for a decision, also when the
/// held file is imported again (a rerun must not look like a clean run).
fn exit_of(outcome: &ImportOutcome) -> Exit {
    match outcome {
        ImportOutcome::Held(_) => Exit::Held,
        ImportOutcome::AlreadyImported(meta) if meta.status == SnapshotStatus::Held => Exit::Held,
        _ => Exit::Success,
    }
}

/// The snapshot an import ended with (new, held or found).
pub(crate) fn outcome_id(outcome: &ImportOutcome) -> u64 {
    match outcome {
        ImportOutcome::AlreadyImported(meta) | ImportOutcome::Held(meta) => meta.id,
        ImportOutcome::Imported(report) => report.snapshot.id,
    }
}
