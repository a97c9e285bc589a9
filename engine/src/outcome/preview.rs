//! What `preview` found in a file, as a value: the first records as Learn
//! Amp would get them, every problem with its line, and the counts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::FieldValue;
use crate::ingest::RowError;

/// One row's record as it would be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewRecord {
    /// 1-based line where the row starts.
    pub line: u64,
    /// The person's key (`csv.key`).
    pub key: String,
    /// False when the row says the person has left (`deactivate`).
    pub active: bool,
    /// The record fields, as `show` prints them.
    pub record: BTreeMap<String, FieldValue>,
}

/// A file read and mapped as `import` would, with nothing written.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewOutcome {
    /// The file, as messages name it.
    pub file: String,
    /// Data rows read (the header and lines before it aside).
    pub rows: u64,
    /// Valid rows of people who stay or become active.
    pub people: u64,
    /// Valid rows whose `deactivate` says the person has left.
    pub deactivated: u64,
    /// Rows a `[[skip]]` rule left out (not people: guests, rooms).
    pub skipped: u64,
    /// Rows that failed validation.
    pub invalid: u64,
    /// Rows whose `leaveDate` is on or before today: leavers.
    pub leavers_by_date: u64,
    /// Rows whose `startDate` is after today (`policy.future_hires`).
    pub future_hires: u64,
    /// The header names of the columns that feed Learn Amp fields.
    pub mapped_columns: Vec<String>,
    /// The first records, in file order.
    pub records: Vec<PreviewRecord>,
    /// The first problems, in file order, each with its line and column.
    pub problems: Vec<RowError>,
    /// How many problems there were in all.
    pub problem_count: u64,
    /// What looks wrong with the file as a whole, though it was read.
    pub warnings: Vec<String>,
}
