//! Alerts: telling people, where they look (a Slack or Teams channel, any
//! webhook), that a run needs them — an import held, the file missing,
//! events Learn Amp refused, a run that failed.
//!
//! [`alert`] owns what an alert says (a value, and its two wire forms);
//! [`webhook`] owns sending it: retried a few times, never failing or
//! blocking the run, the URL (a secret) kept out of every message. Which
//! run outcome makes which alert is decided once, in [`for_run`].

mod alert;
mod webhook;

pub use alert::{Alert, AlertFormat, AlertKind, for_run};
pub use webhook::{AlertError, send, send_all};
