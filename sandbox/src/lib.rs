//! The Learn Amp sandbox: a local HTTP server that implements the part of
//! Learn Amp's public REST API that ampsync uses (OAuth client credentials
//! with scopes, users and teams) as its public docs describe it, so that
//! the engine, the tests, the benches and `ampsync demo` can run against it.
//!
//! It keeps one company in memory and can inject the faults a real network
//! and server produce: 429 (with or without `Retry-After`), 500/503, added
//! latency, and connections dropped after a write was applied. Faults touch
//! only `/v1/*`; `/oauth/token` and the admin routes under `/_sandbox/` are
//! never faulted. Every `/v1/*` and `/oauth/token` request is logged for
//! assertions ([`Sandbox::requests`]), the client secret redacted.
//!
//! Admin routes (no token needed), for a separately run `ampsync sandbox`:
//! `GET /_sandbox/users`, `GET /_sandbox/teams`, `GET /_sandbox/stats`,
//! `GET /_sandbox/requests`, `GET`/`PUT /_sandbox/faults` (JSON [`Faults`]),
//! `POST /_sandbox/expire-tokens` and `DELETE /_sandbox/users/{id}`.
//!
//! It depends on nothing of ampsync's: the engine is tested against it, so
//! it must not share the engine's idea of the API.

mod admin;
mod auth;
mod body;
mod clock;
mod company;
mod conn;
mod custom_fields;
mod error;
mod faults;
mod options;
mod page;
mod params;
mod rate_limit;
mod render;
mod request_log;
mod routes;
mod scopes;
mod server;
mod settings;
mod state;
mod stats;
mod teams;
mod user_filter;
mod user_form;
mod user_write;
mod users;

pub use faults::Faults;
pub use options::{CustomFieldDef, SandboxOptions, TeamSeed};
pub use request_log::LoggedRequest;
pub use server::Sandbox;
pub use stats::SandboxStats;
