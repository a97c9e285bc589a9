//! OAuth scopes: which scope each call needs, and the scopes a config needs
//! (what ampsync asks for when it gets a token).
//!
//! Credentials provisioned with specific scopes get no token unless the
//! request names them (`invalid_scope`), so ampsync always asks.

use super::{ApiRequest, Method};

/// What every config needs: read, create, update and deactivate people,
/// and read teams. Reactivation is an update (`reactivate=true`).
pub const BASE_SCOPES: [&str; 5] = [
    "users:read",
    "users:create",
    "users:update",
    "users:deactivate",
    "teams:read",
];

/// The scopes a config needs, space-separated, as the token request sends
/// them: [`BASE_SCOPES`], plus `teams:create` when missing teams are
/// created.
pub fn needed_scopes(create_missing_teams: bool) -> String {
    let mut scopes: Vec<&str> = BASE_SCOPES.to_vec();
    if create_missing_teams {
        scopes.push("teams:create");
    }
    scopes.join(" ")
}

/// The scope Learn Amp requires for `request`, as its documentation says.
pub fn required_scope(request: &ApiRequest) -> &'static str {
    let path = request.path.split('?').next().unwrap_or_default();
    let teams = path.starts_with("/v1/teams");
    match (request.method, teams) {
        (Method::Get, true) => "teams:read",
        (Method::Post, true) => "teams:create",
        (Method::Put, true) => "teams:update",
        (Method::Delete, true) => "teams:delete",
        (Method::Get, false) => "users:read",
        (Method::Post, false) => "users:create",
        (Method::Delete, false) => "users:delete",
        (Method::Put, false) if path.ends_with("/deactivate") => "users:deactivate",
        (Method::Put, false) if path.ends_with("/reactivate") => "users:reactivate",
        (Method::Put, false) => "users:update",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_scopes_are_what_the_config_needs() {
        assert_eq!(
            needed_scopes(false),
            "users:read users:create users:update users:deactivate teams:read"
        );
        assert_eq!(
            needed_scopes(true),
            "users:read users:create users:update users:deactivate teams:read teams:create"
        );
    }

    #[test]
    fn each_call_needs_its_documented_scope() {
        let cases = [
            (Method::Get, "/v1/users", "users:read"),
            (Method::Get, "/v1/users/by_integration_external_id/E1", "users:read"),
            (Method::Post, "/v1/users", "users:create"),
            (Method::Put, "/v1/users/7", "users:update"),
            (Method::Put, "/v1/users/by_integration_external_id/E1", "users:update"),
            (Method::Put, "/v1/users/7/deactivate", "users:deactivate"),
            (Method::Put, "/v1/users/7/reactivate", "users:reactivate"),
            (Method::Delete, "/v1/users/7", "users:delete"),
            (Method::Get, "/v1/teams", "teams:read"),
            (Method::Post, "/v1/teams", "teams:create"),
        ];
        for (method, path, scope) in cases {
            assert_eq!(required_scope(&ApiRequest::new(method, path)), scope, "{method} {path}");
        }
    }
}
