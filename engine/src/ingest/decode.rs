//! One CSV record decoded into a canonical row: text (UTF-8, or the
//! file's legacy encoding), mapped onto Learn Amp's fields by the file's
//! [`ColumnPlan`], normalised, validated and packed into a batch.

use std::borrow::Cow;
use std::ops::Range;

use ampsync_store::RowHash;
use chrono::NaiveDate;

use super::columns::{ColumnPlan, ManagerBy, Slot};
use super::{Batch, Errors, IngestError, MAX_FIELD_BYTES, PackedRow, RowError, normalize, push_len, sniff};
use crate::config::Config;
use crate::fields::Field;

/// How a file's bytes become text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Text {
    /// The file's encoding.
    pub encoding: &'static encoding_rs::Encoding,
    /// Read as UTF-8 though its first bytes are not: what the detector
    /// takes it for, for the hint of a decoding error.
    pub guess: Option<&'static encoding_rs::Encoding>,
}

impl Text {
    fn is_utf8(self) -> bool {
        self.encoding == encoding_rs::UTF_8
    }
}

/// Decodes the records of one file, with buffers reused from row to row.
pub(super) struct Decoder<'a> {
    text: Text,
    plan: &'a ColumnPlan,
    key_field: Field,
    list_sep: char,
    values: RowValues,
    row_errors: Vec<RowError>,
    /// The import's day, when a date decides who is in the snapshot.
    today: Option<NaiveDate>,
    /// `policy.future_hires = "wait"`.
    wait: bool,
    /// Per `[[skip]]` rule, the rows it skipped.
    pub(super) skip_hits: Vec<u64>,
}

