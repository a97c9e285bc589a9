//! Reconcile: what Learn Amp actually has against what the log says it
//! should have — people changed there by hand (field by field), expected
//! people missing or deactivated there, and active people there the file
//! does not know. `repair` appends events (cause `repair`) that the next
//! push sends to set Learn Amp back.

use std::collections::{BTreeMap, HashMap};

use ampsync_store::{EventKind, FieldChange, Store, StoreError, UserState};
use serde_json::Value;

use crate::clock::{self, ClockError};
use crate::fields::NOT_SENT;
use crate::learnamp::{ApiError, LearnAmpClient, RemoteUser};

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDrift {
    pub field: String,
    pub expected: String,
    pub actual: Option<String>,
}

/// What reconcile found.
#[derive(Debug, Clone, Default)]
pub struct Drift {
    /// Active people whose fields differ in Learn Amp.
    pub changed: Vec<(String, u64, Vec<FieldDrift>)>,
    /// Active people deactivated in Learn Amp.
    pub deactivated_there: Vec<(String, u64)>,
    /// Active people Learn Amp does not have at all.
    pub missing: Vec<String>,
    /// Active Learn Amp users no file mentions: id and email.
    pub unknown: Vec<(u64, String)>,
    /// Repair events appended, when asked.
    pub repaired: Option<(u64, u64)>,
}

impl Drift {
    /// Learn Amp is as the log says.
    pub fn in_step(&self) -> bool {
        self.changed.is_empty()
            && self.deactivated_there.is_empty()
            && self.missing.is_empty()
            && self.unknown.is_empty()
    }
}

/// A reconcile that could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Clock(#[from] ClockError),
}

/// Compares; with `repair`, appends the events that undo the drift.
pub async fn reconcile(store: &Store, client: &LearnAmpClient, repair: bool) -> Result<Drift, ReconcileError> {
    let based_on = store.log_end()?;
    let mut expected: BTreeMap<String, UserState> = BTreeMap::new();
    store.for_each_user(|key, state| {
        expected.insert(key.to_owned(), state.clone());
    })?;
    let remote = client.all_users().await?;
    let by_external: HashMap<&str, &RemoteUser> = remote
        .iter()
        .filter_map(|u| u.json["integrationExternalId"].as_str().map(|id| (id, u)))
        .collect();
    let by_email: HashMap<String, &RemoteUser> = remote.iter().map(|u| (u.email.to_lowercase(), u)).collect();
    let mut drift = Drift::default();
    let mut known: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let mut repairs: Vec<(String, EventKind)> = Vec::new();
    for (key, state) in &expected {
        let found = state
            .record
            .get("integrationExternalId")
            .and_then(|id| by_external.get(id).copied())
            .or_else(|| state.record.get("email").and_then(|e| by_email.get(e).copied()));
        let Some(user) = found else {
            if state.active {
                drift.missing.push(key.clone());
            }
            continue;
        };
        known.insert(user.id);
        if !state.active {
            continue;
        }
        if user.deactivated {
            drift.deactivated_there.push((key.clone(), user.id));
            repairs.push((key.clone(), EventKind::Reactivated { changes: Vec::new() }));
        }
        let fields: Vec<FieldDrift> = state
            .record
            .iter()
            .filter_map(|(field, value)| {
                let actual = remote_value(&user.json, field)?;
                let same = match field {
                    "email" | "managerEmail" => actual.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(value)),
                    _ => actual.as_deref() == Some(value),
                };
                (!same).then(|| FieldDrift {
                    field: field.to_owned(),
                    expected: value.to_owned(),
                    actual,
                })
            })
            .collect();
        if !fields.is_empty() {
            let changes = fields
                .iter()
                .map(|f| FieldChange {
                    field: f.field.clone(),
                    old: Some(f.expected.clone()),
                    new: Some(f.expected.clone()),
                })
                .collect();
            repairs.push((key.clone(), EventKind::Updated { changes }));
            drift.changed.push((key.clone(), user.id, fields));
        }
    }
    for user in &remote {
        if !user.deactivated && !known.contains(&user.id) {
            drift.unknown.push((user.id, user.email.clone()));
        }
    }
    if repair && !repairs.is_empty() {
        drift.repaired = store.append_repair(based_on, clock::now_micros()?, repairs)?;
    }
    Ok(drift)
}

/// The value Learn Amp shows for one of our record fields; `None` for a
/// field ampsync cannot compare (not sent, or not shown by the API).
fn remote_value(user: &Value, field: &str) -> Option<Option<String>> {
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    Some(match field {
        "managerEmail" => text(&user["manager"]["email"]),
        "primaryTeam" => text(&user["primaryTeam"]["name"]),
        "secondaryTeams" => {
            let mut names: Vec<String> = user["secondaryTeams"]
                .as_array()?
                .iter()
                .filter_map(|t| t["name"].as_str())
                .map(|n| n.replace(',', "\\,"))
                .collect();
            names.sort();
            (!names.is_empty()).then(|| names.join(", "))
        }
        not_sent if NOT_SENT.contains(&not_sent) => return None,
        // The user JSON does not show a team's external id.
        "primaryTeamExternalId" | "secondaryTeamExternalIds" => return None,
        custom if custom.starts_with("customFields.") => {
            let name = &custom["customFields.".len()..];
            user["customFields"]
                .as_array()?
                .iter()
                .find(|c| c["name"] == name)
                .and_then(|c| text(&c["value"]))
        }
        // A field the API does not show cannot be compared.
        other => text(user.get(other)?),
    })
}
