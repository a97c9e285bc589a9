//! `Store::backup`: a consistent copy of the store in a new file, taken
//! while another process imports or delivers.
//!
//! One read transaction sees one commit; every table is copied from it into
//! a fresh redb file created under a temporary name beside the destination
//! (mode 0600, never through a symlink), synced to disk and renamed into
//! place, so the destination is either the old file or a complete copy.
//! Choosing the file and reporting the outcome are the caller's.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use redb::backends::FileBackend;
use redb::{
    Database, Key, MultimapTableDefinition, MultimapTableHandle, ReadTransaction, ReadableMultimapTable, ReadableTable,
    ReadableTableMetadata, TableDefinition, TableError, TableHandle, Value, WriteTransaction,
};

use crate::tables::{
    ABSENCE, DELIVERY, ERASURES, EVENTS, HELD_EVENTS, META, RAW, REMOTE_IDS, SNAPSHOT_BY_HASH, SNAPSHOT_ORIGIN,
    SNAPSHOTS, SOURCE_FILES, STATE, STATE_DIGEST, USER_EVENTS,
};
use crate::{Store, StoreError};

/// The copy's page cache: it is written once, front to back.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupReport {
    /// Where it was written.
    pub path: PathBuf,
    /// Snapshots (imports) in the copy.
    pub snapshots: u64,
    /// Events in the copy's log.
    pub events: u64,
    /// Entries copied, over every table.
    pub entries: u64,
    /// The copy's size on disk.
    pub bytes: u64,
}

impl Store {
    /// Writes a consistent copy of the store to `dest`: every table as one
    /// read transaction sees it, in a new file renamed into place once it
    /// is synced to disk. An existing `dest` is refused unless `replace`;
    /// a `dest` that is a symbolic link, or the store itself, always is.
    pub fn backup(&self, dest: &Path, replace: bool) -> Result<BackupReport, StoreError> {
        let io_error = |source: io::Error| StoreError::BackupIo {
            path: dest.to_owned(),
            source,
        };
        match std::fs::symlink_metadata(dest) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(StoreError::BackupSymlink { path: dest.to_owned() });
            }
            Ok(_) if !replace => return Err(StoreError::BackupExists { path: dest.to_owned() }),
            Ok(_) => {
                if same_file(dest, self.path()).map_err(io_error)? {
                    return Err(StoreError::BackupIsTheStore { path: dest.to_owned() });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(e)),
        }
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(dest.file_name().unwrap_or(dest.as_os_str()));
        prefix.push(".");
        // Created with O_EXCL and mode 0600; removed if anything below fails.
        let temp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(io_error)?;

        let source = self.read()?;
        let copy = {
            let handle = temp.as_file().try_clone().map_err(io_error)?;
            let backend = FileBackend::new(handle).map_err(|source| StoreError::Open {
                path: temp.path().to_owned(),
                source,
            })?;
            let db = Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create_with_backend(backend)
                .map_err(|source| StoreError::Open {
                    path: temp.path().to_owned(),
                    source,
                })?;
            let txn = db.begin_write()?;
            let copy = copy_tables(&source, &txn)?;
            txn.commit()?;
            db.close().map_err(|source| StoreError::Open {
                path: temp.path().to_owned(),
                source,
            })?;
            copy
        };
        drop(source);

        let file = temp.as_file();
        file.sync_all().map_err(io_error)?;
        let bytes = file.metadata().map_err(io_error)?.len();
        let persisted = if replace {
            temp.persist(dest)
        } else {
            temp.persist_noclobber(dest)
        };
        match persisted {
            Ok(_) => {}
            Err(e) if !replace && e.error.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StoreError::BackupExists { path: dest.to_owned() });
            }
            Err(e) => return Err(io_error(e.error)),
        }
        // The rename is durable once the folder's entry is.
        File::open(dir).and_then(|d| d.sync_all()).map_err(io_error)?;
        Ok(BackupReport {
            path: dest.to_owned(),
            snapshots: copy.snapshots,
            events: copy.events,
            entries: copy.entries,
            bytes,
        })
    }
}

/// Counts of what [`copy_tables`] copied.
struct Copied {
    snapshots: u64,
    events: u64,
    entries: u64,
}

