//! The kept raw files: the exact bytes of each import, zstd-compressed, in
//! chunks, kept for `store.keep_raw_days`. In an encrypted store every
//! chunk is sealed to its (file hash, chunk number).

use std::io::Read;

use redb::{ReadableTable, TableError, WriteTransaction};

use crate::seal::{Sealer, aad};
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
            let (k, v) = entry?;
            if self.keys.encrypted {
                out.extend_from_slice(&self.keys.open("raw", &chunk_row(hash, k.value().1), v.value())?);
            } else {
                out.extend_from_slice(v.value());
            }
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

/// The row a raw chunk is sealed to: file hash, chunk number.
pub(crate) fn chunk_row(hash: &[u8; 32], n: u64) -> [u8; 40] {
    let mut out = [0; 40];
    out[..32].copy_from_slice(hash);
    out[32..].copy_from_slice(&n.to_be_bytes());
    out
}

/// Copies `raw` into the raw table under `hash`, chunk by chunk, each
/// sealed with `sealer` in an encrypted store.
pub(crate) fn store_raw(
    txn: &WriteTransaction,
    hash: &[u8; 32],
    raw: Option<&mut dyn Read>,
    sealer: Option<&Sealer>,
) -> Result<(), StoreError> {
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
        match sealer {
            Some(sealer) => {
                let sealed = sealer.seal(&aad("raw", &chunk_row(hash, n)), &chunk[..filled])?;
                table.insert((hash, n), sealed.as_slice())?;
            }
            None => table.insert((hash, n), &chunk[..filled]).map(drop)?,
        }
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
