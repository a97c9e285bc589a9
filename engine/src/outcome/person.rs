//! A person's record as a value: each field a text, or a list for the
//! fields that hold lists (secondary teams), so that no consumer has to
//! undo the log's `a\, b, c` escaping.

use std::collections::BTreeMap;

use ampsync_store::UserState;
use serde::Serialize;

use crate::fields::Field;
use crate::replay::split_list;

/// Whether a record field holds a list (stored as `a\, b, c`).
pub fn is_list_field(name: &str) -> bool {
    [Field::SecondaryTeams, Field::SecondaryTeamExternalIds]
        .iter()
        .any(|f| f.api_name() == name)
}

/// A field's value: a text, or the items of a list field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    Text(String),
    List(Vec<String>),
}

impl FieldValue {
    /// The value of record field `name` as stored in the log.
    pub fn of(name: &str, value: &str) -> FieldValue {
        if !is_list_field(name) {
            return FieldValue::Text(value.to_owned());
        }
        if value.is_empty() {
            return FieldValue::List(Vec::new());
        }
        FieldValue::List(split_list(value).into_iter().map(|i| i.trim().to_owned()).collect())
    }
}

/// A person's record at one point (`ampsync show`).
#[derive(Debug, Clone, Serialize)]
pub struct PersonRecord {
    pub key: String,
    pub active: bool,
    pub record: BTreeMap<String, FieldValue>,
    /// Imports in a row the person has been missing from (now only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_from_imports: Option<u32>,
    /// After how many missing imports a person is deactivated (with
    /// `missing_from_imports`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deactivated_after: Option<u32>,
}

impl PersonRecord {
    /// `state` of `key`, with a pending absence (`missing` of `after`).
    pub fn new(key: &str, state: &UserState, missing: Option<u32>, after: u32) -> PersonRecord {
        PersonRecord {
            key: key.to_owned(),
            active: state.active,
            record: state
                .record
                .iter()
                .map(|(k, v)| (k.to_owned(), FieldValue::of(k, v)))
                .collect(),
            missing_from_imports: missing,
            deactivated_after: missing.map(|_| after),
        }
    }
}
