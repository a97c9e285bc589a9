//! The `filters[…]` of `GET /v1/users`: `email` (exact, ignoring case),
//! `integration_external_id` (exact), `status[]` (any of), `role`,
//! `first_name` / `last_name` (contains, ignoring case, as `ILIKE '%v%'`),
//! `team_ids` (member of any) and `no_team`. Unknown filters are ignored;
//! deactivated users are listed unless a status filter leaves them out.

use super::{
    company::{Company, User},
    error::{ApiError, FieldErrors},
    params::Params,
};

/// Status names `filters[status][]` accepts. `invite_scheduled` and
/// `confirmed` are valid but no sandbox user is ever in them.
const STATUSES: [&str; 5] = [
    "not_invited",
    "invite_scheduled",
    "invite_pending",
    "confirmed",
    "deactivated",
];

/// The filters of one list request.
#[derive(Debug, Default)]
pub(super) struct UserFilter {
    email: Option<String>,
    external_id: Option<String>,
    statuses: Option<Vec<String>>,
    role: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    team_ids: Option<Vec<u64>>,
    no_team: bool,
}

impl UserFilter {
    /// Reads the filters; an unknown status or a bad team id is a 400.
    pub(super) fn from_params(params: &Params) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let text = |key: &str| params.get(key).map(str::to_owned);
        let filter = UserFilter {
            email: params.get("filters[email]").map(|e| e.trim().to_lowercase()),
            external_id: text("filters[integration_external_id]"),
            statuses: statuses(params, &mut errors),
            role: text("filters[role]"),
            first_name: params.get("filters[first_name]").map(str::to_lowercase),
            last_name: params.get("filters[last_name]").map(str::to_lowercase),
            team_ids: team_ids(params, &mut errors),
            no_team: matches!(params.get("filters[no_team]"), Some("true" | "1")),
        };
        errors.into_params_result()?;
        Ok(filter)
    }

    /// The matching users, by id.
    pub(super) fn select<'a>(&'a self, company: &'a Company) -> Box<dyn Iterator<Item = &'a User> + 'a> {
        // Exact lookups go through the indices, so finding one user among
        // many does not scan them all.
        let candidates: Box<dyn Iterator<Item = &User>> = match (&self.email, &self.external_id) {
            (Some(email), _) => Box::new(company.user_by_email(email).into_iter()),
            (None, Some(external_id)) => Box::new(company.user_by_external_id(external_id).into_iter()),
            (None, None) => Box::new(company.users()),
        };
        Box::new(candidates.filter(|u| self.matches(u)))
    }

    fn matches(&self, user: &User) -> bool {
        let contains =
            |value: &str, part: &Option<String>| part.as_ref().is_none_or(|p| value.to_lowercase().contains(p));
        self.email.as_ref().is_none_or(|e| *e == user.email)
            && self
                .external_id
                .as_ref()
                .is_none_or(|e| Some(e) == user.integration_external_id.as_ref())
            && self
                .statuses
                .as_ref()
                .is_none_or(|s| s.iter().any(|s| s == user.status.filter_name()))
            && self.role.as_ref().is_none_or(|r| *r == user.role)
            && contains(&user.first_name, &self.first_name)
            && contains(&user.last_name, &self.last_name)
            && self
                .team_ids
                .as_ref()
                .is_none_or(|ids| user.teams().iter().any(|t| ids.contains(t)))
            && (!self.no_team || user.teams().is_empty())
    }
}

fn statuses(params: &Params, errors: &mut FieldErrors) -> Option<Vec<String>> {
    let values = params.list("filters[status]")?;
    if values.iter().any(|v| !STATUSES.contains(v)) {
        errors.add("filters[status]", "does not have a valid value");
    }
    Some(values.into_iter().map(str::to_owned).collect())
}

/// `filters[team_ids]=1,2,3`, `=[1,2,3]` or repeated `filters[team_ids][]=1`.
fn team_ids(params: &Params, errors: &mut FieldErrors) -> Option<Vec<u64>> {
    let values = params.list("filters[team_ids]")?;
    let mut ids = Vec::new();
    for part in values.iter().flat_map(|v| v.trim_matches(['[', ']']).split(',')) {
        match part.trim().parse::<u64>() {
            Ok(id) => ids.push(id),
            Err(_) => {
                errors.add("filters[team_ids]", "is invalid");
                break;
            }
        }
    }
    Some(ids)
}
