//! The ampsync event store: the only code that touches redb.
//!
//! It keeps the snapshots that were imported, the append-only, hash-chained
//! log of events they caused, the state that log projects to, and the
//! delivery status of every event. It knows nothing of CSV, HTTP or SSH: the
//! engine hands it events and asks it questions.
//!
//! Every value is stored as one format-version byte followed by postcard, so
//! the schema can evolve; see `codec`. An encrypted store seals personal
//! values with its key (see `seal`).

mod append;
mod backup;
mod codec;
mod deliver;
mod digest;
mod erase;
mod error;
mod event;
mod held;
mod migrate;
mod open;
mod origin;
mod query;
mod raw;
mod record;
mod rekey;
mod seal;
mod snapshot;
mod state;
mod store;
mod tables;
mod verify;

pub use append::{AppendOutcome, NewEvent};
pub use backup::BackupReport;
pub use deliver::DeliveryUpdate;
pub use digest::{FileRows, HASH_PREFIX, RowHash, StateEntry};
pub use erase::{Erasure, ForgetRequest, Leaver, Retention};
pub use error::StoreError;
pub use event::{Cause, Delivery, Erased, Event, EventBody, EventKind, FieldChange, GENESIS_HASH, Hash32};
pub use migrate::Upgrade;
pub use open::SCHEMA_VERSION;
pub use origin::SnapshotOrigin;
pub use query::{DeliverySummary, EventFilter};
pub use record::{Record, RecordHash, hash_fields, hash_fields_with};
pub use rekey::RekeyReport;
pub use seal::{KeyError, Keying, StoreKey};
pub use snapshot::{Counts, NewSnapshot, SnapshotMeta, SnapshotStatus};
pub use state::UserState;
pub use store::Store;
pub use verify::VerifyReport;
