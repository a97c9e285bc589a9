//! A model-based property test of the store (issue 14, item 6), in the
//! spirit of redb's fuzzing against a `BTreeMap`: random sequences of
//! imports (some held by the deactivation safeguard, then approved or
//! rejected), deliveries, retries, rollbacks, forgets, reopenings and
//! backups run against a real store file, and after every step every query
//! (log, filters, histories, state, digest, `--as-of`, snapshots, kept
//! files, deliveries, Learn Amp ids, absences, erasures, lookups by email,
//! `verify`) is checked against a plain in-memory model of what the store
//! should hold; a backup is checked the same way.
//!
//! It lives in the engine's tests because imports, rollbacks and forgets are
//! driven through the engine's public functions (the store cannot depend on
//! the engine): the events are the engine's, the row-hash shortcuts and the
//! state digest are exercised as in production, and the model derives what
//! each step should do from the rules alone (a person is created, updated,
//! deactivated or reactivated; a rollback compensates; a forget erases).
//!
//! Small population (8 keys), small alphabets (3 first names, 2 last names,
//! 3 job titles, a person's own 3 emails and one shared address), so repeats,
//! no-op rows, duplicate emails and byte-identical files all happen. A third
//! of the runs read files without a key column (people keyed by email, so a
//! forget files what remains under a pseudonym). `PROPTEST_CASES` raises the
//! number of cases (64 by default).
//!
//! Not modelled: `reimport` (it needs a second config), reconcile repairs
//! (they need Learn Amp), and the absence counters a held import computed:
//! `approve` does not apply them, so imports are held only in runs that
//! deactivate people at their first absence (which keep no counters).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use ampsync_engine::forget::{Forget, ForgetError, forget};
use ampsync_engine::raw::{RawError, snapshot_bytes, verify_raw};
use ampsync_engine::store::{
    Cause, Counts, Delivery, DeliveryUpdate, Erased, Erasure, Event, EventBody, EventFilter, EventKind, FieldChange,
    GENESIS_HASH, HASH_PREFIX, Hash32, Record, SnapshotMeta, SnapshotStatus, Store, StoreError, UserState,
};
use ampsync_engine::{
    AsOf, Config, ImportError, ImportOutcome, IngestError, Input, RollbackError, clock, field_changes, import,
    resolve_key, rollback, state_as_of,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// People, keyed `E0`..`E7`.
const KEYS: usize = 8;
const FIRST: [&str; 3] = ["Ann", "Bo", "Zoë"];
const LAST: [&str; 2] = ["Lee", "Chan"];
/// The last one is empty: the field is then absent from the record.
const TITLES: [&str; 3] = ["Dev", "Ops", ""];
const HEADER: &str = "Employee ID,First name,Last name,Email,Job title,deactivate\n";
/// A file without a key column: people are known by their email.
const HEADER_BY_EMAIL: &str = "First name,Last name,Email,Job title,deactivate\n";
/// 2026-01-05T06:00:00Z.
const START: i64 = 1_767_592_800_000_000;
const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
/// `store.keep_raw_days`' default.
const KEEP_RAW: i64 = 30 * DAY;

fn key(k: usize) -> String {
    format!("E{k}")
}

/// Which email a row gives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Email {
    /// `ek@x.io`.
    Own,
    /// `EK@X.IO`: the same once normalised.
    OwnCaps,
    /// `ek.new@x.io`.
    New,
    /// `shared@x.io`: two people with it make the file invalid.
    Shared,
}

/// One person's row in a file.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Row {
    first: usize,
    last: usize,
    email: Email,
    title: usize,
    deactivate: bool,
}

impl Row {
    fn email_text(&self, k: usize) -> String {
        match self.email {
            Email::Own => format!("e{k}@x.io"),
            Email::OwnCaps => format!("E{k}@X.IO"),
            Email::New => format!("e{k}.new@x.io"),
            Email::Shared => "shared@x.io".to_owned(),
        }
    }

    fn csv(&self, k: usize, by_email: bool) -> String {
        let flag = if self.deactivate { "yes" } else { "" };
        let id = if by_email { String::new() } else { format!("E{k},") };
        format!(
            "{id}{},{},{},{},{flag}\n",
            FIRST[self.first],
            LAST[self.last],
            self.email_text(k),
            TITLES[self.title]
        )
    }

    /// The person's key: `Ek`, or with no key column their email.
    fn key(&self, k: usize, by_email: bool) -> String {
        match by_email {
            true => self.email_text(k).to_lowercase(),
            false => key(k),
        }
    }

    /// The record the import makes of the row.
    fn record(&self, k: usize, by_email: bool) -> Record {
        let id = if by_email { String::new() } else { key(k) };
        Record::from_pairs([
            ("email", self.email_text(k).to_lowercase()),
            ("firstName", FIRST[self.first].to_owned()),
            ("lastName", LAST[self.last].to_owned()),
            ("integrationExternalId", id),
            ("jobTitle", TITLES[self.title].to_owned()),
        ])
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let email = match self.email {
            Email::Own => "own",
            Email::OwnCaps => "OWN",
            Email::New => "new",
            Email::Shared => "shared",
        };
        let title = match TITLES[self.title] {
            "" => "-",
            t => t,
        };
        write!(f, "{} {} {email} {title}", FIRST[self.first], LAST[self.last])?;
        if self.deactivate {
            f.write_str(" deactivate")?;
        }
        Ok(())
    }
}

/// What one person's line in a file is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    /// No row.
    Missing,
    /// The row they had in the last file that had them, byte for byte
    /// (missing if there was none).
    Again,
    /// This row.
    New(Row),
}

/// A file's steps, one per person in key order; shown on one line, the
/// people missing left out: `{E0: Ann Lee own Dev, E3: again}`.
#[derive(Clone, PartialEq, Eq)]
struct People(Vec<Step>);

impl fmt::Debug for People {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        let mut sep = "";
        for (k, step) in self.0.iter().enumerate() {
            match step {
                Step::Missing => continue,
                Step::Again => write!(f, "{sep}E{k}: again")?,
                Step::New(row) => write!(f, "{sep}E{k}: {row:?}")?,
            }
            sep = ", ";
        }
        f.write_str("}")
    }
}

/// How far the clock moves before a step that writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Gap {
    Same,
    Hour,
    Day,
    /// Past `store.keep_raw_days`: older raw files are pruned.
    Month,
}

