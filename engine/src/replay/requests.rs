//! What each event asks of the API, as data. Pure: team names stay names
//! here ([`Form`] values); the push resolves them to ids.

use ampsync_store::{EventKind, FieldChange, Record};

/// A form value: text, or team names to be resolved to ids at push time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum FormValue {
    Text(String),
    /// `primaryTeamId`: one team, by name.
    Team(TeamName),
    /// `secondaryTeamIds[]`: teams by name (empty clears them).
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
}

/// Which endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `POST /v1/users`
    Create,
    /// `PUT /v1/users/{id}`
    Update,
    /// `PUT /v1/users/{id}/deactivate`
    Deactivate,
}

/// Whether new users get Learn Amp's invitation email at once.
#[derive(Debug, Clone, Copy)]
pub struct CallOptions {
    pub skip_invitation: bool,
}

/// The call for one event. `manager` overrides the record's `managerEmail`
/// (resolved by the plan: `None` leaves it out).
pub fn call_for(kind: &EventKind, manager: ManagerField, options: CallOptions) -> UserCall {
    match kind {
        EventKind::Created { record } => {
            let mut fields = Vec::new();
            for (name, value) in record.iter() {
                push_field(&mut fields, name, Some(value), manager);
            }
            if let ManagerField::Set(m) = manager
                && record.get("managerEmail").is_none()
            {
                fields.push(("managerEmail".into(), FormValue::Text(m.to_owned())));
            }
            fields.push((
                "skipInvitation".into(),
                FormValue::Text(options.skip_invitation.to_string()),
            ));
            UserCall {
                action: Action::Create,
                fields,
            }
        }
        EventKind::Updated { changes } => UserCall {
            action: Action::Update,
            fields: change_fields(changes, manager),
        },
        EventKind::Reactivated { changes } => {
            let mut fields = vec![("reactivate".to_owned(), FormValue::Text("true".into()))];
            fields.extend(change_fields(changes, manager));
            UserCall {
                action: Action::Update,
                fields,
            }
        }
        EventKind::Deactivated => UserCall {
            action: Action::Deactivate,
            fields: Vec::new(),
        },
    }
}

/// The full record as an update (a create that found the person existing).
pub fn update_with_record(record: &Record, manager: ManagerField, reactivate: bool) -> UserCall {
    let mut fields = Vec::new();
    if reactivate {
        fields.push(("reactivate".to_owned(), FormValue::Text("true".into())));
    }
    for (name, value) in record.iter() {
        push_field(&mut fields, name, Some(value), manager);
    }
    UserCall {
        action: Action::Update,
        fields,
    }
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

fn change_fields(changes: &[FieldChange], manager: ManagerField) -> Vec<(String, FormValue)> {
    let mut fields = Vec::new();
    for c in changes {
        push_field(&mut fields, &c.field, c.new.as_deref(), manager);
    }
    fields
}

/// One record field as the API's form field(s); `None` clears it.
fn push_field(fields: &mut Vec<(String, FormValue)>, name: &str, value: Option<&str>, manager: ManagerField) {
    let text = |v: Option<&str>| FormValue::Text(v.unwrap_or_default().to_owned());
    match name {
        "primaryTeam" => {
            let value = value.map_or(FormValue::Text(String::new()), |t| {
                FormValue::Team(TeamName { team: t.to_owned() })
            });
            fields.push(("primaryTeamId".into(), value));
        }
        "secondaryTeams" => {
            let teams = value.map(split_teams).unwrap_or_default();
            fields.push(("secondaryTeamIds[]".into(), FormValue::Teams(teams)));
        }
        "managerEmail" => match manager {
            ManagerField::AsIs => fields.push((name.into(), text(value))),
            ManagerField::Set(m) => fields.push((name.into(), FormValue::Text(m.to_owned()))),
            ManagerField::Omit => {}
        },
        // Learn Amp has no coach field in the API subset ampsync uses.
        "coachEmail" => {}
        _ => match name.strip_prefix("customFields.") {
            Some(custom) => {
                fields.push(("customFields[][name]".into(), FormValue::Text(custom.to_owned())));
                fields.push(("customFields[][value]".into(), text(value)));
            }
            None => fields.push((name.into(), text(value))),
        },
    }
}

/// The record's canonical team list (`a\, b, c`) as names.
fn split_teams(list: &str) -> Vec<TeamName> {
    let mut teams = Vec::new();
    let mut current = String::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => teams.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    teams.push(current);
    teams
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .map(|team| TeamName { team })
        .collect()
}

/// The method and path a call will use; `remote_id` is the person's Learn
/// Amp id when known (else the path names them by key).
pub fn endpoint(action: Action, key: &str, remote_id: Option<u64>) -> (crate::learnamp::Method, String) {
    use crate::learnamp::Method;
    let who = remote_id.map_or_else(|| format!("{{id of {key}}}"), |id| id.to_string());
    match action {
        Action::Create => (Method::Post, "/v1/users".to_owned()),
        Action::Update => (Method::Put, format!("/v1/users/{who}")),
        Action::Deactivate => (Method::Put, format!("/v1/users/{who}/deactivate")),
    }
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

    #[test]
    fn a_creation_sends_every_field_with_teams_by_name() {
        let record = Record::from_pairs([
            ("email", "a@x.io"),
            ("firstName", "Ann"),
            ("primaryTeam", "Sales"),
            ("secondaryTeams", "Research\\, Development, Ops"),
            ("customFields.Cost centre", "CC-7"),
            ("coachEmail", "c@x.io"),
        ]);
        let call = call_for(&EventKind::Created { record }, ManagerField::AsIs, OPTIONS);
        assert_eq!(call.action, Action::Create);
        assert_eq!(
            call.fields,
            vec![
                ("customFields[][name]".into(), FormValue::Text("Cost centre".into())),
                ("customFields[][value]".into(), FormValue::Text("CC-7".into())),
                ("email".into(), FormValue::Text("a@x.io".into())),
                ("firstName".into(), FormValue::Text("Ann".into())),
                (
                    "primaryTeamId".into(),
                    FormValue::Team(TeamName { team: "Sales".into() })
                ),
                (
                    "secondaryTeamIds[]".into(),
                    FormValue::Teams(vec![
                        TeamName {
                            team: "Research, Development".into()
                        },
                        TeamName { team: "Ops".into() }
                    ])
                ),
                ("skipInvitation".into(), FormValue::Text("true".into())),
            ]
        );
    }

    #[test]
    fn updates_send_only_changes_and_clear_with_empty_values() {
        let changes = vec![
            FieldChange {
                field: "jobTitle".into(),
                old: Some("A".into()),
                new: Some("B".into()),
            },
            FieldChange {
                field: "managerEmail".into(),
                old: Some("m@x.io".into()),
                new: Some("n@x.io".into()),
            },
            FieldChange {
                field: "location".into(),
                old: Some("Leeds".into()),
                new: None,
            },
        ];
        let call = call_for(&EventKind::Reactivated { changes }, ManagerField::Omit, OPTIONS);
        assert_eq!(
            call,
            UserCall {
                action: Action::Update,
                fields: vec![
                    ("reactivate".into(), FormValue::Text("true".into())),
                    ("jobTitle".into(), FormValue::Text("B".into())),
                    ("location".into(), FormValue::Text(String::new())),
                ]
            }
        );
    }
}
