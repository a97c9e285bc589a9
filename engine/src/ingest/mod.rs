//! Ingest: a CSV file streamed into canonical rows.
//!
//! Its first bytes decide how it is read ([`sniff`]: a byte-order mark,
//! the encoding, the delimiter, CR-only line ends, or not CSV text at
//! all). Lines before the header (`csv.skip_lines`) are skipped; line
//! numbers stay the file's own. Rows with nothing in them (blank lines,
//! `;;;;` under a spreadsheet's table) are counted and otherwise ignored.
//! No record may grow past a cap (a quote never closed would make the rest
//! of the file one record), and batches are bounded in rows and bytes, so
//! memory is bounded whatever the input.
//!
//! Two threads share the work. The parser reads `csv::ByteRecord`s with
//! buffers reused from row to row; each row is hashed as it is (a row hash,
//! see [`rowhash`]) and decoded (UTF-8, or the file's legacy encoding),
//! mapped onto Learn Amp's fields by a [`ColumnPlan`], normalised and
//! validated ([`decode`]), then packed into a batch. The caller's thread
//! takes the batches in file order, checks keys and emails for duplicates,
//! and hands each row to the caller. Rows that fail are collected with their
//! line and column; the caller decides whether that rejects the file.
//!
//! When the caller knows yesterday's rows by their hashes (under the same
//! header and settings), the parser leaves rows undecoded, reading only the
//! email for the duplicate check; a row the caller recognises as unchanged
//! costs a hash and a lookup, and the few others are decoded on the
//! caller's thread. Ingest knows nothing of the store.

mod columns;
mod decode;
mod error;
mod normalize;
mod rowhash;
mod seen;
mod sniff;

use std::io::{self, Read};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;

use ampsync_store::{Record, RecordHash, RowHash, hash_fields_with};

use crate::config::Config;
use crate::fields::Field;
use columns::ColumnPlan;
pub use columns::ManagerBy;
pub(crate) use decode::fold_name;
use decode::{Decoder, Text};
pub use error::{IngestError, RowError};
pub(crate) use normalize::{date_in_form, flag};
pub(crate) use rowhash::DECODING_RULES;
pub(crate) use seen::SeenSet;
pub(crate) use sniff::{detect as detect_encoding, looks_utf16};

/// The longest value a field may hold, in bytes.
pub const MAX_FIELD_BYTES: usize = 4096;

/// How many row errors are kept in full; the rest are only counted.
const MAX_KEPT_ERRORS: usize = 1000;

/// Rows per batch handed from the parser to the caller's thread.
const BATCH_ROWS: usize = 2048;

/// A batch is handed over early once it holds this many bytes, so rows of
/// any size keep the batches ahead bounded in memory (2,048 typical rows
/// are ~350 KB).
const BATCH_BYTES: usize = 1 << 20;

/// Batches the parser may run ahead by (~30 MB for typical rows): room for
/// the caller to load its state meanwhile.
const BATCHES_AHEAD: usize = 96;

/// The most bytes a record may have, unless the header has so many columns
/// that a valid record could be longer (see [`record_cap`]). A quote never
/// closed would otherwise make the rest of the file one record, in memory.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Rows longer than this are decoded by the parser even when rows are
/// looked up by hash first: no valid row is that long, and rows kept raw
/// wait in the batches ahead.
const MAX_RAW_ROW_BYTES: usize = 16 * 1024;

/// The csv reader's buffer: how far it reads ahead of the record it parses.
const CSV_BUFFER: usize = 64 * 1024;

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
    /// The row hash of its raw fields, under the file's row-hash key.
    pub raw: RowHash,
    /// The values in canonical order, as [`FileLayout::decode_record`] reads them.
    pub values: &'a [u8],
    /// The person's email.
    pub email: &'a str,
    /// The row's `leaveDate` is on or before the import's day (then
    /// `deactivate` is set too).
    pub leaver: bool,
    /// `policy.future_hires = "wait"` and the row's `startDate` is after
    /// the import's day: a new person is not created yet.
    pub future_hire: bool,
    /// The manager cell (canonical, as the file wrote it), empty
    /// when neither is mapped: `managerEmail` is resolved from it after
    /// the file is read, and is empty in `values` and `hash` until then.
    pub manager: &'a str,
    /// `managerName` mapped: the person's own "first last", folded as the
    /// manager cells are.
    pub name_key: &'a str,
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

    /// Every data row, valid or not, except those [`RowSink::unchanged_row`]
    /// took.
    fn row(&mut self, event: RowEvent<'_>);

    /// The key this file's row hashes are made with (it covers the header
    /// and the settings that decide what a row means). Returns whether rows
    /// should be offered to [`RowSink::unchanged_row`] before they are
    /// decoded: worth it when many are known by their hash.
    fn row_key(&mut self, _key: &[u8; 32]) -> bool {
        false
    }

    /// A row not decoded yet, whose raw fields hash to `raw`: returns true
    /// if it is a known person's row, unchanged since it last described them
    /// (so it needs no decoding), that person has no row yet in this file,
    /// and `also` (the email duplicate check) agrees; then they are claimed
    /// on `line`. Otherwise the row is decoded and handed over as usual.
    fn unchanged_row(&mut self, _raw: &RowHash, _line: u64, _also: &mut dyn FnMut() -> bool) -> bool {
        false
    }

    /// The manager cell of the row [`RowSink::unchanged_row`] just took,
    /// when `managerKey` is mapped and the cell is not empty.
    fn unchanged_manager(&mut self, _manager: &str, _line: u64) {}
}