impl Gap {
    fn micros(self) -> i64 {
        match self {
            Gap::Same => 0,
            Gap::Hour => HOUR,
            Gap::Day => DAY,
            Gap::Month => 31 * DAY,
        }
    }
}

/// What a delivery attempt came to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    Delivered,
    /// A transient fault (503).
    Waiting,
    /// Refused (422), with a message quoting the person's email.
    Failed,
}

/// Whom a forget names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    /// Person `Ek`, whatever their state (most such forgets are refused).
    Key(usize),
    /// The n-th (modulo their number) of the people the model holds as
    /// deactivated; person `E0` when there are none.
    Leaver(usize),
}

/// One step of a run.
#[derive(Clone, Debug)]
enum Op {
    /// Import a file with one step per person (in key order).
    Import { people: People, gap: Gap },
    /// Record this outcome for every due event of person `k`.
    Deliver { k: usize, outcome: Outcome },
    /// Deliver every due event.
    DeliverAll,
    /// `retry` person `k`'s refused events.
    Retry { k: usize },
    /// Roll back to the state after snapshot `to`.
    Rollback { to: u64, gap: Gap },
    /// Approve the held import (with none, the last import: refused).
    Approve { gap: Gap },
    /// Reject the held import (with none, the last import: refused).
    Reject,
    /// Forget someone, first delivering their due events if `push_first`
    /// (a forget waits for them).
    Forget { who: Who, push_first: bool },
    /// Close the store and open the same file again.
    Reopen,
    /// Take a backup and check it against the model as well.
    Backup,
}

fn arb_row() -> impl Strategy<Value = Row> {
    let email = prop_oneof![
        6 => Just(Email::Own),
        2 => Just(Email::OwnCaps),
        3 => Just(Email::New),
        1 => Just(Email::Shared),
    ];
    (
        0..FIRST.len(),
        0..LAST.len(),
        email,
        0..TITLES.len(),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(first, last, email, title, deactivate)| Row {
            first,
            last,
            email,
            title,
            deactivate,
        })
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => Just(Step::Missing),
        4 => Just(Step::Again),
        3 => arb_row().prop_map(Step::New),
    ]
}

fn arb_gap() -> impl Strategy<Value = Gap> {
    prop_oneof![
        2 => Just(Gap::Same),
        3 => Just(Gap::Hour),
        4 => Just(Gap::Day),
        1 => Just(Gap::Month),
    ]
}

fn arb_import() -> impl Strategy<Value = Op> {
    (prop::collection::vec(arb_step(), KEYS), arb_gap()).prop_map(|(people, gap)| Op::Import {
        people: People(people),
        gap,
    })
}

/// A run's steps: an import first (most steps need people), then any.
fn arb_ops() -> impl Strategy<Value = Vec<Op>> {
    (arb_import(), prop::collection::vec(arb_op(), 0..30)).prop_map(|(first, rest)| {
        let mut ops = vec![first];
        ops.extend(rest);
        ops
    })
}

fn arb_op() -> impl Strategy<Value = Op> {
    let outcome = prop_oneof![
        3 => Just(Outcome::Delivered),
        1 => Just(Outcome::Waiting),
        1 => Just(Outcome::Failed),
    ];
    let who = prop_oneof![
        1 => (0..KEYS).prop_map(Who::Key),
        3 => (0..KEYS).prop_map(Who::Leaver),
    ];
    prop_oneof![
        6 => arb_import(),
        3 => (0..KEYS, outcome).prop_map(|(k, outcome)| Op::Deliver { k, outcome }),
        2 => Just(Op::DeliverAll),
        1 => (0..KEYS).prop_map(|k| Op::Retry { k }),
        2 => (1u64..8, arb_gap()).prop_map(|(to, gap)| Op::Rollback { to, gap }),
        4 => (who, prop::bool::weighted(0.7)).prop_map(|(who, push_first)| Op::Forget { who, push_first }),
        1 => arb_gap().prop_map(|gap| Op::Approve { gap }),
        1 => Just(Op::Reject),
        1 => Just(Op::Reopen),
        1 => Just(Op::Backup),
    ]
}

/// An event as the model expects it.
#[derive(Clone, Debug)]
struct MEvent {
    key: String,
    kind: EventKind,
    cause: Cause,
    time: i64,
    erased: Option<Erased>,
    delivery: Delivery,
    /// (predecessor, own) hash, as first read from the store: they must
    /// never change (not even by an erasure).
    hashes: Option<(Hash32, Hash32)>,
}

/// A snapshot as the model expects it, with the file it came from.
#[derive(Clone, Debug)]
struct MSnapshot {
    meta: SnapshotMeta,
    bytes: Vec<u8>,
    /// A held snapshot's events, waiting for `approve`.
    held: Vec<(String, EventKind)>,
}

/// What the store should hold.
#[derive(Debug, Default)]
struct Model {
    /// The log; event `seq` is at `seq - 1`.
    log: Vec<MEvent>,
    state: BTreeMap<String, UserState>,
    absences: BTreeMap<String, u32>,
    snapshots: Vec<MSnapshot>,
    /// The files whose raw bytes are kept (by hash, as the store keeps them:
    /// a file read again after a rejection shares its copy).
    raw_kept: BTreeSet<Hash32>,
    remote_ids: BTreeMap<String, u64>,
    erasures: Vec<Erasure>,
    now: i64,
    /// The header and mapped columns every file has, as the first import
    /// recorded them.
    columns: Option<(Vec<String>, Vec<String>)>,
}

impl Model {
    fn apply(&mut self, key: &str, kind: EventKind, cause: Cause) -> Result<(), TestCaseError> {
        let after = UserState::apply(self.state.remove(key), &kind).map_err(TestCaseError::fail)?;
        self.state.insert(key.to_owned(), after);
        self.log.push(MEvent {
            key: key.to_owned(),
            kind,
            cause,
            time: self.now,
            erased: None,
            delivery: Delivery::Pending,
            hashes: None,
        });
        Ok(())
    }

    /// A person's state rebuilt from the events `included` lets through,
    /// as `show --as-of` does: an erased event leaves nothing to show.
    fn replay(&self, key: &str, included: impl Fn(u64, &MEvent) -> bool) -> Option<UserState> {
        let mut state = None;
        for (i, e) in self.log.iter().enumerate() {
            if e.key != key {
                continue;
            }
            if !included(i as u64 + 1, e) {
                break;
            }
            state = match e.erased {
                Some(_) => None,
                None => UserState::apply(state, &e.kind).ok(),
            };
        }
        state
    }

