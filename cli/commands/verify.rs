//! `ampsync verify [--store FILE]`: walk the hash chain and rebuild the
//! state from the log, of the configured store or of FILE (a backup).
//! Exit 0 when everything holds, 1 with what differs.

use std::path::{Path, PathBuf};

use ampsync_engine::store::Store;
use anyhow::Context;
use serde_json::json;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Check this store file (a backup, say) instead of the configured one;
    /// no config is needed.
    #[arg(long)]
    store: Option<PathBuf>,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let store = match &args.store {
        // A backup stays what it is: read-only, never upgraded.
        Some(path) => Store::open_to_check(path).with_context(|| format!("opening the store {}", path.display()))?,
        None => super::open(config_path)?.1,
    };
    let report = store.verify()?;
    let (raw_checked, raw_damaged) = ampsync_engine::raw::verify_raw(&store)?;
    let ok = report.ok() && raw_damaged.is_empty();
    if format == Format::Json {
        output::json(&json!({
            "ok": ok,
            "events": report.events,
            "chain_broken_at": report.chain_broken_at,
            "state_differences": report.state_differences,
            "state_difference_count": report.state_difference_count,
            "erased_events": report.erased,
            "raw_files_checked": raw_checked,
            "raw_files_damaged": raw_damaged,
        }))?;
    } else {
        match report.chain_broken_at {
            None => say!("hash chain: {} events, intact", report.events),
            Some(seq) => say!(
                "hash chain: BROKEN at event {seq} (of {}): its bytes or its link changed",
                report.events
            ),
        }
        if report.chain_broken_at.is_none() {
            if report.state_difference_count == 0 {
                say!("state: rebuilt from the log, identical to the stored projection");
            } else {
                say!(
                    "state: {} difference(s) between the log and the stored projection:",
                    report.state_difference_count
                );
                for d in &report.state_differences {
                    say!("  {d}");
                }
            }
        }
        if raw_damaged.is_empty() {
            say!("raw files: {raw_checked} kept, each matching its snapshot's hash");
        } else {
            say!("raw files: DAMAGED for snapshot(s) {raw_damaged:?} (of {raw_checked} kept)");
        }
    }
    Ok(if ok { Exit::Success } else { Exit::Failed })
}