impl<'a> Decoder<'a> {
    /// A decoder of rows in `text`'s encoding (the file's, which a
    /// byte-order mark may have set over the config's).
    pub(super) fn new(
        config: &Config,
        text: Text,
        plan: &'a ColumnPlan,
        key_field: Field,
        today: Option<NaiveDate>,
    ) -> Decoder<'a> {
        Decoder {
            today,
            wait: config.policy.future_hires == crate::config::FutureHires::Wait,
            skip_hits: vec![0; plan.skips.len()],
            text,
            plan,
            key_field,
            list_sep: config.csv.list_separator.chars().next().unwrap_or(','),
            values: RowValues {
                custom: vec![String::new(); plan.custom.len()],
                ..RowValues::default()
            },
            row_errors: Vec::new(),
        }
    }

    /// Decodes `record` (starting on `line`, with row hash `raw`) into a
    /// row packed into `batch`; what is wrong with it goes to `errors`.
    pub(super) fn decode(
        &mut self,
        record: &mut csv::ByteRecord,
        line: u64,
        raw: RowHash,
        batch: &mut Batch,
        errors: &mut Errors,
    ) {
        let (plan, key_field) = (self.plan, self.key_field);
        self.values.clear();
        self.row_errors.clear();
        // A record valid as UTF-8 as a whole (csv checks it in one pass)
        // gives its fields as `&str` for free; others are decoded by field,
        // which names the field at fault.
        let text = if self.text.is_utf8() {
            csv::StringRecord::from_byte_record(std::mem::take(record))
                .map_err(|e| *record = e.into_byte_record())
                .ok()
        } else {
            None
        };
        let fields = match &text {
            Some(text) => Fields::Text(text),
            None => Fields::Bytes(record, self.text),
        };
        check_row(
            &fields,
            line,
            plan,
            key_field,
            self.list_sep,
            &mut self.values,
            &mut self.row_errors,
        );
        let (leaver, future) = self.dates(&fields, line, plan);
        if let Some(text) = text {
            *record = text.into_byte_record();
        }

        let key = batch.push_str(&self.values.fields[key_field as usize]);
        let valid = self.row_errors.is_empty();
        let mut packed = PackedRow {
            line,
            raw,
            decoded: true,
            valid,
            deactivate: false,
            leaver,
            future,
            key,
            email: 0..0,
            values: 0..0,
            manager: 0..0,
            name_key: 0..0,
        };
        if valid {
            let values = &self.values;
            packed.manager = batch.push_str(&values.manager);
            packed.name_key = batch.push_str(&values.name_key);
            packed.deactivate = leaver || normalize::flag(values.get(Slot::Field(Field::Deactivate))).unwrap_or(false);
            packed.email = batch.push_str(&values.fields[Field::Email as usize]);
            let start = batch.bytes.len();
            for (_, slot) in &plan.order {
                let value = values.get(*slot);
                push_len(&mut batch.bytes, value.len());
                batch.bytes.extend_from_slice(value.as_bytes());
            }
            packed.values = start..batch.bytes.len();
        } else {
            errors.extend(self.row_errors.drain(..));
        }
        batch.rows.push(packed);
    }

    /// Whether `managerKey` or `managerName` is mapped.
    pub(super) fn has_manager(&self) -> bool {
        self.plan.manager.is_some()
    }

    /// Whether a `[[skip]]` rule takes `record` (tested on the raw cells);
    /// counts the rule's hits.
    pub(super) fn skipped(&mut self, record: &csv::ByteRecord) -> bool {
        if self.plan.skips.is_empty() {
            return false;
        }
        let fields = Fields::Bytes(record, self.text);
        for (i, rule) in self.plan.skips.iter().enumerate() {
            if rule.column < fields.len()
                && let Ok(cell) = fields.get(rule.column)
                && rule.matches(&cell)
            {
                self.skip_hits[i] += 1;
                return true;
            }
        }
        false
    }

    /// Whether `record`, though its bytes may be known, must be decoded
    /// today: its leave date is due (or is not a date).
    pub(super) fn due(&self, record: &csv::ByteRecord) -> bool {
        let Some(today) = self.today else { return false };
        if self.plan.leave.is_empty() || record.len() != self.plan.header.len() {
            return false;
        }
        let fields = Fields::Bytes(record, self.text);
        match first_filled(&fields, &self.plan.leave) {
            None => false,
            Some((_, Ok(text))) => {
                normalize::parse_date(text.trim(), &self.plan.date_formats).map_or(true, |d| d <= today)
            }
            Some((_, Err(_))) => true,
        }
    }

    /// The manager cell of an undecoded `record` (canonical, as
    /// [`Decoder::decode`] reads it), pushed into `batch`.
    pub(super) fn manager_ref(&mut self, record: &csv::ByteRecord, batch: &mut Batch) -> Range<usize> {
        let Some((by, columns)) = &self.plan.manager else {
            return 0..0;
        };
        if record.len() != self.plan.header.len() {
            return 0..0;
        }
        let fields = Fields::Bytes(record, self.text);
        let out = &mut self.values.manager;
        out.clear();
        if let Some((_, Ok(text))) = first_filled(&fields, columns)
            && normalize::push_canonical(out, &text, *by == ManagerBy::Key).is_ok()
        {
            return batch.push_str(out);
        }
        0..0
    }

    /// The row's leave and start dates against the import's day: (a
    /// leaver, a future hire to wait for); a date that cannot be read is a
    /// row error. Also reads the manager cell.
    fn dates(&mut self, fields: &Fields<'_>, line: u64, plan: &ColumnPlan) -> (bool, bool) {
        let values = &mut self.values;
        if fields.len() != plan.header.len() {
            return (false, false);
        }
        if let Some((by, columns)) = &plan.manager {
            if let Some((_, Ok(text))) = first_filled(fields, columns) {
                let _ = normalize::push_canonical(&mut values.manager, &text, *by == ManagerBy::Key);
            }
            if *by == ManagerBy::Name {
                let (first, last) = (
                    &values.fields[Field::FirstName as usize],
                    &values.fields[Field::LastName as usize],
                );
                values.name_key = fold_name(&format!("{first} {last}"));
            }
        }
        let Some(today) = self.today else { return (false, false) };
        let mut date = |columns: &[usize]| -> Option<NaiveDate> {
            let (column, text) = first_filled(fields, columns)?;
            let text = text.ok()?;
            match normalize::parse_date(text.trim(), &plan.date_formats) {
                Ok(date) => Some(date),
                Err(message) => {
                    let hint = plan.recognised_hint(column).unwrap_or_default();
                    self.row_errors.push(RowError {
                        line,
                        column: Some(plan.header[column].clone()),
                        message: message + &hint,
                    });
                    None
                }
            }
        };
        let leaver = date(&plan.leave).is_some_and(|d| d <= today);
        let future = self.wait && date(&plan.start).is_some_and(|d| d > today);
        (leaver, future)
    }

    /// Only the email of `record`, normalised as [`Decoder::decode`] would,
    /// pushed into `batch`; `None` if it is not a valid, non-empty email in
    /// a record of the right length.
    pub(super) fn email(&mut self, record: &csv::ByteRecord, batch: &mut Batch) -> Option<Range<usize>> {
        let column = *self.plan.field_columns.get(&Field::Email)?;
        if record.len() != self.plan.header.len() {
            return None;
        }
        let out = self.values.field(Field::Email);
        out.clear();
        let fields = Fields::Bytes(record, self.text);
        field_value(&fields, Field::Email, column, self.plan, self.list_sep, true, out).ok()?;
        (!out.is_empty()).then(|| batch.push_str(&self.values.fields[Field::Email as usize]))
    }
}

