//! The parameters of a user create or update, checked the way Learn Amp's
//! API layer checks them, before anything is looked up: mutually exclusive
//! pairs first (a 400 with only a message), then each field (a 400 with
//! `fullErrors`: "email is missing", "role does not have a valid value").
//!
//! What the values refer to (the manager, the teams, the occupation role,
//! the custom fields), what the company allows (`hr`) and what must be
//! unique is `user_write`'s to check. `timeZone` is not an input of the
//! users API: it is ignored.

use chrono::NaiveDate;

use crate::{
    error::{ApiError, FieldErrors},
    params::Params,
};

/// Roles a user can be given, as the docs list them; `owner` and
/// `super_admin` cannot be set through the API.
pub(crate) const ROLES: [&str; 6] = ["viewer", "curator", "reporter", "learning_designer", "hr", "admin"];

/// The docs' "Supported Language Codes".
pub(crate) const LANGUAGES: [&str; 27] = [
    "en", "en-US", "de", "es", "es-CO", "fr", "fr-CA", "it", "nl", "pt-BR", "pl", "ru", "no", "sv", "da", "zh-CN",
    "zh-TW", "ja", "ar", "sk", "ca", "cy", "el", "hu", "pt-PT", "ro", "tr",
];

/// The parameter pairs that may not be sent together.
const EXCLUSIVE: [(&str, &str); 3] = [
    ("managerId", "managerEmail"),
    ("primaryTeamId", "primaryTeamIntegrationExternalId"),
    ("secondaryTeamIds", "secondaryTeamIntegrationExternalIds"),
];

/// Whether the form creates a user (three fields required) or updates one
/// (every field optional, omitted fields unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Create,
    Update,
}

/// A manager, by id or by email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ManagerRef {
    Id(u64),
    Email(String),
}

/// A team, by id or by integration external id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TeamRef {
    Id(u64),
    ExternalId(String),
}

/// What a request asks to set. `None`: not sent (unchanged); for clearable
/// fields `Some(None)`: sent empty (cleared).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct UserForm {
    pub(crate) email: Option<String>,
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) integration_external_id: Option<Option<String>>,
    pub(crate) job_title: Option<Option<String>>,
    pub(crate) location: Option<Option<String>>,
    pub(crate) department: Option<Option<String>>,
    pub(crate) role: Option<String>,
    pub(crate) language: Option<String>,
    pub(crate) occupation_role: Option<Option<String>>,
    pub(crate) hire_date: Option<Option<NaiveDate>>,
    pub(crate) manager: Option<Option<ManagerRef>>,
    pub(crate) primary_team: Option<Option<TeamRef>>,
    pub(crate) secondary_teams: Option<Vec<TeamRef>>,
    pub(crate) skip_invitation: bool,
    pub(crate) reactivate: bool,
    /// Name → value, in the order sent; an empty value clears the field.
    /// Empty when the company has custom fields disabled.
    pub(crate) custom_fields: Vec<(String, String)>,
}

impl UserForm {
    /// Checks and reads the parameters of a create or an update; with
    /// `custom_fields` false (disabled), `customFields` are not read at all.
    pub(crate) fn parse(params: &Params, mode: Mode, custom_fields: bool) -> Result<UserForm, ApiError> {
        check_exclusive(params)?;
        let mut errors = FieldErrors::default();
        let form = UserForm {
            email: required(params, "email", mode, &mut errors).map(|e| e.trim().to_lowercase()),
            first_name: required(params, "firstName", mode, &mut errors),
            last_name: required(params, "lastName", mode, &mut errors),
            integration_external_id: clearable(params, "integrationExternalId"),
            job_title: clearable(params, "jobTitle"),
            location: clearable(params, "location"),
            department: clearable(params, "department"),
            role: one_of(params, "role", &ROLES, &mut errors),
            language: one_of(params, "language", &LANGUAGES, &mut errors),
            occupation_role: clearable(params, "occupationRole"),
            hire_date: hire_date(params, &mut errors),
            manager: manager(params, &mut errors),
            primary_team: primary_team(params, &mut errors),
            secondary_teams: secondary_teams(params, &mut errors),
            skip_invitation: boolean(params, "skipInvitation", &mut errors),
            reactivate: boolean(params, "reactivate", &mut errors),
            custom_fields: if custom_fields {
                read_custom_fields(params, &mut errors)
            } else {
                Vec::new()
            },
        };
        errors.into_params_result()?;
        Ok(form)
    }
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

/// A field that may not be blank; in a create it must also be sent.
fn required(params: &Params, key: &str, mode: Mode, errors: &mut FieldErrors) -> Option<String> {
    match params.get(key) {
        None if mode == Mode::Create => {
            errors.add(key, "is missing");
            None
        }
        None => None,
        Some(v) if v.trim().is_empty() => {
            errors.add(key, "is empty");
            None
        }
        Some(v) => Some(v.to_owned()),
    }
}

/// A text field that `""` clears.
fn clearable(params: &Params, key: &str) -> Option<Option<String>> {
    params
        .get(key)
        .map(|v| if v.is_empty() { None } else { Some(v.to_owned()) })
}

/// A value from a fixed list (exact, as Grape's `values:` checks); an enum
/// cannot be blank.
fn one_of(params: &Params, key: &str, allowed: &[&str], errors: &mut FieldErrors) -> Option<String> {
    let value = params.get(key)?;
    if value.trim().is_empty() {
        errors.add(key, "is empty");
        None
    } else if allowed.contains(&value) {
        Some(value.to_owned())
    } else {
        errors.add(key, "does not have a valid value");
        None
    }
}

fn hire_date(params: &Params, errors: &mut FieldErrors) -> Option<Option<NaiveDate>> {
    match params.get("hireDate")? {
        "" => Some(None),
        text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => Some(Some(date)),
            Err(_) => {
                errors.add("hireDate", "is invalid");
                None
            }
        },
    }
}

