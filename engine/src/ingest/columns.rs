//! Which column feeds which Learn Amp field: resolved once from the header
//! and the config, before any row is read. Also where the row-level
//! mapping keys read (`leaveDate`, `startDate`, `managerKey`,
//! `managerName`), the `[[skip]]` rules and the value replaces, all
//! resolved to column numbers and compiled regexes here.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use crate::config::{ColumnSource, Config};
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
    /// Per field, the columns tried after the first when it is empty
    /// (`FIELD = ["A", "B"]`).
    pub fallbacks: BTreeMap<Field, Vec<usize>>,
    /// Fields found by their header's name, not named in the config.
    pub recognised: BTreeSet<Field>,
    /// Per field: `[mapping.replace.FIELD]`.
    pub replaces: BTreeMap<Field, Replace>,
    /// `[[skip]]` rules, in config order.
    pub skips: Vec<Skip>,
    /// `leaveDate`'s columns (first non-empty wins); empty: not mapped.
    pub leave: Vec<usize>,
    /// `startDate`'s columns.
    pub start: Vec<usize>,
    /// `managerKey` or `managerName`, when mapped.
    pub manager: Option<(ManagerBy, Vec<usize>)>,
    /// `csv.date_formats`.
    pub date_formats: Vec<String>,
}

/// How a row names its manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerBy {
    /// By the manager's key (`managerKey`).
    Key,
    /// By the manager's "First Last" (`managerName`).
    Name,
}

/// A compiled `[mapping.replace.FIELD]`.
#[derive(Debug, Clone)]
pub(crate) struct Replace {
    pub regex: Regex,
    pub with: String,
}

/// A compiled `[[skip]]` rule.
#[derive(Debug, Clone)]
pub(crate) struct Skip {
    /// The column tested.
    pub column: usize,
    pub test: SkipTest,
}

/// What a `[[skip]]` rule tests the raw cell for.
#[derive(Debug, Clone)]
pub(crate) enum SkipTest {
    /// One of these, trimmed and lower-cased.
    Equals(Vec<String>),
    Matches(Regex),
}

impl Skip {
    /// Whether `cell` (as the file has it) makes the row skipped.
    pub(crate) fn matches(&self, cell: &str) -> bool {
        match &self.test {
            SkipTest::Equals(values) => {
                let cell = cell.trim();
                values
                    .iter()
                    .any(|v| v.len() == cell.len() && v.eq_ignore_ascii_case(cell))
                    || (!cell.is_ascii() && values.contains(&cell.to_lowercase()))
            }
            SkipTest::Matches(regex) => regex.is_match(cell),
        }
    }
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
        let mut fallbacks = BTreeMap::new();
        let mut recognised = BTreeSet::new();
        let columns_of = |name: &str, source: &ColumnSource| -> Result<Vec<usize>, IngestError> {
            source
                .columns()
                .iter()
                .map(|column| {
                    find(column).ok_or_else(|| missing(format!("{column:?} column (mapping.{name})"), String::new()))
                })
                .collect()
        };
        // Explicit mappings first: they must exist.
        for (name, source) in &config.mapping.fields {
            let Some(field) = Field::from_api_name(name) else {
                continue;
            };
            let columns = columns_of(name, source)?;
            if let Some((&first, rest)) = columns.split_first() {
                field_columns.insert(field, first);
                if !rest.is_empty() {
                    fallbacks.insert(field, rest.to_vec());
                }
            }
        }
        let source = |key: &str| config.mapping.fields.get(key).map(|s| columns_of(key, s)).transpose();
        let leave = source("leaveDate")?.unwrap_or_default();
        let start = source("startDate")?.unwrap_or_default();
        let manager = match (source("managerKey")?, source("managerName")?) {
            (Some(columns), _) if !columns.is_empty() => Some((ManagerBy::Key, columns)),
            (_, Some(columns)) if !columns.is_empty() => Some((ManagerBy::Name, columns)),
            _ => None,
        };
        // Then the recognised headers, for fields the mapping left alone
        // (managerEmail is resolved when the manager is named otherwise).
        for (index, h) in header.iter().enumerate() {
            if !config.mapping.auto {
                break;
            }
            let Some(field) = Field::from_header(h) else {
                continue;
            };
            if config.mapping.fields.contains_key(field.api_name())
                || field_columns.values().any(|&i| i == index)
                || (field == Field::ManagerEmail && manager.is_some())
            {
                continue;
            }
            if let Some(&first) = field_columns.get(&field) {
                return Err(IngestError::DuplicateColumn {
                    file: file.to_owned(),
                    line: 1,
                    field: field.api_name(),
                    first: header[first].clone(),
                    second: h.clone(),
                    hint: format!(
                        "; {:?} was recognised by its name, not named in the config: name the column to read \
                         (mapping.{f} = \"...\"), or switch recognition off (mapping.auto = false)",
                        h,
                        f = field.api_name()
                    ),
                });
            }
            field_columns.insert(field, index);
            recognised.insert(field);
        }
        if manager.is_some() {
            // Resolved after the file is read; empty until then.
            field_columns.remove(&Field::ManagerEmail);
        }

        let mut skips = Vec::new();
        for (i, rule) in config.skip.iter().enumerate() {
            let column = find(&rule.column).ok_or_else(|| {
                missing(
                    format!("{:?} column ([[skip]] rule {} in the config)", rule.column, i + 1),
                    String::new(),
                )
            })?;
            let test = match (&rule.equals, &rule.matches) {
                (Some(values), _) => SkipTest::Equals(values.iter().map(|v| v.trim().to_lowercase()).collect()),
                // Checked when the config was loaded.
                (None, Some(pattern)) => SkipTest::Matches(
                    Regex::new(pattern)
                        .map_err(|_| missing(format!("valid regex in [[skip]] rule {}", i + 1), String::new()))?,
                ),
                (None, None) => continue,
            };
            skips.push(Skip { column, test });
        }
        let mut replaces = BTreeMap::new();
        for (name, rule) in &config.mapping.replace {
            let (Some(field), Ok(regex)) = (Field::from_api_name(name), Regex::new(&rule.pattern)) else {
                continue; // Checked when the config was loaded.
            };
            replaces.insert(
                field,
                Replace {
                    regex,
                    with: rule.with.clone(),
                },
            );
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
                || (field == Field::ManagerEmail && manager.is_some())
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
            fallbacks,
            recognised,
            replaces,
            skips,
            leave,
            start,
            manager,
            date_formats: config.csv.date_formats.clone(),
        })
    }

    /// What to add to an error about `column` when it was recognised by
    /// its header's name rather than named in the config.
    pub(crate) fn recognised_hint(&self, column: usize) -> Option<String> {
        // Who a person is cannot be switched off: no hint for those.
        let field = self.recognised.iter().find(|f| {
            self.field_columns.get(f) == Some(&column)
                && !matches!(
                    f,
                    Field::Email | Field::FirstName | Field::LastName | Field::Name | Field::IntegrationExternalId
                )
        })?;
        Some(format!(
            " (column {:?} was recognised by its name, not named in the config; \
             to not read it: mapping.{f} = false, or mapping.auto = false)",
            self.header[column],
            f = field.api_name()
        ))
    }

    /// The header of the key column.
    pub(crate) fn key_header(&self) -> &str {
        &self.header[self.key_column]
    }
}