/// What ingest learned about the file as a whole.
#[derive(Debug, Clone)]
pub struct FileSummary {
    /// Data rows read (header excluded), valid or not; empty rows are not
    /// counted here.
    pub rows: u64,
    /// Rows with nothing in them (blank lines, `;;;;`), ignored.
    pub empty_rows: u64,
    /// Rows with at least one error.
    pub invalid_rows: u64,
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
    /// How many row errors there were in all (a row may have several).
    pub error_count: u64,
    /// What looks wrong with the file as a whole, though it was read (a
    /// file that looks UTF-8, or like another code page, read as a legacy
    /// code page).
    pub warnings: Vec<String>,
    /// Rows a `[[skip]]` rule took (not people to sync; never errors).
    pub skipped_by_rule: u64,
    /// Valid rows whose `leaveDate` is on or before the import's day.
    pub leavers_by_date: u64,
    /// How `managerEmail` is resolved, if it is.
    pub manager_by: Option<ManagerBy>,
}

/// A row as the parser hands it over: ranges into its batch's bytes.
#[derive(Debug, Clone)]
struct PackedRow {
    line: u64,
    /// The row hash of its raw fields (see [`rowhash`]).
    raw: RowHash,
    /// Decoded by the parser. If not (rows looked up by hash first),
    /// `values` holds the raw fields and `email` the email, if readable.
    decoded: bool,
    /// Decoded: false when the parser found errors (they are in its own
    /// list). Not decoded: false when its email could not be read.
    valid: bool,
    deactivate: bool,
    leaver: bool,
    future: bool,
    key: Range<usize>,
    email: Range<usize>,
    values: Range<usize>,
    /// The manager cell, also for rows not decoded.
    manager: Range<usize>,
    name_key: Range<usize>,
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
    fn clear(&mut self) {
        self.bytes.clear();
        self.rows.clear();
    }
}

/// What the parser found in the file.
#[derive(Default)]
struct Parsed {
    /// Data rows read.
    rows: u64,
    /// Rows with nothing in them.
    empty_rows: u64,
    errors: Errors,
    /// Read with a legacy encoding: rows with non-ASCII text that is valid
    /// UTF-8, and rows whose text is not.
    utf8_rows: u64,
    legacy_rows: u64,
    /// Rows taken by a `[[skip]]` rule, by rule.
    skip_hits: Vec<u64>,
}

/// Where the csv reader's input is cut off: a record may not grow past
/// `cap` bytes from `start`. Set by the parser after each record, read by
/// [`Feed`] (the two are on one thread; atomics make it `Send`).
struct Cut {
    start: AtomicU64,
    cap: AtomicU64,
    /// The input was cut off: the record being read is too long.
    tripped: AtomicBool,
}

impl Cut {
    fn new(cap: usize) -> Cut {
        Cut {
            start: AtomicU64::new(0),
            cap: AtomicU64::new(cap as u64),
            tripped: AtomicBool::new(false),
        }
    }

    /// The next record starts at byte `at`.
    fn record_at(&self, at: u64) {
        self.start.store(at, Ordering::Relaxed);
    }

    fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }
}

/// Raw bytes read at a time by [`Feed`].
const FEED_CHUNK: usize = 64 * 1024;

/// The input as the csv reader gets it: old-Mac line ends (CR) read as
/// `\n`, the lines before the header blanked, a space put in every empty
/// line, and an end where a record grows past its [`Cut`] (csv then ends
/// the record there, and the parser reports it).
///
/// csv skips empty lines without counting them in its line numbers; a line
/// holding a space is a record, so every line keeps its number, and the
/// parser counts it as an empty row. Inside a quoted value the space is
/// whitespace beside a line end, which normalisation collapses anyway.
struct Feed<'a, R> {
    inner: R,
    cr_to_lf: bool,
    /// Lines still to skip before the header.
    skip: u32,
    /// The last byte shaped was a line end (or there was none yet).
    at_line_start: bool,
    raw: Vec<u8>,
    /// Shaped bytes, handed over from `pos`.
    out: Vec<u8>,
    pos: usize,
    handed: u64,
    cut: &'a Cut,
}

impl<'a, R> Feed<'a, R> {
    fn new(inner: R, cr_to_lf: bool, skip: u32, cut: &'a Cut) -> Feed<'a, R> {
        Feed {
            inner,
            cr_to_lf,
            skip,
            at_line_start: true,
            raw: Vec::with_capacity(FEED_CHUNK),
            out: Vec::with_capacity(2 * FEED_CHUNK),
            pos: 0,
            handed: 0,
            cut,
        }
    }

    /// Shapes the bytes in `raw` into `out`.
    fn shape(&mut self) {
        if self.cr_to_lf {
            self.raw.iter_mut().filter(|b| **b == b'\r').for_each(|b| *b = b'\n');
        }
        self.out.clear();
        self.pos = 0;
        let mut rest = self.raw.as_slice();
        while self.skip > 0 && !rest.is_empty() {
            match memchr::memchr(b'\n', rest) {
                Some(at) => {
                    self.out.extend_from_slice(b" \n");
                    self.skip -= 1;
                    self.at_line_start = true;
                    rest = &rest[at + 1..];
                }
                None => rest = &[],
            }
        }
        let mut from = 0;
        for at in memchr::memchr_iter(b'\n', rest) {
            let empty = match at {
                0 => self.at_line_start,
                _ => rest[at - 1] == b'\n',
            };
            if empty {
                self.out.extend_from_slice(&rest[from..at]);
                self.out.push(b' ');
                from = at;
            }
        }
        self.out.extend_from_slice(&rest[from..]);
        if let Some(&last) = rest.last() {
            self.at_line_start = last == b'\n';
        }
    }
}

impl<R: Read> Read for Feed<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let cut = self.cut;
        let limit = cut.start.load(Ordering::Relaxed) + cut.cap.load(Ordering::Relaxed) + CSV_BUFFER as u64;
        let room = limit.saturating_sub(self.handed);
        if room == 0 || cut.tripped() {
            cut.tripped.store(true, Ordering::Relaxed);
            return Ok(0);
        }
        while self.pos == self.out.len() {
            let want = FEED_CHUNK.min(usize::try_from(room).unwrap_or(usize::MAX));
            self.raw.resize(want, 0);
            let n = self.inner.read(&mut self.raw)?;
            if n == 0 {
                return Ok(0);
            }
            self.raw.truncate(n);
            self.shape();
        }
        let n = (self.out.len() - self.pos)
            .min(buf.len())
            .min(usize::try_from(room).unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        self.handed += n as u64;
        Ok(n)
    }
}