    /// Everyone's state after the events up to `log_end`, as rollback
    /// rebuilds it: a forgotten person is absent from it.
    fn state_at(&self, log_end: u64) -> BTreeMap<String, UserState> {
        let mut out = BTreeMap::new();
        for e in self.log.iter().take(log_end as usize) {
            match e.erased {
                Some(_) => {
                    out.remove(&e.key);
                }
                None => {
                    if let Ok(after) = UserState::apply(out.remove(&e.key), &e.kind) {
                        out.insert(e.key.clone(), after);
                    }
                }
            }
        }
        out
    }

    /// The snapshot the same bytes are known as: the latest read of them
    /// that was not rejected.
    fn by_hash(&self, hash: &Hash32) -> Option<&MSnapshot> {
        self.snapshots
            .iter()
            .rev()
            .find(|s| s.meta.file_hash == *hash && s.meta.status != SnapshotStatus::Rejected)
    }

    /// The key `text` names: a key the store knows, or an email someone
    /// has or had (the newest event that set or changed it wins).
    fn resolve(&self, text: &str) -> Option<String> {
        if self.state.contains_key(text) || self.log.iter().any(|e| e.key == text) {
            return Some(text.to_owned());
        }
        let email = text.trim().to_lowercase();
        if !email.contains('@') {
            return None;
        }
        if self.state.contains_key(&email) {
            return Some(email);
        }
        let sets = |e: &MEvent| match &e.kind {
            EventKind::Created { record } => record.get("email") == Some(email.as_str()),
            EventKind::Updated { changes } | EventKind::Reactivated { changes } => changes.iter().any(|c| {
                c.field == "email"
                    && (c.old.as_deref() == Some(email.as_str()) || c.new.as_deref() == Some(email.as_str()))
            }),
            EventKind::Deactivated => false,
        };
        self.log.iter().rev().find(|e| sets(e)).map(|e| e.key.clone())
    }

    /// The snapshot waiting for a person, if any.
    fn held(&self) -> Option<u64> {
        self.snapshots
            .iter()
            .find(|s| s.meta.status == SnapshotStatus::Held)
            .map(|s| s.meta.id)
    }

    fn due(&self) -> impl Iterator<Item = (u64, &MEvent)> {
        self.events().filter(|(_, e)| e.delivery.is_due())
    }

    fn events(&self) -> impl Iterator<Item = (u64, &MEvent)> {
        self.log.iter().enumerate().map(|(i, e)| (i as u64 + 1, e))
    }
}

/// The file for one import step, and what it says of each person.
struct File {
    bytes: Vec<u8>,
    rows: u64,
    people: BTreeMap<String, (Record, bool)>,
    duplicate_email: bool,
}

fn file(people: &[Step], last_rows: &mut [Option<Row>], by_email: bool) -> File {
    let mut text = String::from(if by_email { HEADER_BY_EMAIL } else { HEADER });
    let mut out = BTreeMap::new();
    let mut emails = BTreeSet::new();
    let mut duplicate_email = false;
    for (k, step) in people.iter().enumerate() {
        let row = match *step {
            Step::Missing => continue,
            Step::Again => match last_rows[k] {
                Some(row) => row,
                None => continue,
            },
            Step::New(row) => row,
        };
        last_rows[k] = Some(row);
        text.push_str(&row.csv(k, by_email));
        duplicate_email |= !emails.insert(row.email_text(k).to_lowercase());
        out.insert(row.key(k, by_email), (row.record(k, by_email), row.deactivate));
    }
    File {
        bytes: text.into_bytes(),
        rows: out.len() as u64,
        people: out,
        duplicate_email,
    }
}

/// One run: the store, its file, the config and the model.
struct Run {
    dir: tempfile::TempDir,
    path: PathBuf,
    store: Option<Store>,
    config: Config,
    model: Model,
    /// The last row written for each person, for `Step::Again`.
    last_rows: Vec<Option<Row>>,
    after_missing: u32,
    /// The files have no key column: people are keyed by email.
    by_email: bool,
    backups: u32,
}

impl Run {
    /// A run that deactivates people missing from `after_missing` imports
    /// in a row, and with `guard` holds an import that would deactivate
    /// more than a quarter of the active people.
    fn new(after_missing: u32, guard: bool, by_email: bool) -> Result<Run, TestCaseError> {
        let dir = tempfile::tempdir().map_err(fail)?;
        let path = dir.path().join("ampsync.redb");
        let store = Store::open(&path).map_err(fail)?;
        let mut config = Config::parse("", Path::new("ampsync.toml")).map_err(fail)?;
        // A handful of people change most of themselves each day: only the
        // deactivation safeguard is on, if any.
        config.policy.max_deactivate_percent = if guard { 25.0 } else { f64::INFINITY };
        config.policy.max_change_percent = f64::INFINITY;
        config.policy.min_rows = 0;
        config.policy.deactivate_after_missing = after_missing;
        Ok(Run {
            dir,
            path,
            store: Some(store),
            config,
            model: Model {
                now: START,
                ..Model::default()
            },
            last_rows: vec![None; KEYS],
            after_missing,
            by_email,
            backups: 0,
        })
    }

    /// Person `k`'s key: `Ek`, or their own first email.
    fn person(&self, k: usize) -> String {
        match self.by_email {
            true => format!("e{k}@x.io"),
            false => key(k),
        }
    }

