//! The kept raw files: the exact bytes of each import, zstd-compressed, in
//! chunks, kept for `store.keep_raw_days`.

use std::io::Read;

use redb::{ReadableTable, TableError, WriteTransaction};

use crate::store::Store;
use crate::tables::{RAW, SNAPSHOTS};
use crate::{SnapshotMeta, StoreError, codec};

impl Store {
    /// The compressed raw bytes kept for file `hash`, if still kept.
    pub fn raw(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.read()?;
        let table = match txn.open_table(RAW) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        let mut any = false;
        for entry in table.range((hash, 0)..=(hash, u64::MAX))? {
            let (_, v) = entry?;
            out.extend_from_slice(v.value());
            any = true;
        }
        Ok(any.then_some(out))
    }
}

/// Bytes per raw chunk: redb stores big values, but small ones keep its
/// dirty pages, and so memory, bounded. A page short of 1 MiB, so a chunk
/// and its leaf header fit a 1 MiB allocation (redb rounds up to powers of
/// two: a full 1 MiB chunk took 2 MiB of file).
const RAW_CHUNK: usize = (1 << 20) - 4096;

/// Copies `raw` into the raw table under `hash`, chunk by chunk.
pub(crate) fn store_raw(txn: &WriteTransaction, hash: &[u8; 32], raw: Option<&mut dyn Read>) -> Result<(), StoreError> {
    let Some(raw) = raw else { return Ok(()) };
    let mut table = txn.open_table(RAW)?;
    // The same bytes kept before (a re-import): replaced whole, so no
    // chunk of the old copy outlives it.
    table.retain_in((hash, 0)..=(hash, u64::MAX), |_, _| false)?;
    let mut chunk = vec![0u8; RAW_CHUNK];
    for n in 0u64.. {
        let mut filled = 0;
        while filled < RAW_CHUNK {
            match raw.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(k) => filled += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(StoreError::Raw(e)),
            }
        }
        if filled == 0 {
            break;
        }
        table.insert((hash, n), &chunk[..filled])?;
        if filled < RAW_CHUNK {
            break;
        }
    }
    Ok(())
}

/// Drops the raw files of snapshots received before `before`, but for
/// those a later snapshot (a re-import of the same bytes) still keeps.
pub(crate) fn prune_raw(txn: &WriteTransaction, before: i64) -> Result<(), StoreError> {
    if before <= 0 {
        return Ok(());
    }
    let metas: Vec<SnapshotMeta> = txn
        .open_table(SNAPSHOTS)?
        .iter()?
        .map(|entry| {
            entry
                .map_err(StoreError::from)
                .and_then(|(_, v)| codec::decode::<SnapshotMeta>("snapshots", v.value()))
        })
        .collect::<Result<_, _>>()?;
    let recent: std::collections::HashSet<[u8; 32]> = metas
        .iter()
        .filter(|m| m.received >= before)
        .map(|m| m.file_hash)
        .collect();
    let old: std::collections::HashSet<[u8; 32]> = metas
        .iter()
        .filter(|m| m.received < before && !recent.contains(&m.file_hash))
        .map(|m| m.file_hash)
        .collect();
    let mut raw = txn.open_table(RAW)?;
    for hash in &old {
        raw.retain_in((hash, 0)..=(hash, u64::MAX), |_, _| false)?;
    }
    Ok(())
}
