//! The `/v1/teams` endpoints: list (paginated; `filters[name]` an exact
//! match ignoring case, which may find several teams, since names are not
//! unique), show, create, update and delete, by id or by integration
//! external id (`/v1/teams/by_external_id/{id}`). A team's
//! `integrationExternalId` is unique. The documented manager, parent,
//! sub-team and tag parameters are accepted and ignored (their mutually
//! exclusive pairs are still checked): the sandbox keeps no team hierarchy.

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
    company::{Company, Team},
    error::{ApiError, FieldErrors},
    page::Page,
    params::Params,
    state::Shared,
};

type AppState = State<Arc<Shared>>;

/// The parameter pairs of a team create that may not be sent together.
const EXCLUSIVE: [(&str, &str); 3] = [
    ("managerId", "managerEmail"),
    ("parentTeamId", "parentTeamName"),
    ("subTeamIds", "subTeamNames"),
];

/// `GET /v1/teams`.
pub(crate) async fn list(State(shared): AppState, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let params = Params::from_query(query.as_deref());
    let page = Page::from_params(&params)?;
    let name = params.get("filters[name]").map(str::to_owned);
    let company = shared.company();
    let view = shared.view(&company);
    let teams: Box<dyn Iterator<Item = &Team>> = match &name {
        Some(name) => Box::new(company.teams_named(name)),
        None => Box::new(company.teams()),
    };
    let (total, items) = page.take(teams, |t| view.team(t));
    Ok(page.respond("teams", total, items))
}

/// `GET /v1/teams/{id}`: the team in full.
pub(crate) async fn show(State(shared): AppState, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = team_id(&id)?;
    show_found(&shared, |company| company.team(id).map(|t| t.id))
}

/// `GET /v1/teams/by_external_id/{externalId}`.
pub(crate) async fn show_by_external_id(
    State(shared): AppState,
    Path(external_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    show_found(&shared, |company| {
        company.team_by_external_id(&external_id).map(|t| t.id)
    })
}

fn show_found(shared: &Shared, find: impl FnOnce(&Company) -> Option<u64>) -> Result<Json<Value>, ApiError> {
    let company = shared.company();
    let team = find(&company)
        .and_then(|id| company.team(id))
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(shared.view(&company).team_full(team)))
}

/// `POST /v1/teams`: 201 with the new team in full.
pub(crate) async fn create(
    State(shared): AppState,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let params = body::parse(&headers, &raw).await?;
    check_exclusive(&params)?;
    let mut errors = FieldErrors::default();
    let name = match params.get("name") {
        None => {
            errors.add("name", "is missing");
            None
        }
        Some(name) if name.trim().is_empty() => {
            errors.add("name", "is empty");
            None
        }
        Some(name) => Some(name.to_owned()),
    };
    errors.into_params_result()?;
    let external_id = params
        .get("integrationExternalId")
        .filter(|e| !e.is_empty())
        .map(str::to_owned);

    let mut company = shared.company();
    let team = Team {
        id: company.next_team_id(),
        name: name.unwrap_or_default(),
        integration_external_id: external_id,
    };
    validate(&company, &team)?;
    company.put_team(team.clone());
    shared.counters.bump(&shared.counters.teams_created);
    Ok((StatusCode::CREATED, Json(shared.view(&company).team_full(&team))))
}

/// `PUT /v1/teams/{id}`.
pub(crate) async fn update(
    State(shared): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = team_id(&id)?;
    let params = body::parse(&headers, &raw).await?;
    apply_update(&shared, &params, |company| company.team(id).map(|t| t.id))
}

/// `PUT /v1/teams/by_external_id/{externalId}`.
pub(crate) async fn update_by_external_id(
    State(shared): AppState,
    Path(external_id): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = body::parse(&headers, &raw).await?;
    apply_update(&shared, &params, |company| {
        company.team_by_external_id(&external_id).map(|t| t.id)
    })
}

/// Checks the parameters, finds the team, applies `name` and
/// `integrationExternalId` (`""` clears it); answers the simple form, or
/// the full one with `response=Extended`.
fn apply_update(
    shared: &Shared,
    params: &Params,
    find: impl FnOnce(&Company) -> Option<u64>,
) -> Result<Json<Value>, ApiError> {
    let mut errors = FieldErrors::default();
    let name = params.get("name");
    if name.is_some_and(|n| n.trim().is_empty()) {
        errors.add("name", "is empty");
    }
    let extended = match params.get("response") {
        None | Some("Simple") => false,
        Some("Extended") => true,
        Some(_) => {
            errors.add("response", "does not have a valid value");
            false
        }
    };
    errors.into_params_result()?;

    let mut company = shared.company();
    let id = find(&company).ok_or_else(ApiError::not_found)?;
    let mut team = company.team(id).cloned().ok_or_else(ApiError::not_found)?;
    if let Some(name) = name {
        team.name = name.to_owned();
    }
    if let Some(external_id) = params.get("integrationExternalId") {
        team.integration_external_id = (!external_id.is_empty()).then(|| external_id.to_owned());
    }
    validate(&company, &team)?;
    company.put_team(team.clone());
    let view = shared.view(&company);
    Ok(Json(if extended {
        view.team_full(&team)
    } else {
        view.team_simple(&team)
    }))
}

/// `DELETE /v1/teams/{id}`: 204; its users are kept, without it.
pub(crate) async fn delete(State(shared): AppState, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = team_id(&id)?;
    shared.company().remove_team(id).ok_or_else(ApiError::not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/teams/by_external_id/{externalId}`.
pub(crate) async fn delete_by_external_id(
    State(shared): AppState,
    Path(external_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut company = shared.company();
    let id = company
        .team_by_external_id(&external_id)
        .map(|t| t.id)
        .ok_or_else(ApiError::not_found)?;
    company.remove_team(id);
    Ok(StatusCode::NO_CONTENT)
}

/// 400 "managerId, managerEmail are mutually exclusive" (each pair sent).
fn check_exclusive(params: &Params) -> Result<(), ApiError> {
    let both: Vec<String> = EXCLUSIVE
        .iter()
        .filter(|(a, b)| params.has_list(a) && params.has_list(b))
        .map(|(a, b)| format!("{a}, {b} are mutually exclusive"))
        .collect();
    if both.is_empty() {
        Ok(())
    } else {
        Err(ApiError::bad_request(both.join(", ")))
    }
}

/// The integration external id is free (names need not be).
fn validate(company: &Company, team: &Team) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    if team
        .integration_external_id
        .as_deref()
        .and_then(|e| company.team_by_external_id(e))
        .is_some_and(|other| other.id != team.id)
    {
        errors.add("integrationExternalId", "has already been taken");
    }
    errors.into_team_validation_result()
}

/// A team id from the path; anything but a number finds no team (404).
fn team_id(text: &str) -> Result<u64, ApiError> {
    text.parse::<u64>().map_err(|_| ApiError::not_found())
}