    fn store(&self) -> Result<&Store, TestCaseError> {
        self.store.as_ref().ok_or_else(|| fail("the store is closed"))
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Import { people, gap } => self.import(&people.0, *gap),
            Op::Deliver { k, outcome } => {
                let key = self.person(*k);
                let seqs: Vec<u64> = self.model.due().filter(|(_, e)| e.key == key).map(|(s, _)| s).collect();
                self.deliver(&seqs, *outcome)
            }
            Op::DeliverAll => {
                let seqs: Vec<u64> = self.model.due().map(|(s, _)| s).collect();
                self.deliver(&seqs, Outcome::Delivered)
            }
            Op::Retry { k } => {
                let key = self.person(*k);
                let seqs: Vec<u64> = self
                    .model
                    .events()
                    .filter(|(_, e)| e.key == key && e.delivery.is_failed())
                    .map(|(s, _)| s)
                    .collect();
                if !seqs.is_empty() {
                    self.store()?.retry_events(&seqs).map_err(fail)?;
                    for s in seqs {
                        self.model.log[s as usize - 1].delivery = Delivery::Pending;
                    }
                }
                Ok(())
            }
            Op::Rollback { to, gap } => self.rollback(*to, *gap),
            Op::Approve { gap } => self.approve(*gap),
            Op::Reject => self.reject(),
            Op::Forget { who, push_first } => {
                let key = match *who {
                    Who::Key(k) => self.person(k),
                    Who::Leaver(n) => {
                        let leavers: Vec<&String> = self
                            .model
                            .state
                            .iter()
                            .filter(|(_, s)| !s.active)
                            .map(|(k, _)| k)
                            .collect();
                        match leavers.get(n % leavers.len().max(1)) {
                            Some(key) => (*key).clone(),
                            None => self.person(0),
                        }
                    }
                };
                if *push_first {
                    let seqs: Vec<u64> = self.model.due().filter(|(_, e)| e.key == key).map(|(s, _)| s).collect();
                    self.deliver(&seqs, Outcome::Delivered)?;
                }
                self.forget(&key).map_err(|e| fail(format!("forgetting {key}: {e}")))
            }
            Op::Reopen => {
                self.store = None;
                let store = Store::open_existing(&self.path).map_err(fail)?;
                prop_assert!(store.upgraded().is_none(), "a store of this build was upgraded");
                self.store = Some(store);
                Ok(())
            }
            Op::Backup => {
                self.backups += 1;
                let dest = self.dir.path().join(format!("backup-{}.redb", self.backups));
                self.store()?.backup(&dest, false).map_err(fail)?;
                let copy = Store::open_existing(&dest).map_err(fail)?;
                check(&copy, &mut self.model).map_err(|e| fail(format!("the backup: {e}")))
            }
        }
    }

    fn import(&mut self, people: &[Step], gap: Gap) -> Result<(), TestCaseError> {
        self.model.now += gap.micros();
        let file = file(people, &mut self.last_rows, self.by_email);
        let name = format!("day{}.csv", self.model.snapshots.len() + 1);
        let hash = *blake3::hash(&file.bytes).as_bytes();
        clock::pin(Some(self.model.now));
        let input = Input::Bytes {
            name: name.clone(),
            bytes: file.bytes.clone(),
        };
        let outcome = import(self.store()?, &self.config, &input, None);
        let text = String::from_utf8_lossy(&file.bytes).into_owned();

        // The same bytes read before: nothing happens, even after a rollback.
        if let Some(earlier) = self.model.by_hash(&hash) {
            match outcome {
                Ok(ImportOutcome::AlreadyImported(meta)) => prop_assert_eq!(meta.id, earlier.meta.id),
                other => prop_assert!(false, "expected already imported, got {:?}\n{}", other, text),
            }
            return Ok(());
        }
        if file.rows == 0 {
            match outcome {
                Err(ImportError::Ingest(IngestError::NoRows { .. })) => {}
                other => prop_assert!(false, "expected no rows, got {:?}", other),
            }
            return Ok(());
        }
        if file.duplicate_email {
            match outcome {
                Err(ImportError::InvalidRows { count, .. }) => prop_assert!(count >= 1),
                other => prop_assert!(false, "expected invalid rows, got {:?}\n{}", other, text),
            }
            return Ok(());
        }
        let found = match outcome {
            Ok(ImportOutcome::Imported(report)) => report.snapshot,
            Ok(ImportOutcome::Held(meta)) => meta,
            other => return Err(fail(format!("expected an import, got {other:?}\n{text}"))),
        };
        let (header, mapped) = self
            .model
            .columns
            .get_or_insert_with(|| (found.header.clone(), found.mapped_columns.clone()))
            .clone();

        // What the rules say the file does to each person, in key order.
        let id = self.model.snapshots.len() as u64 + 1;
        let mut events = Vec::new();
        let mut absences = BTreeMap::new();
        let keys: BTreeSet<String> = self.model.state.keys().chain(file.people.keys()).cloned().collect();
        for key in keys {
            let before = self.model.state.get(&key);
            let kind = match (before, file.people.get(&key)) {
                (None, Some((record, false))) => Some(EventKind::Created { record: record.clone() }),
                (None, _) => None,
                (Some(s), Some((_, true))) => s.active.then_some(EventKind::Deactivated),
                (Some(s), Some((record, false))) => {
                    let changes = field_changes(&s.record, record);
                    match (s.active, changes.is_empty()) {
                        (true, true) => None,
                        (true, false) => Some(EventKind::Updated { changes }),
                        (false, _) => Some(EventKind::Reactivated { changes }),
                    }
                }
                (Some(s), None) if s.active => {
                    let missed = self.model.absences.get(&key).copied().unwrap_or(0) + 1;
                    if missed >= self.after_missing {
                        Some(EventKind::Deactivated)
                    } else {
                        absences.insert(key.clone(), missed);
                        None
                    }
                }
                (Some(_), None) => None,
            };
            if let Some(kind) = kind {
                events.push((key, kind));
            }
        }
        let mut counts = Counts::default();
        for (_, kind) in &events {
            match kind {
                EventKind::Created { .. } => counts.created += 1,
                EventKind::Updated { .. } => counts.updated += 1,
                EventKind::Deactivated => counts.deactivated += 1,
                EventKind::Reactivated { .. } => counts.reactivated += 1,
            }
        }
        let mut meta = SnapshotMeta {
            id,
            file_hash: hash,
            source: name,
            received: self.model.now,
            rows: file.rows,
            bytes: file.bytes.len() as u64,
            header,
            counts,
            status: SnapshotStatus::Applied,
            events: None,
            log_end: self.model.log.len() as u64,
            mapped_columns: mapped,
            held_because: None,
        };
        self.model.raw_kept.insert(hash);

        // The safeguards: a held snapshot makes later imports wait; too many
        // deactivations hold one (when this run has the limit on).
        let active = self.model.state.values().filter(|s| s.active).count() as u64;
        let deactivating = counts.deactivated as f64 * 100.0 / active.max(1) as f64;
        let held_because = match self.model.held() {
            Some(held) => Some(format!(
                "snapshot {held} is held: later imports wait until it is approved or rejected"
            )),
            None if active > 0 && deactivating > self.config.policy.max_deactivate_percent => Some(format!(
                "it would deactivate {} of {active} active people ({deactivating:.1}%), above \
                 policy.max_deactivate_percent = {}",
                counts.deactivated, self.config.policy.max_deactivate_percent
            )),
            None => None,
        };
        if let Some(reason) = held_because {
            // Its events wait; the state, the absences and the kept files
            // of older imports are left as they are.
            meta.status = SnapshotStatus::Held;
            meta.held_because = Some(reason);
            prop_assert_eq!(&found, &meta, "{}", text);
            self.model.snapshots.push(MSnapshot {
                meta,
                bytes: file.bytes,
                held: events,
            });
            return Ok(());
        }
        self.model.absences = absences;
        let first = self.model.log.len() as u64 + 1;
        for (key, kind) in events {
            self.model.apply(&key, kind, Cause::Import { snapshot: id })?;
        }
        let log_end = self.model.log.len() as u64;
        meta.events = (log_end >= first).then_some((first, log_end));
        meta.log_end = log_end;
        self.prune_raw();
        prop_assert_eq!(&found, &meta, "{}", text);
        self.model.snapshots.push(MSnapshot {
            meta,
            bytes: file.bytes,
            held: Vec::new(),
        });
        Ok(())
    }

    /// An applied import drops the kept files received more than
    /// `keep_raw_days` ago (but a copy a later read of the same bytes still
    /// needs).
    fn prune_raw(&mut self) {
        let before = self.model.now - KEEP_RAW;
        let recent: BTreeSet<Hash32> = self
            .model
            .snapshots
            .iter()
            .filter(|s| s.meta.received >= before)
            .map(|s| s.meta.file_hash)
            .collect();
        for s in &self.model.snapshots {
            if s.meta.received < before && !recent.contains(&s.meta.file_hash) {
                self.model.raw_kept.remove(&s.meta.file_hash);
            }
        }
    }

    /// Approves the held snapshot (or, with none, the last one: refused).
    fn approve(&mut self, gap: Gap) -> Result<(), TestCaseError> {
        self.model.now += gap.micros();
        let id = self.model.held().unwrap_or(self.model.snapshots.len() as u64);
        let result = self.store()?.approve(id, self.model.now);
        let Some(index) = (id as usize).checked_sub(1).filter(|&i| i < self.model.snapshots.len()) else {
            prop_assert!(
                matches!(result, Err(StoreError::NoSuchSnapshot(n)) if n == id),
                "approve {}: {:?}",
                id,
                result
            );
            return Ok(());
        };
        let s = &self.model.snapshots[index];
        if s.meta.status != SnapshotStatus::Held {
            let status = s.meta.status.name();
            prop_assert!(
                matches!(&result, Err(StoreError::NotHeld { id: n, status: found }) if *n == id && *found == status),
                "approve {}: {:?}",
                id,
                result
            );
            return Ok(());
        }
        // Its events were computed against the log end it was held at.
        let log_end = self.model.log.len() as u64;
        if s.meta.log_end != log_end {
            let expected = s.meta.log_end;
            prop_assert!(
                matches!(result, Err(StoreError::Conflict { expected: e, found: f }) if e == expected && f == log_end),
                "approve {}: {:?}",
                id,
                result
            );
            return Ok(());
        }
        let found = result.map_err(fail)?;
        let events = std::mem::take(&mut self.model.snapshots[index].held);
        let first = log_end + 1;
        for (key, kind) in events {
            self.model.apply(&key, kind, Cause::Approval { snapshot: id })?;
        }
        let end = self.model.log.len() as u64;
        let meta = &mut self.model.snapshots[index].meta;
        meta.status = SnapshotStatus::Applied;
        meta.events = (end >= first).then_some((first, end));
        meta.log_end = end;
        prop_assert_eq!(&found, &*meta);
        Ok(())
    }

    /// Rejects the held snapshot (or, with none, the last one: refused).
    fn reject(&mut self) -> Result<(), TestCaseError> {
        let id = self.model.held().unwrap_or(self.model.snapshots.len() as u64);
        let result = self.store()?.reject(id);
        let Some(s) = (id as usize)
            .checked_sub(1)
            .and_then(|i| self.model.snapshots.get_mut(i))
        else {
            prop_assert!(
                matches!(result, Err(StoreError::NoSuchSnapshot(n)) if n == id),
                "reject {}: {:?}",
                id,
                result
            );
            return Ok(());
        };
        if s.meta.status != SnapshotStatus::Held {
            let status = s.meta.status.name();
            prop_assert!(
                matches!(&result, Err(StoreError::NotHeld { id: n, status: found }) if *n == id && *found == status),
                "reject {}: {:?}",
                id,
                result
            );
            return Ok(());
        }
        s.meta.status = SnapshotStatus::Rejected;
        s.held.clear();
        prop_assert_eq!(&result.map_err(fail)?, &s.meta);
        Ok(())
    }

    fn deliver(&mut self, seqs: &[u64], outcome: Outcome) -> Result<(), TestCaseError> {
        let now = self.model.now;
        let mut updates = Vec::new();
        for &seq in seqs {
            let event = &mut self.model.log[seq as usize - 1];
            let remote_id = (outcome == Outcome::Delivered).then(|| 1000 + seq);
            let email = event
                .kind
                .changes()
                .into_iter()
                .find(|c| c.field == "email")
                .and_then(|c| c.new);
            event.delivery = match outcome {
                Outcome::Delivered => Delivery::Delivered { time: now, remote_id },
                Outcome::Waiting => Delivery::Waiting {
                    attempts: event.delivery.attempts() + 1,
                    last_error: "HTTP 503".into(),
                    since: now,
                    time: now,
                },
                Outcome::Failed => Delivery::Failed {
                    attempts: event.delivery.attempts() + 1,
                    status: Some(422),
                    error: format!("email {} is not valid", email.unwrap_or_default()),
                    time: now,
                },
            };
            if let Some(id) = remote_id {
                self.model.remote_ids.insert(event.key.clone(), id);
            }
            updates.push(DeliveryUpdate {
                seq,
                key: event.key.clone(),
                delivery: event.delivery.clone(),
                remote_id,
            });
        }
        self.store()?.record_deliveries(&updates).map_err(fail)
    }

    fn rollback(&mut self, to: u64, gap: Gap) -> Result<(), TestCaseError> {
        self.model.now += gap.micros();
        clock::pin(Some(self.model.now));
        // A dry run first: the same events, nothing appended (the next
        // check finds the store unchanged if the real run is refused).
        let dry = rollback(self.store()?, to, true).ok();
        let result = rollback(self.store()?, to, false);
        let Some(target) = self.model.snapshots.get(to as usize - 1).map(|s| s.meta.log_end) else {
            prop_assert!(
                matches!(result, Err(RollbackError::NoSuchSnapshot(n)) if n == to),
                "expected no such snapshot, got {:?}",
                result
            );
            return Ok(());
        };
        let status = self.model.snapshots[to as usize - 1].meta.status;
        if matches!(status, SnapshotStatus::Held | SnapshotStatus::Rejected) {
            prop_assert!(
                matches!(&result, Err(RollbackError::NotApplied { id, status: found }) if *id == to && *found == status.name()),
                "rollback to {}: {:?}",
                to,
                result
            );
            return Ok(());
        }
        let done = result.map_err(fail)?;
        // Back to the state after `to`: people created since go (their data
        // kept), the others get their old values and active flag back.
        let then = self.model.state_at(target);
        let mut events = Vec::new();
        for (key, now) in &self.model.state {
            match then.get(key) {
                None if now.active => events.push((key.clone(), EventKind::Deactivated)),
                None => {}
                Some(then) => {
                    let changes = field_changes(&now.record, &then.record);
                    match (now.active, then.active) {
                        (false, true) => events.push((key.clone(), EventKind::Reactivated { changes })),
                        (true, false) => {
                            if !changes.is_empty() {
                                events.push((key.clone(), EventKind::Updated { changes }));
                            }
                            events.push((key.clone(), EventKind::Deactivated));
                        }
                        _ if !changes.is_empty() => events.push((key.clone(), EventKind::Updated { changes })),
                        _ => {}
                    }
                }
            }
        }
        prop_assert_eq!(&done.events, &events);
        prop_assert_eq!(
            dry.map(|d| (d.events, d.appended)),
            Some((events.clone(), None)),
            "dry run"
        );
        if events.is_empty() {
            prop_assert_eq!(done.appended, None);
            return Ok(());
        }
        let first = self.model.log.len() as u64 + 1;
        for (key, kind) in events {
            self.model.apply(&key, kind, Cause::Rollback { to })?;
        }
        prop_assert_eq!(done.appended, Some((first, self.model.log.len() as u64)));
        for s in self.model.snapshots.iter_mut().skip(to as usize) {
            if s.meta.status == SnapshotStatus::Applied {
                s.meta.status = SnapshotStatus::RolledBack;
            }
        }
        Ok(())
    }

    fn forget(&mut self, key: &str) -> Result<(), TestCaseError> {
        let key = key.to_owned();
        let result = forget(
            self.store()?,
            &Forget {
                key: &key,
                reason: "asked (article 17)",
                by: Some("dpo"),
                time: self.model.now,
            },
        );
        let model = &mut self.model;
        let known = model.log.iter().any(|e| e.key == key);
        let held_in = model
            .snapshots
            .iter()
            .find(|s| s.held.iter().any(|(k, _)| *k == key))
            .map(|s| s.meta.id);
        let refusal = match model.state.get(&key) {
            Some(s) if s.active => Some("still active"),
            Some(_) if held_in.is_some() => Some("in a held import"),
            Some(_) => model.due().any(|(_, e)| e.key == key).then_some("undelivered"),
            None if known => Some("already forgotten"),
            None => Some("no such person"),
        };
        if let Some(why) = refusal {
            let first_due = model.due().find(|(_, e)| e.key == key).map(|(s, _)| s);
            let matched = match &result {
                Err(ForgetError::Store(StoreError::StillActive { key: k })) => why == "still active" && *k == key,
                Err(ForgetError::Store(StoreError::Undelivered { key: k, seq })) => {
                    why == "undelivered" && *k == key && Some(*seq) == first_due
                }
                Err(ForgetError::Store(StoreError::InHeldImport { key: k, snapshot })) => {
                    why == "in a held import" && *k == key && Some(*snapshot) == held_in
                }
                Err(ForgetError::Store(StoreError::AlreadyForgotten { key: k })) => {
                    why == "already forgotten" && *k == key
                }
                Err(ForgetError::Store(StoreError::NoSuchPerson { key: k })) => why == "no such person" && *k == key,
                _ => false,
            };
            prop_assert!(matched, "forget {}: expected {}, got {:?}", key, why, result);
            return Ok(());
        }
        let erasure = result.map_err(fail)?;

        // The kept files that hold the person go: those with their key, or
        // any email they had, in any case (the import lowercased emails).
        let mut emails = BTreeSet::new();
        for e in model.log.iter().filter(|e| e.key == key) {
            for c in e.kind.changes().into_iter().filter(|c| c.field == "email") {
                emails.extend(c.old.into_iter().chain(c.new));
            }
        }
        let id = model.erasures.len() as u64 + 1;
        let mut raw_dropped = Vec::new();
        for s in &model.snapshots {
            let lower = s.bytes.to_ascii_lowercase();
            let holds = |haystack: &[u8], needle: &str| haystack.windows(needle.len()).any(|w| w == needle.as_bytes());
            if model.raw_kept.contains(&s.meta.file_hash)
                && (holds(&lower, &key.to_ascii_lowercase()) || emails.iter().any(|e| holds(&lower, e)))
            {
                model.raw_kept.remove(&s.meta.file_hash);
                raw_dropped.push(s.meta.id);
            }
        }
        // A key that is an email is personal itself: what remains is filed
        // under a pseudonym.
        let kept_key = if key.contains('@') {
            format!("forgotten-{id}")
        } else {
            key.clone()
        };
        let mut erased = Vec::new();
        for (i, e) in model.log.iter_mut().enumerate() {
            if e.key != key {
                continue;
            }
            e.key.clone_from(&kept_key);
            if e.erased.is_some() {
                continue;
            }
            e.erased = Some(Erased {
                erasure: id,
                fields: e.kind.changes().into_iter().map(|c| c.field).collect(),
            });
            e.kind = without_values(&e.kind);
            e.delivery = without_messages(&e.delivery);
            erased.push(i as u64 + 1);
        }
        model.state.remove(&key);
        model.remote_ids.remove(&key);
        model.absences.remove(&key);
        let expected = Erasure {
            id,
            key: kept_key,
            time: model.now,
            reason: "asked (article 17)".into(),
            by: Some("dpo".into()),
            events: erased,
            raw_dropped,
        };
        prop_assert_eq!(&erasure, &expected);
        model.erasures.push(expected);

        // No trace of the person's own addresses is left in the file, in
        // any case, free pages included (the shared one may be someone
        // else's).
        let bytes = std::fs::read(&self.path).map_err(fail)?.to_ascii_lowercase();
        for email in emails.iter().filter(|e| *e != "shared@x.io") {
            prop_assert!(
                !bytes.windows(email.len()).any(|w| w == email.as_bytes()),
                "{} survives forgetting {}",
                email,
                key
            );
        }
        Ok(())
    }
}

