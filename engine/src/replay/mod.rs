//! Replay: undelivered events to Learn Amp.
//!
//! `requests` says what each event asks of the API and `plan` orders them
//! (both pure); `push` sends them and records each outcome.

mod limiter;
mod plan;
mod push;
mod requests;
mod teams;

pub use plan::{FollowUp, Plan, Step, UserQueue, build as build_plan};
pub use push::{Progress, PushError, PushOptions, PushReport, Undelivered, push};
pub use requests::{Action, CallOptions, FormValue, TeamName, UserCall, endpoint};
