//! Ingest: a CSV file streamed into canonical rows.
//!
//! Two threads share the work. The parser reads `csv::ByteRecord`s with
//! buffers reused from row to row; each row is decoded (UTF-8, or
//! Windows-1252 when configured), mapped onto Learn Amp's fields by a
//! [`ColumnPlan`], normalised, validated, hashed and packed into a batch.
//! The caller's thread takes the batches in file order, checks keys and
//! emails for duplicates, and hands each row to the caller. Rows that fail
//! are collected with their line and column; the caller decides whether that
//! rejects the file. Ingest knows nothing of the store.

mod columns;
mod error;
mod normalize;
mod seen;

use std::borrow::Cow;
use std::io::Read;
use std::ops::Range;
use std::sync::mpsc;

use ampsync_store::{Record, RecordHash, hash_fields_with};

use crate::config::{Config, Encoding};
use crate::fields::Field;
use columns::{ColumnPlan, Slot};
pub use error::{IngestError, RowError};
pub(crate) use seen::SeenSet;

/// The longest value a field may hold, in bytes.
pub const MAX_FIELD_BYTES: usize = 4096;

/// How many row errors are kept in full; the rest are only counted.
const MAX_KEPT_ERRORS: usize = 1000;

/// Rows per batch handed from the parser to the caller's thread.
const BATCH_ROWS: usize = 2048;

/// Batches the parser may run ahead by (~30 MB for typical rows): room for
/// the caller to load its state meanwhile.
const BATCHES_AHEAD: usize = 96;

/// What ingest tells the caller about each row.
#[derive(Debug)]
pub enum RowEvent<'a> {
    /// A valid row.
    Valid(Row<'a>),
    /// A row that failed validation; its key, when that much was readable.
    Invalid { key: Option<&'a str> },
}

/// One valid row, borrowed from a batch.
#[derive(Debug)]
pub struct Row<'a> {
    /// 1-based line where the record starts.
    pub line: u64,
    /// The person's key.
    pub key: &'a str,
    /// The row asks for the person to be deactivated.
    pub deactivate: bool,
    /// Hash of the canonical record.
    pub hash: RecordHash,
    /// The values in canonical order, as [`FileLayout::decode_record`] reads them.
    pub values: &'a [u8],
}

/// The record field names of a file, in canonical order: the packed values
/// of a [`Row`] are decoded with them.
#[derive(Debug, Clone)]
pub struct FileLayout {
    names: Vec<String>,
}

impl FileLayout {
    /// Rebuilds a record from a row's packed values.
    pub fn decode_record(&self, bytes: &[u8]) -> Record {
        Record::from_pairs(self.pairs(bytes))
    }

    /// A row's packed values with their field names, in canonical order.
    fn pairs<'a>(&'a self, bytes: &'a [u8]) -> impl Iterator<Item = (&'a str, &'a str)> {
        // Only `&str`s were packed.
        self.byte_pairs(bytes)
            .map(|(name, value)| (name, std::str::from_utf8(value).unwrap_or_default()))
    }

    /// [`FileLayout::pairs`] with the values as bytes (for hashing).
    fn byte_pairs<'a>(&'a self, mut bytes: &'a [u8]) -> impl Iterator<Item = (&'a str, &'a [u8])> {
        self.names.iter().map_while(move |name| {
            let (len, rest) = read_len(bytes)?;
            let (value, rest) = rest.split_at(len.min(rest.len()));
            bytes = rest;
            Some((name.as_str(), value))
        })
    }
}

/// Appends a packed value's length: 7 bits a byte, low bits first, so the
/// usual short value costs one byte (a million people's values are kept
/// packed through a first import).
fn push_len(out: &mut Vec<u8>, mut len: usize) {
    while len >= 0x80 {
        out.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
}

/// Reads a length written by [`push_len`]; `None` at the end of the bytes.
fn read_len(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut len = 0usize;
    for (i, &b) in bytes.iter().enumerate().take(5) {
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((len, &bytes[i + 1..]));
        }
    }
    None
}

