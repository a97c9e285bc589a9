//! How each snapshot read its file: the config fingerprint it was read
//! with and, for a re-import, the snapshot whose kept file it read again.
//! And the idempotency check built on it: the same bytes read the same way
//! again are a no-op.
//!
//! Kept in a table of its own (`snapshot_origin`), beside `snapshots`,
//! whose values stay as earlier releases wrote them: releases before it
//! ignore the table, and their stores simply lack it. A snapshot with no
//! entry was recorded before fingerprints were (see [`Store::already_read`]
//! for what that means).

use std::collections::BTreeMap;

use redb::{ReadableTable, TableError, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::tables::{SNAPSHOT_BY_HASH, SNAPSHOT_ORIGIN, SNAPSHOTS};
use crate::{SnapshotMeta, SnapshotStatus, Store, StoreError, codec};

/// How a snapshot read its file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotOrigin {
    /// blake3 of the config settings that decide how a file is read (the
    /// engine's config fingerprint).
    pub fingerprint: [u8; 32],
    /// The snapshot whose kept file this one read again (`reimport N`).
    pub reimport_of: Option<u64>,
}

/// The stored form: new variants are only ever appended, so every
/// release's values stay readable.
#[derive(Debug, Serialize, Deserialize)]
enum Stored {
    V1 {
        fingerprint: [u8; 32],
        reimport_of: Option<u64>,
    },
}

const TABLE: &str = "snapshot_origin";

impl SnapshotOrigin {
    pub(crate) fn encode(&self) -> Result<Vec<u8>, StoreError> {
        codec::encode(
            TABLE,
            &Stored::V1 {
                fingerprint: self.fingerprint,
                reimport_of: self.reimport_of,
            },
        )
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<SnapshotOrigin, StoreError> {
        match codec::decode(TABLE, bytes)? {
            Stored::V1 {
                fingerprint,
                reimport_of,
            } => Ok(SnapshotOrigin {
                fingerprint,
                reimport_of,
            }),
        }
    }
}

impl Store {
    /// How snapshot `id` read its file; `None` for a snapshot recorded
    /// before fingerprints were (or no such snapshot).
    pub fn origin(&self, id: u64) -> Result<Option<SnapshotOrigin>, StoreError> {
        let txn = self.read()?;
        let table = match txn.open_table(SNAPSHOT_ORIGIN) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        table.get(id)?.map(|v| SnapshotOrigin::decode(v.value())).transpose()
    }

