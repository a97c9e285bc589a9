//! Opening the store file: telling a store from a missing, empty or foreign
//! file, creating a new one owner-only (0600), the schema check (an older
//! schema is upgraded: see `migrate`) and the key check (see `seal`): a
//! wrong key, or a key for a plain store, is refused before anything is
//! written.
//!
//! A store keeps the decrypted daily files and everyone's personal data, so
//! a new one is made readable by its owner alone, whatever the umask: it is
//! built under a temporary name created 0600 and linked into place only once
//! complete, so no one ever sees a half-made or world-readable store.
//!
//! Every handle is opened in redb's `SingleWriter` mode: one process writes
//! (a run holding the run lock) while others read the same file, so the
//! read commands work while the daemon holds the store.

use std::fs::{OpenOptions, Permissions};
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use redb::{ConcurrencyMode, Database, DatabaseError, ReadableTable, TableError};

use crate::seal::{CHECK_ENTRY, Keying, Keys, Sealer};
use crate::store::{Db, Store};
use crate::tables::{
    ABSENCE, DELIVERY, ERASURES, EVENTS, HELD_EVENTS, META, RAW, REMOTE_IDS, SNAPSHOT_BY_HASH, SNAPSHOTS, SOURCE_FILES,
    STATE, STATE_DIGEST, USER_EVENTS,
};
use crate::{StoreError, StoreKey};

/// The schema this build writes and the newest it reads.
pub const SCHEMA_VERSION: u32 = 3;

/// redb's page cache. Its default (1 GiB) would hold most of a million-person
/// import in memory. 64 MiB (was 96) keeps a first import of a million
/// people under 400 MiB (385 against 412 MiB) at no measured cost to day 2
/// (BENCHMARKS.md, "after issue 14").
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// redb's file signature: a file that does not start with it is no store.
const REDB_MAGIC: &[u8; 4] = b"redb";

/// How processes share the file: one writer, any number of readers.
const MODE: ConcurrencyMode = ConcurrencyMode::SingleWriter;