/// Where ingest hands rows, in file order, on the caller's thread.
pub trait RowSink {
    /// Records that `key` is used on `line`; returns the line it was first
    /// used on if a valid row already had it (then this row is a duplicate).
    /// Called once for each row that passed the parser's checks, before
    /// [`RowSink::row`] says whether it is valid after all.
    fn claim_key(&mut self, key: &str, line: u64) -> Option<u64>;

    /// Every data row, valid or not.
    fn row(&mut self, event: RowEvent<'_>);
}

/// What ingest learned about the file as a whole.
#[derive(Debug, Clone)]
pub struct FileSummary {
    /// Data rows read (header excluded), valid or not.
    pub rows: u64,
    /// The header as the file has it.
    pub header: Vec<String>,
    /// The header of the column that identifies people.
    pub key_column: String,
    /// Field names in canonical order.
    pub layout: FileLayout,
    /// The header names of the columns that feed Learn Amp fields.
    pub mapped_columns: Vec<String>,
    /// The first row errors, in file order.
    pub errors: Vec<RowError>,
    /// How many row errors there were in all.
    pub error_count: u64,
}

/// The per-row values, one reusable string per field.
#[derive(Debug, Default)]
struct RowValues {
    fields: [String; Field::ALL.len()],
    custom: Vec<String>,
}

impl RowValues {
    fn get(&self, slot: Slot) -> &str {
        match slot {
            Slot::Field(f) => &self.fields[f as usize],
            Slot::Custom(i) => self.custom.get(i).map_or("", String::as_str),
        }
    }
    fn field(&mut self, f: Field) -> &mut String {
        &mut self.fields[f as usize]
    }
    fn clear(&mut self) {
        self.fields.iter_mut().for_each(String::clear);
        self.custom.iter_mut().for_each(String::clear);
    }
}

/// A row as the parser hands it over: ranges into its batch's bytes.
#[derive(Debug, Clone)]
struct PackedRow {
    line: u64,
    /// False when the parser found errors (they are in its own list).
    valid: bool,
    deactivate: bool,
    key: Range<usize>,
    email: Range<usize>,
    values: Range<usize>,
}

/// Rows packed back to back.
#[derive(Debug, Default)]
struct Batch {
    bytes: Vec<u8>,
    rows: Vec<PackedRow>,
}

impl Batch {
    fn str(&self, r: &Range<usize>) -> &str {
        // Only `&str`s were packed.
        std::str::from_utf8(&self.bytes[r.clone()]).unwrap_or_default()
    }
    fn push_str(&mut self, s: &str) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(s.as_bytes());
        start..self.bytes.len()
    }
}

/// The parser's result: rows read and the errors it found.
type ParseOutcome = Result<(u64, Errors), IngestError>;