/// The per-row values, one reusable string per field.
#[derive(Debug, Default)]
struct RowValues {
    fields: [String; Field::ALL.len()],
    custom: Vec<String>,
    /// The manager cell (`managerKey` / `managerName`, folded).
    manager: String,
    /// `managerName` mapped: the person's own "first last", folded.
    name_key: String,
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
        self.manager.clear();
        self.name_key.clear();
    }
}

/// A "First Last" as `managerName` matches it: lower case, composed
/// accents (values are NFC already), single spaces.
pub(crate) fn fold_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .nfc()
        .flat_map(char::to_lowercase)
        .collect()
}

/// The first of `columns` whose cell is not blank: its column and text.
fn first_filled<'f>(fields: &'f Fields<'_>, columns: &[usize]) -> Option<(usize, Result<Cow<'f, str>, String>)> {
    columns.iter().find_map(|&c| {
        let text = fields.get(c);
        match &text {
            Ok(t) if t.trim().is_empty() => None,
            _ => Some((c, text)),
        }
    })
}

/// A record's fields: already checked as UTF-8, or bytes to decode.
enum Fields<'r> {
    Text(&'r csv::StringRecord),
    Bytes(&'r csv::ByteRecord, Text),
}

impl Fields<'_> {
    fn len(&self) -> usize {
        match self {
            Fields::Text(r) => r.len(),
            Fields::Bytes(r, _) => r.len(),
        }
    }

    /// Field `i` as it is in the file.
    fn bytes(&self, i: usize) -> &[u8] {
        match self {
            Fields::Text(r) => r.get(i).unwrap_or_default().as_bytes(),
            Fields::Bytes(r, _) => r.get(i).unwrap_or_default(),
        }
    }

    /// Field `i` as text (the record has at least `i + 1` fields).
    fn get(&self, i: usize) -> Result<Cow<'_, str>, String> {
        match self {
            Fields::Text(r) => Ok(Cow::Borrowed(r.get(i).unwrap_or_default())),
            Fields::Bytes(r, text) => decode_field(r.get(i).unwrap_or_default(), *text),
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
    let fail = |errors: &mut Vec<RowError>, column: Option<usize>, mut message: String| {
        if let Some(hint) = column.and_then(|c| plan.recognised_hint(c)) {
            message.push_str(&hint);
        }
        errors.push(RowError {
            line,
            column: column.map(|c| plan.header[c].clone()),
            message,
        })
    };
    if record.len() != plan.header.len() {
        let mut message = format!("{} fields where the header has {}", record.len(), plan.header.len());
        // Too few fields, the last running over lines: most likely a quote
        // opened there and never closed, which swallowed the rest.
        let last = record.len().saturating_sub(1);
        let lines_in = |i: usize| record.bytes(i).iter().filter(|&&b| b == b'\n').count() as u64;
        if record.len() < plan.header.len() && lines_in(last) > 0 {
            let opened = line + (0..last).map(lines_in).sum::<u64>();
            message.push_str(&format!(
                ": a quote opened on line {opened} is never closed (the value runs on over {} more lines)",
                lines_in(last)
            ));
            fail(errors, Some(last), message);
        } else {
            fail(errors, None, message);
        }
        return;
    }
    for (&field, &column) in &plan.field_columns {
        let identifier = field == key_field || field.is_identifier();
        if let Err(message) = field_value(record, field, column, plan, list_sep, identifier, values.field(field)) {
            fail(errors, Some(column), message);
        }
    }
    for (i, (_, column)) in plan.custom.iter().enumerate() {
        match record.get(*column) {
            Ok(text) if text.len() > MAX_FIELD_BYTES => fail(errors, Some(*column), too_long(text.len())),
            Ok(text) => {
                if let Err(message) = normalize::push_canonical(&mut values.custom[i], &text, false) {
                    fail(errors, Some(*column), message);
                }
            }
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

/// Reads `field` from `column` into `out` (empty): decoded, made canonical
/// (as an `identifier` of a person, or as text), translated, normalised
/// and checked.
fn field_value(
    record: &Fields<'_>,
    field: Field,
    column: usize,
    plan: &ColumnPlan,
    list_sep: char,
    identifier: bool,
    out: &mut String,
) -> Result<(), String> {
    let mut text = record.get(column)?;
    if let Some(rest) = plan.fallbacks.get(&field) {
        // A list of columns: the first non-empty one wins.
        for &next in rest {
            if !text.trim().is_empty() {
                break;
            }
            text = record.get(next)?;
        }
    }
    if text.len() > MAX_FIELD_BYTES {
        return Err(too_long(text.len()));
    }
    normalize::push_canonical(out, &text, identifier)?;
    if let Some(replace) = plan.replaces.get(&field)
        && let Cow::Owned(replaced) = replace.regex.replace_all(out, replace.with.as_str())
    {
        out.clear();
        normalize::push_canonical(out, &replaced, identifier)?;
    }
    if let Some(table) = plan.translations.get(&field)
        && let Some(to) = table.get(&out.to_lowercase())
    {
        out.clone_from(to);
    }
    check_field(field, out, list_sep, &plan.date_formats).map_err(|message| {
        // The file's own values need a translation table.
        match field {
            Field::Role | Field::Language | Field::Deactivate => format!(
                "{message}; to translate the file's values, add them under [mapping.values.{}]",
                field.api_name()
            ),
            _ => message,
        }
    })
}

fn too_long(len: usize) -> String {
    format!("the value is {len} bytes long; a field holds at most {MAX_FIELD_BYTES}")
}

/// Field-specific normalisation and validation of an already collapsed value.
fn check_field(field: Field, value: &mut String, list_sep: char, date_formats: &[String]) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    match field {
        Field::Email | Field::ManagerEmail | Field::Coach => normalize::email(value),
        Field::Role => normalize::role(value),
        Field::Language => normalize::language(value),
        Field::HireDate => normalize::date_in(value, date_formats),
        Field::Deactivate => normalize::flag(value).map(|_| ()),
        // Split in `derive_fields`: the first team may become primary.
        Field::SecondaryTeams => Ok(()),
        Field::SecondaryTeamExternalIds => {
            if value.contains([list_sep, '\\']) {
                *value = normalize::join_list(normalize::split_list(value, list_sep));
            }
            Ok(())
        }
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

/// The header's fields, decoded and trimmed (a UTF-8 byte-order mark
/// dropped); the header is on `line`.
pub(super) fn decode_header(
    record: &csv::ByteRecord,
    text: Text,
    file: &str,
    line: u64,
) -> Result<Vec<String>, IngestError> {
    record
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let bytes = if i == 0 {
                bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
            } else {
                bytes
            };
            decode_field(bytes, text)
                .map(|s| s.trim().to_owned())
                .map_err(|_| IngestError::HeaderEncoding {
                    file: file.to_owned(),
                    line,
                    column: i + 1,
                    guess: sniff::label(text.guess.unwrap_or_else(|| sniff::detect(bytes, true))),
                })
        })
        .collect()
}

/// One field's bytes as text; the message says what is wrong if they are
/// not valid in the file's encoding, and which encoding they look like.
fn decode_field(bytes: &[u8], text: Text) -> Result<Cow<'_, str>, String> {
    if text.is_utf8() {
        return std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
            let at = e.valid_up_to();
            // The file's first bytes were valid UTF-8: this field alone is
            // all there is to go on.
            let guess = sniff::label(text.guess.unwrap_or_else(|| sniff::detect(bytes, true)));
            format!(
                "not valid UTF-8 (byte 0x{:02X} at position {} of the value); it looks like {guess} text: set csv.encoding = \"{guess}\" (or \"auto\")",
                bytes[at],
                at + 1
            )
        });
    }
    text.encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(|| format!("not valid {} text", sniff::label(text.encoding)))
}
