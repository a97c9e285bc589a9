//! `ampsync verify [--store FILE]`: walk the hash chain and rebuild the
//! state from the log, of the configured store or of FILE (a backup).
//! Exit 0 when everything holds, 1 with what differs.

use std::path::{Path, PathBuf};

use ampsync_engine::store::{Keying, Store, StoreError};
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

/// Opens a store file named on the command line (a backup): with the
/// config's key when there is a config and the file is encrypted; a plain
/// file, or no config, opens without one.
fn open_file(config_path: &Path, path: &Path) -> anyhow::Result<Store> {
    let keying = match config_path.exists() {
        true => super::load_config(config_path)?.store_keying()?,
        false => Keying::None,
    };
    let opened = match Store::open_to_check(path, keying) {
        Err(StoreError::NotEncrypted { .. } | StoreError::KeyUnset { .. }) => Store::open_to_check(path, Keying::None),
        other => other,
    };
    opened.with_context(|| format!("opening the store {}", path.display()))
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let store = match &args.store {
        // A backup stays what it is: read-only, never upgraded.
        Some(path) => open_file(config_path, path)?,
        None => super::open(config_path)?.1,
    };
    let report = store.verify()?;
    // Without the key of an encrypted store, the raw files cannot be read.
    let values = store.can_read_values();
    let (raw_checked, raw_damaged) = if values {
        ampsync_engine::raw::verify_raw(&store)?
    } else {
        (0, Vec::new())
    };
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
            "encrypted": store.is_encrypted(),
            "links_only_events": report.links_only,
        }))?;
    } else {
        match report.chain_broken_at {
            None if report.links_only > 0 => say!(
                "hash chain: {} events, links intact; {} sealed events checked by their links only \
                 (the store is encrypted and opened without its key: set it to rehash them)",
                report.events,
                report.links_only
            ),
            None => say!("hash chain: {} events, intact", report.events),
            Some(seq) => say!(
                "hash chain: BROKEN at event {seq} (of {}): its bytes or its link changed",
                report.events
            ),
        }
        if report.chain_broken_at.is_none() && report.links_only > 0 {
            say!("state: not rebuilt (it needs the store's key)");
        } else if report.chain_broken_at.is_none() {
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
        if !values {
            say!("raw files: not checked (they need the store's key)");
        } else if raw_damaged.is_empty() {
            say!("raw files: {raw_checked} kept, each matching its snapshot's hash");
        } else {
            say!("raw files: DAMAGED for snapshot(s) {raw_damaged:?} (of {raw_checked} kept)");
        }
    }
    Ok(if ok { Exit::Success } else { Exit::Failed })
}
