//! Replay: undelivered events to Learn Amp.
//!
//! `requests` says what each event asks of the API, `catch_up` folds
//! refused events into a later one, and `plan` orders them (all pure);
//! `push` sends them and records each outcome; `deliver` is the one entry
//! point the commands use.

mod catch_up;
mod deliver;
mod plan;
mod push;
mod requests;
mod teams;

pub use deliver::{DeliverError, deliver};
pub use plan::{FollowUp, Manager, Person, Plan, Refused, Step, UserQueue, build as build_plan};
pub use push::{Progress, PushError, PushOptions, PushReport, Undelivered, push};
pub use requests::{Action, Addressee, CallOptions, FormValue, TeamName, UserCall, endpoint, split_list};
pub use teams::TeamError;
