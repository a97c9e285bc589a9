//! The ampsync domain: config, ingest of the daily file, the diff into
//! events and replay to Learn Amp. Storage is `ampsync-store`'s.

pub mod alerts;
mod audit;
pub mod clock;
mod config;
mod diff;
mod fields;
pub mod fingerprint;
pub mod forget;
mod import;
mod index;
mod ingest;
pub mod init_from;
pub mod keygen;
pub mod learnamp;
pub mod outcome;
pub mod pgp;
mod preview;
pub mod private_file;
pub mod raw;
mod reconcile;
mod reimport;
pub mod replay;
pub mod retention;
mod rollback;
pub mod runlock;
pub mod runlog;
pub mod safeguard;
pub mod schedule;
pub mod secret;
pub mod source;
pub mod stop;
pub mod sync;

pub use ampsync_store as store;
pub use audit::{AsOf, resolve_key, state_as_of};
pub use config::{
    AfterImport, AlertsConfig, CONFIG_TEMPLATE, Config, ConfigError, ConsoleConfig, CronExpr, CsvConfig, Delimiter,
    DirConfig, Encoding, LearnAmpConfig, MIN_REQUESTS_PER_SECOND, MappingConfig, OnInvalidRow, PgpConfig, PolicyConfig,
    ScheduleConfig, SftpConfig, SourceConfig, StoreConfig,
};
pub use diff::{DiffPolicy, Incoming, apply, decide, diff, field_changes};
pub use fields::{Field, LANGUAGES, ROLES};
pub use fingerprint::Fingerprint;
pub use import::{ImportError, ImportOutcome, ImportReport, Input, import};
pub use index::{Lookup, StateIndex};
pub use ingest::{FileLayout, FileSummary, IngestError, MAX_FIELD_BYTES, Row, RowError, RowEvent, read_rows};
pub use outcome::{FieldValue, ImportKind, ImportSummary, PersonRecord, PreviewOutcome, PreviewRecord};
pub use preview::preview;
pub use reconcile::{Drift, FieldDrift, ReconcileError, reconcile};
pub use reimport::{ReimportError, reimport};
pub use rollback::{Rollback, RollbackError, rollback};
