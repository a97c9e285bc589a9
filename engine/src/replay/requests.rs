//! What each event asks of the API, as data. Pure: team names stay names
//! here ([`FormValue`]s); the push resolves them to ids.
//!
//! The rules come from the API reference as it is today:
//! - `timeZone` and `coachEmail` are never sent (no such input).
//! - An enum (`role`, `language`) is never sent blank: a value removed from
//!   the file leaves Learn Amp's as it is.
//! - Only `integrationExternalId` and custom fields can be cleared (with an
//!   empty value); any other field removed from the file is left as Learn
//!   Amp has it, and the call says so ([`UserCall::kept`]).
//! - Teams go by `integrationExternalId` when the file gives team IDs, by
//!   id (resolved from the name) otherwise, never both forms.

use ampsync_store::{EventKind, FieldChange, Record};

use crate::fields::NOT_SENT;
use crate::learnamp::{Method, path_segment};

/// A form value: text, or team names to be resolved to ids at push time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum FormValue {
    Text(String),
    /// `primaryTeamId`: one team, by name.
    Team(TeamName),
    /// `secondaryTeamIds[]`: teams by name.
    Teams(Vec<TeamName>),
}

/// A team named in the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TeamName {
    pub team: String,
}

/// The call an event makes, before the person's Learn Amp id and the team
/// ids are known.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserCall {
    pub action: Action,
    /// Form fields, in the order they are sent.
    pub fields: Vec<(String, FormValue)>,
    /// Fields removed from the file that Learn Amp cannot clear: it keeps
    /// the value it has.
    pub kept: Vec<String>,
}

/// Which endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `POST /v1/users`
    Create,
    /// `PUT /v1/users/by_integration_external_id/{id}`, or `/v1/users/{id}`
    Update,
    /// `PUT /v1/users/{id}/deactivate`
    Deactivate,
    /// No request: refused events of someone who left before Learn Amp
    /// ever had them.
    Nothing,
}

/// Whether new users get Learn Amp's invitation email at once.
#[derive(Debug, Clone, Copy)]
pub struct CallOptions {
    pub skip_invitation: bool,
}

/// What to send as `managerEmail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerField<'a> {
    /// As the event says.
    AsIs,
    /// This email instead (the manager's new email).
    Set(&'a str),
    /// Leave it out (the manager is nobody active, or comes later).
    Omit,
}

/// Which form a person's teams go in: by external id when their record has
/// team IDs from the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TeamForms {
    pub primary_by_external_id: bool,
    pub secondary_by_external_id: bool,
}

impl TeamForms {
    /// The forms for a person whose record is `record`.
    pub fn of(record: &Record) -> TeamForms {
        TeamForms {
            primary_by_external_id: record.get("primaryTeamExternalId").is_some(),
            secondary_by_external_id: record.get("secondaryTeamExternalIds").is_some(),
        }
    }
}

/// The call for one event. `manager` overrides the record's `managerEmail`.
pub fn call_for(kind: &EventKind, manager: ManagerField, teams: TeamForms, options: CallOptions) -> UserCall {
    match kind {
        EventKind::Created { record } => {
            let mut call = UserCall::new(Action::Create);
            let teams = TeamForms::of(record);
            for (name, value) in record.iter() {
                call.push_field(name, Some(value), manager, teams);
            }
            if let ManagerField::Set(m) = manager
                && record.get("managerEmail").is_none()
            {
                call.text("managerEmail", m);
            }
            call.text("skipInvitation", &options.skip_invitation.to_string());
            call
        }
        EventKind::Updated { changes } => {
            let mut call = UserCall::new(Action::Update);
            call.push_changes(changes, manager, teams);
            call
        }
        EventKind::Reactivated { changes } => {
            let mut call = UserCall::new(Action::Update);
            call.text("reactivate", "true");
            call.push_changes(changes, manager, teams);
            call
        }
        EventKind::Deactivated => UserCall::new(Action::Deactivate),
    }
}

/// The full record as an update (a create that found the person existing,
/// or a person brought up to date in one request).
pub fn update_with_record(record: &Record, manager: ManagerField, reactivate: bool) -> UserCall {
    let mut call = UserCall::new(Action::Update);
    if reactivate {
        call.text("reactivate", "true");
    }
    let teams = TeamForms::of(record);
    for (name, value) in record.iter() {
        call.push_field(name, Some(value), manager, teams);
    }
    if let ManagerField::Set(m) = manager
        && record.get("managerEmail").is_none()
    {
        call.text("managerEmail", m);
    }
    call
}

