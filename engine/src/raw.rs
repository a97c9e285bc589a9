//! The exact bytes of past imports, kept zstd-compressed in the store for
//! `store.keep_raw_days`: written back out byte for byte, and checked
//! against the hash each snapshot recorded.

use std::io::Write;
use std::path::{Path, PathBuf};

use ampsync_store::{Store, StoreError};

/// Why a raw file cannot be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RawError {
    #[error("no snapshot {0}: see `ampsync snapshots`")]
    NoSuchSnapshot(u64),
    #[error(
        "the file of snapshot {0} is no longer kept (store.keep_raw_days), or was imported before raw files were kept"
    )]
    NotKept(u64),
    #[error("the kept file of snapshot {id} does not match its recorded blake3: it is damaged")]
    Damaged { id: u64 },
    #[error("the kept file of snapshot {id} cannot be decompressed")]
    Decompress {
        id: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The exact bytes of snapshot `id`, checked against its hash.
pub fn snapshot_bytes(store: &Store, id: u64) -> Result<Vec<u8>, RawError> {
    let meta = store.snapshot(id)?.ok_or(RawError::NoSuchSnapshot(id))?;
    let compressed = store.raw(&meta.file_hash)?.ok_or(RawError::NotKept(id))?;
    let bytes =
        zstd::stream::decode_all(compressed.as_slice()).map_err(|source| RawError::Decompress { id, source })?;
    if *blake3::hash(&bytes).as_bytes() != meta.file_hash {
        return Err(RawError::Damaged { id });
    }
    Ok(bytes)
}

/// Writes snapshot `id`'s exact bytes to `path` (fsynced); returns the length.
pub fn export_snapshot(store: &Store, id: u64, path: &Path) -> Result<u64, RawError> {
    let bytes = snapshot_bytes(store, id)?;
    let write = |source| RawError::Write {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::create(path).map_err(write)?;
    file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(write)?;
    Ok(bytes.len() as u64)
}

/// Every kept raw file checked against its snapshot's hash: the ids of the
/// damaged ones, and how many were checked.
pub fn verify_raw(store: &Store) -> Result<(u64, Vec<u64>), RawError> {
    let mut checked = 0;
    let mut damaged = Vec::new();
    for meta in store.snapshots()? {
        match snapshot_bytes(store, meta.id) {
            Ok(_) => checked += 1,
            Err(RawError::NotKept(_)) => {}
            Err(RawError::Damaged { id } | RawError::Decompress { id, .. }) => {
                checked += 1;
                damaged.push(id);
            }
            Err(e) => return Err(e),
        }
    }
    Ok((checked, damaged))
}