/// A positive integer id, or the error "KEY is invalid".
fn id(key: &str, text: &str, errors: &mut FieldErrors) -> Option<u64> {
    match text.trim().parse::<u64>() {
        Ok(id) if id > 0 => Some(id),
        _ => {
            errors.add(key, "is invalid");
            None
        }
    }
}

fn manager(params: &Params, errors: &mut FieldErrors) -> Option<Option<ManagerRef>> {
    if let Some(text) = params.get("managerId") {
        return match text {
            "" => Some(None),
            text => id("managerId", text, errors).map(|id| Some(ManagerRef::Id(id))),
        };
    }
    match params.get("managerEmail")? {
        "" => Some(None),
        email => Some(Some(ManagerRef::Email(email.trim().to_lowercase()))),
    }
}

fn primary_team(params: &Params, errors: &mut FieldErrors) -> Option<Option<TeamRef>> {
    if let Some(text) = params.get("primaryTeamId") {
        return match text {
            "" => Some(None),
            text => id("primaryTeamId", text, errors).map(|id| Some(TeamRef::Id(id))),
        };
    }
    match params.get("primaryTeamIntegrationExternalId")? {
        "" => Some(None),
        external_id => Some(Some(TeamRef::ExternalId(external_id.to_owned()))),
    }
}

fn secondary_teams(params: &Params, errors: &mut FieldErrors) -> Option<Vec<TeamRef>> {
    if let Some(ids) = params.list("secondaryTeamIds") {
        let parsed: Vec<TeamRef> = ids
            .iter()
            .filter_map(|t| id("secondaryTeamIds", t, errors))
            .map(TeamRef::Id)
            .collect();
        return (parsed.len() == ids.len()).then_some(parsed);
    }
    let external_ids = params.list("secondaryTeamIntegrationExternalIds")?;
    Some(
        external_ids
            .into_iter()
            .map(|e| TeamRef::ExternalId(e.to_owned()))
            .collect(),
    )
}

/// Grape's Boolean: true/false/1/0 (any case); absent is false.
fn boolean(params: &Params, key: &str, errors: &mut FieldErrors) -> bool {
    match params.get(key).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "") => false,
        Some("true" | "1") => true,
        Some(_) => {
            errors.add(key, "is invalid");
            false
        }
    }
}

