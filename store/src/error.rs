//! The store's error type.

use std::path::PathBuf;

/// What can go wrong when opening, reading or writing the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file could not be opened as a database at all.
    #[error("cannot open the store {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: redb::DatabaseError,
    },
    /// There is no store at the path (only `init` and the first import or
    /// sync create one).
    #[error("there is no store at {}", path.display())]
    Missing { path: PathBuf },
    /// The file is empty: not a store, and never taken for a new one.
    #[error("the store {} is an empty file", path.display())]
    Empty { path: PathBuf },
    /// The store's file could not be examined or created.
    #[error("cannot use the store file {}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not an ampsync store.
    #[error("{} is not an ampsync store", path.display())]
    NotAStore { path: PathBuf },
    /// The file was written by a newer version of ampsync.
    #[error(
        "{} was written by a newer ampsync (store schema {found}; this build reads schema {supported} and older): upgrade ampsync",
        path.display()
    )]
    TooNew { path: PathBuf, found: u32, supported: u32 },
    /// Another process has the store open.
    #[error("the store {} is in use by another ampsync process", path.display())]
    Busy { path: PathBuf },
    /// redb failed underneath (I/O, corruption).
    #[error("store operation failed")]
    Redb(#[from] redb::Error),
    /// A stored value could not be decoded.
    #[error("corrupt value in table `{table}`")]
    Decode {
        table: &'static str,
        #[source]
        source: postcard::Error,
    },
    /// A value could not be encoded (a bug: our types always serialise).
    #[error("cannot encode a value for table `{table}`")]
    Encode {
        table: &'static str,
        #[source]
        source: postcard::Error,
    },
    /// A stored value carries a format version this build does not know.
    #[error("value in table `{table}` has format version {version}, unknown to this build")]
    UnknownFormat { table: &'static str, version: u8 },
    /// A caller asked for something that does not exist.
    #[error("no snapshot {0}")]
    NoSuchSnapshot(u64),
    /// The log moved between reading the state and appending.
    #[error(
        "the store changed while this import was being prepared (log end {expected}, now {found}): run the import again"
    )]
    Conflict { expected: u64, found: u64 },
    /// An append dated before the store's latest entry: the clock (or
    /// `AMPSYNC_NOW`) went backwards, and `show --as-of` would answer wrongly.
    #[error(
        "the time now ({}) is before the store's latest entry ({}): nothing was appended; check the system clock or AMPSYNC_NOW",
        format_micros(*time),
        format_micros(*latest)
    )]
    TimeWentBackwards { time: i64, latest: i64 },
    /// Approve or reject of a snapshot that is not held.
    #[error("snapshot {id} is {status}, not held: only a held import can be approved or rejected")]
    NotHeld { id: u64, status: &'static str },
    /// `retry` of an event that was not refused.
    #[error("event {seq} is {status}: only failed (or dead) events can be retried")]
    NotRetryable { seq: u64, status: &'static str },
    /// The raw file could not be read while storing it.
    #[error("cannot read the file to keep its raw copy")]
    Raw(#[source] std::io::Error),
    /// A backup would replace an existing file, and was not asked to.
    #[error("{} already exists: a backup replaces a file only when asked to", path.display())]
    BackupExists { path: PathBuf },
    /// A backup's destination is a symbolic link; it is never followed.
    #[error("{} is a symbolic link: a backup is never written through one", path.display())]
    BackupSymlink { path: PathBuf },
    /// A backup's destination is the store itself.
    #[error("{} is the store itself: back it up to another file", path.display())]
    BackupIsTheStore { path: PathBuf },
    /// The backup file could not be written.
    #[error("cannot write the backup {}", path.display())]
    BackupIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The store has a table this build does not know, which a backup would
    /// leave out.
    #[error("the store has a table `{name}` this build does not know: a backup would leave it out")]
    UnknownTable { name: String },
    /// `forget` of a person who is active: they are in the current file
    /// and the next import would bring them back.
    #[error(
        "{key} is active: they are in the current file, so the next import would bring them back; forget them once a file without them has been imported"
    )]
    StillActive { key: String },
    /// `forget` of a person with events Learn Amp has not been sent.
    #[error("{key} has event {seq} not yet sent to Learn Amp: run `ampsync push` first, then forget them")]
    Undelivered { key: String, seq: u64 },
    /// `forget` of a person already forgotten.
    #[error("{key} has already been forgotten")]
    AlreadyForgotten { key: String },
    /// `forget` of a key the store has never seen.
    #[error("no one with the key {key} is in the store")]
    NoSuchPerson { key: String },
    /// A store opened to be checked needs redb's repair (it was not closed
    /// cleanly), which would write to it.
    #[error(
        "{} was not closed cleanly and needs a repair, which writes to it: it was left as it is; check a copy of it",
        path.display()
    )]
    NeedsRepair { path: PathBuf },
    /// `forget` of a person a held import has events for: the file that
    /// has them again waits for `approve`, which would bring them back.
    #[error(
        "{key} is in held import {snapshot}, which would bring them back: approve or reject it first, then forget them"
    )]
    InHeldImport { key: String, snapshot: u64 },
    /// A value of an encrypted store was needed, and the store was opened
    /// without its key.
    #[error("{}", key_needed(var.as_deref()))]
    KeyNeeded { var: Option<String> },
    /// The key given does not open the store (its check value in `meta`).
    #[error(
        "the key in {var} (store.encryption_key_env) does not open the store {}: it was encrypted with another key; nothing was changed",
        path.display()
    )]
    WrongKey { path: PathBuf, var: String },
    /// A key was given for a store that is not encrypted.
    #[error(
        "the store {} is not encrypted, but store.encryption_key_env names {var}: run `ampsync rekey --new-key-env {var}` to encrypt it",
        path.display()
    )]
    NotEncrypted { path: PathBuf, var: String },
    /// The config names a key variable that is not set, for a store that
    /// is not encrypted (or not yet made): it would be written in clear.
    #[error(
        "store.encryption_key_env names {var}, which is not set: the store {} would be written unencrypted; set {var} to the store's key",
        path.display()
    )]
    KeyUnset { path: PathBuf, var: String },
    /// A sealed value does not open with the store's key: damaged, or
    /// moved from another row.
    #[error("a sealed value in table `{table}` does not open with the store's key: it was damaged or moved")]
    Unsealable { table: &'static str },
    /// Sealing a value failed (no randomness from the system).
    #[error("cannot encrypt a value: {0}")]
    Seal(String),
    /// A thread panicked while holding the store's handle.
    #[error("the store handle was poisoned by a panic")]
    Poisoned,
    /// A caller asked for a state change the store refuses (a bug in the caller).
    #[error("inconsistent append: {0}")]
    Inconsistent(String),
}

/// What to do about a store opened without its key.
fn key_needed(var: Option<&str>) -> String {
    match var {
        Some(var) => format!("the store is encrypted: set the key in ${var} (store.encryption_key_env)"),
        None => "the store is encrypted: name the environment variable holding its key in store.encryption_key_env, and set it".into(),
    }
}

/// RFC 3339 UTC, to the second.
fn format_micros(micros: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_micros(micros).map_or_else(
        || micros.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

// redb splits its errors by operation; they all convert into `redb::Error`.
macro_rules! via_redb_error {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Redb(e.into())
            }
        }
    )*};
}
via_redb_error!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