/// Copies every table `source` has into `target`. A table this build does
/// not know is refused rather than silently left out of the copy.
fn copy_tables(source: &ReadTransaction, target: &WriteTransaction) -> Result<Copied, StoreError> {
    let known = [
        META.name(),
        SNAPSHOTS.name(),
        SNAPSHOT_BY_HASH.name(),
        EVENTS.name(),
        STATE.name(),
        DELIVERY.name(),
        REMOTE_IDS.name(),
        SOURCE_FILES.name(),
        HELD_EVENTS.name(),
        ABSENCE.name(),
        RAW.name(),
        STATE_DIGEST.name(),
        SNAPSHOT_ORIGIN.name(),
        ERASURES.name(),
    ];
    for table in source.list_tables()? {
        if !known.contains(&table.name()) {
            return Err(StoreError::UnknownTable {
                name: table.name().to_owned(),
            });
        }
    }
    for table in source.list_multimap_tables()? {
        if table.name() != USER_EVENTS.name() {
            return Err(StoreError::UnknownTable {
                name: table.name().to_owned(),
            });
        }
    }
    let snapshots = copy_table(source, target, SNAPSHOTS)?;
    let events = copy_table(source, target, EVENTS)?;
    let entries = snapshots
        + events
        + copy_table(source, target, META)?
        + copy_table(source, target, SNAPSHOT_BY_HASH)?
        + copy_multimap(source, target, USER_EVENTS)?
        + copy_table(source, target, STATE)?
        + copy_table(source, target, DELIVERY)?
        + copy_table(source, target, REMOTE_IDS)?
        + copy_table(source, target, SOURCE_FILES)?
        + copy_table(source, target, HELD_EVENTS)?
        + copy_table(source, target, ABSENCE)?
        + copy_table(source, target, RAW)?
        + copy_table(source, target, STATE_DIGEST)?
        + copy_table(source, target, SNAPSHOT_ORIGIN)?
        + copy_table(source, target, ERASURES)?;
    Ok(Copied {
        snapshots,
        events,
        entries,
    })
}