/// Reads `reader` (a CSV file called `file` in messages) and hands every
/// data row to `sink`, in file order. `expected_rows` sizes the duplicate
/// checks up front (yesterday's head count is a good guess; 0 if unknown).
/// The parsing runs on a thread of its own; `sink` is used on the caller's.
pub fn read_rows<R: Read + Send>(
    reader: R,
    file: &str,
    config: &Config,
    expected_rows: usize,
    sink: &mut impl RowSink,
) -> Result<FileSummary, IngestError> {
    // Records end at `\n` only: csv's line numbers are off by one after a
    // `\r\n`, and ours must be exact. A trailing `\r` is whitespace, which
    // normalisation trims anyway.
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(config.delimiter())
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let read = csv.read_byte_record(&mut record).map_err(|source| IngestError::Read {
        file: file.to_owned(),
        source,
    })?;
    if !read {
        return Err(IngestError::Empty { file: file.to_owned() });
    }
    let header = decode_header(&record, config.csv.encoding, file)?;
    let plan = ColumnPlan::resolve(header, config, file)?;
    let key_field = plan
        .field_columns
        .iter()
        .find(|&(_, &i)| i == plan.key_column)
        .map(|(f, _)| *f)
        .unwrap_or(Field::Email);

    let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(BATCHES_AHEAD);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    let mut seen_emails = SeenSet::with_capacity(expected_rows);
    let mut late = Errors::default();
    let layout = FileLayout {
        names: plan.order.iter().map(|(n, _)| n.clone()).collect(),
    };
    let mut scratch = Vec::with_capacity(512);

    let parsed = std::thread::scope(|scope| {
        let parser = scope.spawn(|| parse(csv, file, config, &plan, key_field, full_tx, empty_rx));
        for batch in full_rx {
            for r in &batch.rows {
                let key = batch.str(&r.key);
                if !r.valid {
                    sink.row(RowEvent::Invalid {
                        key: (!key.is_empty()).then_some(key),
                    });
                    continue;
                }
                let mut dup = None;
                if let Some(first) = sink.claim_key(key, r.line) {
                    dup = Some((plan.key_column, format!("duplicate key {key:?} (also on line {first})")));
                } else if key_field != Field::Email {
                    let email = batch.str(&r.email);
                    if let Some(first) = seen_emails.insert(email, r.line) {
                        let column = plan
                            .field_columns
                            .get(&Field::Email)
                            .copied()
                            .unwrap_or(plan.key_column);
                        dup = Some((column, format!("duplicate email {email:?} (also on line {first})")));
                    }
                }
                match dup {
                    Some((column, message)) => {
                        let column = Some(plan.header[column].clone());
                        late.extend(std::iter::once(RowError {
                            line: r.line,
                            column,
                            message,
                        }));
                        sink.row(RowEvent::Invalid { key: Some(key) });
                    }
                    None => {
                        // Hashed here, not by the parser: this thread has time to spare.
                        let values = &batch.bytes[r.values.clone()];
                        sink.row(RowEvent::Valid(Row {
                            line: r.line,
                            key,
                            deactivate: r.deactivate,
                            hash: hash_fields_with(&mut scratch, layout.byte_pairs(values)),
                            values,
                        }))
                    }
                }
            }
            // The parser may have stopped; then the batch is simply dropped.
            let _ = empty_tx.send(batch);
        }
        parser.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    let (rows, mut errors) = parsed?;
    if rows == 0 {
        return Err(IngestError::NoRows { file: file.to_owned() });
    }
    errors.merge(late);
    let mut mapped: Vec<usize> = plan
        .field_columns
        .values()
        .copied()
        .chain(plan.custom.iter().map(|(_, c)| *c))
        .collect();
    mapped.sort_unstable();
    mapped.dedup();
    let mapped_columns = mapped.into_iter().map(|c| plan.header[c].clone()).collect();
    Ok(FileSummary {
        rows,
        key_column: plan.key_header().to_owned(),
        header: plan.header,
        layout,
        mapped_columns,
        errors: errors.kept,
        error_count: errors.count,
    })
}

/// The parser thread: every record after the header, normalised, validated,
/// hashed and packed into batches sent to `full`.
fn parse<R: Read>(
    mut csv: csv::Reader<R>,
    file: &str,
    config: &Config,
    plan: &ColumnPlan,
    key_field: Field,
    full: mpsc::SyncSender<Batch>,
    empty: mpsc::Receiver<Batch>,
) -> ParseOutcome {
    let list_sep = config.csv.list_separator.chars().next().unwrap_or(',');
    let mut columns: Vec<(usize, Field)> = plan.field_columns.iter().map(|(f, i)| (*i, *f)).collect();
    columns.sort();
    let mut record = csv::ByteRecord::new();
    let mut values = RowValues {
        custom: vec![String::new(); plan.custom.len()],
        ..RowValues::default()
    };
    let mut row_errors: Vec<RowError> = Vec::new();
    let mut errors = Errors::default();
    let mut rows = 0u64;
    let mut batch = Batch::default();

    loop {
        let more = csv.read_byte_record(&mut record).map_err(|source| IngestError::Read {
            file: file.to_owned(),
            source,
        })?;
        if !more {
            break;
        }
        if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
            continue; // A blank line (`\r\n` reads as one field "\r").
        }
        rows += 1;
        let line = record.position().map_or(0, |p| p.line());
        values.clear();
        row_errors.clear();
        // A record valid as UTF-8 as a whole (csv checks it in one pass)
        // gives its fields as `&str` for free; others are decoded by field,
        // which names the field at fault.
        let text = match config.csv.encoding {
            Encoding::Utf8 => csv::StringRecord::from_byte_record(std::mem::take(&mut record))
                .map_err(|e| record = e.into_byte_record())
                .ok(),
            Encoding::Windows1252 => None,
        };
        let fields = match &text {
            Some(text) => Fields::Text(text),
            None => Fields::Bytes(&record, config.csv.encoding),
        };
        check_row(&fields, line, plan, key_field, list_sep, &mut values, &mut row_errors);
        if let Some(text) = text {
            record = text.into_byte_record();
        }

        let key = batch.push_str(&values.fields[key_field as usize]);
        let valid = row_errors.is_empty();
        let mut packed = PackedRow {
            line,
            valid,
            deactivate: false,
            key,
            email: 0..0,
            values: 0..0,
        };
        if valid {
            packed.deactivate = normalize::flag(values.get(Slot::Field(Field::Deactivate))).unwrap_or(false);
            packed.email = batch.push_str(&values.fields[Field::Email as usize]);
            let start = batch.bytes.len();
            for (_, slot) in &plan.order {
                let value = values.get(*slot);
                push_len(&mut batch.bytes, value.len());
                batch.bytes.extend_from_slice(value.as_bytes());
            }
            packed.values = start..batch.bytes.len();
        } else {
            errors.extend(row_errors.drain(..));
        }
        batch.rows.push(packed);
        if batch.rows.len() == BATCH_ROWS {
            let mut next = empty.try_recv().unwrap_or_default();
            next.bytes.clear();
            next.rows.clear();
            if full.send(std::mem::replace(&mut batch, next)).is_err() {
                break; // The consumer is gone: nothing more to do.
            }
        }
    }
    if !batch.rows.is_empty() {
        let _ = full.send(batch);
    }
    Ok((rows, errors))
}

/// A record's fields: already checked as UTF-8, or bytes to decode.
enum Fields<'r> {
    Text(&'r csv::StringRecord),
    Bytes(&'r csv::ByteRecord, Encoding),
}

impl Fields<'_> {
    fn len(&self) -> usize {
        match self {
            Fields::Text(r) => r.len(),
            Fields::Bytes(r, _) => r.len(),
        }
    }

    /// Field `i` as text (the record has at least `i + 1` fields).
    fn get(&self, i: usize) -> Result<Cow<'_, str>, String> {
        match self {
            Fields::Text(r) => Ok(Cow::Borrowed(r.get(i).unwrap_or_default())),
            Fields::Bytes(r, encoding) => decode_field(r.get(i).unwrap_or_default(), *encoding),
        }
    }
}

