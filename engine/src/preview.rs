//! A preview: a file read and mapped exactly as `import` reads it (the
//! same [`read_rows`] with the same config), its first records kept, and
//! nothing written. No store is needed: a row's place in Learn Amp (new,
//! changed, unchanged) is for `import` to say.

use std::collections::HashMap;
use std::io::Read;

use crate::config::Config;
use crate::import::Names;
use crate::ingest::{IngestError, ManagerBy, RowEvent, RowSink, read_rows};
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
        by_key: HashMap::new(),
        by_name: Names::default(),
    };
    let mut summary = read_rows(reader, file, config, 0, &mut sink)?;
    let records = sink
        .kept
        .iter()
        .map(|kept| {
            let mut record: std::collections::BTreeMap<String, FieldValue> = summary
                .layout
                .decode_record(&kept.values)
                .iter()
                .map(|(k, v)| (k.to_owned(), FieldValue::of(k, v)))
                .collect();
            // The manager cell resolved from the whole file, as `import`
            // does once it has read every row.
            if let Some(by) = summary.manager_by
                && !kept.manager.is_empty()
            {
                match sink.manager_email(by, &kept.manager) {
                    Ok(email) => {
                        record.insert("managerEmail".into(), FieldValue::of("managerEmail", email));
                    }
                    Err(why) => summary.warnings.push(format!(
                        "line {}: manager {:?} {why}; managerEmail left empty",
                        kept.line, kept.manager
                    )),
                }
            }
            PreviewRecord {
                line: kept.line,
                key: kept.key.clone(),
                active: !kept.deactivate,
                record,
            }
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
    kept: Vec<Kept>,
    /// Every valid row's email by key, and by folded "first last" (`None`:
    /// several people have that name), for resolving manager cells.
    by_key: HashMap<String, String>,
    by_name: Names,
    people: u64,
    deactivated: u64,
    invalid: u64,
    future_hires: u64,
}

/// A record kept for the preview, packed, with its manager cell.
struct Kept {
    line: u64,
    key: String,
    deactivate: bool,
    values: Vec<u8>,
    manager: String,
}

impl Collect {
    /// The email of the person a manager cell names, or why there is none.
    fn manager_email(&self, by: ManagerBy, cell: &str) -> Result<&str, &'static str> {
        match by {
            ManagerBy::Key => self
                .by_key
                .get(cell)
                .map(String::as_str)
                .ok_or("is no one's key in this file"),
            ManagerBy::Name => self.by_name.lookup(cell),
        }
    }
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
                self.by_key.insert(row.key.to_owned(), row.email.to_owned());
                self.by_name.add(row.name_key, row.email);
                if row.deactivate {
                    self.deactivated += 1;
                } else {
                    self.people += 1;
                }
                if self.kept.len() < self.limit {
                    self.kept.push(Kept {
                        line: row.line,
                        key: row.key.to_owned(),
                        deactivate: row.deactivate,
                        values: row.values.to_vec(),
                        manager: row.manager.to_owned(),
                    });
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

    #[test]
    fn managers_are_resolved_from_the_whole_file_as_import_does() {
        // Reports before and after their manager; an unknown and an
        // ambiguous manager leave managerEmail empty, with a warning.
        let cases = [
            (
                "[mapping]\nmanagerKey = \"Manager ID\"\n",
                "Employee ID,Email,First name,Last name,Manager ID\n2,r@x.io,R,Ray,1\n1,b@x.io,B,Boss,\n3,s@x.io,S,Sol,9\n",
                vec![Some("b@x.io"), None, None],
                "line 4: manager \"9\" is no one's key in this file; managerEmail left empty",
            ),
            (
                "[mapping]\nmanagerName = \"Reports to\"\n",
                "Employee ID,Email,First name,Last name,Reports to\n2,r@x.io,R,Ray,bo BÖSS\n1,b@x.io,Bo,Böss,\n3,s@x.io,Al,Lee,Al Lee\n4,t@x.io,Al,Lee,\n",
                vec![Some("b@x.io"), None, None, None],
                "line 4: manager \"Al Lee\" names several people in this file; managerEmail left empty",
            ),
        ];
        for (config, text, want, warning) in cases {
            let config = Config::parse(config, Path::new("ampsync.toml")).expect("config");
            let previewed = preview(text.as_bytes(), "f.csv", &config, usize::MAX).expect("preview");
            let got: Vec<Option<&str>> = previewed
                .records
                .iter()
                .map(|r| match r.record.get("managerEmail") {
                    Some(FieldValue::Text(email)) if !email.is_empty() => Some(email.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(got, want, "{text}");
            assert!(
                previewed.warnings.iter().any(|w| w == warning),
                "{:?}",
                previewed.warnings
            );
        }
    }
}
