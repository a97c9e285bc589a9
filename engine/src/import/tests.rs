//! Imports checked against the reference diff: whatever shortcut the
//! import takes (rows recognised by their bytes, the state index), the state
//! after each file must be what `diff::diff` says.

use std::collections::BTreeMap;
use std::path::Path;

use ampsync_store::{Record, Store, UserState};
use proptest::prelude::*;

use super::{ImportOutcome, Input, import};
use crate::config::Config;
use crate::diff::{self, DiffPolicy};

const KEYS: usize = 6;
const TITLES: [&str; 3] = ["Dev", "Ops", "Head of QA, EMEA"];

/// One person's row in one file.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    title: usize,
    /// 0: `eK@x.io`, 1: the same in capitals, 2: `eK.new@x.io`.
    email: usize,
    /// Whitespace around the first name (normalised away).
    padded: bool,
    deactivate: bool,
}

impl Row {
    fn csv(&self, k: usize) -> String {
        let email = match self.email {
            0 => format!("e{k}@x.io"),
            1 => format!("E{k}@X.IO"),
            _ => format!("e{k}.new@x.io"),
        };
        let first = if self.padded { "  Ann " } else { "Ann" };
        let flag = if self.deactivate { "yes" } else { "" };
        format!("E{k},{first},Lee,{email},\"{}\",{flag}\n", TITLES[self.title])
    }

    fn record(&self, k: usize) -> Record {
        let email = match self.email {
            2 => format!("e{k}.new@x.io"),
            _ => format!("e{k}@x.io"),
        };
        Record::from_pairs([
            ("email", email.as_str()),
            ("firstName", "Ann"),
            ("integrationExternalId", &format!("E{k}")),
            ("jobTitle", TITLES[self.title]),
            ("lastName", "Lee"),
        ])
    }
}

/// What happens to one person in one file: absent (`None`), their last row
/// again, byte for byte, also after an absence (`Some(None)`), or this row.
type Step = Option<Option<Row>>;

/// One file: a step for each person, and the order their rows are written in.
type Day = (Vec<Step>, Vec<usize>);

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => Just(None),
        4 => Just(Some(None)),
        3 => (0..TITLES.len(), 0usize..3, any::<bool>(), prop::bool::weighted(0.15)).prop_map(
            |(title, email, padded, deactivate)| Some(Some(Row { title, email, padded, deactivate }))
        ),
    ]
}

fn arb_days() -> impl Strategy<Value = Vec<Day>> {
    let day = (
        prop::collection::vec(arb_step(), KEYS),
        Just((0..KEYS).collect::<Vec<_>>()).prop_shuffle(),
    );
    prop::collection::vec(day, 1..6)
}

fn store_state(store: &Store) -> BTreeMap<String, UserState> {
    let mut out = BTreeMap::new();
    store
        .for_each_user(|key, state| {
            out.insert(key.to_owned(), state.clone());
        })
        .expect("state");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn each_import_leaves_the_state_the_reference_diff_gives(days in arb_days()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("s.redb")).expect("store");
        let mut config = Config::parse("", Path::new("ampsync.toml")).expect("config");
        // Small files change most of their people: no safeguard here.
        config.policy.max_deactivate_percent = f64::INFINITY;
        config.policy.max_change_percent = f64::INFINITY;
        let policy = DiffPolicy { deactivate_missing: true };
        let mut last: Vec<Option<Row>> = vec![None; KEYS];
        let mut expected: BTreeMap<String, UserState> = BTreeMap::new();
        for (n, (steps, order)) in days.iter().enumerate() {
            let mut text = String::from("Employee ID,First name,Last name,Email,Job title,deactivate\n");
            let mut snapshot = BTreeMap::new();
            for &k in order {
                let row = match steps[k] {
                    None => continue,
                    Some(None) => match last[k] {
                        Some(row) => row,
                        None => continue,
                    },
                    Some(Some(row)) => row,
                };
                last[k] = Some(row);
                text.push_str(&row.csv(k));
                snapshot.insert(format!("E{k}"), (row.record(k), row.deactivate));
            }
            if snapshot.is_empty() {
                continue;
            }
            let input = Input::Bytes { name: format!("day{n}.csv"), bytes: text.clone().into_bytes() };
            let outcome = import(&store, &config, &input, None).expect("import");
            let events = diff::diff(&expected, &snapshot, policy);
            match outcome {
                ImportOutcome::Imported(report) => {
                    prop_assert_eq!(report.snapshot.counts.events(), events.len() as u64, "{}", text);
                }
                // The same bytes as an earlier file: a no-op by design.
                ImportOutcome::AlreadyImported(_) => continue,
                ImportOutcome::Held(meta) => prop_assert!(false, "held: {:?}", meta.held_because),
            }
            for (key, kind) in &events {
                let after = UserState::apply(expected.get(key).cloned(), kind).map_err(TestCaseError::fail)?;
                expected.insert(key.clone(), after);
            }
            prop_assert_eq!(&store_state(&store), &expected, "after day {}:\n{}", n, text);
        }
    }
}