/// Decodes, normalises and validates one record into `values`, adding what
/// is wrong with it to `errors`.
fn check_row(
    record: &Fields<'_>,
    line: u64,
    plan: &ColumnPlan,
    key_field: Field,
    list_sep: char,
    values: &mut RowValues,
    errors: &mut Vec<RowError>,
) {
    let fail = |errors: &mut Vec<RowError>, column: Option<usize>, message: String| {
        errors.push(RowError {
            line,
            column: column.map(|c| plan.header[c].clone()),
            message,
        })
    };
    if record.len() != plan.header.len() {
        fail(
            errors,
            None,
            format!("{} fields where the header has {}", record.len(), plan.header.len()),
        );
        return;
    }
    let too_long = |len: usize| format!("the value is {len} bytes long; a field holds at most {MAX_FIELD_BYTES}");
    for (&field, &column) in &plan.field_columns {
        let text = match record.get(column) {
            Ok(text) if text.len() > MAX_FIELD_BYTES => {
                fail(errors, Some(column), too_long(text.len()));
                continue;
            }
            Ok(text) => text,
            Err(message) => {
                fail(errors, Some(column), message);
                continue;
            }
        };
        let out = values.field(field);
        normalize::push_collapsed(out, &text);
        if let Some(table) = plan.translations.get(&field)
            && let Some(to) = table.get(&out.to_lowercase())
        {
            out.clone_from(to);
        }
        if let Err(message) = check_field(field, out, list_sep) {
            fail(errors, Some(column), message);
        }
    }
    for (i, (_, column)) in plan.custom.iter().enumerate() {
        match record.get(*column) {
            Ok(text) if text.len() > MAX_FIELD_BYTES => fail(errors, Some(*column), too_long(text.len())),
            Ok(text) => normalize::push_collapsed(&mut values.custom[i], &text),
            Err(message) => fail(errors, Some(*column), message),
        }
    }
    derive_fields(values, plan, list_sep);
    for field in [key_field, Field::Email, Field::FirstName, Field::LastName] {
        if !values.fields[field as usize].is_empty() {
            continue;
        }
        let column = plan
            .field_columns
            .get(&field)
            .or(plan.field_columns.get(&Field::Name))
            .copied();
        let header = column.map(|c| plan.header[c].as_str());
        let reported = errors.iter().any(|e| e.column.as_deref() == header);
        if !reported {
            let what = if field == key_field {
                "the key"
            } else {
                field.api_name()
            };
            fail(errors, column, format!("{what} is empty"));
        }
    }
    if errors.len() > 1 {
        errors.sort_by_key(|e| e.column.as_ref().and_then(|c| plan.header.iter().position(|h| h == c)));
    }
}

