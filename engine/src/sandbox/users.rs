//! The `/v1/users` endpoints: list, show (by id or integration external
//! id), create, update (by id or integration external id), deactivate and
//! reactivate. Parameters are checked before the user is looked up, so an
//! invalid update of an unknown user is a 400, as Grape answers.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::Value;

use super::{
    company::Company,
    error::ApiError,
    page::Page,
    params::Params,
    state::Shared,
    user_filter::UserFilter,
    user_form::{Mode, UserForm},
    user_write,
};

type AppState = State<Arc<Shared>>;

/// `GET /v1/users`: paginated, filtered; full users with `expanded=true`.
pub(super) async fn list(State(shared): AppState, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let params = Params::from_query(query.as_deref());
    let page = Page::from_params(&params)?;
    let filter = UserFilter::from_params(&params)?;
    let expanded = matches!(params.get("expanded"), Some("true" | "1"));
    let company = shared.company();
    let view = shared.view(&company);
    let (total, items) = page.take(filter.select(&company), |u| {
        if expanded { view.user(u) } else { view.user_item(u) }
    });
    Ok(page.respond("users", total, items))
}

/// `GET /v1/users/{id}`.
pub(super) async fn show(State(shared): AppState, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = user_id(&id)?;
    let company = shared.company();
    let user = company.user(id).ok_or_else(ApiError::not_found)?;
    Ok(Json(shared.view(&company).user(user)))
}

/// `GET /v1/users/by_integration_external_id/{externalId}`.
pub(super) async fn show_by_external_id(
    State(shared): AppState,
    Path(external_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let company = shared.company();
    let user = company
        .user_by_external_id(&external_id)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(shared.view(&company).user(user)))
}

/// `POST /v1/users`: 201 with the new user.
pub(super) async fn create(
    State(shared): AppState,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let form = UserForm::parse(&Params::from_body(&headers, &body)?, Mode::Create)?;
    let today = shared.today();
    let mut company = shared.company();
    let user = user_write::create(&mut company, form, today)?;
    shared.counters.bump(&shared.counters.creates);
    Ok((StatusCode::CREATED, Json(shared.view(&company).user(&user))))
}

/// `PUT /v1/users/{id}`.
pub(super) async fn update(
    State(shared): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = user_id(&id)?;
    apply_update(&shared, &headers, &body, |company| company.user(id).map(|u| u.id))
}

/// `PUT /v1/users/by_integration_external_id/{externalId}`.
pub(super) async fn update_by_external_id(
    State(shared): AppState,
    Path(external_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    apply_update(&shared, &headers, &body, |company| {
        company.user_by_external_id(&external_id).map(|u| u.id)
    })
}

fn apply_update(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    find: impl FnOnce(&Company) -> Option<u64>,
) -> Result<Json<Value>, ApiError> {
    let form = UserForm::parse(&Params::from_body(headers, body)?, Mode::Update)?;
    let today = shared.today();
    let mut company = shared.company();
    let id = find(&company).ok_or_else(ApiError::not_found)?;
    let (user, reactivated) = user_write::update(&mut company, id, form, today)?;
    shared.counters.bump(&shared.counters.updates);
    if reactivated {
        shared.counters.bump(&shared.counters.reactivations);
    }
    Ok(Json(shared.view(&company).user(&user)))
}

/// `PUT /v1/users/{id}/deactivate`: 204; the data is kept.
pub(super) async fn deactivate(State(shared): AppState, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    set_active(&shared, &id, false)?;
    shared.counters.bump(&shared.counters.deactivations);
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/users/{id}/reactivate`: 204.
pub(super) async fn reactivate(State(shared): AppState, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    set_active(&shared, &id, true)?;
    shared.counters.bump(&shared.counters.reactivations);
    Ok(StatusCode::NO_CONTENT)
}

fn set_active(shared: &Shared, id: &str, active: bool) -> Result<(), ApiError> {
    let id = user_id(id)?;
    let today = shared.today();
    let mut company = shared.company();
    let mut user = company.user(id).cloned().ok_or_else(ApiError::not_found)?;
    if active {
        user.reactivate(today);
    } else {
        user.deactivate(today);
    }
    company.put_user(user);
    Ok(())
}

/// A user id from the path; anything but a number finds no user (404).
fn user_id(text: &str) -> Result<u64, ApiError> {
    text.parse::<u64>().map_err(|_| ApiError::not_found())
}
