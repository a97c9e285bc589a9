//! The admin routes under `/_sandbox/`, for driving a separately run
//! sandbox (`ampsync sandbox`) the way tests drive an in-process one: read
//! the users, teams and counts, set the faults, expire the tokens. They need
//! no token and are never faulted; they are not part of Learn Amp's API.

use std::sync::Arc;

use axum::{Json, extract::State, http::StatusCode};
use serde_json::Value;

use super::{Faults, SandboxStats, state::Shared};

/// `GET /_sandbox/users`: every user as full JSON, by id.
pub(super) async fn users(State(shared): State<Arc<Shared>>) -> Json<Vec<Value>> {
    Json(shared.users_json())
}

/// `GET /_sandbox/teams`: every team, by id.
pub(super) async fn teams(State(shared): State<Arc<Shared>>) -> Json<Vec<Value>> {
    Json(shared.teams_json())
}

/// `GET /_sandbox/stats`.
pub(super) async fn stats(State(shared): State<Arc<Shared>>) -> Json<SandboxStats> {
    Json(shared.stats())
}

/// `GET /_sandbox/faults`: the faults in force.
pub(super) async fn faults(State(shared): State<Arc<Shared>>) -> Json<Faults> {
    Json(shared.faults())
}

/// `PUT /_sandbox/faults` with a JSON [`Faults`] (missing fields: none): 204.
pub(super) async fn set_faults(State(shared): State<Arc<Shared>>, Json(faults): Json<Faults>) -> StatusCode {
    shared.set_faults(faults);
    StatusCode::NO_CONTENT
}

/// `POST /_sandbox/expire-tokens`: 204.
pub(super) async fn expire_tokens(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.expire_tokens();
    StatusCode::NO_CONTENT
}
