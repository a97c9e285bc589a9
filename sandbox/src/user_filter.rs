//! The `filters[…]` of `GET /v1/users`: `email` (exact, ignoring case),
//! `integration_external_id` (exact), `status` (any of; repeated as
//! `filters[status][]`, or comma-separated in one value, with or without
//! `[]`), `role`, `first_name` / `last_name` (contains, ignoring case, as
//! `ILIKE '%v%'`), `team_ids` (member of any) and `no_team`. Unknown filters
//! are ignored. Without a status filter deactivated users are listed,
//! unless the company hides them by default.

use crate::{
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
pub(crate) struct UserFilter {
    email: Option<String>,
    external_id: Option<String>,
    statuses: Option<Vec<String>>,
    role: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    team_ids: Option<Vec<u64>>,
    no_team: bool,
    hide_deactivated: bool,
}

impl UserFilter {
    /// Reads the filters; an unknown status or a bad team id is a 400.
    /// `hide_deactivated_by_default`: the company's switch.
    pub(crate) fn from_params(params: &Params, hide_deactivated_by_default: bool) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let text = |key: &str| params.get(key).map(str::to_owned);
        let statuses = statuses(params, &mut errors);
        let filter = UserFilter {
            hide_deactivated: hide_deactivated_by_default && statuses.is_none(),
            email: params.get("filters[email]").map(|e| e.trim().to_lowercase()),
            external_id: text("filters[integration_external_id]"),
            statuses,
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
    pub(crate) fn select<'a>(&'a self, company: &'a Company) -> Box<dyn Iterator<Item = &'a User> + 'a> {
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
            && (!self.hide_deactivated || user.is_active())
    }
}

/// The statuses asked for; `None` when no (non-blank) status was sent.
fn statuses(params: &Params, errors: &mut FieldErrors) -> Option<Vec<String>> {
    let values: Vec<&str> = params
        .list("filters[status]")?
        .into_iter()
        .flat_map(|v| v.trim_matches(['[', ']']).split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return None;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_come_repeated_or_comma_separated() {
        let read = |query: &str| {
            let mut errors = FieldErrors::default();
            let got = statuses(&Params::from_query(Some(query)), &mut errors);
            (got, errors.is_empty())
        };
        let both = Some(vec!["confirmed".to_owned(), "deactivated".to_owned()]);
        assert_eq!(
            read("filters[status][]=confirmed&filters[status][]=deactivated"),
            (both.clone(), true)
        );
        assert_eq!(read("filters[status]=confirmed,deactivated"), (both.clone(), true));
        assert_eq!(read("filters[status][]=confirmed,%20deactivated"), (both.clone(), true));
        assert_eq!(read("filters[status]=[confirmed,deactivated]"), (both, true));
        assert_eq!(read("filters[status][]="), (None, true));
        assert!(!read("filters[status]=active").1);
    }
}
