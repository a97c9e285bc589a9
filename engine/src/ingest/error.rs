//! Ingest errors: a file that cannot be read at all, and row errors that
//! are collected with their line and column.

use std::fmt;

/// A file that cannot be imported at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("{file}: the file is empty (no header line)")]
    Empty { file: String },
    #[error("{file}: no header line after the {skipped} line(s) skipped (csv.skip_lines = {skipped})")]
    NoHeader { file: String, skipped: u32 },
    #[error("{file}: the file has a header (line {line}) but no rows")]
    NoRows { file: String, line: u64 },
    #[error("{file}, line {line}: no {what}; the header has: {found}{hint}", found = quoted_list(found))]
    MissingColumn {
        file: String,
        /// The header's line (set by `read_rows`).
        line: u64,
        what: String,
        found: Vec<String>,
        hint: String,
    },
    #[error("{file}, line {line}: columns {first:?} and {second:?} both give Learn Amp's {field}{hint}")]
    DuplicateColumn {
        file: String,
        /// The header's line (set by `read_rows`).
        line: u64,
        field: &'static str,
        first: String,
        second: String,
        hint: String,
    },
    /// The clock could not be read (the import's day decides leavers).
    #[error(transparent)]
    Clock(#[from] crate::clock::ClockError),
    #[error(
        "{file}, line {line}, column {column}: the header is not valid UTF-8; it looks like {guess} text: set csv.encoding = \"{guess}\" (or \"auto\")"
    )]
    HeaderEncoding {
        file: String,
        line: u64,
        column: usize,
        /// The encoding the detector takes the file for.
        guess: String,
    },
    #[error(
        "{file}: the file is UTF-16 text (Excel's \"Unicode Text\"), which ampsync does not read: save it from Excel as \"CSV UTF-8\", or convert it (iconv -f UTF-16 -t UTF-8)"
    )]
    Utf16 { file: String },
    #[error(
        "{file}: the file is a PGP-encrypted message, not CSV: decrypt it first (gpg --decrypt), or let `ampsync sync` take it from the configured source with a [pgp] section"
    )]
    Encrypted { file: String },
    #[error("{file}, line {line}{}: {}", column_text(column), too_long_text(*unclosed_quote, *cap))]
    RecordTooLong {
        file: String,
        /// Where the unclosed quote opened, or else where the record starts.
        line: u64,
        column: Option<String>,
        /// The record ran over lines: a quote opened on `line` is never closed.
        unclosed_quote: bool,
        /// The most bytes a record may have.
        cap: usize,
    },
    #[error("{file}: cannot read the file")]
    Read {
        file: String,
        #[source]
        source: csv::Error,
    },
}

fn column_text(column: &Option<String>) -> String {
    column.as_ref().map(|c| format!(", column {c:?}")).unwrap_or_default()
}

fn too_long_text(unclosed_quote: bool, cap: usize) -> String {
    if unclosed_quote {
        format!(
            "a quote opened here is never closed: the record runs on past {} KiB; nothing was imported",
            cap / 1024
        )
    } else {
        format!(
            "the line is longer than {} KiB (a field holds at most {} bytes); nothing was imported",
            cap / 1024,
            super::MAX_FIELD_BYTES
        )
    }
}

fn quoted_list(items: &[String]) -> String {
    let shown: Vec<String> = items.iter().take(30).map(|h| format!("{h:?}")).collect();
    let more = items.len().saturating_sub(30);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// One row that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// 1-based line where the record starts.
    pub line: u64,
    /// The column's header, when one column is at fault.
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column {column:?}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}