    /// Every recorded origin, by snapshot id.
    pub fn origins(&self) -> Result<BTreeMap<u64, SnapshotOrigin>, StoreError> {
        let txn = self.read()?;
        let table = match txn.open_table(SNAPSHOT_ORIGIN) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(BTreeMap::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = BTreeMap::new();
        for entry in table.iter()? {
            let (id, v) = entry?;
            out.insert(id.value(), SnapshotOrigin::decode(v.value())?);
        }
        Ok(out)
    }

    /// The snapshot that makes reading the file `file_hash` the way
    /// `origin` says a no-op, if any: the latest snapshot of those bytes
    /// (rejected ones aside), when it read them with the same fingerprint.
    ///
    /// A snapshot recorded before fingerprints counts as read with any
    /// fingerprint for an import (a nightly rerun right after an upgrade
    /// stays a no-op) and with none for a re-import (`reimport N` of such
    /// a snapshot always reads its file again).
    pub fn already_read(
        &self,
        file_hash: &[u8; 32],
        origin: &SnapshotOrigin,
    ) -> Result<Option<SnapshotMeta>, StoreError> {
        let txn = self.read()?;
        let Some(id) = txn.open_table(SNAPSHOT_BY_HASH)?.get(file_hash)?.map(|g| g.value()) else {
            return Ok(None);
        };
        let read_with = match txn.open_table(SNAPSHOT_ORIGIN) {
            Ok(table) => table.get(id)?.map(|v| SnapshotOrigin::decode(v.value())).transpose()?,
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        };
        if !same_reading(read_with.as_ref(), origin) {
            return Ok(None);
        }
        match txn.open_table(SNAPSHOTS)?.get(id)? {
            Some(v) => Ok(Some(codec::decode("snapshots", v.value())?)),
            None => Err(StoreError::NoSuchSnapshot(id)),
        }
    }
}

/// Whether a snapshot read with `read_with` (`None`: before fingerprints)
/// read its file the way `wanted` would.
fn same_reading(read_with: Option<&SnapshotOrigin>, wanted: &SnapshotOrigin) -> bool {
    match read_with {
        Some(read_with) => read_with.fingerprint == wanted.fingerprint,
        None => wanted.reimport_of.is_none(),
    }
}

/// [`Store::already_read`] inside a write transaction (the check that
/// counts: another process may have imported meanwhile).
pub(crate) fn already_read_in(
    txn: &WriteTransaction,
    file_hash: &[u8; 32],
    origin: &SnapshotOrigin,
) -> Result<Option<SnapshotMeta>, StoreError> {
    let Some(id) = txn.open_table(SNAPSHOT_BY_HASH)?.get(file_hash)?.map(|g| g.value()) else {
        return Ok(None);
    };
    let read_with = txn
        .open_table(SNAPSHOT_ORIGIN)?
        .get(id)?
        .map(|v| SnapshotOrigin::decode(v.value()))
        .transpose()?;
    if !same_reading(read_with.as_ref(), origin) {
        return Ok(None);
    }
    match txn.open_table(SNAPSHOTS)?.get(id)? {
        Some(v) => Ok(Some(codec::decode("snapshots", v.value())?)),
        None => Err(StoreError::NoSuchSnapshot(id)),
    }
}

/// Records how new snapshot `id` read its file.
pub(crate) fn record(txn: &WriteTransaction, id: u64, origin: &SnapshotOrigin) -> Result<(), StoreError> {
    txn.open_table(SNAPSHOT_ORIGIN)?
        .insert(id, origin.encode()?.as_slice())?;
    Ok(())
}

/// Takes rejected snapshot `rejected` out of the idempotency check: its
/// file hash then names the latest other snapshot of the same bytes that
/// was not rejected (a re-import of a file imported before), or nothing,
/// so the same file may be imported again.
pub(crate) fn unindex_rejected(txn: &WriteTransaction, rejected: &SnapshotMeta) -> Result<(), StoreError> {
    let mut by_hash = txn.open_table(SNAPSHOT_BY_HASH)?;
    if by_hash.get(&rejected.file_hash)?.map(|g| g.value()) != Some(rejected.id) {
        return Ok(()); // A later read of the same bytes is the one that counts.
    }
    let snapshots = txn.open_table(SNAPSHOTS)?;
    let mut earlier = None;
    for entry in snapshots.range(..rejected.id)?.rev() {
        let (id, v) = entry?;
        let meta: SnapshotMeta = codec::decode("snapshots", v.value())?;
        if meta.file_hash == rejected.file_hash && meta.status != SnapshotStatus::Rejected {
            earlier = Some(id.value());
            break;
        }
    }
    match earlier {
        Some(id) => by_hash.insert(&rejected.file_hash, id)?,
        None => by_hash.remove(&rejected.file_hash)?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppendOutcome, Counts, EventKind, NewSnapshot, Record};

    fn read(hash: u8, second: i64, fingerprint: u8, reimport_of: Option<u64>) -> NewSnapshot {
        NewSnapshot {
            file_hash: [hash; 32],
            source: format!("day{hash}.csv"),
            received: second * 1_000_000,
            rows: 1,
            bytes: 10,
            header: vec!["Email".into()],
            mapped_columns: vec!["Email".into()],
            counts: Counts::default(),
            absences: vec![],
            prune_raw_before: 0,
            origin: SnapshotOrigin {
                fingerprint: [fingerprint; 32],
                reimport_of,
            },
        }
    }

    fn created(key: &str) -> Vec<(String, EventKind)> {
        let record = Record::from_pairs([("email", format!("{key}@x").as_str())]);
        vec![(key.to_owned(), EventKind::Created { record })]
    }

    fn id(outcome: AppendOutcome) -> (bool, u64) {
        match outcome {
            AppendOutcome::Appended(meta) => (true, meta.id),
            AppendOutcome::AlreadyImported(meta) => (false, meta.id),
        }
    }

    #[test]
    fn the_same_bytes_are_read_again_only_with_another_fingerprint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        // Two chunks' worth (the second copy is one chunk).
        let big = vec![b'x'; (1 << 20) + 10];
        let mut raw: &[u8] = &big;
        let first = store
            .append_import(0, read(1, 1, 10, None), created("a"), Some(&mut raw), None)
            .expect("append");
        assert_eq!(id(first), (true, 1));
        // Same bytes, same reading: a no-op, for an import and a re-import.
        for again in [read(1, 2, 10, None), read(1, 2, 10, Some(1))] {
            let outcome = store.append_import(1, again, created("z"), None, None).expect("append");
            assert_eq!(id(outcome), (false, 1));
        }
        // Another reading of the same bytes is a new snapshot naming its origin...
        let mut raw: &[u8] = b"copy";
        let second = store
            .append_import(1, read(1, 3, 11, Some(1)), created("b"), Some(&mut raw), None)
            .expect("append");
        assert_eq!(id(second), (true, 2));
        assert_eq!(store.origin(2).expect("origin").map(|o| o.reimport_of), Some(Some(1)));
        assert_eq!(store.origins().expect("origins").len(), 2);
        // ... its kept copy replaced whole, not overlaid ...
        assert_eq!(store.raw(&[1; 32]).expect("raw").as_deref(), Some(&b"copy"[..]));
        // ... and it is what the next check sees: back to the first reading
        // is a reading again.
        let outcome = store
            .append_import(2, read(1, 4, 10, None), created("c"), None, None)
            .expect("append");
        assert_eq!(id(outcome), (true, 3));
        assert_eq!(
            store
                .already_read(&[1; 32], &read(1, 5, 10, None).origin)
                .expect("check")
                .map(|m| m.id),
            Some(3)
        );
    }

