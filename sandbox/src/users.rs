//! The `/v1/users` endpoints: list, show (by id or integration external
//! id), create, update (by id or integration external id), deactivate,
//! reactivate and delete. Parameters are checked before the user is looked
//! up, so an invalid update of an unknown user is a 400, as Grape answers.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::Value;

use crate::{
    body,
    clock::today,
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
pub(crate) async fn list(State(shared): AppState, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let params = Params::from_query(query.as_deref());
    let page = Page::from_params(&params)?;
    let company = shared.company();
    let filter = UserFilter::from_params(&params, company.settings.hide_deactivated_by_default)?;
    let expanded = matches!(params.get("expanded"), Some("true" | "1"));
    let view = shared.view(&company);
    let (total, items) = page.take(filter.select(&company), |u| {
        if expanded { view.user(u) } else { view.user_item(u) }
    });
    Ok(page.respond("users", total, items))
}

/// `GET /v1/users/{id}`.
pub(crate) async fn show(State(shared): AppState, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = user_id(&id)?;
    let company = shared.company();
    let user = company.user(id).ok_or_else(ApiError::not_found)?;
    Ok(Json(shared.view(&company).user(user)))
}

/// `GET /v1/users/by_integration_external_id/{externalId}`.
pub(crate) async fn show_by_external_id(
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
pub(crate) async fn create(
    State(shared): AppState,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let params = body::parse(&headers, &raw).await?;
    let today = today();
    let mut company = shared.company();
    let form = UserForm::parse(&params, Mode::Create, company.settings.custom_fields.is_some())?;
    let user = user_write::create(&mut company, form, today)?;
    shared.counters.bump(&shared.counters.creates);
    Ok((StatusCode::CREATED, Json(shared.view(&company).user(&user))))
}

/// `PUT /v1/users/{id}`.
pub(crate) async fn update(
    State(shared): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = user_id(&id)?;
    let params = body::parse(&headers, &raw).await?;
    apply_update(&shared, &params, |company| company.user(id).map(|u| u.id))
}

/// `PUT /v1/users/by_integration_external_id/{externalId}`.
pub(crate) async fn update_by_external_id(
    State(shared): AppState,
    Path(external_id): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = body::parse(&headers, &raw).await?;
    apply_update(&shared, &params, |company| {
        company.user_by_external_id(&external_id).map(|u| u.id)
    })
}

fn apply_update(
    shared: &Shared,
    params: &Params,
    find: impl FnOnce(&Company) -> Option<u64>,
) -> Result<Json<Value>, ApiError> {
    let today = today();
    let mut company = shared.company();
    let form = UserForm::parse(params, Mode::Update, company.settings.custom_fields.is_some())?;
    let id = find(&company).ok_or_else(ApiError::not_found)?;
    let (user, reactivated) = user_write::update(&mut company, id, form, today)?;
    shared.counters.bump(&shared.counters.updates);
    if reactivated {
        shared.counters.bump(&shared.counters.reactivations);
    }
    Ok(Json(shared.view(&company).user(&user)))
}

/// `PUT /v1/users/{id}/deactivate`: 204; the data is kept.
pub(crate) async fn deactivate(State(shared): AppState, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    set_active(&shared, &id, false)?;
    shared.counters.bump(&shared.counters.deactivations);
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/users/{id}/reactivate`: 204.
pub(crate) async fn reactivate(State(shared): AppState, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    set_active(&shared, &id, true)?;
    shared.counters.bump(&shared.counters.reactivations);
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/users/{id}`: 204; the user and their data are gone.
pub(crate) async fn delete(State(shared): AppState, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = user_id(&id)?;
    shared.company().remove_user(id).ok_or_else(ApiError::not_found)?;
    shared.counters.bump(&shared.counters.deletes);
    Ok(StatusCode::NO_CONTENT)
}

fn set_active(shared: &Shared, id: &str, active: bool) -> Result<(), ApiError> {
    let id = user_id(id)?;
    let today = today();
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
