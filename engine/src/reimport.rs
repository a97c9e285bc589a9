//! `reimport N`: snapshot N's kept file read again through the current
//! config, and the difference from the current state appended as a new
//! snapshot that names N as its origin.
//!
//! It is an import in every other way (the same reading, diff, safeguards
//! and hold); what it adds is where the bytes come from (the store's kept
//! copy, checked against N's hash) and the checks that make that copy the
//! right one to read. Nothing is written unless the import itself writes.

use ampsync_store::{SnapshotStatus, Store, StoreError};

use crate::config::Config;
use crate::import::{ImportError, ImportOutcome, Input, import_as};
use crate::raw::{self, RawError};

/// Why a re-import did not happen. In every case the store is as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReimportError {
    #[error("no snapshot {0}: see `ampsync snapshots`")]
    NoSuchSnapshot(u64),
    #[error(
        "the file of snapshot {id} is no longer kept: kept files are pruned after store.keep_raw_days \
         (now {keep_raw_days}); nothing was changed"
    )]
    NotKept { id: u64, keep_raw_days: u32 },
    #[error(
        "snapshot {0} is held by a safeguard: approve it (`ampsync approve {0}`) or reject it \
         (`ampsync reject {0}`) before reading its file again"
    )]
    Held(u64),
    #[error(
        "snapshot {0} was rejected, so nothing of it was applied: to read its file again, \
         `ampsync export-snapshot {0} FILE` then `ampsync import FILE`"
    )]
    Rejected(u64),
    #[error(transparent)]
    Raw(RawError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads snapshot `id`'s kept file through `config` and imports it as a
/// re-import of `id`. The same file already read with this config (by `id`
/// or a later snapshot) is [`ImportOutcome::AlreadyImported`].
pub fn reimport(store: &Store, config: &Config, id: u64) -> Result<ImportOutcome, ReimportError> {
    let meta = store.snapshot(id)?.ok_or(ReimportError::NoSuchSnapshot(id))?;
    match meta.status {
        SnapshotStatus::Held => return Err(ReimportError::Held(id)),
        SnapshotStatus::Rejected => return Err(ReimportError::Rejected(id)),
        SnapshotStatus::Applied | SnapshotStatus::RolledBack => {}
    }
    let bytes = raw::snapshot_bytes(store, id).map_err(|e| match e {
        RawError::NoSuchSnapshot(id) => ReimportError::NoSuchSnapshot(id),
        RawError::NotKept(id) => ReimportError::NotKept {
            id,
            keep_raw_days: config.store.keep_raw_days,
        },
        other => ReimportError::Raw(other),
    })?;
    let input = Input::Bytes {
        name: meta.source,
        bytes,
    };
    Ok(import_as(store, config, &input, None, Some(id))?)
}