impl Store {
    /// Opens the store at `path`, creating it (mode 0600) when no file is
    /// there. For the commands that may start a store: `init` and the first
    /// import or sync; the others use [`Store::open_existing`].
    ///
    /// Refuses an empty file, one that is not an ampsync store, and one
    /// written by a newer schema. Opening an existing store writes nothing to
    /// it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, Keying::None)
    }

    /// [`Store::open`] with what the config says of the key: a new store is
    /// encrypted when a key is given (and refused when the configured
    /// variable is not set); see [`Store::open_existing_with`] for an
    /// existing one.
    pub fn open_with(path: &Path, keying: Keying) -> Result<Store, StoreError> {
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Keying::Unset { var } = &keying {
                    return Err(StoreError::KeyUnset {
                        path: path.to_owned(),
                        var: var.clone(),
                    });
                }
                let key = match &keying {
                    Keying::Key(key) => Some(key),
                    _ => None,
                };
                create(path, key)?;
            }
            Err(source) => {
                return Err(StoreError::File {
                    path: path.to_owned(),
                    source,
                });
            }
            Ok(_) => {}
        }
        Store::open_existing_with(path, keying)
    }

    /// Opens the store at `path`, which must exist: a missing file is
    /// [`StoreError::Missing`], never created. A plain store only: an
    /// encrypted one opens without its values (see [`Keying::Unset`]).
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        Store::open_existing_with(path, Keying::None)
    }

    /// Opens the existing store at `path` with what the config says of the
    /// key. An encrypted store and its key: the key must open its check
    /// value ([`StoreError::WrongKey`] otherwise); without the key it opens
    /// for what needs none, and anything else is [`StoreError::KeyNeeded`].
    /// A plain store given a key is [`StoreError::NotEncrypted`] (`rekey`
    /// encrypts it), and with its variable unset [`StoreError::KeyUnset`].
    /// Every refusal comes before anything is written.
    pub fn open_existing_with(path: &Path, keying: Keying) -> Result<Store, StoreError> {
        check_is_a_store(path)?;
        let db = match builder().open_read_only(path) {
            Ok(db) => Db::Read(db),
            // A store left by a crash needs redb's repair, which writes.
            Err(DatabaseError::RepairAborted) => Db::Write(open_writable(path)?),
            Err(source) => return Err(open_error(path, source)),
        };
        let mut store = Store {
            db: RwLock::new(Some(db)),
            path: path.to_owned(),
            upgraded: None,
            keys: Keys::unchecked(&keying),
        };
        let found = store.check_schema()?;
        store.check_key(&keying)?;
        if found < SCHEMA_VERSION {
            store.upgraded = Some(store.upgrade(found)?);
        }
        Ok(store)
    }

    /// Opens the store at `path` to check it (`verify --store`, a backup):
    /// read-only, and never repaired, upgraded or otherwise written, so the
    /// file stays byte for byte what it is. An older schema is read as it
    /// is (schema 1 lacks only `erasures`, which the queries take as
    /// empty); a newer one is refused.
    /// An encrypted store is opened with `keying` as
    /// [`Store::open_existing_with`] would.
    pub fn open_to_check(path: &Path, keying: Keying) -> Result<Store, StoreError> {
        check_is_a_store(path)?;
        let db = builder().open_read_only(path).map_err(|source| match source {
            DatabaseError::RepairAborted => StoreError::NeedsRepair { path: path.to_owned() },
            source => open_error(path, source),
        })?;
        let mut store = Store {
            db: RwLock::new(Some(Db::Read(db))),
            path: path.to_owned(),
            upgraded: None,
            keys: Keys::unchecked(&keying),
        };
        {
            let txn = store.read()?;
            match txn.open_table(META) {
                Ok(meta) => schema_in(&meta, path)?,
                Err(TableError::TableDoesNotExist(_)) => {
                    return Err(StoreError::NotAStore { path: path.to_owned() });
                }
                Err(e) => return Err(e.into()),
            };
        }
        store.check_key(&keying)?;
        Ok(store)
    }

    /// Reads the key check value and settles how the store's values are
    /// read and written (see [`Store::open_existing_with`]).
    fn check_key(&mut self, keying: &Keying) -> Result<(), StoreError> {
        let check = {
            let txn = self.read()?;
            let meta = txn.open_table(META)?;
            meta.get(CHECK_ENTRY)?.map(|v| v.value().to_vec())
        };
        let path = || self.path.clone();
        match (check, keying) {
            (Some(check), Keying::Key(key)) => {
                let opens = self.keys.sealer.as_ref().is_some_and(|s| s.opens_check(&check));
                if !opens {
                    return Err(StoreError::WrongKey {
                        path: path(),
                        var: key.var().to_owned(),
                    });
                }
                self.keys.encrypted = true;
            }
            (Some(_), _) => self.keys.encrypted = true,
            (None, Keying::Key(key)) => {
                return Err(StoreError::NotEncrypted {
                    path: path(),
                    var: key.var().to_owned(),
                });
            }
            (None, Keying::Unset { var }) => {
                return Err(StoreError::KeyUnset {
                    path: path(),
                    var: var.clone(),
                });
            }
            (None, _) => {}
        }
        Ok(())
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's schema version, refusing a newer one than this build's
    /// (an empty redb file is given the tables first).
    fn check_schema(&self) -> Result<u32, StoreError> {
        let txn = self.read()?;
        let meta = match txn.open_table(META) {
            Ok(meta) => meta,
            Err(TableError::TableDoesNotExist(_)) => {
                let has_tables = txn.list_tables()?.next().is_some() || txn.list_multimap_tables()?.next().is_some();
                drop(txn);
                if has_tables {
                    return Err(StoreError::NotAStore {
                        path: self.path.clone(),
                    });
                }
                // An empty redb file (a store made before stores were built
                // under a temporary name): give it the tables.
                self.initialise()?;
                return Ok(SCHEMA_VERSION);
            }
            Err(e) => return Err(e.into()),
        };
        schema_in(&meta, &self.path)
    }

    /// Closes the file, reporting what dropping the handle would ignore.
    fn close(self) -> Result<(), StoreError> {
        let db = self.db.into_inner().map_err(|_| StoreError::Poisoned)?;
        match db {
            Some(Db::Write(db)) => db.close().map_err(|source| open_error(&self.path, source)),
            Some(Db::Read(db)) => db.close().map_err(|source| open_error(&self.path, source)),
            None => Ok(()),
        }
    }

    /// Creates every table and records the schema version, in one commit.
    fn initialise(&self) -> Result<(), StoreError> {
        let txn = self.write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert("schema", SCHEMA_VERSION.to_le_bytes().as_slice())?;
            if let Some(sealer) = &self.keys.sealer {
                meta.insert(CHECK_ENTRY, sealer.check_value()?.as_slice())?;
            }
            drop(meta);
            txn.open_table(SNAPSHOTS)?;
            txn.open_table(SNAPSHOT_BY_HASH)?;
            txn.open_table(EVENTS)?;
            txn.open_multimap_table(USER_EVENTS)?;
            txn.open_table(STATE)?;
            txn.open_table(DELIVERY)?;
            txn.open_table(REMOTE_IDS)?;
            txn.open_table(SOURCE_FILES)?;
            txn.open_table(HELD_EVENTS)?;
            txn.open_table(ABSENCE)?;
            txn.open_table(RAW)?;
            txn.open_table(STATE_DIGEST)?;
            txn.open_table(ERASURES)?;
        }
        txn.commit()?;
        Ok(())
    }
}

/// Builds a complete, empty store under a temporary name beside `path`
/// (created 0600, never through a symlink; encrypted with `key` when one is
/// given), then links it into place. If another process made the store
/// meanwhile, theirs is kept.
fn create(path: &Path, key: Option<&StoreKey>) -> Result<(), StoreError> {
    let file_error = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::File { path, source }
    };
    let temp = TempStore::create(path).map_err(file_error(path))?;
    {
        let store = Store {
            db: RwLock::new(Some(Db::Write(open_writable(&temp.0)?))),
            path: temp.0.clone(),
            upgraded: None,
            keys: Keys {
                sealer: key.map(Sealer::new),
                ..Keys::default()
            },
        };
        store.initialise()?;
        store.close()?;
    }
    match std::fs::hard_link(&temp.0, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::File {
            path: path.to_owned(),
            source,
        }),
    }
}