/// Rails-style custom fields: `customFields[][name]=X&customFields[][value]=Y`
/// (a new entry starts when the current one already has that key) or
/// indexed `customFields[0][name]=X&customFields[0][value]=Y`.
fn read_custom_fields(params: &Params, errors: &mut FieldErrors) -> Vec<(String, String)> {
    // (index label, name, value); unindexed entries have no label.
    let mut entries: Vec<(Option<String>, Option<String>, Option<String>)> = Vec::new();
    for (key, value) in params.pairs() {
        let Some(rest) = key.strip_prefix("customFields[") else {
            continue;
        };
        let Some((label, field)) = rest.split_once("][") else {
            continue;
        };
        let is_name = match field {
            "name]" => true,
            "value]" => false,
            _ => continue,
        };
        let label = (!label.is_empty()).then(|| label.to_owned());
        let found = match &label {
            Some(_) => entries.iter().position(|e| e.0 == label),
            None => entries
                .last()
                .filter(|e| e.0.is_none() && slot(e, is_name).is_none())
                .map(|_| entries.len() - 1),
        };
        let index = found.unwrap_or_else(|| {
            entries.push((label, None, None));
            entries.len() - 1
        });
        let entry = &mut entries[index];
        *if is_name { &mut entry.1 } else { &mut entry.2 } = Some(value.clone());
    }
    let mut fields = Vec::with_capacity(entries.len());
    for (_, name, value) in entries {
        match name.filter(|n| !n.trim().is_empty()) {
            Some(name) => fields.push((name, value.unwrap_or_default())),
            None => errors.add("customFields[name]", "is missing"),
        }
    }
    fields
}

fn slot(entry: &(Option<String>, Option<String>, Option<String>), is_name: bool) -> &Option<String> {
    if is_name { &entry.1 } else { &entry.2 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str, mode: Mode) -> Result<UserForm, ApiError> {
        UserForm::parse(&Params::from_urlencoded(body), mode, true)
    }

    #[test]
    fn reads_every_field() {
        let got = form(
            "email=Ann%40X.com&firstName=Ann&lastName=Lee&integrationExternalId=E1&jobTitle=&role=curator\
             &language=pt-BR&timeZone=Paris&occupationRole=Engineer&hireDate=2021-02-28&managerEmail=Boss%40x.com&primaryTeamId=3\
             &secondaryTeamIntegrationExternalIds[]=T1&secondaryTeamIntegrationExternalIds[]=T2&skipInvitation=TRUE\
             &customFields[][name]=Cost+centre&customFields[][value]=CC1&customFields[][name]=Site\
             &customFields[0][name]=Grade&customFields[0][value]=7",
            Mode::Create,
        )
        .expect("valid form");
        assert_eq!(
            got,
            UserForm {
                email: Some("ann@x.com".to_owned()),
                first_name: Some("Ann".to_owned()),
                last_name: Some("Lee".to_owned()),
                integration_external_id: Some(Some("E1".to_owned())),
                job_title: Some(None),
                role: Some("curator".to_owned()),
                language: Some("pt-BR".to_owned()),
                occupation_role: Some(Some("Engineer".to_owned())),
                hire_date: Some(NaiveDate::from_ymd_opt(2021, 2, 28)),
                manager: Some(Some(ManagerRef::Email("boss@x.com".to_owned()))),
                primary_team: Some(Some(TeamRef::Id(3))),
                secondary_teams: Some(vec![
                    TeamRef::ExternalId("T1".to_owned()),
                    TeamRef::ExternalId("T2".to_owned())
                ]),
                skip_invitation: true,
                custom_fields: vec![
                    ("Cost centre".to_owned(), "CC1".to_owned()),
                    ("Site".to_owned(), String::new()),
                    ("Grade".to_owned(), "7".to_owned()),
                ],
                ..UserForm::default()
            }
        );
    }

    #[test]
    fn update_needs_nothing_but_refuses_blanks() {
        assert_eq!(form("", Mode::Update).expect("empty update"), UserForm::default());
        let err = form(
            "firstName=+&role=owner&language=&hireDate=28%2F02%2F2021&secondaryTeamIds[]=x",
            Mode::Update,
        )
        .expect_err("invalid");
        assert_eq!(
            err.parts(),
            (
                axum::http::StatusCode::BAD_REQUEST,
                &serde_json::json!({
                    "error": "firstName is empty, role does not have a valid value, language is empty, \
                              hireDate is invalid, secondaryTeamIds is invalid",
                    "fullErrors": {
                        "firstName": ["is empty"],
                        "role": ["does not have a valid value"],
                        "language": ["is empty"],
                        "hireDate": ["is invalid"],
                        "secondaryTeamIds": ["is invalid"],
                    }
                })
            )
        );
    }

    #[test]
    fn custom_fields_are_not_read_when_disabled() {
        let params = Params::from_urlencoded("customFields[][value]=orphan");
        assert!(UserForm::parse(&params, Mode::Update, true).is_err());
        let ignored = UserForm::parse(&params, Mode::Update, false).expect("ignored");
        assert_eq!(ignored.custom_fields, vec![]);
    }
}
