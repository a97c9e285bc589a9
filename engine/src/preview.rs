//! A preview: a file read and mapped exactly as `import` reads it (the
//! same [`read_rows`] with the same config), its first records kept, and
//! nothing written. No store is needed: a row's place in Learn Amp (new,
//! changed, unchanged) is for `import` to say.

use std::collections::HashMap;
use std::io::Read;

use crate::config::Config;
use crate::ingest::{IngestError, RowEvent, RowSink, read_rows};
use crate::outcome::{FieldValue, PreviewOutcome, PreviewRecord};

/// Reads `reader` (called `file` in messages) with `config` and keeps the
/// first `limit` records.
pub fn preview<R: Read + Send>(
    reader: R,
    file: &str,
    config: &Config,
    limit: usize,
) -> Result<PreviewOutcome, IngestError> {
    let mut sink = Collect {
        keys: HashMap::new(),
        limit,
        kept: Vec::new(),
        people: 0,
        deactivated: 0,
        invalid: 0,
    };
    let summary = read_rows(reader, file, config, 0, &mut sink)?;
    let records = sink
        .kept
        .into_iter()
        .map(|(line, key, deactivate, values)| PreviewRecord {
            line,
            key,
            active: !deactivate,
            record: summary
                .layout
                .decode_record(&values)
                .iter()
                .map(|(k, v)| (k.to_owned(), FieldValue::of(k, v)))
                .collect(),
        })
        .collect();
    Ok(PreviewOutcome {
        file: file.to_owned(),
        rows: summary.rows,
        people: sink.people,
        deactivated: sink.deactivated,
        skipped: 0,
        invalid: sink.invalid,
        leavers_by_date: 0,
        future_hires: 0,
        mapped_columns: summary.mapped_columns,
        records,
        problems: summary.errors,
        problem_count: summary.error_count,
        warnings: summary.warnings,
    })
}

/// Where the rows go: keys claimed for the duplicate check, rows counted,
/// the first ones kept packed (the layout that unpacks them comes with the
/// summary, at the end).
struct Collect {
    keys: HashMap<String, u64>,
    limit: usize,
    kept: Vec<(u64, String, bool, Vec<u8>)>,
    people: u64,
    deactivated: u64,
    invalid: u64,
}

impl RowSink for Collect {
    fn claim_key(&mut self, key: &str, line: u64) -> Option<u64> {
        match self.keys.get(key) {
            Some(&first) => Some(first),
            None => {
                self.keys.insert(key.to_owned(), line);
                None
            }
        }
    }

    fn row(&mut self, event: RowEvent<'_>) {
        match event {
            RowEvent::Valid(row) => {
                if row.deactivate {
                    self.deactivated += 1;
                } else {
                    self.people += 1;
                }
                if self.kept.len() < self.limit {
                    self.kept
                        .push((row.line, row.key.to_owned(), row.deactivate, row.values.to_vec()));
                }
            }
            RowEvent::Invalid { .. } => self.invalid += 1,
        }
    }
}