impl UserCall {
    /// No request at all.
    pub fn nothing() -> UserCall {
        UserCall::new(Action::Nothing)
    }

    fn new(action: Action) -> UserCall {
        UserCall {
            action,
            fields: Vec::new(),
            kept: Vec::new(),
        }
    }

    fn text(&mut self, name: &str, value: &str) {
        self.fields.push((name.to_owned(), FormValue::Text(value.to_owned())));
    }

    fn push_changes(&mut self, changes: &[FieldChange], manager: ManagerField, teams: TeamForms) {
        for c in changes {
            self.push_field(&c.field, c.new.as_deref(), manager, teams);
        }
    }

    /// One record field as the API's form field(s); `None`: removed from the file.
    fn push_field(&mut self, name: &str, value: Option<&str>, manager: ManagerField, teams: TeamForms) {
        if NOT_SENT.contains(&name) {
            return;
        }
        let Some(value) = value else {
            match name {
                // The two kinds of field the API documents as clearable.
                "integrationExternalId" => self.text(name, ""),
                _ if name.starts_with("customFields.") => self.push_custom(name, ""),
                _ if name == "managerEmail" && manager != ManagerField::AsIs => {}
                _ => self.kept.push(name.to_owned()),
            }
            return;
        };
        match name {
            "primaryTeam" if teams.primary_by_external_id => {}
            "primaryTeam" => self.fields.push((
                "primaryTeamId".into(),
                FormValue::Team(TeamName { team: value.to_owned() }),
            )),
            "secondaryTeams" if teams.secondary_by_external_id => {}
            "secondaryTeams" => {
                let names = split_list(value).into_iter().map(|team| TeamName { team }).collect();
                self.fields.push(("secondaryTeamIds[]".into(), FormValue::Teams(names)));
            }
            "primaryTeamExternalId" => self.text("primaryTeamIntegrationExternalId", value),
            "secondaryTeamExternalIds" => {
                for id in split_list(value) {
                    self.text("secondaryTeamIntegrationExternalIds[]", &id);
                }
            }
            "managerEmail" => match manager {
                ManagerField::AsIs => self.text(name, value),
                ManagerField::Set(m) => self.text(name, m),
                ManagerField::Omit => {}
            },
            _ if name.starts_with("customFields.") => self.push_custom(name, value),
            _ => self.text(name, value),
        }
    }

    fn push_custom(&mut self, name: &str, value: &str) {
        let custom = name.strip_prefix("customFields.").unwrap_or(name);
        self.text("customFields[][name]", custom);
        self.text("customFields[][value]", value);
    }

