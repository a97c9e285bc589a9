//! The `/v1/teams` endpoints ampsync uses: list (paginated, `filters[name]`
//! exact ignoring case) and create (`name`, optional
//! `integrationExternalId`; the documented manager, parent, sub-team and tag
//! parameters are accepted and ignored). Team names and integration
//! external ids are unique, so a name resolves to one team.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::Value;

use super::{
    error::{ApiError, FieldErrors},
    page::Page,
    params::Params,
    state::Shared,
};

/// `GET /v1/teams`.
pub(super) async fn list(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let params = Params::from_query(query.as_deref());
    let page = Page::from_params(&params)?;
    let name = params.get("filters[name]").map(str::to_lowercase);
    let company = shared.company();
    let view = shared.view(&company);
    let teams = company
        .teams()
        .filter(|t| name.as_ref().is_none_or(|n| *n == t.name.to_lowercase()));
    let (total, items) = page.take(teams, |t| view.team(t));
    Ok(page.respond("teams", total, items))
}

/// `POST /v1/teams`: 201 with the new team.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let params = Params::from_body(&headers, &body)?;
    let mut errors = FieldErrors::default();
    match params.get("name") {
        None => errors.add("name", "is missing"),
        Some(name) if name.trim().is_empty() => errors.add("name", "is empty"),
        Some(_) => {}
    }
    errors.into_params_result()?;
    let name = params.get("name").unwrap_or_default().to_owned();
    let external_id = params
        .get("integrationExternalId")
        .filter(|e| !e.is_empty())
        .map(str::to_owned);

    let mut company = shared.company();
    let mut taken = FieldErrors::default();
    if company.team_by_name(&name).is_some() {
        taken.add("name", "has already been taken");
    }
    if external_id
        .as_deref()
        .and_then(|e| company.team_by_external_id(e))
        .is_some()
    {
        taken.add("integrationExternalId", "has already been taken");
    }
    taken.into_validation_result()?;
    let id = company.add_team(name, external_id);
    shared.counters.bump(&shared.counters.teams_created);
    let view = shared.view(&company);
    let team = company.team(id).map(|t| view.created_team(t)).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(team)))
}
