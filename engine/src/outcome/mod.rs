//! The results of operations as typed values with no prose, for every
//! front end: the CLI words them as tables or prints them as JSON or CSV;
//! a console can render the same values as HTML. Each concept has its own
//! file; the run's outcome is [`crate::sync::SyncReport`] and the push's
//! [`crate::replay::PushReport`].

mod import;
mod person;
mod preview;

pub use import::{ImportKind, ImportSummary};
pub use person::{FieldValue, PersonRecord, is_list_field};
pub use preview::{PreviewOutcome, PreviewRecord};