    /// Custom fields the call names (a 404 may mean one is unknown).
    pub fn custom_fields(&self) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(n, _)| n == "customFields[][name]")
            .filter_map(|(_, v)| match v {
                FormValue::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// A canonical list (`a\, b, c`) as its items.
pub fn split_list(list: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    items
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Who a request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressee<'a> {
    /// Learn Amp's id, when known.
    Id(u64),
    /// The `integrationExternalId` Learn Amp has for them.
    ExternalId(&'a str),
    /// Neither is known yet: the push looks them up (shown by key).
    Key(&'a str),
}

/// The method and path a call uses. Updates go by external id when the
/// person has one (no Learn Amp id needed); deactivation needs the id.
/// `None`: no request at all.
pub fn endpoint(action: Action, who: Addressee) -> Option<(Method, String)> {
    let id = |who: Addressee| match who {
        Addressee::Id(id) => id.to_string(),
        Addressee::ExternalId(ext) => format!("{{id of {ext}}}"),
        Addressee::Key(key) => format!("{{id of {key}}}"),
    };
    Some(match (action, who) {
        (Action::Nothing, _) => return None,
        (Action::Create, _) => (Method::Post, "/v1/users".to_owned()),
        (Action::Update, Addressee::ExternalId(ext)) => (
            Method::Put,
            format!("/v1/users/by_integration_external_id/{}", path_segment(ext)),
        ),
        (Action::Update, who) => (Method::Put, format!("/v1/users/{}", id(who))),
        (Action::Deactivate, who) => (Method::Put, format!("/v1/users/{}/deactivate", id(who))),
    })
}

impl FormValue {
    /// The value as a plan shows it: team names stand for their ids.
    pub fn display(&self) -> String {
        match self {
            FormValue::Text(t) => t.clone(),
            FormValue::Team(t) => format!("<id of team {:?}>", t.team),
            FormValue::Teams(ts) => ts
                .iter()
                .map(|t| format!("<id of team {:?}>", t.team))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: CallOptions = CallOptions { skip_invitation: true };

    fn text(name: &str, value: &str) -> (String, FormValue) {
        (name.into(), FormValue::Text(value.into()))
    }

    #[test]
    fn a_creation_sends_every_field_with_teams_by_name_and_never_the_time_zone() {
        let record = Record::from_pairs([
            ("email", "a@x.io"),
            ("firstName", "Ann"),
            ("primaryTeam", "Sales"),
            ("secondaryTeams", "Research\\, Development, Ops"),
            ("customFields.Cost centre", "CC-7"),
            ("coachEmail", "c@x.io"),
            ("timeZone", "Europe/London"),
            ("language", "pt-PT"),
            ("role", "learning_designer"),
        ]);
        let call = call_for(
            &EventKind::Created { record },
            ManagerField::AsIs,
            TeamForms::default(),
            OPTIONS,
        );
        assert_eq!(call.action, Action::Create);
        assert_eq!(
            call.fields,
            vec![
                text("customFields[][name]", "Cost centre"),
                text("customFields[][value]", "CC-7"),
                text("email", "a@x.io"),
                text("firstName", "Ann"),
                text("language", "pt-PT"),
                (
                    "primaryTeamId".into(),
                    FormValue::Team(TeamName { team: "Sales".into() })
                ),
                text("role", "learning_designer"),
                (
                    "secondaryTeamIds[]".into(),
                    FormValue::Teams(vec![
                        TeamName {
                            team: "Research, Development".into()
                        },
                        TeamName { team: "Ops".into() }
                    ])
                ),
                text("skipInvitation", "true"),
            ]
        );
        assert!(call.kept.is_empty());
    }

    #[test]
    fn team_ids_from_the_file_go_by_external_id_and_never_both_forms() {
        let record = Record::from_pairs([
            ("email", "a@x.io"),
            ("primaryTeam", "Sales"),
            ("primaryTeamExternalId", "T-1"),
            ("secondaryTeams", "Ops, R\\, D"),
            ("secondaryTeamExternalIds", "T-2, T\\,3"),
        ]);
        let call = call_for(
            &EventKind::Created { record },
            ManagerField::AsIs,
            TeamForms::default(),
            OPTIONS,
        );
        assert_eq!(
            call.fields,
            vec![
                text("email", "a@x.io"),
                text("primaryTeamIntegrationExternalId", "T-1"),
                text("secondaryTeamIntegrationExternalIds[]", "T-2"),
                text("secondaryTeamIntegrationExternalIds[]", "T,3"),
                text("skipInvitation", "true"),
            ]
        );
    }

    #[test]
    fn removed_values_clear_only_what_the_api_can_clear_and_never_send_a_blank_enum() {
        let change = |field: &str, new: Option<&str>| FieldChange {
            field: field.into(),
            old: Some("old".into()),
            new: new.map(Into::into),
        };
        let changes = vec![
            change("jobTitle", Some("B")),
            change("managerEmail", Some("n@x.io")),
            change("location", None),
            change("role", None),
            change("language", None),
            change("timeZone", None),
            change("integrationExternalId", None),
            change("customFields.Cost centre", None),
            change("secondaryTeams", None),
        ];
        let call = call_for(
            &EventKind::Reactivated { changes },
            ManagerField::Omit,
            TeamForms::default(),
            OPTIONS,
        );
        assert_eq!(
            call,
            UserCall {
                action: Action::Update,
                fields: vec![
                    text("reactivate", "true"),
                    text("jobTitle", "B"),
                    text("integrationExternalId", ""),
                    text("customFields[][name]", "Cost centre"),
                    text("customFields[][value]", ""),
                ],
                kept: vec![
                    "location".into(),
                    "role".into(),
                    "language".into(),
                    "secondaryTeams".into()
                ],
            }
        );
    }

    #[test]
    fn updates_go_by_external_id_when_there_is_one() {
        assert_eq!(
            endpoint(Action::Update, Addressee::ExternalId("HR/1 2")),
            Some((Method::Put, "/v1/users/by_integration_external_id/HR%2F1%202".into()))
        );
        assert_eq!(
            endpoint(Action::Update, Addressee::Id(7)),
            Some((Method::Put, "/v1/users/7".into()))
        );
        assert_eq!(
            endpoint(Action::Deactivate, Addressee::ExternalId("E1")),
            Some((Method::Put, "/v1/users/{id of E1}/deactivate".into()))
        );
    }
}