#[derive(Default)]
struct Errors {
    kept: Vec<RowError>,
    count: u64,
}

impl Errors {
    /// Adds errors found later in the pipeline, keeping file order.
    fn merge(&mut self, other: Errors) {
        self.count += other.count;
        self.kept.extend(other.kept);
        self.kept.sort_by_key(|e| e.line);
        self.kept.truncate(MAX_KEPT_ERRORS);
    }

    fn extend(&mut self, errors: impl Iterator<Item = RowError>) {
        for e in errors {
            self.count += 1;
            if self.kept.len() < MAX_KEPT_ERRORS {
                self.kept.push(e);
            }
        }
    }
}

/// Field-specific normalisation and validation of an already collapsed value.
fn check_field(field: Field, value: &mut String, list_sep: char) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    match field {
        Field::Email | Field::ManagerEmail | Field::Coach => normalize::email(value),
        Field::Role => normalize::role(value),
        Field::Language => normalize::language(value),
        Field::HireDate => normalize::date(value),
        Field::Deactivate => normalize::flag(value).map(|_| ()),
        // Split in `derive_fields`: the first team may become primary.
        Field::SecondaryTeams => Ok(()),
        Field::PrimaryTeam => {
            if value.contains('\\') {
                *value = value.replace(&format!("\\{list_sep}"), &list_sep.to_string());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Fields that come from other fields: first and last name from a full
/// name, the primary team from the team list, the canonical team list.
fn derive_fields(values: &mut RowValues, plan: &ColumnPlan, list_sep: char) {
    if plan.field_columns.contains_key(&Field::Name) {
        let (first, last) = normalize::split_name(&values.fields[Field::Name as usize]);
        if values.fields[Field::FirstName as usize].is_empty() {
            values.fields[Field::FirstName as usize] = first;
        }
        if values.fields[Field::LastName as usize].is_empty() {
            values.fields[Field::LastName as usize] = last;
        }
    }
    let [primary, teams] = values
        .fields
        .get_disjoint_mut([Field::PrimaryTeam as usize, Field::SecondaryTeams as usize])
        .unwrap_or_else(|_| unreachable!("two distinct fields"));
    if teams.is_empty() {
        return;
    }
    if !teams.contains([list_sep, '\\']) {
        // One team (the common case): no splitting, no allocation.
        if primary.is_empty() {
            std::mem::swap(primary, teams);
        } else if teams == primary {
            teams.clear();
        } else if teams.contains(',') {
            *teams = teams.replace(',', "\\,");
        }
        return;
    }
    let mut items = normalize::split_list(teams, list_sep);
    if primary.is_empty() && !items.is_empty() {
        *primary = items.remove(0);
    }
    items.retain(|t| t != primary);
    *teams = normalize::join_list(items);
}

fn decode_header(record: &csv::ByteRecord, encoding: Encoding, file: &str) -> Result<Vec<String>, IngestError> {
    record
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let bytes = if i == 0 {
                bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
            } else {
                bytes
            };
            decode_field(bytes, encoding)
                .map(|s| s.trim().to_owned())
                .map_err(|_| IngestError::HeaderEncoding {
                    file: file.to_owned(),
                    column: i + 1,
                })
        })
        .collect()
}

fn decode_field(bytes: &[u8], encoding: Encoding) -> Result<Cow<'_, str>, String> {
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
            let at = e.valid_up_to();
            format!(
                "not valid UTF-8 (byte 0x{:02X} at position {} of the value); if the file comes from Excel, set csv.encoding = \"windows-1252\"",
                bytes[at],
                at + 1
            )
        }),
        Encoding::Windows1252 => Ok(encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_lengths_round_trip() {
        for len in [0, 1, 127, 128, 300, 4096, 16_383, 16_384, 1 << 20] {
            let mut out = Vec::new();
            push_len(&mut out, len);
            out.push(0xAA);
            assert_eq!(read_len(&out), Some((len, &[0xAA][..])), "{len}");
        }
        assert_eq!(read_len(&[0x80]), None, "cut short");
    }

    /// A [`RowSink`] that keeps track of keys itself and hands rows to a closure.
    struct Rows<F> {
        keys: SeenSet,
        on_row: F,
    }

    impl<F: FnMut(RowEvent<'_>)> Rows<F> {
        /// `expected` sizes the key set (0 if unknown).
        fn new(expected: usize, on_row: F) -> Rows<F> {
            Rows {
                keys: SeenSet::with_capacity(expected),
                on_row,
            }
        }
    }

    impl<F: FnMut(RowEvent<'_>)> RowSink for Rows<F> {
        fn claim_key(&mut self, key: &str, line: u64) -> Option<u64> {
            self.keys.insert(key, line)
        }

        fn row(&mut self, event: RowEvent<'_>) {
            (self.on_row)(event);
        }
    }

    use std::path::Path;

    /// A reader that hands out at most `n` bytes a call, to exercise buffer edges.
    struct Chunked<'a> {
        bytes: &'a [u8],
        n: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.n.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// Valid rows as `(line, key, record)`, and the error lines.
    type Parsed = (Vec<(u64, String, Vec<(String, String)>)>, Vec<String>);

    fn parse_with(text: &[u8], config: &str, chunk: usize) -> Result<Parsed, IngestError> {
        let config = Config::parse(config, Path::new("ampsync.toml")).expect("config");
        let mut rows = Vec::new();
        let mut layout_rows = Vec::new();
        let mut rows_of = Rows::new(0, |event| {
            if let RowEvent::Valid(row) = event {
                layout_rows.push((row.line, row.key.to_owned(), row.values.to_vec(), row.hash));
            }
        });
        let summary = read_rows(Chunked { bytes: text, n: chunk }, "t.csv", &config, 0, &mut rows_of)?;
        for (line, key, values, hash) in layout_rows {
            let record = summary.layout.decode_record(&values);
            assert_eq!(record.hash(), hash, "the row hash is the record's hash");
            rows.push((
                line,
                key,
                record.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            ));
        }
        Ok((rows, summary.errors.iter().map(ToString::to_string).collect()))
    }

    /// Parses `text` whole and in 1-, 2- and 7-byte reads; all must agree.
    fn parse(text: &[u8], config: &str) -> Result<Parsed, String> {
        let whole = parse_with(text, config, usize::MAX).map_err(|e| e.to_string())?;
        for chunk in [1, 2, 7] {
            let chunked = parse_with(text, config, chunk).map_err(|e| e.to_string())?;
            assert_eq!(chunked, whole, "reading {chunk} bytes at a time");
        }
        Ok(whole)
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    macro_rules! parses_to {
        ($name:ident, $text:expr, $config:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(parse($text, $config), $want);
            }
        };
    }

    parses_to!(
        bom_and_crlf,
        b"\xEF\xBB\xBFEmail,First name,Last name\r\nA@X.io,Ann,Lee\r\n",
        "",
        Ok((
            vec![(
                2,
                "a@x.io".into(),
                pairs(&[("email", "a@x.io"), ("firstName", "Ann"), ("lastName", "Lee")])
            )],
            vec![]
        ))
    );
    parses_to!(
        quoted_comma_and_whitespace,
        b"Employee ID,Email,First name,Last name,Job title\n 7 ,a@x.io,  Ann  , Lee,\"Head  of Sales, EMEA \"\n",
        "",
        Ok((
            vec![(
                2,
                "7".into(),
                pairs(&[
                    ("email", "a@x.io"),
                    ("firstName", "Ann"),
                    ("integrationExternalId", "7"),
                    ("jobTitle", "Head of Sales, EMEA"),
                    ("lastName", "Lee")
                ])
            )],
            vec![]
        ))
    );
    parses_to!(
        crlf_line_numbers_are_exact_and_blank_lines_skipped,
        b"Email,First name,Last name\r\na@x.io,Ann,Lee\r\n\r\nb@x.io,Bo,\r\n",
        "",
        Ok((
            vec![(
                2,
                "a@x.io".into(),
                pairs(&[("email", "a@x.io"), ("firstName", "Ann"), ("lastName", "Lee")])
            )],
            vec!["line 4, column \"Last name\": lastName is empty".into()]
        ))
    );
    parses_to!(
        tab_separated,
        b"email\tfirst_name\tlast_name\na@x.io\tAnn\tLee\n",
        "[csv]\ndelimiter = \"\\t\"\n",
        Ok((
            vec![(
                2,
                "a@x.io".into(),
                pairs(&[("email", "a@x.io"), ("firstName", "Ann"), ("lastName", "Lee")])
            )],
            vec![]
        ))
    );
    parses_to!(
        multi_line_quoted_field_keeps_line_numbers,
        b"Email,First name,Last name\na@x.io,\"Ann\nMarie\",Lee\nb@x.io,Bo,\n",
        "",
        Ok((
            vec![(
                2,
                "a@x.io".into(),
                pairs(&[("email", "a@x.io"), ("firstName", "Ann Marie"), ("lastName", "Lee")])
            )],
            vec!["line 4, column \"Last name\": lastName is empty".into()]
        ))
    );
    parses_to!(
        errors_are_in_file_order_with_late_duplicates,
        b"Email,First name,Last name,Role\na@x.io,A,B,viewer\nA@x.io,C,D,viewer\nc@x.io,E,F,boss\n",
        "",
        Ok((
            vec![(2, "a@x.io".into(), pairs(&[("email", "a@x.io"), ("firstName", "A"), ("lastName", "B"), ("role", "viewer")]))],
            vec![
                "line 3, column \"Email\": duplicate key \"a@x.io\" (also on line 2)".into(),
                "line 4, column \"Role\": unknown role \"boss\"; Learn Amp's roles are: viewer, curator, reporter, learning_designer, hr, admin, and learner".into(),
            ]
        ))
    );

    #[test]
    fn duplicates_are_found_across_batches() {
        let mut text = String::from("Employee ID,Email,First name,Last name\n");
        for i in 0..(3 * BATCH_ROWS) {
            text.push_str(&format!("E{i},p{i}@x.io,A,B\n"));
        }
        text.push_str("E5,new@x.io,A,B\nE99999,p7@x.io,A,B\n");
        let (rows, errors) = parse_with(text.as_bytes(), "", 64).expect("parses");
        assert_eq!(rows.len(), 3 * BATCH_ROWS);
        assert_eq!(
            errors,
            vec![
                format!(
                    "line {}, column \"Employee ID\": duplicate key \"E5\" (also on line 7)",
                    3 * BATCH_ROWS + 2
                ),
                format!(
                    "line {}, column \"Email\": duplicate email \"p7@x.io\" (also on line 9)",
                    3 * BATCH_ROWS + 3
                ),
            ]
        );
    }
}
