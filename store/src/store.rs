//! `Store`: the handle on the file, and its read and write transactions.
//! What is done with them lives beside it: opening and upgrading in
//! `open`, queries in `query`, appends in `append`, delivery records in
//! `deliver`, kept raw files in `raw`.

use std::path::PathBuf;
use std::sync::RwLock;

use redb::{Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};

use crate::StoreError;
use crate::open::{open_error, open_writable};

/// The event store. Cheap to query; one writer at a time (redb's file lock
/// also keeps other processes out while it is open for writing).
///
/// A store is opened read-only and becomes writable at its first write:
/// redb rewrites its header whenever a file is opened for writing, so a
/// command that only reads, or an import that is rejected before it writes,
/// leaves the file byte-for-byte as it was.
#[derive(Debug)]
pub struct Store {
    pub(crate) db: RwLock<Option<Db>>,
    pub(crate) path: PathBuf,
    /// Set when opening upgraded the file from an older schema.
    pub(crate) upgraded: Option<crate::migrate::Upgrade>,
    /// Whether the store is encrypted, and its key when given.
    pub(crate) keys: crate::seal::Keys,
}

pub(crate) enum Db {
    Read(ReadOnlyDatabase),
    Write(Database),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Db::Read(_) => "Db::Read",
            Db::Write(_) => "Db::Write",
        })
    }
}

impl Store {
    /// Whether the store is encrypted at rest.
    pub fn is_encrypted(&self) -> bool {
        self.keys.encrypted
    }

    /// Whether the values of this store can be read: it is plain, or it
    /// was opened with its key.
    pub fn can_read_values(&self) -> bool {
        !self.keys.encrypted || self.keys.sealer.is_some()
    }

    pub(crate) fn read(&self) -> Result<ReadTransaction, StoreError> {
        let db = self.db.read().map_err(|_| StoreError::Poisoned)?;
        Ok(match db.as_ref() {
            Some(Db::Read(db)) => db.begin_read()?,
            Some(Db::Write(db)) => db.begin_read()?,
            None => return Err(StoreError::Poisoned),
        })
    }

    /// Begins a write transaction, reopening the file for writing first if
    /// it was open read-only. An encrypted store opened without its key is
    /// never written ([`StoreError::KeyNeeded`]).
    pub(crate) fn write(&self) -> Result<WriteTransaction, StoreError> {
        self.keys.for_writing()?;
        let mut db = self.db.write().map_err(|_| StoreError::Poisoned)?;
        if let Some(Db::Read(_)) = db.as_ref() {
            if let Some(Db::Read(ro)) = db.take() {
                ro.close().map_err(|source| open_error(&self.path, source))?;
            }
            *db = Some(Db::Write(open_writable(&self.path)?));
        }
        match db.as_ref() {
            Some(Db::Write(db)) => Ok(db.begin_write()?),
            _ => Err(StoreError::Poisoned),
        }
    }
}

/// The last sequence number in the log; 0 when it is empty.
pub(crate) fn last_seq(events: &impl ReadableTable<u64, &'static [u8]>) -> Result<u64, StoreError> {
    Ok(events.last()?.map_or(0, |(k, _)| k.value()))
}
