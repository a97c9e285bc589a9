//! `ampsync reimport N`: snapshot N's kept file read again through the
//! current config (after a mapping fix), the difference from the current
//! state appended as a new snapshot that names N as its origin.

use std::path::Path;

use ampsync_engine::{ImportOutcome, ImportSummary, reimport};

use crate::Exit;
use crate::output::{self, Format, say, short_hex};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The snapshot whose kept file to read again (see `ampsync snapshots`).
    snapshot: u64,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let config = super::load_config(config_path)?;
    let _lock = super::run_lock(&config, "reimport")?;
    let store = super::open_store(&config)?;
    let n = args.snapshot;
    let outcome = reimport(&store, &config, n)?;
    let origin = store.origin(super::import::outcome_id(&outcome))?;
    let exit = match outcome {
        ImportOutcome::Held(_) => Exit::Held,
        _ => Exit::Success,
    };
    if format == Format::Json {
        output::json(&ImportSummary::from(&outcome).with_origin(origin.as_ref()))?;
        return Ok(exit);
    }
    match outcome {
        ImportOutcome::Held(meta) => {
            let why = meta.held_because.clone().unwrap_or_default();
            say!("held the re-import of snapshot {n} as snapshot {}: {why}", meta.id);
            say!(
                "nothing was applied or will be sent. Review what it would do with `ampsync events --snapshot {}`,",
                meta.id
            );
            say!(
                "then release it with `ampsync approve {}` or discard it with `ampsync reject {}`.",
                meta.id,
                meta.id
            );
        }
        ImportOutcome::AlreadyImported(meta) => {
            say!(
                "the file of snapshot {n} was already read with config {} as snapshot {}: nothing to do",
                config.fingerprint,
                meta.id
            );
        }
        ImportOutcome::Imported(report) => {
            let s = &report.snapshot;
            let c = s.counts;
            say!(
                "re-imported snapshot {n} ({}, blake3 {}) as snapshot {} with config {} in {:.2} s",
                s.source,
                short_hex(&s.file_hash),
                s.id,
                config.fingerprint,
                report.elapsed.as_secs_f64()
            );
            output::table(
                &["rows", "created", "updated", "deactivated", "reactivated", "skipped"],
                [[s.rows, c.created, c.updated, c.deactivated, c.reactivated, c.skipped]
                    .map(|n| n.to_string())
                    .to_vec()],
            )?;
            for w in &report.warnings {
                say!("warning: {w}");
            }
            for e in report.skipped.iter().take(output::MAX_LISTED_ERRORS) {
                say!("skipped {e}");
            }
            if c.skipped > output::MAX_LISTED_ERRORS as u64 {
                say!(
                    "… and {} more skipped rows",
                    c.skipped - output::MAX_LISTED_ERRORS as u64
                );
            }
            if c.events() > 0 {
                say!(
                    "review the changes with `ampsync events --snapshot {}`; `ampsync push` sends them.",
                    s.id
                );
            }
        }
    }
    Ok(exit)
}
