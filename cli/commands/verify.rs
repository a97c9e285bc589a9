//! `ampsync verify`: walk the hash chain and rebuild the state from the log.
//! Exit 0 when everything holds, 1 with what differs.

use std::path::Path;

use serde_json::json;

use crate::Exit;
use crate::output::{self, Format, say};

pub fn run(config_path: &Path, format: Format) -> anyhow::Result<Exit> {
    let (_, store) = super::open(config_path)?;
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
