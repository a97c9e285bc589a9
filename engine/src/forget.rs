//! `ampsync forget KEY`: finds the kept raw files that hold the person, then
//! has the store erase them (see `ampsync_store::Store::forget`).
//!
//! A kept file holds the person if its bytes contain their key or any
//! email they had. A match by accident (a key inside a longer one) only
//! drops a file that did not need to go: the file is dropped, never edited,
//! so what remains is always a file as it was received, or nothing.

use ampsync_store::{Erasure, ForgetRequest, Store, StoreError};

use crate::raw::{RawError, snapshot_bytes};

/// Why a person could not be forgotten.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForgetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Raw(#[from] RawError),
}

/// Who to forget, and why.
#[derive(Debug, Clone)]
pub struct Forget<'a> {
    pub key: &'a str,
    pub reason: &'a str,
    pub by: Option<&'a str>,
    /// Microseconds since the epoch.
    pub time: i64,
}

/// Erases `forget.key`'s personal values from the store, dropping every
/// kept raw file that holds them.
pub fn forget(store: &Store, forget: &Forget<'_>) -> Result<Erasure, ForgetError> {
    let needles = needles(store, forget.key)?;
    let holding = raw_holding(store, std::slice::from_ref(&needles))?;
    Ok(store.forget(&ForgetRequest {
        key: forget.key,
        reason: forget.reason,
        by: forget.by,
        time: forget.time,
        raw_holding: holding.first().map_or(&[][..], Vec::as_slice),
    })?)
}

/// What marks `key` in a kept file: the key and every email they had.
pub(crate) fn needles(store: &Store, key: &str) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut needles: Vec<Vec<u8>> = vec![key.as_bytes().to_vec()];
    for (event, _) in store.user_events(key)? {
        for change in event.body.kind.changes() {
            if change.field == "email" {
                needles.extend([change.old, change.new].into_iter().flatten().map(String::into_bytes));
            }
        }
    }
    needles.retain(|n| !n.is_empty());
    needles.sort_unstable();
    needles.dedup();
    Ok(needles)
}

/// For each person (given by their needles), the snapshots whose kept raw
/// file holds them; each kept file is decompressed once for everyone.
pub(crate) fn raw_holding(store: &Store, people: &[Vec<Vec<u8>>]) -> Result<Vec<Vec<u64>>, ForgetError> {
    let mut holding = vec![Vec::new(); people.len()];
    if people.is_empty() {
        return Ok(holding);
    }
    for meta in store.snapshots()? {
        let bytes = match snapshot_bytes(store, meta.id) {
            Ok(bytes) => bytes,
            Err(RawError::NotKept(_)) => continue,
            // A damaged kept file is dropped too: it cannot be searched.
            Err(RawError::Damaged { .. } | RawError::Decompress { .. }) => {
                holding.iter_mut().for_each(|h| h.push(meta.id));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        for (needles, holding) in people.iter().zip(&mut holding) {
            if needles.iter().any(|n| memchr::memmem::find(&bytes, n).is_some()) {
                holding.push(meta.id);
            }
        }
    }
    Ok(holding)
}
