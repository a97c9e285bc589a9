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
        future_hires: 0,
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
        skipped: summary.skipped_by_rule,
        invalid: sink.invalid,
        leavers_by_date: summary.leavers_by_date,
        future_hires: sink.future_hires,
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
    future_hires: u64,
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
                self.future_hires += u64::from(row.future_hire);
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use ampsync_store::Store;
    use proptest::prelude::*;

    use super::*;
    use crate::import::{Input, import};

    /// Cells a row is made of: valid, empty, malformed, quoted, non-ASCII.
    fn cell(choices: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
        prop::sample::select(choices)
    }

    fn arb_row() -> impl Strategy<Value = String> {
        (
            cell(&["E1", "E2", "E3", "E4", "", " E5 "]),
            cell(&["Ann", "Zoë", "\"Lee, Jr\"", "", "  Bo  "]),
            cell(&["Lee", "Brontë", "O'Brien", ""]),
            cell(&["a@x.io", "b@x.io", "C@X.IO", "not-an-email", ""]),
            cell(&["viewer", "learner", "Admin", "wizard", ""]),
            cell(&["Sales", "\"Research\\, Development\"", ""]),
            cell(&["", "no", "yes", "1", "maybe"]),
        )
            .prop_map(|(k, f, l, e, r, t, d)| format!("{k},{f},{l},{e},{r},{t},{d}\n"))
    }

    fn arb_file() -> impl Strategy<Value = String> {
        (prop::collection::vec(arb_row(), 1..8), any::<bool>()).prop_map(|(rows, email_key)| {
            let key = if email_key { "Staff no" } else { "Employee ID" };
            format!(
                "{key},First name,Last name,Email,Role,Secondary teams,Deactivate\n{}",
                rows.concat()
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the file, the records `preview` shows are the records
        /// `import` stores: the same people, field for field.
        #[test]
        fn preview_records_are_what_import_stores(text in arb_file()) {
            let config = Config::parse(
                "[policy]\non_invalid_row = \"skip_row\"\nmax_deactivate_percent = 100\nmax_change_percent = 100\n",
                Path::new("ampsync.toml"),
            ).expect("config");
            let previewed = preview(text.as_bytes(), "f.csv", &config, usize::MAX);
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Store::open(&dir.path().join("s.redb")).expect("store");
            let input = Input::Bytes { name: "f.csv".into(), bytes: text.clone().into_bytes() };
            let imported = import(&store, &config, &input, None);
            let previewed = match (previewed, imported) {
                (Ok(p), Ok(_)) => p,
                (Err(_), Err(_)) => return Ok(()),
                (p, i) => return Err(TestCaseError::fail(format!("preview {p:?}, import {i:?}\n{text}"))),
            };
            // A new person whose row says they have left is never created.
            let shown: BTreeMap<String, BTreeMap<String, FieldValue>> = previewed
                .records
                .into_iter()
                .filter(|r| r.active)
                .map(|r| (r.key, r.record))
                .collect();
            let mut stored = BTreeMap::new();
            store.for_each_user(|key, state| {
                let record = state.record.iter().map(|(k, v)| (k.to_owned(), FieldValue::of(k, v))).collect();
                stored.insert(key.to_owned(), record);
            }).expect("state");
            prop_assert_eq!(&shown, &stored, "{}", text);
            prop_assert_eq!(previewed.people, stored.len() as u64);
        }
    }
}