/// Copies one table, if `source` has it; returns its entry count.
fn copy_table<K: Key + 'static, V: Value + 'static>(
    source: &ReadTransaction,
    target: &WriteTransaction,
    definition: TableDefinition<K, V>,
) -> Result<u64, StoreError> {
    let from = match source.open_table(definition) {
        Ok(table) => table,
        Err(TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut to = target.open_table(definition)?;
    for entry in from.iter()? {
        let (key, value) = entry?;
        to.insert(key.value(), value.value())?;
    }
    Ok(from.len()?)
}

/// Copies one multimap table, if `source` has it; returns its value count.
fn copy_multimap<K: Key + 'static, V: Key + 'static>(
    source: &ReadTransaction,
    target: &WriteTransaction,
    definition: MultimapTableDefinition<K, V>,
) -> Result<u64, StoreError> {
    let from = match source.open_multimap_table(definition) {
        Ok(table) => table,
        Err(TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut to = target.open_multimap_table(definition)?;
    for entry in from.iter()? {
        let (key, values) = entry?;
        for value in values {
            to.insert(key.value(), value?.value())?;
        }
    }
    Ok(from.len()?)
}

/// Whether `a` and `b` name the same file (after resolving links and `..`).
fn same_file(a: &Path, b: &Path) -> io::Result<bool> {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => Ok(a == b),
        (Err(e), _) | (_, Err(e)) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::{AppendOutcome, Counts, EventFilter, EventKind, NewSnapshot, Record};

    fn snapshot(n: u8) -> NewSnapshot {
        NewSnapshot {
            file_hash: [n; 32],
            source: format!("day{n}.csv"),
            received: i64::from(n) * 1_000_000,
            rows: 1,
            bytes: 5,
            header: vec!["Email".into()],
            mapped_columns: vec!["Email".into()],
            counts: Counts::default(),
            absences: vec![],
            prune_raw_before: 0,
            origin: Default::default(),
        }
    }

    /// A store with two imports (the second keeping its raw bytes).
    fn store_with_history(dir: &Path) -> Store {
        let store = Store::open(&dir.join("s.redb")).expect("open");
        let created = |key: &str| {
            (
                key.to_owned(),
                EventKind::Created {
                    record: Record::from_pairs([("email", format!("{key}@x"))]),
                },
            )
        };
        let first = store.append_import(0, snapshot(1), vec![created("a"), created("b")], None, None);
        assert!(matches!(first, Ok(AppendOutcome::Appended(_))), "{first:?}");
        let mut raw: &[u8] = b"Email\nc@x\n";
        let second = store.append_import(2, snapshot(2), vec![created("c")], Some(&mut raw), None);
        assert!(matches!(second, Ok(AppendOutcome::Appended(_))), "{second:?}");
        store
    }

    fn table_names(store: &Store) -> BTreeSet<String> {
        let txn = store.read().expect("read");
        let mut names: BTreeSet<String> = txn
            .list_tables()
            .expect("tables")
            .map(|t| t.name().to_owned())
            .collect();
        names.extend(
            txn.list_multimap_tables()
                .expect("multimap")
                .map(|t| t.name().to_owned()),
        );
        names
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_backup_is_a_store_with_every_table_and_the_same_answers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with_history(dir.path());
        let dest = dir.path().join("copy.redb");

        let report = store.backup(&dest, false).expect("backup");
        assert_eq!(
            (report.path.as_path(), report.snapshots, report.events),
            (dest.as_path(), 2, 3)
        );
        assert_eq!(report.bytes, std::fs::metadata(&dest).expect("copy").len());
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());

        let copy = Store::open_existing(&dest).expect("open copy");
        assert_eq!(table_names(&copy), table_names(&store));
        assert_eq!(table_names(&copy).len(), 15);
        assert_eq!(
            copy.snapshots().expect("snapshots"),
            store.snapshots().expect("snapshots")
        );
        let all = EventFilter::default();
        assert_eq!(copy.events(&all).expect("events"), store.events(&all).expect("events"));
        assert_eq!(copy.user_state("c").expect("c"), store.user_state("c").expect("c"));
        assert_eq!(copy.raw(&[2; 32]).expect("raw"), store.raw(&[2; 32]).expect("raw"));
        assert!(copy.raw(&[2; 32]).expect("raw").is_some());
        assert!(copy.verify().expect("verify").ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_backup_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with_history(dir.path());
        let dest = dir.path().join("copy.redb");
        store.backup(&dest, false).expect("backup");
        let mode = std::fs::metadata(&dest).expect("copy").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn an_existing_file_is_replaced_only_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with_history(dir.path());
        let dest = dir.path().join("copy.redb");
        std::fs::write(&dest, b"yesterday's backup").expect("write");

        let refused = store.backup(&dest, false);
        assert!(
            matches!(&refused, Err(StoreError::BackupExists { path }) if *path == dest),
            "{refused:?}"
        );
        assert_eq!(std::fs::read(&dest).expect("read"), b"yesterday's backup");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());

        store.backup(&dest, true).expect("backup");
        let copy = Store::open_existing(&dest).expect("open copy");
        assert_eq!(copy.snapshots().expect("snapshots").len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_never_followed_nor_the_store_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with_history(dir.path());
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"not yours").expect("write");
        let link = dir.path().join("copy.redb");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");

        for replace in [false, true] {
            let refused = store.backup(&link, replace);
            assert!(matches!(&refused, Err(StoreError::BackupSymlink { .. })), "{refused:?}");
        }
        assert_eq!(std::fs::read(&target).expect("read"), b"not yours");

        let before = std::fs::read(store.path()).expect("read");
        let itself = dir.path().join(".").join("s.redb");
        let refused = store.backup(&itself, true);
        assert!(
            matches!(&refused, Err(StoreError::BackupIsTheStore { .. })),
            "{refused:?}"
        );
        assert_eq!(std::fs::read(store.path()).expect("read"), before);
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_missing_store_is_not_created_by_open_existing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("typo.redb");
        let missing = Store::open_existing(&path);
        assert!(matches!(&missing, Err(StoreError::Missing { .. })), "{missing:?}");
        assert!(!path.exists());
    }
}
