//! The admin routes under `/_sandbox/`, for driving a separately run
//! sandbox (`ampsync sandbox`) the way tests drive an in-process one: read
//! the users, teams, counts and request log, set the faults, expire the
//! tokens, delete a user by hand. They need no token, are never faulted
//! and are not logged; they are not part of Learn Amp's API.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde_json::Value;

use crate::{Faults, LoggedRequest, SandboxStats, error::ApiError, state::Shared};

/// `GET /_sandbox/users`: every user as full JSON, by id.
pub(crate) async fn users(State(shared): State<Arc<Shared>>) -> Json<Vec<Value>> {
    Json(shared.users_json())
}

/// `DELETE /_sandbox/users/{id}`: 204, as an administrator deleting the
/// user in Learn Amp's web app; 404 when there is no such user.
pub(crate) async fn delete_user(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id.parse::<u64>().map_err(|_| ApiError::not_found())?;
    if shared.delete_user_by_hand(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

/// `GET /_sandbox/teams`: every team, by id.
pub(crate) async fn teams(State(shared): State<Arc<Shared>>) -> Json<Vec<Value>> {
    Json(shared.teams_json())
}

/// `GET /_sandbox/stats`.
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Json<SandboxStats> {
    Json(shared.stats())
}

/// `GET /_sandbox/requests`: the request log, oldest first.
pub(crate) async fn requests(State(shared): State<Arc<Shared>>) -> Json<Vec<LoggedRequest>> {
    Json(shared.requests())
}

/// `GET /_sandbox/faults`: the faults in force.
pub(crate) async fn faults(State(shared): State<Arc<Shared>>) -> Json<Faults> {
    Json(shared.faults())
}

/// `PUT /_sandbox/faults` with a JSON [`Faults`] (missing fields: none): 204.
pub(crate) async fn set_faults(State(shared): State<Arc<Shared>>, Json(faults): Json<Faults>) -> StatusCode {
    shared.set_faults(faults);
    StatusCode::NO_CONTENT
}

/// `POST /_sandbox/expire-tokens`: 204.
pub(crate) async fn expire_tokens(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.expire_tokens();
    StatusCode::NO_CONTENT
}