    #[test]
    fn a_rejected_reading_gives_the_check_back_to_the_one_before() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        store
            .append_import(0, read(1, 1, 10, None), created("a"), None, None)
            .expect("append");
        store
            .append_held(1, read(1, 2, 11, Some(1)), "held".into(), created("b"), None)
            .expect("hold");
        let fingerprint = |f: u8| SnapshotOrigin {
            fingerprint: [f; 32],
            reimport_of: None,
        };
        let found = |f: u8| {
            store
                .already_read(&[1; 32], &fingerprint(f))
                .expect("check")
                .map(|m| m.id)
        };
        assert_eq!((found(10), found(11)), (None, Some(2)));
        store.reject(2).expect("reject");
        assert_eq!((found(10), found(11)), (Some(1), None));
        // A file read once and rejected is not read at all.
        store
            .append_held(1, read(2, 3, 10, None), "held".into(), created("c"), None)
            .expect("hold");
        store.reject(3).expect("reject");
        assert_eq!(store.already_read(&[2; 32], &fingerprint(10)).expect("check"), None);
    }

    #[test]
    fn pruning_keeps_a_file_a_later_snapshot_read_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        let mut raw: &[u8] = b"one";
        store
            .append_import(0, read(1, 1, 10, None), created("a"), Some(&mut raw), None)
            .expect("append");
        let mut raw: &[u8] = b"two";
        store
            .append_import(1, read(2, 2, 10, None), created("b"), Some(&mut raw), None)
            .expect("append");
        let mut raw: &[u8] = b"one";
        store
            .append_import(2, read(1, 50, 11, Some(1)), created("c"), Some(&mut raw), None)
            .expect("append");
        // Everything received before second 40 is old, but file 1 was read again since.
        let prune = NewSnapshot {
            prune_raw_before: 40_000_000,
            ..read(3, 60, 10, None)
        };
        store.append_import(3, prune, created("d"), None, None).expect("append");
        assert_eq!(store.raw(&[1; 32]).expect("raw").as_deref(), Some(&b"one"[..]));
        assert_eq!(store.raw(&[2; 32]).expect("raw"), None);
    }

    #[test]
    fn the_encoding_is_stable() {
        // Golden: stores written with this encoding must stay readable.
        let origin = SnapshotOrigin {
            fingerprint: [7; 32],
            reimport_of: Some(300),
        };
        let mut want = vec![1, 0];
        want.extend([7; 32]);
        want.extend([1, 0xac, 0x02]);
        assert_eq!(origin.encode().expect("encode"), want);
        assert_eq!(SnapshotOrigin::decode(&want).expect("decode"), origin);
        let plain = SnapshotOrigin::default();
        assert_eq!(
            SnapshotOrigin::decode(&plain.encode().expect("encode")).expect("decode"),
            plain
        );
    }

    #[test]
    fn a_snapshot_from_before_fingerprints_matches_imports_but_not_reimports() {
        let read = SnapshotOrigin {
            fingerprint: [1; 32],
            reimport_of: None,
        };
        let other = SnapshotOrigin {
            fingerprint: [2; 32],
            reimport_of: None,
        };
        let reimport = SnapshotOrigin {
            reimport_of: Some(4),
            ..read
        };
        assert!(same_reading(Some(&read), &read));
        assert!(same_reading(Some(&read), &reimport), "same config: nothing to re-read");
        assert!(!same_reading(Some(&read), &other));
        assert!(same_reading(None, &other), "an old snapshot: a rerun stays a no-op");
        assert!(
            !same_reading(None, &reimport),
            "an old snapshot: `reimport` reads it again"
        );
    }
}
