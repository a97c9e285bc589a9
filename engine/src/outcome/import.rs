//! What one import did, as a value: imported, held or already imported,
//! with the snapshot's counts and the rows it skipped.

use ampsync_store::{Counts, SnapshotMeta, SnapshotOrigin};
use serde::Serialize;

use crate::clock::format_micros;
use crate::import::ImportOutcome;
use crate::ingest::RowError;

/// How an import ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// A new snapshot whose events are in the log.
    Imported,
    /// Stopped by a safeguard; `reason` says which.
    Held,
    /// The same bytes were imported before.
    AlreadyImported,
}

/// An import's outcome, flat for JSON: `{"outcome": "imported", "snapshot": 2, …}`.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub outcome: ImportKind,
    pub snapshot: u64,
    /// Where the file came from: a path or `sftp://host/dir/name`.
    pub source: String,
    /// blake3 of the file's bytes, lower-case hex.
    pub file_hash: String,
    /// When the snapshot was received (RFC 3339, UTC).
    pub received: String,
    pub rows: u64,
    #[serde(flatten)]
    pub counts: Counts,
    /// Why a safeguard held it (held imports only).
    pub reason: Option<String>,
    /// The first rows skipped as invalid (`on_invalid_row = "skip_row"`).
    pub skipped_rows: Vec<RowError>,
    /// How long the import took (new snapshots only).
    pub elapsed_ms: Option<u64>,
    /// What the reading noticed without refusing the file (a legacy code
    /// page over valid UTF-8, and the like).
    pub warnings: Vec<String>,
    /// The config fingerprint the snapshot read its file with, lower-case
    /// hex (`None`: recorded before fingerprints were).
    pub fingerprint: Option<String>,
    /// The snapshot whose kept file this one read again (`reimport N`).
    pub reimport_of: Option<u64>,
    /// Rows with nothing in them (blank lines, `;;;;`), ignored (new
    /// snapshots only; 0 otherwise).
    pub empty_rows: u64,
    /// Rows a `[[skip]]` rule took: not people to sync, never errors
    /// (new snapshots only; `skipped` counts invalid rows).
    pub skipped_by_rule: u64,
    /// Rows whose `leaveDate` had come (new snapshots only).
    pub leavers_by_date: u64,
    /// New people whose `startDate` is still to come, not created yet
    /// (`policy.future_hires = "wait"`; new snapshots only).
    pub future_hires: u64,
    /// Leavers forgotten by `policy.forget_leavers_after_days` in the
    /// import's transaction (new snapshots only).
    pub forgotten_by_retention: u64,
}

impl ImportSummary {
    /// The summary with how the snapshot read its file (`Store::origin`).
    pub fn with_origin(self, origin: Option<&SnapshotOrigin>) -> Self {
        ImportSummary {
            fingerprint: origin.map(|o| o.fingerprint.iter().map(|b| format!("{b:02x}")).collect()),
            reimport_of: origin.and_then(|o| o.reimport_of),
            ..self
        }
    }

    fn of(outcome: ImportKind, meta: &SnapshotMeta) -> Self {
        ImportSummary {
            outcome,
            snapshot: meta.id,
            source: meta.source.clone(),
            file_hash: meta.file_hash.iter().map(|b| format!("{b:02x}")).collect(),
            received: format_micros(meta.received),
            rows: meta.rows,
            counts: meta.counts,
            reason: meta.held_because.clone(),
            skipped_rows: Vec::new(),
            elapsed_ms: None,
            warnings: Vec::new(),
            fingerprint: None,
            reimport_of: None,
            empty_rows: 0,
            skipped_by_rule: 0,
            leavers_by_date: 0,
            future_hires: 0,
            forgotten_by_retention: 0,
        }
    }
}

impl From<&ImportOutcome> for ImportSummary {
    fn from(outcome: &ImportOutcome) -> Self {
        match outcome {
            ImportOutcome::AlreadyImported(meta) => ImportSummary::of(ImportKind::AlreadyImported, meta),
            ImportOutcome::Held(meta) => ImportSummary::of(ImportKind::Held, meta),
            ImportOutcome::Imported(report) => ImportSummary {
                skipped_rows: report.skipped.clone(),
                elapsed_ms: Some(report.elapsed.as_millis() as u64),
                warnings: report.warnings.clone(),
                empty_rows: report.empty_rows,
                skipped_by_rule: report.skipped_by_rule,
                leavers_by_date: report.leavers_by_date,
                future_hires: report.future_hires,
                forgotten_by_retention: report.forgotten_by_retention,
                ..ImportSummary::of(ImportKind::Imported, &report.snapshot)
            },
        }
    }
}
