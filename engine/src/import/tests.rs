//! Imports checked against the reference diff: whatever shortcut the
//! import takes (rows recognised by their bytes, the state index), the state
//! after each file must be what `diff::diff` says.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use ampsync_store::{Record, Store, UserState};
use proptest::prelude::*;

use super::{ImportOutcome, Input, import};
use crate::config::Config;
use crate::diff::{self, DiffPolicy};

thread_local! {
    /// What happens between the file's hash and its stream, once.
    static AFTER_HASH: RefCell<Option<Box<dyn FnOnce()>>> = RefCell::new(None);
}

/// The seam in `import`: runs the hook set by a test, if any.
pub(super) fn after_hash() {
    if let Some(hook) = AFTER_HASH.with(|h| h.borrow_mut().take()) {
        hook();
    }
}

/// Regression (issue 11, break 1): the file was opened twice, to hash it
/// and to parse it; a file renamed over it in between had its rows applied
/// under the first file's hash, and the first file was then "already
/// imported".
#[test]
fn a_file_renamed_over_the_input_mid_import_is_never_recorded_under_its_hash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("s.redb")).expect("store");
    let config = Config::parse("", Path::new("ampsync.toml")).expect("config");
    let a = b"Email,First name,Last name\na@x.io,Ann,Lee\n".to_vec();
    let b = b"Email,First name,Last name\nb@x.io,Bo,Chan\n".to_vec();
    let path = dir.path().join("users.csv");
    std::fs::write(&path, &a).expect("write a");
    let other = dir.path().join("users.csv.new");
    std::fs::write(&other, &b).expect("write b");
    let (from, to) = (other.clone(), path.clone());
    AFTER_HASH.with(|h| {
        *h.borrow_mut() = Some(Box::new(move || std::fs::rename(&from, &to).expect("rename b over a")));
    });

    let first = match import(&store, &config, &Input::File(path.clone()), None).expect("import") {
        ImportOutcome::Imported(report) => report.snapshot,
        other => panic!("not imported: {other:?}"),
    };
    assert_eq!(std::fs::read(&path).expect("read"), b, "the hook ran");
    assert_eq!(first.file_hash, *blake3::hash(&a).as_bytes());
    let keys: Vec<String> = store_state(&store).into_keys().collect();
    assert_eq!(keys, vec!["a@x.io".to_owned()], "A's rows under A's hash");
    assert_eq!(crate::raw::snapshot_bytes(&store, first.id).expect("kept"), a);

    // The file now at the path is B: a new snapshot under B's hash.
    match import(&store, &config, &Input::File(path), None).expect("import") {
        // Ann missing is all of the company: held, as B.
        ImportOutcome::Held(meta) => assert_eq!(meta.file_hash, *blake3::hash(&b).as_bytes()),
        other => panic!("B not taken as new: {other:?}"),
    }
}

/// The same bytes again are one hash and a lookup, from a file or a pipe.
#[test]
fn the_same_bytes_from_a_pipe_are_already_imported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("s.redb")).expect("store");
    let config = Config::parse("", Path::new("ampsync.toml")).expect("config");
    let text = b"Email,First name,Last name\na@x.io,Ann,Lee\n";
    let path = dir.path().join("users.csv");
    std::fs::write(&path, text).expect("write");
    let first = match import(&store, &config, &Input::File(path), None).expect("import") {
        ImportOutcome::Imported(report) => report.snapshot,
        other => panic!("not imported: {other:?}"),
    };
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    std::io::Write::write_all(&mut writer, text).expect("write to the pipe");
    drop(writer);
    let input = Input::Opened {
        file: std::fs::File::from(std::os::fd::OwnedFd::from(reader)),
        name: "pipe".into(),
    };
    match import(&store, &config, &input, None).expect("import") {
        ImportOutcome::AlreadyImported(meta) => assert_eq!(meta.id, first.id),
        other => panic!("not recognised: {other:?}"),
    }
}

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

/// A valid file of the kind the fuzz cases start from: quotes, a comma in a
/// value, non-ASCII names, an escaped team separator.
const FUZZ_BASE: &str = "Employee ID,First name,Last name,Email,Job title,Primary team,Secondary teams,Role\n\
E1,Zoë,Brontë,zoe@x.io,\"Head of Sales, EMEA\",Sales,\"Research\\, Development\",viewer\n\
E2,Ann,Lee,ann@x.io,Dev,Engineering,,admin\n\
E3,Bo,Chan,bo@x.io,\"Ops \"\"lead\"\"\",IT,Sales,learner\n";

/// Bytes a mutation is likely to make trouble with.
const FUZZ_BYTES: &[u8] = b"\",\r\n\0\\;\t\xEF\xBB\xBF\xFF\xFE\xC3\x80\x7F\x85";

/// One change to a file: overwrite, insert or delete at a position.
#[derive(Debug, Clone)]
enum Mutation {
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
}

fn arb_byte() -> impl Strategy<Value = u8> {
    prop_oneof![any::<u8>(), prop::sample::select(FUZZ_BYTES)]
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), arb_byte()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<prop::sample::Index>(), arb_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
    ]
}

/// Arbitrary bytes, or the base file with a few mutations.
fn arb_file() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(arb_byte(), 0..400),
        prop::collection::vec(arb_mutation(), 1..6).prop_map(|mutations| {
            let mut bytes = FUZZ_BASE.as_bytes().to_vec();
            for m in mutations {
                match m {
                    Mutation::Set(i, b) if !bytes.is_empty() => {
                        let at = i.index(bytes.len());
                        bytes[at] = b;
                    }
                    Mutation::Insert(i, b) => {
                        let at = i.index(bytes.len() + 1);
                        bytes.insert(at, b);
                    }
                    Mutation::Delete(i) if !bytes.is_empty() => {
                        bytes.remove(i.index(bytes.len()));
                    }
                    _ => {}
                }
            }
            bytes
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Fuzz (issue 11): whatever the bytes, an import returns (no panic),
    /// and an import that fails leaves the store file byte for byte as it
    /// was. The store holds the base file first, so rows are also looked
    /// up by their hashes.
    #[test]
    fn any_bytes_are_imported_or_refused_leaving_the_store_as_it_was(
        bytes in arb_file(),
        legacy in any::<bool>(),
        skip_rows in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.redb");
        let store = Store::open(&path).expect("store");
        let mut text = String::new();
        if legacy {
            text.push_str("[csv]\nencoding = \"windows-1252\"\n");
        }
        if skip_rows {
            text.push_str("[policy]\non_invalid_row = \"skip_row\"\n");
        }
        let config = Config::parse(&text, Path::new("ampsync.toml")).expect("config");
        let base = Input::Bytes { name: "base.csv".into(), bytes: FUZZ_BASE.as_bytes().to_vec() };
        prop_assert!(matches!(import(&store, &config, &base, None), Ok(ImportOutcome::Imported(_))));
        let before = std::fs::read(&path).expect("read the store");
        let input = Input::Bytes { name: "fuzz.csv".into(), bytes };
        if let Err(e) = import(&store, &config, &input, None) {
            prop_assert_eq!(std::fs::read(&path).expect("read the store"), before, "{}", e);
        }
    }
}