/// A new owner-only file `.<name>.new-<pid>-<n>` beside the store; removed
/// when dropped (the store, if made, is a second link to it by then).
struct TempStore(PathBuf);

impl TempStore {
    fn create(path: &Path) -> std::io::Result<TempStore> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        loop {
            let temp_name = format!(
                ".{name}.new-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let temp = dir.map_or_else(|| PathBuf::from(&temp_name), |d| d.join(&temp_name));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&temp)
            {
                // The umask can only take bits away; set exactly 0600.
                Ok(file) => {
                    let made = TempStore(temp);
                    file.set_permissions(Permissions::from_mode(0o600))?;
                    return Ok(made);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The schema version `meta` records, refusing a newer one than this
/// build's.
pub(crate) fn schema_in(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    path: &Path,
) -> Result<u32, StoreError> {
    let found = meta
        .get("schema")?
        .and_then(|v| <[u8; 4]>::try_from(v.value()).ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| StoreError::NotAStore { path: path.to_owned() })?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

pub(crate) fn builder() -> redb::Builder {
    let mut builder = Database::builder();
    builder.set_cache_size(CACHE_BYTES).set_concurrency_mode(MODE);
    builder
}

/// Opens the existing file at `path` for writing.
pub(crate) fn open_writable(path: &Path) -> Result<Database, StoreError> {
    builder().create(path).map_err(|source| open_error(path, source))
}

pub(crate) fn open_error(path: &Path, source: DatabaseError) -> StoreError {
    match source {
        DatabaseError::DatabaseAlreadyOpen => StoreError::Busy { path: path.to_owned() },
        source => StoreError::Open {
            path: path.to_owned(),
            source,
        },
    }
}

/// Refuses a missing, empty or foreign file before redb opens it.
fn check_is_a_store(path: &Path) -> Result<(), StoreError> {
    let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => StoreError::Missing { path: path.to_owned() },
        _ => StoreError::File {
            path: path.to_owned(),
            source,
        },
    })?;
    if meta.len() == 0 {
        return Err(StoreError::Empty { path: path.to_owned() });
    }
    if !meta.is_file() || !starts_with_redb_magic(path) {
        return Err(StoreError::NotAStore { path: path.to_owned() });
    }
    Ok(())
}

fn starts_with_redb_magic(path: &Path) -> bool {
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == REDB_MAGIC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_store_is_owner_only_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        drop(Store::open(&path).expect("create"));
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["s.redb"], "no temporary file is left behind");
    }

    #[test]
    fn missing_empty_and_foreign_files_are_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        match Store::open_existing(&path) {
            Err(StoreError::Missing { path: p }) => assert_eq!(p, path),
            other => panic!("expected Missing, got {other:?}"),
        }
        assert!(!path.exists(), "a missing store is not created");
        std::fs::write(&path, b"").expect("empty file");
        for open in [Store::open, Store::open_existing] {
            match open(&path) {
                Err(e @ StoreError::Empty { .. }) => {
                    assert_eq!(e.to_string(), format!("the store {} is an empty file", path.display()))
                }
                other => panic!("expected Empty, got {other:?}"),
            }
        }
        std::fs::write(&path, b"name,email\n").expect("foreign file");
        assert!(matches!(Store::open(&path), Err(StoreError::NotAStore { .. })));
    }

    #[test]
    fn a_reader_opens_the_store_while_another_handle_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        let writer = Store::open(&path).expect("create");
        writer.record_source_file("a", 1, 2, 3).expect("write");
        let reader = Store::open_existing(&path).expect("a reader beside the writer");
        assert_eq!(reader.source_file("a").expect("read"), Some((1, 2, 3)));
    }

    #[test]
    fn a_store_from_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        drop(Store::open(&path).expect("create"));
        {
            let db = Database::create(&path).expect("redb");
            let txn = db.begin_write().expect("txn");
            txn.open_table(META)
                .expect("meta")
                .insert("schema", 99u32.to_le_bytes().as_slice())
                .expect("insert");
            txn.commit().expect("commit");
        }
        match Store::open(&path) {
            Err(
                e @ StoreError::TooNew {
                    found: 99,
                    supported: SCHEMA_VERSION,
                    ..
                },
            ) => {
                assert!(e.to_string().contains("written by a newer ampsync"), "{e}");
            }
            other => panic!("expected TooNew, got {other:?}"),
        }
    }

    #[test]
    fn a_redb_file_of_someone_else_is_not_a_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("other.redb");
        {
            const OTHER: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("other");
            let db = Database::create(&path).expect("redb");
            let txn = db.begin_write().expect("txn");
            txn.open_table(OTHER).expect("table").insert(1, 2).expect("insert");
            txn.commit().expect("commit");
        }
        assert!(matches!(Store::open(&path), Err(StoreError::NotAStore { .. })));
    }
}
