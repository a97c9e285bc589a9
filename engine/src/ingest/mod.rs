//! Ingest: a CSV file streamed into canonical rows.
//!
//! One pass over `csv::ByteRecord`s with buffers reused from row to row: each
//! row is decoded (UTF-8, or Windows-1252 when configured), mapped onto Learn
//! Amp's fields by a [`ColumnPlan`], normalised, validated and hashed. Rows
//! that fail are collected with their line and column; the caller decides
//! whether that rejects the file. Ingest knows nothing of the store.

mod columns;
mod error;
mod normalize;

use std::borrow::Cow;
use std::io::Read;

use ampsync_store::{Record, RecordHash, hash_fields};
use hashbrown::HashMap;

use crate::config::{Config, Encoding};
use crate::fields::Field;
use columns::{ColumnPlan, Slot};
pub use error::{IngestError, RowError};

/// The longest value a field may hold, in bytes.
pub const MAX_FIELD_BYTES: usize = 4096;

/// How many row errors are kept in full; the rest are only counted.
const MAX_KEPT_ERRORS: usize = 1000;

/// What ingest tells the caller about each row.
#[derive(Debug)]
pub enum RowEvent<'a> {
    /// A valid row.
    Valid(Row<'a>),
    /// A row that failed validation; its key, when that much was readable.
    Invalid { key: Option<&'a str> },
}

/// One valid row, borrowed from buffers reused for the next row.
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
    values: &'a RowValues,
    plan: &'a ColumnPlan,
}

impl Row<'_> {
    /// The record's `(field, value)` pairs in canonical order, empties included.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.plan
            .order
            .iter()
            .map(|(name, slot)| (name.as_str(), self.values.get(*slot)))
    }

    /// The canonical record.
    pub fn to_record(&self) -> Record {
        Record::from_pairs(self.fields().filter(|(_, v)| !v.is_empty()))
    }

    /// Appends the values (in canonical order, length-prefixed) to `out`;
    /// [`FileLayout::decode_record`] reads them back.
    pub fn encode_values(&self, out: &mut Vec<u8>) {
        for (_, value) in self.fields() {
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value.as_bytes());
        }
    }
}

/// The record field names of a file, in canonical order: what
/// [`Row::encode_values`] wrote is decoded with them.
#[derive(Debug, Clone)]
pub struct FileLayout {
    names: Vec<String>,
}

impl FileLayout {
    /// Rebuilds a record from bytes written by [`Row::encode_values`].
    pub fn decode_record(&self, mut bytes: &[u8]) -> Record {
        let mut pairs = Vec::with_capacity(self.names.len());
        for name in &self.names {
            let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
                break;
            };
            let len = u32::from_le_bytes(*len) as usize;
            let (value, rest) = rest.split_at(len.min(rest.len()));
            pairs.push((name.as_str(), String::from_utf8_lossy(value).into_owned()));
            bytes = rest;
        }
        Record::from_pairs(pairs)
    }
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

