//! OAuth scopes, as the docs' "OAuth Scopes" section describes them: which
//! scopes a token request may be granted, which scope each endpoint needs,
//! and the `/v1` guard that refuses a token without it (403
//! `insufficient_scope`, naming the scope).
//!
//! Tokens issued to legacy credentials (provisioned with no scope list)
//! have full access, whatever scopes they carry.

use axum::{
    extract::{MatchedPath, Request},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::ApiError;

/// Every scope the docs list.
pub(crate) const DOCUMENTED: [&str; 32] = [
    "public",
    "items:read",
    "items:create",
    "items:update",
    "items:delete",
    "items:complete",
    "activities:read",
    "enrollments:read",
    "enrollments:create",
    "events:read",
    "teams:read",
    "teams:create",
    "teams:update",
    "teams:delete",
    "team_users:read",
    "team_users:create",
    "team_users:delete",
    "users:read",
    "users:create",
    "users:update",
    "users:delete",
    "users:deactivate",
    "users:reactivate",
    "communities_posts:read",
    "tasks:read",
    "verbs:read",
    "languages:read",
    "learnlists:read",
    "channels:read",
    "channel_users_progress:read",
    "user_channels_progress:read",
    "roles:read",
];

/// The scope a token request gets when it names none.
const DEFAULT_SCOPE: &str = "public";

/// What a token may do: carried in the request's extensions by the token
/// guard, checked by [`require_scope`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    /// The scopes the token carries, as the token answer lists them.
    pub(crate) scopes: Vec<String>,
    /// Issued to legacy credentials: every endpoint is allowed.
    pub(crate) full_access: bool,
}

impl Grant {
    /// Whether the token may call an endpoint that needs `scope`.
    fn allows(&self, scope: &str) -> bool {
        self.full_access || self.scopes.iter().any(|s| s == scope)
    }

    /// The token answer's `scope`: space-separated.
    pub(crate) fn scope_text(&self) -> String {
        self.scopes.join(" ")
    }
}

/// A token request named a scope the credentials may not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InvalidScope;

/// The grant for a token request's `scope` (space-separated; absent or
/// blank asks for `public`), by the credentials' provisioned scopes
/// (`None`: legacy, which may have any documented scope).
pub(crate) fn grant(provisioned: Option<&[String]>, requested: Option<&str>) -> Result<Grant, InvalidScope> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in requested.unwrap_or_default().split_ascii_whitespace() {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        scopes.push(DEFAULT_SCOPE.to_owned());
    }
    let allowed = |scope: &String| match provisioned {
        None => DOCUMENTED.contains(&scope.as_str()),
        Some(list) => list.contains(scope),
    };
    if scopes.iter().all(allowed) {
        Ok(Grant {
            scopes,
            full_access: provisioned.is_none(),
        })
    } else {
        Err(InvalidScope)
    }
}

/// The scope the endpoint at `route` (axum's matched path) needs for
/// `method`, as each endpoint's "Required Scope" says.
pub(crate) fn required(method: &Method, route: &str) -> Option<&'static str> {
    let scope = match (route, method.as_str()) {
        ("/v1/users" | "/v1/users/{id}" | "/v1/users/by_integration_external_id/{external_id}", "GET") => "users:read",
        ("/v1/users", "POST") => "users:create",
        ("/v1/users/{id}" | "/v1/users/by_integration_external_id/{external_id}", "PUT") => "users:update",
        ("/v1/users/{id}", "DELETE") => "users:delete",
        ("/v1/users/{id}/deactivate", "PUT") => "users:deactivate",
        ("/v1/users/{id}/reactivate", "PUT") => "users:reactivate",
        ("/v1/teams" | "/v1/teams/{id}" | "/v1/teams/by_external_id/{external_id}", "GET") => "teams:read",
        ("/v1/teams", "POST") => "teams:create",
        ("/v1/teams/{id}" | "/v1/teams/by_external_id/{external_id}", "PUT") => "teams:update",
        ("/v1/teams/{id}" | "/v1/teams/by_external_id/{external_id}", "DELETE") => "teams:delete",
        _ => return None,
    };
    Some(scope)
}

/// The `/v1` scope guard, inside the token guard: 403 unless the token's
/// grant allows the endpoint's scope. An endpoint with no scope in the
/// table is refused to all but legacy tokens, so a route added without
/// one cannot be reached by accident.
pub(crate) async fn require_scope(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let scope = required(request.method(), &route);
    let allowed = match (request.extensions().get::<Grant>(), scope) {
        (Some(grant), Some(scope)) => grant.allows(scope),
        (Some(grant), None) => grant.full_access,
        (None, _) => false,
    };
    if allowed {
        return next.run(request).await;
    }
    ApiError::insufficient_scope(scope.unwrap_or("public")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn legacy_credentials_get_public_or_what_they_name() {
        assert_eq!(
            grant(None, None),
            Ok(Grant {
                scopes: list(&["public"]),
                full_access: true
            })
        );
        assert_eq!(grant(None, Some("  ")).map(|g| g.scope_text()), Ok("public".to_owned()));
        assert_eq!(
            grant(None, Some("users:read  teams:read users:read")).map(|g| g.scope_text()),
            Ok("users:read teams:read".to_owned())
        );
        assert_eq!(grant(None, Some("users:read users:everything")), Err(InvalidScope));
    }

    #[test]
    fn provisioned_credentials_get_only_their_scopes_and_must_name_them() {
        let provisioned = list(&["users:read", "users:create"]);
        assert_eq!(grant(Some(&provisioned), None), Err(InvalidScope));
        assert_eq!(
            grant(Some(&provisioned), Some("users:read teams:read")),
            Err(InvalidScope)
        );
        let granted = grant(Some(&provisioned), Some("users:create")).expect("provisioned");
        assert!(!granted.full_access);
        assert!(granted.allows("users:create"));
        assert!(!granted.allows("users:read"), "only what was asked for");
    }

    #[test]
    fn every_endpoint_has_its_documented_scope() {
        let get = Method::GET;
        assert_eq!(required(&get, "/v1/users"), Some("users:read"));
        assert_eq!(required(&Method::PUT, "/v1/users/{id}"), Some("users:update"));
        assert_eq!(required(&Method::DELETE, "/v1/users/{id}"), Some("users:delete"));
        assert_eq!(
            required(&Method::PUT, "/v1/teams/by_external_id/{external_id}"),
            Some("teams:update")
        );
        assert_eq!(required(&Method::PATCH, "/v1/users/{id}"), None);
        assert!(["users:read", "teams:delete"].iter().all(|s| DOCUMENTED.contains(s)));
    }
}
