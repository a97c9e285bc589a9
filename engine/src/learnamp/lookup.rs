//! Finding people and teams in Learn Amp: by external id, by email, every
//! user, teams by name. Every lookup asks for every status, since a company
//! can hide deactivated users by default, and reads every page.

use serde_json::Value;

use super::request::path_segment;
use super::{ApiError, ApiRequest, LearnAmpClient, Method};

/// Every status a user can have (`filters[status][]`).
pub const ALL_STATUSES: [&str; 5] = [
    "not_invited",
    "invite_scheduled",
    "invite_pending",
    "confirmed",
    "deactivated",
];

/// Users or teams per page when listing.
const PER_PAGE: u32 = 100;

/// Pages read at most by one listing (a runaway `Total-Pages` stops here).
const MAX_PAGES: u32 = 100_000;

/// A user as Learn Amp has them.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteUser {
    pub id: u64,
    pub email: String,
    pub deactivated: bool,
    /// The whole JSON the API returned.
    pub json: Value,
}

impl RemoteUser {
    fn from_json(json: Value) -> Result<RemoteUser, ApiError> {
        let id = json["id"]
            .as_u64()
            .ok_or_else(|| ApiError::Unexpected("a user without an id".into()))?;
        let email = json["email"].as_str().unwrap_or_default().to_owned();
        let status = json["status"]["status"]
            .as_str()
            .or(json["status"].as_str())
            .unwrap_or_default();
        let deactivated = status.eq_ignore_ascii_case("deactivated");
        Ok(RemoteUser {
            id,
            email,
            deactivated,
            json,
        })
    }

    /// Their `integrationExternalId`, if they have one.
    pub fn external_id(&self) -> Option<&str> {
        self.json["integrationExternalId"].as_str().filter(|s| !s.is_empty())
    }
}

/// A team as Learn Amp has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTeam {
    pub id: u64,
    pub name: String,
}

impl LearnAmpClient {
    /// The user with this `integrationExternalId`, whatever their status.
    pub async fn find_user_by_external_id(&self, id: &str) -> Result<Option<RemoteUser>, ApiError> {
        let users = self
            .list_users(&[("filters[integration_external_id]", id)], false)
            .await?;
        Ok(users.into_iter().find(|u| u.external_id() == Some(id)))
    }

    /// The user with this email (case-insensitive), whatever their status.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<RemoteUser>, ApiError> {
        let users = self.list_users(&[("filters[email]", email)], false).await?;
        Ok(users.into_iter().find(|u| u.email.eq_ignore_ascii_case(email)))
    }

    /// The user with this Learn Amp id, if they still exist.
    pub async fn user(&self, id: u64) -> Result<Option<RemoteUser>, ApiError> {
        match self
            .send(&ApiRequest::new(Method::Get, format!("/v1/users/{id}")))
            .await
        {
            Ok(r) => RemoteUser::from_json(r.body).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The user addressed by `by_integration_external_id/{id}`, if any.
    pub async fn user_at_external_id(&self, id: &str) -> Result<Option<RemoteUser>, ApiError> {
        let path = format!("/v1/users/by_integration_external_id/{}", path_segment(id));
        match self.send(&ApiRequest::new(Method::Get, path)).await {
            Ok(r) => RemoteUser::from_json(r.body).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every user, whatever their status, with manager, teams and custom
    /// fields (`expanded`).
    pub async fn all_users(&self) -> Result<Vec<RemoteUser>, ApiError> {
        self.list_users(&[], true).await
    }

    async fn list_users(&self, filters: &[(&str, &str)], expanded: bool) -> Result<Vec<RemoteUser>, ApiError> {
        let mut out = Vec::new();
        self.pages("/v1/users", "users", filters, expanded, |user| {
            out.push(RemoteUser::from_json(user)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Every team named `name` (ignoring case), from every page.
    pub async fn teams_named(&self, name: &str) -> Result<Vec<RemoteTeam>, ApiError> {
        let mut out = Vec::new();
        self.pages("/v1/teams", "teams", &[("filters[name]", name)], false, |team| {
            let id = team["id"].as_u64();
            let team_name = team["name"].as_str().unwrap_or_default();
            if let Some(id) = id
                && team_name.trim().eq_ignore_ascii_case(name.trim())
            {
                out.push(RemoteTeam {
                    id,
                    name: team_name.to_owned(),
                });
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Creates a team and returns its id.
    pub async fn create_team(&self, name: &str) -> Result<u64, ApiError> {
        let request = ApiRequest::new(Method::Post, "/v1/teams").field("name", name);
        let answer = self.send(&request).await?;
        answer.body["id"]
            .as_u64()
            .ok_or_else(|| ApiError::Unexpected("a created team without an id".into()))
    }

    /// Reads a listing page by page, handing each item of `field` to `each`.
    async fn pages(
        &self,
        path: &str,
        field: &str,
        filters: &[(&str, &str)],
        expanded: bool,
        mut each: impl FnMut(Value) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let users = path == "/v1/users";
        for page in 1..=MAX_PAGES {
            let mut request = ApiRequest::new(Method::Get, path);
            for (name, value) in filters {
                request = request.field(*name, *value);
            }
            if users {
                for status in ALL_STATUSES {
                    request = request.field("filters[status][]", status);
                }
            }
            if expanded {
                request = request.field("expanded", "true");
            }
            request = request
                .field("page", page.to_string())
                .field("perPage", PER_PAGE.to_string());
            let answer = self.send(&request).await?;
            let items = match answer.body.get(field) {
                Some(Value::Array(items)) => items.clone(),
                _ => match answer.body {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                },
            };
            let count = items.len();
            for item in items {
                each(item)?;
            }
            let last = match answer.total_pages {
                Some(total) => page >= total,
                None => count < PER_PAGE as usize,
            };
            if last || count == 0 {
                return Ok(());
            }
        }
        Ok(())
    }
}