/// The most bytes a record under a header of `columns` may have: room for
/// every field at its longest, quoted, each quote doubled.
fn record_cap(columns: usize) -> usize {
    MAX_RECORD_BYTES.max(columns * (2 * MAX_FIELD_BYTES + 3))
}

/// The error for a record cut off at its cap: where its last field (the
/// one still open) starts, and whether it ran over lines (so it is quoted,
/// and the quote is never closed).
fn record_too_long(file: &str, record: &csv::ByteRecord, header: &[String], cap: usize) -> IngestError {
    let start = record.position().map_or(1, |p| p.line());
    let last = record.len().saturating_sub(1);
    let newlines = |f: &[u8]| f.iter().filter(|&&b| b == b'\n').count() as u64;
    let before: u64 = record.iter().take(last).map(newlines).sum();
    IngestError::RecordTooLong {
        file: file.to_owned(),
        line: start + before,
        column: header.get(last).cloned(),
        unclosed_quote: record.get(last).is_some_and(|f| newlines(f) > 0),
        cap,
    }
}

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
    let read_error = |source| IngestError::Read {
        file: file.to_owned(),
        source,
    };
    let mut reader = reader;
    let mut head = Vec::with_capacity(sniff::HEAD);
    (&mut reader)
        .take(sniff::HEAD as u64)
        .read_to_end(&mut head)
        .map_err(|e| read_error(e.into()))?;
    let sniffed = sniff::sniff(&head, &config.csv, file)?;
    let encoding = sniffed.encoding;
    let text = Text {
        encoding,
        guess: sniffed.guess,
    };
    let cut = Cut::new(MAX_RECORD_BYTES);
    let feed = Feed::new(
        io::Cursor::new(head).chain(reader),
        sniffed.cr_only,
        config.csv.skip_lines,
        &cut,
    );
    // Records end at `\n` only: csv's line numbers are off by one after a
    // `\r\n`, and ours must be exact. A trailing `\r` is whitespace, which
    // normalisation trims anyway.
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(sniffed.delimiter)
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(CSV_BUFFER)
        .from_reader(feed);
    // The header: the first line with something in it past the skipped ones.
    let mut record = csv::ByteRecord::new();
    loop {
        let read = csv.read_byte_record(&mut record).map_err(read_error)?;
        if cut.tripped() {
            return Err(record_too_long(file, &record, &[], MAX_RECORD_BYTES));
        }
        if !read {
            return Err(match config.csv.skip_lines {
                0 => IngestError::Empty { file: file.to_owned() },
                skipped => IngestError::NoHeader {
                    file: file.to_owned(),
                    skipped,
                },
            });
        }
        cut.record_at(csv.position().byte());
        if !is_empty_row(&record) {
            break;
        }
    }
    let header_line = record.position().map_or(1, |p| p.line());
    let header = decode::decode_header(&record, text, file, header_line)?;
    let plan = ColumnPlan::resolve(header, config, file).map_err(|e| at_header(e, header_line, &sniffed))?;
    cut.cap.store(record_cap(plan.header.len()) as u64, Ordering::Relaxed);
    let key_field = plan
        .field_columns
        .iter()
        .find(|&(_, &i)| i == plan.key_column)
        .map(|(f, _)| *f)
        .unwrap_or(Field::Email);
    let row_key = rowhash::file_key(config, encoding, sniffed.delimiter, &plan, key_field);
    // A manager by name needs every row's names: no row is left undecoded.
    let by_hash = sink.row_key(&row_key) && !matches!(plan.manager, Some((ManagerBy::Name, _)));
    let today = match plan.leave.is_empty() && plan.start.is_empty() {
        true => None,
        false => Some(config.today()?),
    };

    let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(BATCHES_AHEAD);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    let layout = FileLayout {
        names: plan.order.iter().map(|(n, _)| n.clone()).collect(),
    };
    let mut taker = Taker {
        sink,
        plan: &plan,
        key_field,
        layout: &layout,
        seen_emails: SeenSet::with_capacity(expected_rows),
        late: Errors::default(),
        scratch: Vec::with_capacity(512),
        leavers: 0,
    };
    let mut decoder = Decoder::new(config, text, &plan, key_field, today);
    let mut one = Batch::default();
    let mut fields = csv::ByteRecord::new();

    let parsed = std::thread::scope(|scope| {
        let parser = scope.spawn(|| {
            let parser = Parser {
                decoder: Decoder::new(config, text, &plan, key_field, today),
                key: row_key,
                by_hash,
                by_hash_email: key_field != Field::Email,
                legacy: encoding != encoding_rs::UTF_8,
                cut: &cut,
                header: &plan.header,
            };
            parser.run(csv, file, full_tx, empty_rx)
        });
        for batch in full_rx {
            for r in &batch.rows {
                if r.decoded {
                    taker.take(&batch, r);
                    continue;
                }
                if taker.unchanged(&batch, r) {
                    let manager = batch.str(&r.manager);
                    if !manager.is_empty() {
                        taker.sink.unchanged_manager(manager, r.line);
                    }
                    continue;
                }
                // Not known by its bytes: decoded here, as the parser would.
                rowhash::unpack(&batch.bytes[r.values.clone()], &mut fields);
                one.clear();
                decoder.decode(&mut fields, r.line, r.raw, &mut one, &mut taker.late);
                if let Some(decoded) = one.rows.first() {
                    taker.take(&one, decoded);
                }
            }
            // The parser may have stopped; then the batch is simply dropped.
            let _ = empty_tx.send(batch);
        }
        parser.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    let (late, leavers_by_date) = (taker.late, taker.leavers);
    let Parsed {
        rows,
        empty_rows,
        mut errors,
        utf8_rows,
        legacy_rows,
        skip_hits,
    } = parsed?;
    if rows == 0 {
        return Err(IngestError::NoRows {
            file: file.to_owned(),
            line: header_line,
        });
    }
    errors.merge(late);
    let mut warnings: Vec<String> = sniffed.warning.into_iter().collect();
    if utf8_rows > 0 && legacy_rows == 0 {
        let name = sniff::label(encoding);
        warnings.push(format!(
            "{file}: {utf8_rows} row(s) have non-ASCII text that is valid UTF-8, and none is {name} only, \
             but csv.encoding = \"{name}\": if names look garbled (Zoë read as ZoÃ«), the file is UTF-8: \
             set csv.encoding = \"utf-8\""
        ));
    }
    for (i, hits) in skip_hits.iter().enumerate() {
        if *hits == 0
            && let Some(rule) = config.skip.get(i)
        {
            warnings.push(format!(
                "{file}: [[skip]] rule {} (column {:?}) matched no row",
                i + 1,
                rule.column
            ));
        }
    }
    let mut mapped: Vec<usize> = plan
        .field_columns
        .values()
        .copied()
        .chain(plan.custom.iter().map(|(_, c)| *c))
        .chain(plan.leave.iter().chain(&plan.start).copied())
        .chain(plan.manager.iter().flat_map(|(_, columns)| columns.iter().copied()))
        .chain(plan.fallbacks.values().flatten().copied())
        .collect();
    mapped.sort_unstable();
    mapped.dedup();
    let mapped_columns = mapped.into_iter().map(|c| plan.header[c].clone()).collect();
    Ok(FileSummary {
        rows,
        empty_rows,
        invalid_rows: errors.rows,
        key_column: plan.key_header().to_owned(),
        header: plan.header,
        layout,
        mapped_columns,
        errors: errors.kept,
        error_count: errors.count,
        warnings,
        skipped_by_rule: skip_hits.iter().sum(),
        leavers_by_date,
        manager_by: plan.manager.as_ref().map(|(by, _)| *by),
    })
}

/// The caller's side of the pipeline: duplicate checks, then the sink.
struct Taker<'a, S> {
    sink: &'a mut S,
    plan: &'a ColumnPlan,
    key_field: Field,
    layout: &'a FileLayout,
    seen_emails: SeenSet,
    /// Errors found here (duplicates, rows decoded here), in file order.
    late: Errors,
    scratch: Vec<u8>,
    /// Valid rows whose leave date has come.
    leavers: u64,
}

