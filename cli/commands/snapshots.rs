//! `ampsync snapshots`: the imports, oldest first.

use std::path::Path;

use ampsync_engine::clock::format_micros;
use ampsync_engine::store::SnapshotMeta;
use serde_json::{Value, json};

use crate::Exit;
use crate::output::{self, Format, hex, short_hex};

pub fn run(config_path: &Path, format: Format) -> anyhow::Result<Exit> {
    let (_, store) = super::open(config_path)?;
    let snapshots = store.snapshots()?;
    match format {
        Format::Json => output::json(&snapshots_json(&snapshots))?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout().lock());
            output::csv_record(
                &mut w,
                [
                    "id",
                    "received",
                    "file_hash",
                    "source",
                    "rows",
                    "created",
                    "updated",
                    "deactivated",
                    "reactivated",
                    "skipped",
                    "status",
                ],
            )?;
            for s in &snapshots {
                output::csv_record(&mut w, row(s, hex(&s.file_hash)))?;
            }
            w.flush()?;
        }
        Format::Table => output::table(
            &[
                "ID",
                "RECEIVED",
                "BLAKE3",
                "SOURCE",
                "ROWS",
                "CREATED",
                "UPDATED",
                "DEACTIVATED",
                "REACTIVATED",
                "SKIPPED",
                "STATUS",
            ],
            snapshots.iter().map(|s| row(s, short_hex(&s.file_hash))),
        )?,
    }
    Ok(Exit::Success)
}

/// One snapshot's columns, with its hash as given (full for CSV, short for
/// the table).
fn row(s: &SnapshotMeta, hash: String) -> Vec<String> {
    let c = s.counts;
    vec![
        s.id.to_string(),
        format_micros(s.received),
        hash,
        s.source.clone(),
        s.rows.to_string(),
        c.created.to_string(),
        c.updated.to_string(),
        c.deactivated.to_string(),
        c.reactivated.to_string(),
        c.skipped.to_string(),
        s.status.name().to_owned(),
    ]
}

/// `snapshots --format json`'s value.
pub fn snapshots_json(snapshots: &[SnapshotMeta]) -> Value {
    Value::Array(
        snapshots
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "received": format_micros(s.received),
                    "file_hash": hex(&s.file_hash),
                    "source": s.source,
                    "rows": s.rows,
                    "bytes": s.bytes,
                    "created": s.counts.created,
                    "updated": s.counts.updated,
                    "deactivated": s.counts.deactivated,
                    "reactivated": s.counts.reactivated,
                    "skipped": s.counts.skipped,
                    "status": s.status.name(),
                })
            })
            .collect(),
    )
}