/// An erased event's kind: no record, changes with field names only.
fn without_values(kind: &EventKind) -> EventKind {
    let names = |changes: &[FieldChange]| {
        changes
            .iter()
            .map(|c| FieldChange {
                field: c.field.clone(),
                old: None,
                new: None,
            })
            .collect()
    };
    match kind {
        EventKind::Created { .. } => EventKind::Created {
            record: Record::default(),
        },
        EventKind::Updated { changes } => EventKind::Updated {
            changes: names(changes),
        },
        EventKind::Reactivated { changes } => EventKind::Reactivated {
            changes: names(changes),
        },
        EventKind::Deactivated => EventKind::Deactivated,
    }
}

/// A delivery status with Learn Amp's messages erased.
fn without_messages(delivery: &Delivery) -> Delivery {
    let erased = "(erased)".to_owned();
    match delivery.clone() {
        Delivery::Waiting {
            attempts, since, time, ..
        } => Delivery::Waiting {
            attempts,
            last_error: erased,
            since,
            time,
        },
        Delivery::Failed {
            attempts, status, time, ..
        } => Delivery::Failed {
            attempts,
            status,
            error: erased,
            time,
        },
        other => other,
    }
}

fn fail(e: impl fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// Every query of `store` against the model. The first time an event is
/// read, its hashes are recorded in the model; they must hold from then on.
fn check(store: &Store, model: &mut Model) -> Result<(), TestCaseError> {
    let log_end = model.log.len() as u64;
    prop_assert_eq!(store.log_end().map_err(fail)?, log_end);
    prop_assert_eq!(store.event_count().map_err(fail)?, log_end);

    // The whole log, with delivery status, hashes chained.
    let events = store.events(&EventFilter::default()).map_err(fail)?;
    prop_assert_eq!(events.len() as u64, log_end);
    let mut prev = GENESIS_HASH;
    for ((event, delivery), expected) in events.iter().zip(model.log.iter_mut()) {
        let hashes = *expected.hashes.get_or_insert((event.prev_hash, event.hash));
        prop_assert_eq!(
            (event.prev_hash, event.hash),
            hashes,
            "event {} was rehashed",
            event.seq
        );
        prop_assert_eq!(event.prev_hash, prev, "event {} does not link", event.seq);
        prev = event.hash;
        prop_assert_eq!(delivery, &expected.delivery, "delivery of event {}", event.seq);
    }
    let expected_events: Vec<(Event, Delivery)> = model.events().map(|(seq, e)| as_event(seq, e)).collect();
    prop_assert_eq!(&events, &expected_events);

    // The log filtered (`events --kind/--field/--since/--until`): an erased
    // event still says which fields it changed.
    let changed = |e: &Event, field: &str| match &e.erased {
        Some(erased) => erased.fields.iter().any(|f| f == field),
        None => e.body.kind.changes().iter().any(|c| c.field == field),
    };
    let mut filters: Vec<(EventFilter, Wanted)> = Vec::new();
    for kind in ["created", "updated", "deactivated", "reactivated"] {
        let filter = EventFilter {
            kinds: vec![kind.to_owned()],
            ..EventFilter::default()
        };
        filters.push((filter, Box::new(move |e: &Event| e.body.kind.name() == kind)));
    }
    for field in ["email", "jobTitle"] {
        let filter = EventFilter {
            field: Some(field.to_owned()),
            ..EventFilter::default()
        };
        filters.push((filter, Box::new(move |e: &Event| changed(e, field))));
    }
    let times: BTreeSet<i64> = model.snapshots.iter().map(|s| s.meta.received).collect();
    for &t in &times {
        let filter = EventFilter {
            since: Some(t),
            ..EventFilter::default()
        };
        filters.push((filter, Box::new(move |e: &Event| e.body.time >= t)));
        let filter = EventFilter {
            until: Some(t),
            ..EventFilter::default()
        };
        filters.push((filter, Box::new(move |e: &Event| e.body.time < t)));
    }
    for (filter, wanted) in &filters {
        let expected: Vec<_> = expected_events.iter().filter(|(e, _)| wanted(e)).cloned().collect();
        prop_assert_eq!(&store.events(filter).map_err(fail)?, &expected, "events {:?}", filter);
    }

    // Each person's history, state and state as of every snapshot: everyone
    // in the log (pseudonyms of the forgotten included), and a key and an
    // email no one has had yet.
    let mut keys: BTreeSet<String> = model.log.iter().map(|e| e.key.clone()).collect();
    keys.extend(["E7".to_owned(), "e7.new@x.io".to_owned()]);
    for key in keys {
        let history = store.user_events(&key).map_err(fail)?;
        let expected: Vec<_> = expected_events
            .iter()
            .filter(|(e, _)| e.body.key == key)
            .cloned()
            .collect();
        prop_assert_eq!(&history, &expected, "history of {}", key);
        let now = model.state.get(&key).cloned();
        prop_assert_eq!(store.user_state(&key).map_err(fail)?, now.clone(), "state of {}", key);
        prop_assert_eq!(
            state_as_of(store, &key, AsOf::Now).map_err(fail)?,
            now,
            "{} as of now",
            key
        );
        for s in &model.snapshots {
            let end = s.meta.log_end;
            prop_assert_eq!(
                state_as_of(store, &key, AsOf::Snapshot(s.meta.id)).map_err(fail)?,
                model.replay(&key, |seq, _| seq <= end),
                "{} as of snapshot {}",
                key,
                s.meta.id
            );
            let time = s.meta.received;
            prop_assert_eq!(
                state_as_of(store, &key, AsOf::Time(time)).map_err(fail)?,
                model.replay(&key, |_, e| e.time <= time),
                "{} as of {}",
                key,
                clock::format_micros(time)
            );
        }
    }
    prop_assert_eq!(state_as_of(store, "E99", AsOf::Now).map_err(fail)?, None);

    // Finding a person by an email they have or had (never a forgotten
    // person's: their emails are gone).
    for k in 0..KEYS {
        for text in [
            format!("e{k}@x.io"),
            format!("E{k}@X.IO"),
            format!("e{k}.new@x.io"),
            format!("E{k}"),
        ] {
            prop_assert_eq!(
                resolve_key(store, &text).map_err(fail)?,
                model.resolve(&text),
                "resolve {}",
                text
            );
        }
    }
    prop_assert_eq!(
        resolve_key(store, "shared@x.io").map_err(fail)?,
        model.resolve("shared@x.io")
    );

    // The projection: read whole, and as the import reads it (the digest).
    let mut users = BTreeMap::new();
    store
        .for_each_user(|key, s| {
            users.insert(key.to_owned(), s.clone());
        })
        .map_err(fail)?;
    prop_assert_eq!(&users, &model.state);
    prop_assert_eq!(store.state_len().map_err(fail)?, model.state.len() as u64);
    let mut scanned = Vec::new();
    let scanned_end = store
        .for_each_state(|e| scanned.push((e.key.to_owned(), e.active, e.hash)))
        .map_err(fail)?;
    prop_assert_eq!(scanned_end, log_end);
    let expected_scan: Vec<(String, bool, [u8; HASH_PREFIX])> = model
        .state
        .iter()
        .map(|(k, s)| {
            let mut prefix = [0; HASH_PREFIX];
            prefix.copy_from_slice(&s.record.hash()[..HASH_PREFIX]);
            (k.clone(), s.active, prefix)
        })
        .collect();
    prop_assert_eq!(scanned, expected_scan);

    // Snapshots, their events and their kept files.
    let snapshots = store.snapshots().map_err(fail)?;
    let expected_snapshots: Vec<SnapshotMeta> = model.snapshots.iter().map(|s| s.meta.clone()).collect();
    prop_assert_eq!(&snapshots, &expected_snapshots);
    for s in &model.snapshots {
        let id = s.meta.id;
        prop_assert_eq!(store.snapshot(id).map_err(fail)?, Some(s.meta.clone()));
        prop_assert_eq!(
            store.snapshot_by_hash(&s.meta.file_hash).map_err(fail)?.map(|m| m.id),
            model.by_hash(&s.meta.file_hash).map(|m| m.meta.id)
        );
        prop_assert_eq!(&store.held_events(id).map_err(fail)?, &s.held, "held events of {}", id);
        let filter = EventFilter {
            snapshot: Some(id),
            ..EventFilter::default()
        };
        let of_snapshot: Vec<_> = expected_events
            .iter()
            .filter(|(e, _)| e.body.cause.snapshot() == Some(id))
            .cloned()
            .collect();
        prop_assert_eq!(
            &store.events(&filter).map_err(fail)?,
            &of_snapshot,
            "events of snapshot {}",
            id
        );
        let kept = model.raw_kept.contains(&s.meta.file_hash);
        match snapshot_bytes(store, id) {
            Ok(bytes) => prop_assert!(kept && bytes == s.bytes, "snapshot {} kept wrongly", id),
            Err(RawError::NotKept(n)) => prop_assert!(!kept && n == id, "snapshot {}'s file is lost", id),
            Err(e) => return Err(fail(format!("the file of snapshot {id}: {e}"))),
        }
    }
    let kept = model
        .snapshots
        .iter()
        .filter(|s| model.raw_kept.contains(&s.meta.file_hash))
        .count() as u64;
    prop_assert_eq!(verify_raw(store).map_err(fail)?, (kept, vec![]));

    // Deliveries.
    let due: Vec<(Event, Delivery)> = model.due().map(|(seq, e)| as_event(seq, e)).collect();
    prop_assert_eq!(&store.undelivered().map_err(fail)?, &due);
    let failed: Vec<(Event, Delivery)> = model
        .events()
        .filter(|(_, e)| e.delivery.is_failed())
        .map(|(seq, e)| as_event(seq, e))
        .collect();
    prop_assert_eq!(&store.failed_events().map_err(fail)?, &failed);
    prop_assert_eq!(
        store.oldest_due().map_err(fail)?,
        due.first().map(|(e, _)| (e.seq, e.body.time))
    );
    let mut counts = BTreeMap::new();
    for e in &model.log {
        *counts.entry(e.delivery.name()).or_insert(0) += 1;
    }
    prop_assert_eq!(store.delivery_counts().map_err(fail)?, counts);
    let remote: BTreeMap<String, u64> = store.remote_ids().map_err(fail)?.into_iter().collect();
    prop_assert_eq!(&remote, &model.remote_ids);

    // Absences, erasures, and the tamper check.
    let absences: BTreeMap<String, u32> = store.absences().map_err(fail)?.into_iter().collect();
    prop_assert_eq!(&absences, &model.absences);
    prop_assert_eq!(&store.erasures().map_err(fail)?, &model.erasures);
    let report = store.verify().map_err(fail)?;
    prop_assert!(report.ok(), "verify: {:?}", report);
    prop_assert_eq!(report.events, log_end);
    prop_assert_eq!(
        report.erased,
        model.log.iter().filter(|e| e.erased.is_some()).count() as u64
    );
    Ok(())
}

/// Which events a filter should let through.
type Wanted = Box<dyn Fn(&Event) -> bool>;

fn as_event(seq: u64, e: &MEvent) -> (Event, Delivery) {
    let (prev_hash, hash) = e.hashes.unwrap_or_default();
    let event = Event {
        seq,
        body: EventBody {
            key: e.key.clone(),
            kind: e.kind.clone(),
            cause: e.cause,
            time: e.time,
        },
        prev_hash,
        hash,
        erased: e.erased.clone(),
    };
    (event, e.delivery.clone())
}

/// `PROPTEST_CASES`, else 64.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

proptest! {
    // The minimal failing case is printed; it is not written beside the
    // sources (an integration test has no lib.rs for proptest to find).
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Every query agrees with the model after every step.
    #[test]
    fn the_store_agrees_with_the_model_after_every_step(
        after_missing in 1u32..=2,
        guard in any::<bool>(),
        by_email in prop::bool::weighted(0.3),
        ops in arb_ops(),
    ) {
        let mut run = Run::new(after_missing, guard && after_missing == 1, by_email)?;
        let store = run.store.as_ref().ok_or_else(|| fail("the store is closed"))?;
        check(store, &mut run.model)?;
        for (n, op) in ops.iter().enumerate() {
            run.step(op).map_err(|e| fail(format!("step {n} ({op:?}): {e}")))?;
            let store = run.store.as_ref().ok_or_else(|| fail("the store is closed"))?;
            check(store, &mut run.model).map_err(|e| fail(format!("after step {n} ({op:?}): {e}")))?;
        }
    }
}