impl<S: RowSink> Taker<'_, S> {
    /// Whether the sink knows an undecoded row as the unchanged row of a
    /// person not yet seen, with an email no other row has used: then it
    /// needs nothing more.
    fn unchanged(&mut self, batch: &Batch, r: &PackedRow) -> bool {
        if !r.valid {
            return false; // The parser could not read its email.
        }
        let (seen_emails, key_field) = (&mut self.seen_emails, self.key_field);
        let email = batch.str(&r.email);
        self.sink.unchanged_row(&r.raw, r.line, &mut || {
            key_field == Field::Email || seen_emails.insert(email, r.line).is_none()
        })
    }

    /// A decoded row: duplicate checks, then to the sink.
    fn take(&mut self, batch: &Batch, r: &PackedRow) {
        let key = batch.str(&r.key);
        if !r.valid {
            self.sink.row(RowEvent::Invalid {
                key: (!key.is_empty()).then_some(key),
            });
            return;
        }
        let plan = self.plan;
        let mut dup = None;
        if let Some(first) = self.sink.claim_key(key, r.line) {
            dup = Some((plan.key_column, format!("duplicate key {key:?} (also on line {first})")));
        } else if self.key_field != Field::Email {
            let email = batch.str(&r.email);
            if let Some(first) = self.seen_emails.insert(email, r.line) {
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
                self.late.extend(std::iter::once(RowError {
                    line: r.line,
                    column,
                    message,
                }));
                self.sink.row(RowEvent::Invalid { key: Some(key) });
            }
            None => {
                // Hashed here, not by the parser: this thread has time to spare.
                let values = &batch.bytes[r.values.clone()];
                self.leavers += u64::from(r.leaver);
                self.sink.row(RowEvent::Valid(Row {
                    line: r.line,
                    key,
                    deactivate: r.deactivate,
                    hash: hash_fields_with(&mut self.scratch, self.layout.byte_pairs(values)),
                    raw: r.raw,
                    values,
                    email: batch.str(&r.email),
                    leaver: r.leaver,
                    future_hire: r.future,
                    manager: batch.str(&r.manager),
                    name_key: batch.str(&r.name_key),
                }))
            }
        }
    }
}

/// The parser thread's state.
struct Parser<'a> {
    decoder: Decoder<'a>,
    /// The file's row-hash key.
    key: [u8; 32],
    /// Rows are left undecoded for the caller to look up by hash first.
    by_hash: bool,
    /// ... with their email read, for the duplicate check.
    by_hash_email: bool,
    /// Read with a legacy encoding: rows that look UTF-8 are counted.
    legacy: bool,
    cut: &'a Cut,
    header: &'a [String],
}

