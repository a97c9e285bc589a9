//! Which column feeds which Learn Amp field: resolved once from the header
//! and the config, before any row is read.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::fields::{Field, custom_field_name, fold_header};

use super::IngestError;

/// Where a record value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Field(Field),
    Custom(usize),
}

/// The resolved layout of a file.
#[derive(Debug, Clone)]
pub(crate) struct ColumnPlan {
    /// The header as the file has it.
    pub header: Vec<String>,
    /// Column index of each field the file has.
    pub field_columns: BTreeMap<Field, usize>,
    /// Custom fields: record name and column index.
    pub custom: Vec<(String, usize)>,
    /// The column that identifies a person.
    pub key_column: usize,
    /// Record slots in canonical (record field name) order, with names.
    pub order: Vec<(String, Slot)>,
    /// Per field: the file's values (folded) → Learn Amp's.
    pub translations: BTreeMap<Field, BTreeMap<String, String>>,
}

impl ColumnPlan {
    pub(crate) fn resolve(header: Vec<String>, config: &Config, file: &str) -> Result<ColumnPlan, IngestError> {
        let folded: Vec<String> = header.iter().map(|h| fold_header(h)).collect();
        let find = |column: &str| folded.iter().position(|h| *h == fold_header(column));
        // `read_rows` sets the header's line, and the hint when the header
        // looks split by another delimiter.
        let missing = |what: String, hint: String| IngestError::MissingColumn {
            file: file.to_owned(),
            line: 1,
            what,
            found: header.clone(),
            hint,
        };

        let mut field_columns = BTreeMap::new();
        // Explicit mappings first: they must exist.
        for (name, column) in &config.mapping.fields {
            let Some(field) = Field::from_api_name(name) else {
                continue;
            };
            let index =
                find(column).ok_or_else(|| missing(format!("{column:?} column (mapping.{name})"), String::new()))?;
            field_columns.insert(field, index);
        }
        // Then the recognised headers, for fields the mapping left alone.
        for (index, h) in header.iter().enumerate() {
            let Some(field) = Field::from_header(h) else {
                continue;
            };
            if config.mapping.fields.contains_key(field.api_name()) || field_columns.values().any(|&i| i == index) {
                continue;
            }
            if let Some(&first) = field_columns.get(&field) {
                return Err(IngestError::DuplicateColumn {
                    file: file.to_owned(),
                    line: 1,
                    field: field.api_name().to_owned(),
                    first: header[first].clone(),
                    second: h.clone(),
                });
            }
            field_columns.insert(field, index);
        }

        let mut custom = Vec::new();
        for (name, column) in &config.mapping.custom_fields {
            let index = find(column).ok_or_else(|| {
                missing(
                    format!("{column:?} column (mapping.custom_fields.\"{name}\")"),
                    String::new(),
                )
            })?;
            custom.push((custom_field_name(name), index));
        }

        // The key: csv.key, else the employee ID column, else email.
        let (key_column, key_is_email) = match &config.csv.key {
            Some(column) => {
                let index =
                    find(column).ok_or_else(|| missing(format!("{column:?} column (csv.key)"), String::new()))?;
                (index, field_columns.get(&Field::Email) == Some(&index))
            }
            None => match field_columns.get(&Field::IntegrationExternalId) {
                Some(&index) => (index, false),
                None => match field_columns.get(&Field::Email) {
                    Some(&index) => (index, true),
                    None => {
                        return Err(missing("Email (or Employee ID) column".into(), String::new()));
                    }
                },
            },
        };
        // A key column that feeds no field is the external id.
        if !key_is_email && !field_columns.values().any(|&i| i == key_column) {
            field_columns.insert(Field::IntegrationExternalId, key_column);
        }

        if !field_columns.contains_key(&Field::Email) {
            return Err(missing("Email column".into(), String::new()));
        }
        let has_name = field_columns.contains_key(&Field::Name);
        for (field, label) in [(Field::FirstName, "First name"), (Field::LastName, "Last name")] {
            if !field_columns.contains_key(&field) && !has_name {
                return Err(missing(
                    format!("{label} column (nor a Name column to split)"),
                    String::new(),
                ));
            }
        }

        let mut order: Vec<(String, Slot)> = Vec::new();
        for field in Field::ALL {
            let present = field_columns.contains_key(&field)
                || (matches!(field, Field::FirstName | Field::LastName) && has_name)
                || (field == Field::PrimaryTeam && field_columns.contains_key(&Field::SecondaryTeams));
            if present && !matches!(field, Field::Name | Field::Deactivate) {
                order.push((field.api_name().to_owned(), Slot::Field(field)));
            }
        }
        for (i, (name, _)) in custom.iter().enumerate() {
            order.push((name.clone(), Slot::Custom(i)));
        }
        order.sort_by(|a, b| a.0.cmp(&b.0));

        let translations = config
            .mapping
            .values
            .iter()
            .filter_map(|(name, table)| {
                let field = Field::from_api_name(name)?;
                Some((
                    field,
                    table
                        .iter()
                        .map(|(from, to)| (from.trim().to_lowercase(), to.clone()))
                        .collect(),
                ))
            })
            .collect();

        Ok(ColumnPlan {
            header,
            field_columns,
            custom,
            key_column,
            order,
            translations,
        })
    }

    /// The header of the key column.
    pub(crate) fn key_header(&self) -> &str {
        &self.header[self.key_column]
    }
}
