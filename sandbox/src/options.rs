//! How a sandbox starts: the credentials it accepts and the scopes they were
//! provisioned with, how long tokens live, and how the company is set up
//! (its teams, roles, custom fields and switches).

use std::time::Duration;

use crate::faults::Faults;

/// How a sandbox starts.
///
/// The defaults are a company as a first-time client meets it: legacy
/// credentials `sandbox` / `sandbox-secret` (full access), two-hour tokens,
/// no teams, no HR-role package, no occupation roles, custom fields enabled
/// but none defined (so any custom field sent is an unknown one: 404),
/// deactivated users listed, and no faults.
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// The only `client_id` that `/oauth/token` accepts.
    pub client_id: String,
    /// The `client_secret` that goes with it.
    pub client_secret: String,
    /// The scopes the credentials were provisioned with.
    ///
    /// `None`: legacy credentials with full access. A token request without
    /// `scope` gets `scope: "public"`; one naming documented scopes gets
    /// them; either token may call every endpoint.
    ///
    /// `Some(list)`: credentials provisioned with exactly these scopes. A
    /// token request must name its scopes (space-separated), all from the
    /// list, else 400 `invalid_scope`; without `scope` it asks for `public`,
    /// which is refused unless listed. The token may call only the
    /// endpoints whose documented scope it carries (else 403
    /// `insufficient_scope`).
    pub scopes: Option<Vec<String>>,
    /// How long an issued access token is valid (`expires_in`).
    pub token_ttl: Duration,
    /// Teams that exist from the start (ids 1, 2, … in order). Two may
    /// share a name; two may not share an integration external id.
    pub teams: Vec<TeamSeed>,
    /// Whether the company has the HR-role package; without it, setting a
    /// user's role to `hr` is 422.
    pub hr_package: bool,
    /// The company's skills-matrix roles, the names `occupationRole` may
    /// take (exact match); any other name is 422.
    pub occupation_roles: Vec<String>,
    /// The company's custom fields. `None`: custom fields are disabled and
    /// a request's `customFields` are silently ignored. `Some(defs)`: only
    /// these names may be set (another is 404), and a required one cannot
    /// be cleared (400).
    pub custom_fields: Option<Vec<CustomFieldDef>>,
    /// When true, `GET /v1/users` without a status filter leaves
    /// deactivated users out, as some companies are set up.
    /// `GET /v1/users/by_integration_external_id/…` and `GET /v1/users/{id}`
    /// are not affected: they find a deactivated user.
    pub hide_deactivated_by_default: bool,
    /// Faults to inject from the first request.
    pub faults: Faults,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            client_id: "sandbox".to_owned(),
            client_secret: "sandbox-secret".to_owned(),
            scopes: None,
            token_ttl: Duration::from_secs(7200),
            teams: Vec::new(),
            hr_package: false,
            occupation_roles: Vec::new(),
            custom_fields: Some(Vec::new()),
            hide_deactivated_by_default: false,
            faults: Faults::default(),
        }
    }
}

/// A team that exists when the sandbox starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamSeed {
    /// Its name (not unique).
    pub name: String,
    /// Its integration external id (unique), if any.
    pub integration_external_id: Option<String>,
}

impl From<&str> for TeamSeed {
    /// A team with this name and no integration external id.
    fn from(name: &str) -> Self {
        TeamSeed {
            name: name.to_owned(),
            integration_external_id: None,
        }
    }
}

/// One of the company's custom fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomFieldDef {
    /// The name a request gives in `customFields[][name]` (exact match).
    pub name: String,
    /// Whether presence validation is on: the value cannot be cleared.
    pub required: bool,
}

impl CustomFieldDef {
    /// An optional field with this name.
    pub fn optional(name: &str) -> Self {
        CustomFieldDef {
            name: name.to_owned(),
            required: false,
        }
    }

    /// A field with this name that cannot be cleared once set.
    pub fn required(name: &str) -> Self {
        CustomFieldDef {
            name: name.to_owned(),
            required: true,
        }
    }
}