impl Parser<'_> {
    /// Every record after the header: hashed, and decoded (or, looking up
    /// by hash, packed raw), in batches sent to `full`.
    fn run<R: Read>(
        mut self,
        mut csv: csv::Reader<R>,
        file: &str,
        full: mpsc::SyncSender<Batch>,
        empty: mpsc::Receiver<Batch>,
    ) -> Result<Parsed, IngestError> {
        let mut record = csv::ByteRecord::new();
        let mut parsed = Parsed::default();
        let has_manager = self.decoder.has_manager();
        let mut batch = Batch::default();
        let cap = record_cap(self.header.len());
        loop {
            let more = csv.read_byte_record(&mut record).map_err(|source| IngestError::Read {
                file: file.to_owned(),
                source,
            })?;
            if self.cut.tripped() {
                return Err(record_too_long(file, &record, self.header, cap));
            }
            if !more {
                break;
            }
            self.cut.record_at(csv.position().byte());
            if is_empty_row(&record) {
                parsed.empty_rows += 1;
                continue;
            }
            parsed.rows += 1;
            if self.decoder.skipped(&record) {
                continue; // Not a person to sync: counted, never an error.
            }
            if self.legacy && !record.as_slice().is_ascii() {
                match std::str::from_utf8(record.as_slice()) {
                    Ok(_) => parsed.utf8_rows += 1,
                    Err(_) => parsed.legacy_rows += 1,
                }
            }
            let line = record.position().map_or(0, |p| p.line());
            let start = batch.bytes.len();
            rowhash::pack(&record, &mut batch.bytes);
            let values = start..batch.bytes.len();
            let raw = rowhash::hash(&self.key, &batch.bytes[values.clone()]);
            if self.by_hash && values.len() <= MAX_RAW_ROW_BYTES && !self.decoder.due(&record) {
                let email = match self.by_hash_email {
                    true => self.decoder.email(&record, &mut batch),
                    false => Some(0..0),
                };
                let manager = match has_manager {
                    true => self.decoder.manager_ref(&record, &mut batch),
                    false => 0..0,
                };
                batch.rows.push(PackedRow {
                    line,
                    raw,
                    decoded: false,
                    valid: email.is_some(),
                    deactivate: false,
                    leaver: false,
                    future: false,
                    key: 0..0,
                    email: email.unwrap_or(0..0),
                    values,
                    manager,
                    name_key: 0..0,
                });
            } else {
                // Decoded here: the raw fields were only needed for the hash.
                batch.bytes.truncate(start);
                self.decoder
                    .decode(&mut record, line, raw, &mut batch, &mut parsed.errors);
            }
            if batch.rows.len() == BATCH_ROWS || batch.bytes.len() >= BATCH_BYTES {
                let mut next = empty.try_recv().unwrap_or_default();
                next.clear();
                if full.send(std::mem::replace(&mut batch, next)).is_err() {
                    break; // The consumer is gone: nothing more to do.
                }
            }
        }
        if !batch.rows.is_empty() {
            let _ = full.send(batch);
        }
        parsed.skip_hits = std::mem::take(&mut self.decoder.skip_hits);
        Ok(parsed)
    }
}

/// A record with nothing in it: a blank line (`\r\n` reads as one field
/// "\r"; [`Feed`] makes an empty line one " "), or only delimiters.
fn is_empty_row(record: &csv::ByteRecord) -> bool {
    record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))
}

/// A header error placed on the header's `line`, with a hint when the
/// header looks split by another delimiter than the configured one.
fn at_header(e: IngestError, header_line: u64, sniffed: &sniff::Sniffed) -> IngestError {
    match e {
        IngestError::MissingColumn {
            file,
            what,
            found,
            hint,
            ..
        } => {
            let hint = match sniffed.looks_like {
                Some(d) if hint.is_empty() => format!(
                    "; the header looks {}-separated: set csv.delimiter = {} (or \"auto\")",
                    d.config_value(),
                    d.config_value()
                ),
                _ => hint,
            };
            IngestError::MissingColumn {
                file,
                line: header_line,
                what,
                found,
                hint,
            }
        }
        IngestError::DuplicateColumn {
            file,
            field,
            first,
            second,
            hint,
            ..
        } => IngestError::DuplicateColumn {
            file,
            line: header_line,
            field,
            first,
            second,
            hint,
        },
        other => other,
    }
}

/// Row errors, in file order, and how many rows they are about.
#[derive(Default)]
struct Errors {
    kept: Vec<RowError>,
    count: u64,
    /// Rows with at least one error.
    rows: u64,
}

impl Errors {
    /// Adds errors found later in the pipeline, keeping file order.
    fn merge(&mut self, other: Errors) {
        self.count += other.count;
        self.rows += other.rows;
        self.kept.extend(other.kept);
        self.kept.sort_by_key(|e| e.line);
        self.kept.truncate(MAX_KEPT_ERRORS);
    }

