//! `ampsync snapshots`: the imports, oldest first, each with the config
//! fingerprint it read its file with and, for a re-import, the snapshot
//! whose file it read again.

use std::collections::BTreeMap;
use std::path::Path;

use ampsync_engine::clock::format_micros;
use ampsync_engine::fingerprint::short;
use ampsync_engine::store::{SnapshotMeta, SnapshotOrigin};
use serde_json::{Value, json};

use crate::Exit;
use crate::output::{self, Format, hex, short_hex};

pub fn run(config_path: &Path, format: Format) -> anyhow::Result<Exit> {
    let (_, store) = super::open(config_path)?;
    let snapshots = store.snapshots()?;
    let origins = store.origins()?;
    let origin = |s: &SnapshotMeta| origins.get(&s.id);
    match format {
        Format::Json => output::json(&snapshots_json(&snapshots, &origins))?,
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
                    "fingerprint",
                    "reimport_of",
                ],
            )?;
            for s in &snapshots {
                let mut row = row(s, hex(&s.file_hash));
                row.push(origin(s).map(|o| hex(&o.fingerprint)).unwrap_or_default());
                row.push(
                    origin(s)
                        .and_then(|o| o.reimport_of)
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                );
                output::csv_record(&mut w, row)?;
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
                "CONFIG",
                "ORIGIN",
            ],
            snapshots.iter().map(|s| {
                let mut row = row(s, short_hex(&s.file_hash));
                // A snapshot from before fingerprints: its config is not known.
                row.push(origin(s).map_or_else(|| "-".to_owned(), |o| short(&o.fingerprint)));
                row.push(
                    origin(s)
                        .and_then(|o| o.reimport_of)
                        .map(|n| format!("reimport of {n}"))
                        .unwrap_or_default(),
                );
                row
            }),
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
pub fn snapshots_json(snapshots: &[SnapshotMeta], origins: &BTreeMap<u64, SnapshotOrigin>) -> Value {
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
                    "fingerprint": origins.get(&s.id).map(|o| hex(&o.fingerprint)),
                    "reimport_of": origins.get(&s.id).and_then(|o| o.reimport_of),
                })
            })
            .collect(),
    )
}
