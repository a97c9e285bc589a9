//! Upgrading a store an older release wrote: the schema version in `meta`,
//! and the steps from each version to the next.
//!
//! An older store is upgraded when it is opened: first a consistent copy of
//! it is written beside it (`ampsync.redb.bak-v1`, by [`Store::backup`]),
//! then every step runs in one write transaction that also records the new
//! version, so a crash leaves either the old store or the upgraded one, and
//! the copy either way. A store from a newer release is refused at open
//! ([`StoreError::TooNew`]).
//!
//! Schema versions:
//! - 1: every table up to ampsync 0.1.0 and what followed it without a
//!   version change (the fixtures `tests/data/stores/v0.1.0` and
//!   `v0.2.0-pre`).
//! - 2: adds `erasures` (`ampsync forget`) (the fixture
//!   `tests/data/stores/v0.3.0-pre`).
//! - 3: encryption at rest: sealed events, states, held events and raw
//!   chunks, and the key check value in `meta`. No data changes: a plain
//!   store stays plain; the version is there so a build that knows no
//!   sealing refuses an encrypted store as "newer schema" instead of
//!   failing to decode it.

use std::path::{Path, PathBuf};

use redb::WriteTransaction;

use crate::open::SCHEMA_VERSION;
use crate::store::Store;
use crate::tables::{ERASURES, META};
use crate::{StoreError, open};

/// What opening a store from an older release did to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Upgrade {
    /// The schema the store had.
    pub from: u32,
    /// The schema it has now ([`SCHEMA_VERSION`]).
    pub to: u32,
    /// The copy of the store as it was, beside it.
    pub backup: PathBuf,
}

impl Store {
    /// Upgrades this store from schema `from` to [`SCHEMA_VERSION`], after
    /// writing a backup of it beside it.
    pub(crate) fn upgrade(&self, from: u32) -> Result<Upgrade, StoreError> {
        let backup = self.backup_beside(from)?;
        let txn = self.write()?;
        // Another process may have upgraded it since this one looked.
        let found = open::schema_in(&txn.open_table(META)?, &self.path)?;
        if found < SCHEMA_VERSION {
            for version in found..SCHEMA_VERSION {
                step(&txn, version)?;
            }
            txn.open_table(META)?
                .insert("schema", SCHEMA_VERSION.to_le_bytes().as_slice())?;
        }
        txn.commit()?;
        Ok(Upgrade {
            from,
            to: SCHEMA_VERSION,
            backup,
        })
    }

    /// Writes a backup to the first free name of `<store>.bak-v<from>`,
    /// `<store>.bak-v<from>.2`, …: an earlier copy is never replaced.
    fn backup_beside(&self, from: u32) -> Result<PathBuf, StoreError> {
        for n in 1u32.. {
            let path = backup_name(&self.path, from, n);
            match self.backup(&path, false) {
                Ok(_) => return Ok(path),
                Err(StoreError::BackupExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        unreachable!("u32 names run out only after 4 billion backups")
    }

    /// What opening this store did to it, if it was from an older release.
    pub fn upgraded(&self) -> Option<&Upgrade> {
        self.upgraded.as_ref()
    }
}

/// `<store>.bak-v<from>`, with `.<n>` after it from the second on.
fn backup_name(store: &Path, from: u32, n: u32) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(format!(".bak-v{from}"));
    if n > 1 {
        name.push(format!(".{n}"));
    }
    PathBuf::from(name)
}

/// The step from schema `from` to `from + 1`.
fn step(txn: &WriteTransaction, from: u32) -> Result<(), StoreError> {
    match from {
        1 => {
            txn.open_table(ERASURES)?;
            Ok(())
        }
        // Sealing is new in 3; a store upgraded to it is still plain.
        2 => Ok(()),
        _ => Err(StoreError::Inconsistent(format!("no upgrade from schema {from}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store as schema 1 left it: no `erasures`, version 1.
    fn schema_1_store(path: &Path) {
        drop(Store::open(path).expect("create"));
        let db = redb::Database::create(path).expect("redb");
        let txn = db.begin_write().expect("txn");
        txn.open_table(META)
            .expect("meta")
            .insert("schema", 1u32.to_le_bytes().as_slice())
            .expect("insert");
        assert!(txn.delete_table(ERASURES).expect("delete"));
        txn.commit().expect("commit");
    }

    #[test]
    fn an_older_store_is_upgraded_once_after_a_backup_beside_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        schema_1_store(&path);
        let store = Store::open_existing(&path).expect("open");
        let upgrade = store.upgraded().expect("upgraded").clone();
        assert_eq!((upgrade.from, upgrade.to), (1, SCHEMA_VERSION));
        assert_eq!(upgrade.backup, dir.path().join("s.redb.bak-v1"));
        assert!(store.table_names().expect("tables").contains(&"erasures".to_owned()));
        drop(store);

        let again = Store::open_existing(&path).expect("reopen");
        assert_eq!(again.upgraded(), None, "an upgraded store is not upgraded again");
        drop(again);

        // The backup is the store as it was: schema 1, no `erasures`; it
        // upgrades in its turn without replacing the first backup's name.
        let old = redb::ReadOnlyDatabase::open(&upgrade.backup).expect("backup");
        let txn = redb::ReadableDatabase::begin_read(&old).expect("read");
        let meta = txn.open_table(META).expect("meta");
        assert_eq!(open::schema_in(&meta, &upgrade.backup).expect("schema"), 1);
        assert!(txn.open_table(ERASURES).is_err());
    }

    #[test]
    fn a_second_upgrade_keeps_the_first_backup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        schema_1_store(&path);
        std::fs::write(dir.path().join("s.redb.bak-v1"), b"an earlier copy").expect("write");
        let store = Store::open_existing(&path).expect("open");
        assert_eq!(
            store.upgraded().map(|u| u.backup.clone()),
            Some(dir.path().join("s.redb.bak-v1.2"))
        );
        assert_eq!(
            std::fs::read(dir.path().join("s.redb.bak-v1")).expect("read"),
            b"an earlier copy"
        );
    }

    #[test]
    fn backups_beside_the_store_never_share_a_name() {
        let store = Path::new("/data/ampsync.redb");
        assert_eq!(backup_name(store, 1, 1), Path::new("/data/ampsync.redb.bak-v1"));
        assert_eq!(backup_name(store, 1, 2), Path::new("/data/ampsync.redb.bak-v1.2"));
    }
}
