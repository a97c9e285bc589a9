//! `ampsync init --from FILE`: a sample export read for the config that
//! reads it. Its shape ([`shape`]: encoding, delimiter, lines before the
//! header), the system its header set names ([`catalogue`]), the date form
//! of its values ([`dates`]), the mapping proposed from its columns and
//! values ([`propose`]), and the commented TOML written from it
//! ([`write`]).
//!
//! The proposal is a value: the CLI prints it (as a table or JSON) and
//! writes [`Proposal::to_toml`]. What could not be decided is a
//! [`Question`] with its candidate columns, printed and written into the
//! file as comments. The store and the import are not touched here.

mod catalogue;
mod dates;
mod propose;
mod shape;
mod write;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

/// A sample that cannot be read as a CSV export at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitFromError {
    #[error("the sample is empty")]
    Empty,
    #[error(
        "the sample is UTF-16 text (Excel's \"Unicode Text\"): save it from Excel as \"CSV UTF-8\", or convert it (iconv -f UTF-16 -t UTF-8)"
    )]
    Utf16,
    #[error(
        "no header line found: none of the first lines splits into two or more columns on \",\", \";\", tab or \"|\" with the rows below agreeing"
    )]
    NoHeader,
}

/// Where a Learn Amp field is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Source {
    /// The first non-empty value of these columns (one column: that column).
    Columns(Vec<String>),
    /// Never read, even where a column has the field's name (`FIELD = false`).
    Off(bool),
}

/// One `[mapping]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapped {
    /// The `[mapping]` key: a Learn Amp field, `leaveDate`, `startDate`,
    /// `managerKey` or `managerName`.
    pub field: String,
    pub source: Source,
}

/// A `[mapping.replace.FIELD]` regex replace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replace {
    pub pattern: String,
    pub with: String,
}

/// A `[[skip]]` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    pub column: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equals: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// Rows of the sample it skips.
    pub rows: usize,
}

/// Something the sample did not decide: the setting, the question, and
/// the columns (or values) that could answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Question {
    pub setting: String,
    pub question: String,
    pub candidates: Vec<String>,
}

/// Why a setting was chosen: the comment beside it in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub setting: String,
    pub note: String,
}

/// The config proposed for a sample export.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    /// The system whose header set the file has, if recognised.
    pub system: Option<String>,
    /// Data rows in the sample (all-empty rows aside).
    pub rows: usize,
    /// `csv.delimiter`, as the config writes it (`","`, `";"`, `"\t"`, `"|"`).
    pub delimiter: String,
    /// `csv.encoding`: a WHATWG label.
    pub encoding: String,
    /// `csv.skip_lines`.
    pub skip_lines: usize,
    /// `csv.date_formats` (empty: ISO only).
    pub date_formats: Vec<String>,
    /// `csv.key`: the column that identifies a person.
    pub key: Option<String>,
    /// `[mapping]`, in the order written.
    pub mapping: Vec<Mapped>,
    /// `[mapping.values.FIELD]`: the file's values → Learn Amp's.
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// `[mapping.replace.FIELD]`.
    pub replace: BTreeMap<String, Replace>,
    /// `[[skip]]`.
    pub skip: Vec<Skip>,
    /// `policy.future_hires`, when the sample has future start dates.
    pub future_hires: Option<String>,
    /// Columns no setting reads.
    pub unread_columns: Vec<String>,
    pub notes: Vec<Note>,
    pub questions: Vec<Question>,
}

/// Reads the sample `bytes` and proposes the config that reads it;
/// `today` decides which leave and start dates are past.
pub fn propose(bytes: &[u8], today: NaiveDate) -> Result<Proposal, InitFromError> {
    let shape = shape::read(bytes)?;
    Ok(propose::propose(&shape, today))
}

impl Proposal {
    /// The complete, commented `ampsync.toml` for this proposal.
    pub fn to_toml(&self) -> String {
        write::to_toml(self)
    }

    /// The note for `setting`, if any.
    pub fn note(&self, setting: &str) -> Option<&str> {
        self.notes
            .iter()
            .find(|n| n.setting == setting)
            .map(|n| n.note.as_str())
    }

    /// The `[mapping]` entry for `field`, if any.
    pub fn mapped(&self, field: &str) -> Option<&Source> {
        self.mapping.iter().find(|m| m.field == field).map(|m| &m.source)
    }
}
