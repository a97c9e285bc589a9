//! Snapshots: one imported file each, immutable but for its status.

use serde::{Deserialize, Serialize};

use crate::SnapshotOrigin;

/// What became of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnapshotStatus {
    /// Its events are in the log.
    Applied,
    /// Stopped by a safeguard; waits for `approve` or `reject`.
    Held,
    /// Undone by a later rollback.
    RolledBack,
    /// Discarded by `reject`.
    Rejected,
}

impl SnapshotStatus {
    /// The status's name as the command line and JSON show it.
    pub fn name(&self) -> &'static str {
        match self {
            SnapshotStatus::Applied => "applied",
            SnapshotStatus::Held => "held",
            SnapshotStatus::RolledBack => "rolled_back",
            SnapshotStatus::Rejected => "rejected",
        }
    }
}

/// How many events of each kind an import made, and rows it skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub deactivated: u64,
    pub reactivated: u64,
    pub skipped: u64,
}

impl Counts {
    /// Number of events (skipped rows are not events).
    pub fn events(&self) -> u64 {
        self.created + self.updated + self.deactivated + self.reactivated
    }
}

/// What the engine knows about a file it is about to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSnapshot {
    /// blake3 of the exact (decrypted) bytes.
    pub file_hash: [u8; 32],
    /// Where it came from: a path, or `sftp://host/dir/name`.
    pub source: String,
    /// Microseconds since the Unix epoch, UTC.
    pub received: i64,
    /// Data rows read (header excluded).
    pub rows: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// The header as the file had it.
    pub header: Vec<String>,
    /// The columns that fed Learn Amp fields (for the header-drift check).
    pub mapped_columns: Vec<String>,
    pub counts: Counts,
    /// Absence counters to set with the import (0 removes one): people
    /// missing, not yet deactivated, or back again.
    pub absences: Vec<(String, u32)>,
    /// Raw files of snapshots received before this time (µs) are pruned in
    /// the same transaction; 0 prunes nothing.
    pub prune_raw_before: i64,
    /// How the file was read (kept beside the snapshot, see `origin.rs`).
    pub origin: SnapshotOrigin,
}

impl NewSnapshot {
    /// The snapshot as recorded, with what the append decided.
    pub(crate) fn into_meta(
        self,
        id: u64,
        status: SnapshotStatus,
        events: Option<(u64, u64)>,
        log_end: u64,
        held_because: Option<String>,
    ) -> SnapshotMeta {
        SnapshotMeta {
            id,
            file_hash: self.file_hash,
            source: self.source,
            received: self.received,
            rows: self.rows,
            bytes: self.bytes,
            header: self.header,
            counts: self.counts,
            status,
            events,
            log_end,
            mapped_columns: self.mapped_columns,
            held_because,
        }
    }
}

/// A recorded snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    pub id: u64,
    pub file_hash: [u8; 32],
    pub source: String,
    pub received: i64,
    pub rows: u64,
    pub bytes: u64,
    pub header: Vec<String>,
    pub counts: Counts,
    pub status: SnapshotStatus,
    /// The sequence numbers of its events, `first..=last`; `None` when it
    /// made none.
    pub events: Option<(u64, u64)>,
    /// The last sequence number in the log once this snapshot was applied:
    /// the state "after snapshot N" is the log up to here. For a held
    /// snapshot: the log end its events were computed against.
    pub log_end: u64,
    /// The columns that fed Learn Amp fields.
    pub mapped_columns: Vec<String>,
    /// Why a safeguard held it.
    pub held_because: Option<String>,
}