    /// Adds the errors of one row.
    fn extend(&mut self, errors: impl Iterator<Item = RowError>) {
        let before = self.count;
        for e in errors {
            self.count += 1;
            if self.kept.len() < MAX_KEPT_ERRORS {
                self.kept.push(e);
            }
        }
        if self.count > before {
            self.rows += 1;
        }
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
                "line 4, column \"Role\": unknown role \"boss\"; Learn Amp's roles are: viewer, curator, reporter, learning_designer, hr, admin, and learner; to translate the file's values, add them under [mapping.values.role] (column \"Role\" was recognised by its name, not named in the config; to not read it: mapping.role = false, or mapping.auto = false)".into(),
            ]
        ))
    );

    parses_to!(
        skipped_lines_keep_the_files_line_numbers,
        b"version:v1.0\nExported by \"HR\", 24/11/2026\nEmail,First name,Last name\n\na@x.io,Ann,Lee\nb@x.io,Bo,\n",
        "[csv]\nskip_lines = 2\n",
        Ok((
            vec![(
                5,
                "a@x.io".into(),
                pairs(&[("email", "a@x.io"), ("firstName", "Ann"), ("lastName", "Lee")])
            )],
            vec!["line 6, column \"Last name\": lastName is empty".into()]
        ))
    );
    parses_to!(
        empty_lines_keep_line_numbers_exact,
        b"\n\nEmail,First name,Last name\n\n\na@x.io,Ann,Lee\n \n\r\nb@x.io,\"Bo\n\nJo\",\n\n",
        "",
        Ok((
            vec![(
                6,
                "a@x.io".into(),
                pairs(&[("email", "a@x.io"), ("firstName", "Ann"), ("lastName", "Lee")])
            )],
            vec!["line 9, column \"Last name\": lastName is empty".into()]
        ))
    );
    parses_to!(
        delimiter_auto_takes_the_headers,
        b"Email;First name;Last name\na@x.io;Lee, Ann;Lee\n",
        "[csv]\ndelimiter = \"auto\"\n",
        Ok((
            vec![(
                2,
                "a@x.io".into(),
                pairs(&[("email", "a@x.io"), ("firstName", "Lee, Ann"), ("lastName", "Lee")])
            )],
            vec![]
        ))
    );
    parses_to!(
        windows_1250_is_read_as_configured_and_detected,
        &encoding_rs::WINDOWS_1250
            .encode("Email,First name,Last name\nlw@x.io,Łukasz,Wiśniewski\n")
            .0,
        "[csv]\nencoding = \"auto\"\n",
        Ok((
            vec![(
                2,
                "lw@x.io".into(),
                pairs(&[
                    ("email", "lw@x.io"),
                    ("firstName", "Łukasz"),
                    ("lastName", "Wiśniewski")
                ])
            )],
            vec![]
        ))
    );
    parses_to!(
        shift_jis_is_read_and_its_bad_bytes_named,
        &[
            encoding_rs::SHIFT_JIS
                .encode("Email,First name,Last name\nk@x.io,健太,山田\nb@x.io,A,")
                .0
                .as_ref(),
            b"\x81\n",
        ]
        .concat(),
        "[csv]\nencoding = \"shift_jis\"\n",
        Ok((
            vec![(
                2,
                "k@x.io".into(),
                pairs(&[("email", "k@x.io"), ("firstName", "健太"), ("lastName", "山田")])
            )],
            vec!["line 3, column \"Last name\": not valid shift_jis text".into()]
        ))
    );
    parses_to!(
        not_utf8_names_the_detectors_guess,
        &encoding_rs::WINDOWS_1250.encode("Email,First name,Last name\nlw@x.io,Łukasz,Wiśniewski\nzw@x.io,Zofia,Wójcik\nmd@x.io,Małgorzata,Dąbrowska\n").0,
        "",
        Ok((
            vec![],
            vec![
                "line 2, column \"First name\": not valid UTF-8 (byte 0xA3 at position 1 of the value); it looks like windows-1250 text: set csv.encoding = \"windows-1250\" (or \"auto\")".into(),
                "line 2, column \"Last name\": not valid UTF-8 (byte 0x9C at position 3 of the value); it looks like windows-1250 text: set csv.encoding = \"windows-1250\" (or \"auto\")".into(),
                "line 3, column \"Last name\": not valid UTF-8 (byte 0xF3 at position 2 of the value); it looks like windows-1250 text: set csv.encoding = \"windows-1250\" (or \"auto\")".into(),
                "line 4, column \"First name\": not valid UTF-8 (byte 0xB3 at position 3 of the value); it looks like windows-1250 text: set csv.encoding = \"windows-1250\" (or \"auto\")".into(),
                "line 4, column \"Last name\": not valid UTF-8 (byte 0xB9 at position 2 of the value); it looks like windows-1250 text: set csv.encoding = \"windows-1250\" (or \"auto\")".into(),
            ]
        ))
    );

    /// The summary of reading `text` under `config`.
    fn summary(text: &[u8], config: &str) -> Result<FileSummary, String> {
        let config = Config::parse(config, Path::new("ampsync.toml")).expect("config");
        let mut rows = Rows::new(0, |_| {});
        read_rows(text, "t.csv", &config, 0, &mut rows).map_err(|e| e.to_string())
    }

    #[test]
    fn empty_rows_are_counted_apart_and_invalid_rows_are_rows() {
        // (file, config, rows, empty rows, invalid rows, errors)
        type Case<'a> = (&'a [u8], &'a str, u64, u64, u64, u64);
        let cases: &[Case<'_>] = &[
            (
                b"Email;First name;Last name\na@x.io;A;B\n;;\n;;\n ; ;\n",
                "[csv]\ndelimiter = \";\"\n",
                1,
                3,
                0,
                0,
            ),
            (
                b"Email,First name,Last name\r\na@x.io,A,B\r\n\r\n,,\r\n",
                "",
                1,
                2,
                0,
                0,
            ),
            (b"Email,First name,Last name\na@x.io,A,B\n\n\n", "", 1, 2, 0, 0),
            // One row with four errors is one invalid row.
            (
                b"Email,First name,Last name,Role\nbad,,,boss\nb@x.io,B,C,viewer\n",
                "",
                2,
                0,
                1,
                4,
            ),
            (
                b"version:v1.0\n\nEmail,First name,Last name\na@x.io,A,B\n",
                "[csv]\nskip_lines = 1\n",
                1,
                0,
                0,
                0,
            ),
        ];
        for &(text, config, rows, empty, invalid, errors) in cases {
            let s = summary(text, config).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                (s.rows, s.empty_rows, s.invalid_rows, s.error_count),
                (rows, empty, invalid, errors),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn file_level_errors_name_the_real_line_and_what_to_set() {
        for (text, config, want) in [
            (
                b"Email;First name;Last name\na@x.io;A;B\n".as_slice(),
                "",
                "t.csv, line 1: no Email (or Employee ID) column; the header has: \"Email;First name;Last name\"; the header looks \";\"-separated: set csv.delimiter = \";\" (or \"auto\")",
            ),
            // An explicit mapping's column is missing for the same reason.
            (
                b"Email\tGiven\tLast name\na@x.io\tA\tB\n",
                "[mapping]\nfirstName = \"Given\"\n",
                "t.csv, line 1: no \"Given\" column (mapping.firstName); the header has: \"Email\\tGiven\\tLast name\"; the header looks \"\\t\"-separated: set csv.delimiter = \"\\t\" (or \"auto\")",
            ),
            (
                b"version:v1.0\nEmail|First name|Last name\na@x.io|A|B\n",
                "[csv]\nskip_lines = 1\n",
                "t.csv, line 2: no Email (or Employee ID) column; the header has: \"Email|First name|Last name\"; the header looks \"|\"-separated: set csv.delimiter = \"|\" (or \"auto\")",
            ),
            (
                b"version:v1.0\n\nEmail,Work email,First name,Last name\na@x.io,b@x.io,A,B\n",
                "[csv]\nskip_lines = 1\n",
                "t.csv, line 3: columns \"Email\" and \"Work email\" both give Learn Amp's email; \"Work email\" was recognised by its name, not named in the config: name the column to read (mapping.email = \"...\"), or switch recognition off (mapping.auto = false)",
            ),
            (
                b"version:v1.0\nEmail,First name,Last name\n,,\n\n",
                "[csv]\nskip_lines = 1\n",
                "t.csv: the file has a header (line 2) but no rows",
            ),
            (
                b"version:v1.0\n",
                "[csv]\nskip_lines = 3\n",
                "t.csv: no header line after the 3 line(s) skipped (csv.skip_lines = 3)",
            ),
            (
                b"x\nEm\xE9il,First name\n",
                "[csv]\nskip_lines = 1\n",
                "t.csv, line 2, column 1: the header is not valid UTF-8; it looks like windows-1252 text: set csv.encoding = \"windows-1252\" (or \"auto\")",
            ),
        ] {
            assert_eq!(summary(text, config).err().as_deref(), Some(want), "{config}");
        }
    }

    // Issue 12: the mapping keys, one table row per case.
    parses_to!(
        a_list_of_columns_takes_the_first_non_empty,
        b"Email,Preferred name,First name,Last name\na@x.io,Sam,Samantha,Lee\nb@x.io, ,Robert,Ray\n",
        "[mapping]\nfirstName = [\"Preferred name\", \"First name\"]\n",
        Ok((
            vec![
                (
                    2,
                    "a@x.io".into(),
                    pairs(&[("email", "a@x.io"), ("firstName", "Sam"), ("lastName", "Lee")])
                ),
                (
                    3,
                    "b@x.io".into(),
                    pairs(&[("email", "b@x.io"), ("firstName", "Robert"), ("lastName", "Ray")])
                ),
            ],
            vec![]
        ))
    );
    parses_to!(
        date_formats_are_tried_in_order_and_stored_iso,
        b"Email,First name,Last name,Hire date\na@x.io,A,B,03/01/2012\nb@x.io,C,D,2012-01-04\nc@x.io,E,F,5.1.2012\n",
        "[csv]\ndate_formats = [\"%d/%m/%Y\", \"%d.%m.%Y\"]\n",
        Ok((
            vec![
                (
                    2,
                    "a@x.io".into(),
                    pairs(&[
                        ("email", "a@x.io"),
                        ("firstName", "A"),
                        ("hireDate", "2012-01-03"),
                        ("lastName", "B")
                    ])
                ),
                (
                    3,
                    "b@x.io".into(),
                    pairs(&[
                        ("email", "b@x.io"),
                        ("firstName", "C"),
                        ("hireDate", "2012-01-04"),
                        ("lastName", "D")
                    ])
                ),
                (
                    4,
                    "c@x.io".into(),
                    pairs(&[
                        ("email", "c@x.io"),
                        ("firstName", "E"),
                        ("hireDate", "2012-01-05"),
                        ("lastName", "F")
                    ])
                ),
            ],
            vec![]
        ))
    );
    parses_to!(
        an_unparseable_date_names_line_column_value_and_forms,
        b"Email,First name,Last name,Start\na@x.io,A,B,31/02/2012\n",
        "[csv]\ndate_formats = [\"%d/%m/%Y\"]\n[mapping]\nhireDate = \"Start\"\n",
        Ok((
            vec![],
            vec!["line 2, column \"Start\": \"31/02/2012\" is not a date in any of the forms tried: \"%d/%m/%Y\", ISO 8601 (YYYY-MM-DD)".into()]
        ))
    );
    parses_to!(
        a_recognised_column_in_error_says_how_to_switch_it_off,
        b"Email,First name,Last name,Hire date\na@x.io,A,B,03/01/2012\n",
        "",
        Ok((
            vec![],
            vec!["line 2, column \"Hire date\": \"03/01/2012\" is not a date in the form YYYY-MM-DD (column \"Hire date\" was recognised by its name, not named in the config; to not read it: mapping.hireDate = false, or mapping.auto = false)".into()]
        ))
    );
    parses_to!(
        field_false_switches_a_recognised_column_off,
        b"Email,First name,Last name,Hire date\na@x.io,A,B,03/01/2012\n",
        "[mapping]\nhireDate = false\n",
        Ok((
            vec![(
                2,
                "a@x.io".into(),
                pairs(&[("email", "a@x.io"), ("firstName", "A"), ("lastName", "B")])
            )],
            vec![]
        ))
    );
    parses_to!(
        auto_false_reads_only_the_named_columns,
        b"Mail,Given,Family,Job title,Department\na@x.io,A,B,Boss,Sales\n",
        "[mapping]\nauto = false\nemail = \"Mail\"\nfirstName = \"Given\"\nlastName = \"Family\"\ndepartment = \"Department\"\n",
        Ok((
            vec![(
                2,
                "a@x.io".into(),
                pairs(&[
                    ("department", "Sales"),
                    ("email", "a@x.io"),
                    ("firstName", "A"),
                    ("lastName", "B")
                ])
            )],
            vec![]
        ))
    );
    parses_to!(
        a_bare_title_is_not_a_job_title,
        b"Title,Email,First name,Last name\nMs,a@x.io,A,B\n",
        "",
        Ok((
            vec![(
                2,
                "a@x.io".into(),
                pairs(&[("email", "a@x.io"), ("firstName", "A"), ("lastName", "B")])
            )],
            vec![]
        ))
    );
    parses_to!(
        replace_runs_before_translation_and_checks,
        b"Email,First name,Last name,Team,Role\na@x.io,A,B,/Engineering/Platform,Boss\nb@x.io,C,D,Platform (Bj\xc3\xb6rn \xc3\x85kesson),Mgr\n",
        "[mapping]\nprimaryTeam = \"Team\"\n[mapping.replace.primaryTeam]\npattern = '^.*/|\\s*\\(.*\\)$'\nwith = \"\"\n[mapping.replace.role]\npattern = \"^Mgr$\"\nwith = \"Manager\"\n[mapping.values.role]\n\"manager\" = \"reporter\"\n",
        Ok((
            vec![(3, "b@x.io".into(), pairs(&[("email", "b@x.io"), ("firstName", "C"), ("lastName", "D"), ("primaryTeam", "Platform"), ("role", "reporter")]))],
            vec!["line 2, column \"Role\": unknown role \"Boss\"; Learn Amp's roles are: viewer, curator, reporter, learning_designer, hr, admin, and learner; to translate the file's values, add them under [mapping.values.role] (column \"Role\" was recognised by its name, not named in the config; to not read it: mapping.role = false, or mapping.auto = false)".into()]
        ))
    );
    parses_to!(
        values_in_errors_are_shown_as_written,
        b"Email,First name,Last name,Deactivate\nA@X,A,B,no\nb@x.io,C,D,Maybe\n",
        "[mapping]\ndeactivate = \"Deactivate\"\n",
        Ok((
            vec![],
            vec![
                "line 2, column \"Email\": \"A@X\" is not an email address".into(),
                "line 3, column \"Deactivate\": \"Maybe\" is not a yes/no value (1/true/yes or 0/false/no); to translate the file's values, add them under [mapping.values.deactivate]".into(),
            ]
        ))
    );

    /// Valid rows as `(key, deactivate, leaver, future_hire, manager)`, and the summary.
    /// A valid row's `(key, deactivate, leaver, future_hire, manager)`.
    type RowFlags = (String, bool, bool, bool, String);

    fn flags(text: &[u8], config: &str) -> (Vec<RowFlags>, FileSummary) {
        let config = Config::parse(config, Path::new("ampsync.toml")).expect("config");
        let mut rows = Vec::new();
        let mut sink = Rows::new(0, |event| {
            if let RowEvent::Valid(r) = event {
                rows.push((
                    r.key.to_owned(),
                    r.deactivate,
                    r.leaver,
                    r.future_hire,
                    r.manager.to_owned(),
                ));
            }
        });
        let summary = read_rows(text, "t.csv", &config, 0, &mut sink).expect("reads");
        (rows, summary)
    }

    #[test]
    fn skip_rules_count_rows_apart_from_invalid_ones() {
        let text = b"Email,First name,Last name,User type\na@x.io,A,B,Member\nroom@x.io,Room,,Guest\nsvc-x@x.io,,,\nc@x.io,C,,Member\n";
        let config = "[policy]\non_invalid_row = \"skip_row\"\n[[skip]]\ncolumn = \"User type\"\nequals = [\"guest\", \"\"]\n[[skip]]\ncolumn = \"Email\"\nmatches = \"^nobody\"\n";
        let (rows, summary) = flags(text, config);
        assert_eq!(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["a@x.io"]);
        assert_eq!(summary.rows, 4);
        assert_eq!(
            summary.skipped_by_rule, 2,
            "a guest and an empty type, raw and ignoring case"
        );
        assert_eq!(summary.error_count, 1, "only c@x.io's empty last name");
        assert_eq!(
            summary.warnings,
            ["t.csv: [[skip]] rule 2 (column \"Email\") matched no row"],
            "a rule matching nobody is fine, and said"
        );
    }

    #[test]
    fn a_skip_rule_on_a_missing_column_names_the_rule() {
        let config =
            Config::parse("[[skip]]\ncolumn = \"Kind\"\nequals = [\"x\"]\n", Path::new("a.toml")).expect("config");
        let mut sink = Rows::new(0, |_| {});
        let err = read_rows(
            &b"Email,First name,Last name\na@x.io,A,B\n"[..],
            "t.csv",
            &config,
            0,
            &mut sink,
        )
        .expect_err("no such column");
        assert!(
            err.to_string()
                .contains("\"Kind\" column ([[skip]] rule 1 in the config)"),
            "{err}"
        );
    }

    #[test]
    fn leave_and_start_dates_decide_leavers_and_future_hires() {
        // Far past and far future: whatever day the test runs on.
        let text = b"Email,First name,Last name,Left,Starts\nold@x.io,A,B,01/02/2001,\nlater@x.io,C,D,01/02/2999,\nnew@x.io,E,F,,01/02/2999\nnow@x.io,G,H,,01/02/2001\n";
        let config = "[csv]\ndate_formats = [\"%d/%m/%Y\"]\n[mapping]\nleaveDate = \"Left\"\nstartDate = \"Starts\"\n[policy]\nfuture_hires = \"wait\"\n";
        let (rows, summary) = flags(text, config);
        let got: Vec<(&str, bool, bool, bool)> = rows.iter().map(|r| (r.0.as_str(), r.1, r.2, r.3)).collect();
        assert_eq!(
            got,
            [
                ("old@x.io", true, true, false),
                ("later@x.io", false, false, false),
                ("new@x.io", false, false, true),
                ("now@x.io", false, false, false),
            ]
        );
        assert_eq!(summary.leavers_by_date, 1);
        let (rows, _) = flags(text, &config.replace("wait", "create"));
        assert!(rows.iter().all(|r| !r.3), "\"create\": nobody waits");
    }

    #[test]
    fn manager_cells_are_read_canonical_and_the_column_is_not_a_field() {
        let text =
            b"Employee ID,Email,First name,Last name,Manager,Manager ID\n1,a@x.io,A,B,boss,\n2,b@x.io,C,D,boss, 1 \n";
        let (rows, summary) = flags(text, "[mapping]\nmanagerKey = \"Manager ID\"\n");
        assert_eq!(rows.iter().map(|r| r.4.as_str()).collect::<Vec<_>>(), ["", "1"]);
        assert_eq!(summary.manager_by, Some(ManagerBy::Key));
        assert!(
            !summary.mapped_columns.contains(&"Manager".to_owned()),
            "a Manager column is not read as managerEmail when the manager is named by key"
        );
    }

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