/// Reads `reader` (a CSV file called `file` in messages) and calls `on_row`
/// for every data row, in file order.
pub fn read_rows<R: Read>(
    reader: R,
    file: &str,
    config: &Config,
    mut on_row: impl FnMut(RowEvent<'_>),
) -> Result<FileSummary, IngestError> {
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(config.delimiter())
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let read_error = |source| IngestError::Read {
        file: file.to_owned(),
        source,
    };

    let mut record = csv::ByteRecord::new();
    if !csv.read_byte_record(&mut record).map_err(read_error)? {
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
    let list_sep = config.csv.list_separator.chars().next().unwrap_or(',');
    let mut columns: Vec<(usize, Field)> = plan.field_columns.iter().map(|(f, i)| (*i, *f)).collect();
    columns.sort();

    let mut values = RowValues {
        custom: vec![String::new(); plan.custom.len()],
        ..RowValues::default()
    };
    let mut row_errors: Vec<RowError> = Vec::new();
    let mut errors = Errors::default();
    let mut seen_keys: HashMap<u128, u64> = HashMap::new();
    let mut seen_emails: HashMap<u128, u64> = HashMap::new();
    let mut rows = 0u64;

    while csv.read_byte_record(&mut record).map_err(read_error)? {
        rows += 1;
        let line = record.position().map_or(0, |p| p.line());
        values.clear();
        row_errors.clear();
        let fail = |row_errors: &mut Vec<RowError>, column: Option<usize>, message: String| {
            row_errors.push(RowError {
                line,
                column: column.map(|c| plan.header[c].clone()),
                message,
            })
        };

        if record.len() != plan.header.len() {
            fail(
                &mut row_errors,
                None,
                format!("{} fields where the header has {}", record.len(), plan.header.len()),
            );
        } else {
            for &(column, field) in &columns {
                let text = match decode_field(&record[column], config.csv.encoding) {
                    Ok(text) => text,
                    Err(message) => {
                        fail(&mut row_errors, Some(column), message);
                        continue;
                    }
                };
                if text.len() > MAX_FIELD_BYTES {
                    fail(
                        &mut row_errors,
                        Some(column),
                        format!(
                            "the value is {} bytes long; a field holds at most {MAX_FIELD_BYTES}",
                            text.len()
                        ),
                    );
                    continue;
                }
                let out = values.field(field);
                normalize::push_collapsed(out, &text);
                if let Some(table) = plan.translations.get(&field)
                    && let Some(to) = table.get(&out.to_lowercase())
                {
                    out.clone_from(to);
                }
                if let Err(message) = check_field(field, out, list_sep) {
                    fail(&mut row_errors, Some(column), message);
                }
            }
            for (i, (_, column)) in plan.custom.iter().enumerate() {
                match decode_field(&record[*column], config.csv.encoding) {
                    Ok(text) if text.len() > MAX_FIELD_BYTES => fail(
                        &mut row_errors,
                        Some(*column),
                        format!(
                            "the value is {} bytes long; a field holds at most {MAX_FIELD_BYTES}",
                            text.len()
                        ),
                    ),
                    Ok(text) => normalize::push_collapsed(&mut values.custom[i], &text),
                    Err(message) => fail(&mut row_errors, Some(*column), message),
                }
            }
            derive_fields(&mut values, &plan);
            for field in [key_field, Field::Email, Field::FirstName, Field::LastName] {
                let column = plan
                    .field_columns
                    .get(&field)
                    .or(plan.field_columns.get(&Field::Name))
                    .copied();
                let header = column.map(|c| plan.header[c].as_str());
                let reported = row_errors.iter().any(|e| e.column.as_deref() == header);
                if values.fields[field as usize].is_empty() && !reported {
                    fail(
                        &mut row_errors,
                        column,
                        format!(
                            "{} is empty",
                            if field == key_field {
                                "the key"
                            } else {
                                field.api_name()
                            }
                        ),
                    );
                }
            }
        }

        let key = values.fields[key_field as usize].as_str();
        if row_errors.is_empty() {
            if let Some(first) = seen_keys.insert(short_hash(key), line) {
                fail(
                    &mut row_errors,
                    Some(plan.key_column),
                    format!("duplicate key {key:?} (also on line {first})"),
                );
            }
            let email = values.fields[Field::Email as usize].as_str();
            if key_field != Field::Email
                && let Some(first) = seen_emails.insert(short_hash(email), line)
            {
                let column = plan.field_columns.get(&Field::Email).copied();
                fail(
                    &mut row_errors,
                    column,
                    format!("duplicate email {email:?} (also on line {first})"),
                );
            }
        }

        if row_errors.is_empty() {
            let deactivate = normalize::flag(values.get(Slot::Field(Field::Deactivate))).unwrap_or(false);
            let hash = hash_fields(plan.order.iter().map(|(name, slot)| (name.as_str(), values.get(*slot))));
            on_row(RowEvent::Valid(Row {
                line,
                key,
                deactivate,
                hash,
                values: &values,
                plan: &plan,
            }));
        } else {
            errors.extend(row_errors.drain(..));
            on_row(RowEvent::Invalid {
                key: (!key.is_empty()).then_some(key),
            });
        }
    }
    if rows == 0 {
        return Err(IngestError::NoRows { file: file.to_owned() });
    }
    let layout = FileLayout {
        names: plan.order.iter().map(|(n, _)| n.clone()).collect(),
    };
    Ok(FileSummary {
        rows,
        key_column: plan.key_header().to_owned(),
        header: plan.header,
        layout,
        errors: errors.kept,
        error_count: errors.count,
    })
}

#[derive(Default)]
struct Errors {
    kept: Vec<RowError>,
    count: u64,
}

impl Errors {
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
        Field::SecondaryTeams => {
            // Keep the file's order for now: the first team may become primary.
            let items = normalize::split_list(value, list_sep);
            *value = items.join("\u{1f}");
            Ok(())
        }
        Field::PrimaryTeam => {
            *value = value.replace(&format!("\\{list_sep}"), &list_sep.to_string());
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Fields that come from other fields: first and last name from a full
/// name, the primary team from the team list, the canonical team list.
fn derive_fields(values: &mut RowValues, plan: &ColumnPlan) {
    if plan.field_columns.contains_key(&Field::Name) {
        let (first, last) = normalize::split_name(&values.fields[Field::Name as usize]);
        if values.fields[Field::FirstName as usize].is_empty() {
            values.fields[Field::FirstName as usize] = first;
        }
        if values.fields[Field::LastName as usize].is_empty() {
            values.fields[Field::LastName as usize] = last;
        }
    }
    let teams = std::mem::take(&mut values.fields[Field::SecondaryTeams as usize]);
    if !teams.is_empty() {
        let mut items: Vec<String> = teams.split('\u{1f}').map(str::to_owned).collect();
        if values.fields[Field::PrimaryTeam as usize].is_empty() {
            values.fields[Field::PrimaryTeam as usize] = items.remove(0);
        }
        let primary = &values.fields[Field::PrimaryTeam as usize];
        items.retain(|t| t != primary);
        values.fields[Field::SecondaryTeams as usize] = normalize::join_list(items);
    }
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

/// A 128-bit hash for duplicate detection: collisions are out of reach
/// (about 10^-27 for a million rows), and no string is kept per row.
fn short_hash(s: &str) -> u128 {
    let hash = blake3::hash(s.as_bytes());
    let mut prefix = [0u8; 16];
    prefix.copy_from_slice(&hash.as_bytes()[..16]);
    u128::from_le_bytes(prefix)
}
