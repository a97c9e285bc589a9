//! An import: one file turned into a snapshot and its events.
//!
//! 1. blake3 of the exact bytes; a file already read with the same config
//!    fingerprint stops here (see `ampsync_store::Store::already_read`).
//! 2. The state index is loaded from the store (keys, active flags, hashes).
//! 3. The file is streamed through ingest; each row is looked up in the
//!    index, first by its row hash (yesterday's exact bytes need no
//!    decoding), else by its key once decoded. Unchanged rows cost a lookup
//!    and nothing else; new and changed rows are kept, compactly, in an
//!    arena. Every row's hash is remembered for the next import.
//! 4. Changed people's old records are read and diffed field by field;
//!    active people the file did not mention are missing.
//! 5. The events, in key order, go to the store in one write transaction
//!    (records of new people are rebuilt from the arena one at a time).

mod input;
mod managers;

pub(crate) use managers::Names;

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ampsync_store::{
    AppendOutcome, Counts, EventKind, FileRows, NewSnapshot, Retention, RowHash, SnapshotMeta, SnapshotOrigin,
    SnapshotStatus, Store, StoreError,
};

use crate::clock::{self, ClockError};
use crate::config::{Config, OnInvalidRow};
use crate::diff::{self, DiffPolicy, Incoming};
use crate::index::{Claim, Lookup, Searched, StateIndex};
use crate::ingest::{self, FileLayout, IngestError, ManagerBy, Row, RowError, RowEvent, RowSink, SeenSet};
use crate::raw;
use crate::retention::{Plan, Watch};
use crate::safeguard::{self, Proposed};
pub use input::Input;
use input::Tee;

/// Why an import failed. In every case the store is as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{file} changed while it was being read (is it still being written?); nothing was imported")]
    Changed { file: String },
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("{file}: {count} invalid row(s); nothing was imported (policy.on_invalid_row = \"reject_file\")")]
    InvalidRows {
        file: String,
        errors: Vec<RowError>,
        count: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Clock(#[from] ClockError),
    /// Finding the leavers retention forgets failed.
    #[error(transparent)]
    Retention(#[from] crate::forget::ForgetError),
}

/// What an import did.
#[derive(Debug, Clone)]
pub enum ImportOutcome {
    /// The file's bytes were imported before, as this snapshot.
    AlreadyImported(SnapshotMeta),
    /// A new snapshot.
    Imported(ImportReport),
    /// Stopped by a safeguard: recorded as held (see `held_because`), its
    /// events kept aside until `approve` or `reject`.
    Held(SnapshotMeta),
}

/// The summary of a new snapshot.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub snapshot: SnapshotMeta,
    /// The rows skipped as invalid (`on_invalid_row = "skip_row"`), first ones.
    pub skipped: Vec<RowError>,
    /// What looks wrong with the file, though it was imported.
    pub warnings: Vec<String>,
    /// Rows with nothing in them (blank lines, `;;;;`), ignored.
    pub empty_rows: u64,
    pub elapsed: Duration,
    /// Rows a `[[skip]]` rule took.
    pub skipped_by_rule: u64,
    /// Rows whose `leaveDate` has come.
    pub leavers_by_date: u64,
    /// New people whose `startDate` is still to come (not created yet).
    pub future_hires: u64,
    /// Leavers forgotten by `policy.forget_leavers_after_days`, in the
    /// import's transaction.
    pub forgotten_by_retention: u64,
}

/// Imports `input` into `store`. `progress` is told how many bytes of the
/// file have been parsed so far.
pub fn import(
    store: &Store,
    config: &Config,
    input: &Input,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<ImportOutcome, ImportError> {
    import_as(store, config, input, progress, None)
}

/// [`import`], recording the snapshot as a re-import of `reimport_of`
/// when given (see `reimport.rs`).
pub(crate) fn import_as(
    store: &Store,
    config: &Config,
    input: &Input,
    progress: Option<&(dyn Fn(u64) + Sync)>,
    reimport_of: Option<u64>,
) -> Result<ImportOutcome, ImportError> {
    let started = Instant::now();
    let received = clock::now_micros()?;
    let name = input.name();
    let read_error = |source| ImportError::Read {
        path: PathBuf::from(&name),
        source,
    };

    // One handle for everything: a file renamed over this one meanwhile is
    // never read.
    let opened = input.open().map_err(read_error)?;
    let (file_hash, bytes) = opened.hash().map_err(read_error)?;
    #[cfg(test)]
    tests::after_hash();
    // The same bytes read the same way before: nothing to do.
    let origin = SnapshotOrigin {
        fingerprint: config.fingerprint.bytes(),
        reimport_of,
    };
    if let Some(meta) = store.already_read(&file_hash, &origin)? {
        tracing::info!(snapshot = meta.id, "{name} was already imported");
        return Ok(ImportOutcome::AlreadyImported(meta));
    }

    std::thread::scope(|scope| {
        // The raw copy is compressed beside the parsing, from the same stream.
        let (to_raw, raw) = match config.store.keep_raw_days {
            0 => (None, None),
            _ => {
                let (to_raw, chunks) = input::chunk_channel();
                (Some(to_raw), Some(raw::compress_in_background(scope, Box::new(chunks))))
            }
        };
        let new = NewFile {
            name: &name,
            file_hash,
            bytes,
            received,
            origin,
        };
        let stream = Tee::new(opened.reader(), to_raw);
        import_new(store, config, stream, progress, new, raw).map(|outcome| match outcome {
            ImportOutcome::Imported(report) => ImportOutcome::Imported(ImportReport {
                elapsed: started.elapsed(),
                ..report
            }),
            other => other,
        })
    })
}

/// A file not imported before.
struct NewFile<'a> {
    name: &'a str,
    file_hash: [u8; 32],
    bytes: u64,
    received: i64,
    origin: SnapshotOrigin,
}

fn import_new(
    store: &Store,
    config: &Config,
    mut stream: Tee<'_>,
    progress: Option<&(dyn Fn(u64) + Sync)>,
    new: NewFile<'_>,
    mut raw: Option<raw::Compressing>,
) -> Result<ImportOutcome, ImportError> {
    let NewFile {
        name,
        file_hash,
        bytes,
        received,
        origin,
    } = new;
    let read_error = |source| ImportError::Read {
        path: PathBuf::from(name),
        source,
    };
    let people = store.state_len()? as usize;
    let stored_row_key = store.row_key()?;
    // Rows to expect, for sizing sets up front (growing a million-entry set
    // rehashes it again and again): yesterday's head count, or for a first
    // import a guess from the size (capacity not used costs address space,
    // not memory).
    let expected = people.max((bytes / 128) as usize);
    let new_people = if people == 0 { expected } else { people / 64 };
    // Retention's leavers are known before the file is read, so that its
    // bytes can be watched for them (its kept copy then goes with them).
    let mut retention = match config.policy.forget_leavers_after_days {
        0 => None,
        days => Plan::find(store, days, received, config.zone())?,
    };
    let mut watch = retention.as_ref().map(Plan::watch);
    let reader = Counting {
        inner: &mut stream,
        read: 0,
        progress,
        watch: watch.as_mut(),
    };
    // The state index loads on a thread of its own while the file is being
    // parsed; rows wait for it in the pipeline (see `ingest`).
    let (summary, sink, based_on) = std::thread::scope(|scope| {
        // Yesterday's rows known by hash: they will most likely be found so.
        let searched = match stored_row_key {
            Some(_) => Searched::ByRowHash,
            None => Searched::ByKey,
        };
        let loader = scope.spawn(move || -> Result<(StateIndex, u64), StoreError> {
            let mut index = StateIndex::with_capacity(people, searched);
            let based_on = store.for_each_state(|e| index.push(e))?;
            tracing::debug!(people = index.len(), "loaded the state index");
            Ok((index, based_on))
        });
        let mut sink = Sink {
            loader: Some(loader),
            loaded: Ok((StateIndex::default(), 0)),
            new_keys: SeenSet::with_capacity(new_people),
            claimed: None,
            arena: Arena::default(),
            stored_row_key,
            row_key: [0; 32],
            by_hash: false,
            rows_learned: false,
            manager_by: managers::manager_by(config),
            future_hires: 0,
            last_unchanged: None,
            unchanged_refs: managers::UnchangedRefs::default(),
            names: Default::default(),
        };
        let summary = ingest::read_rows(reader, &display_name(name), config, expected, &mut sink);
        sink.wait_for_index();
        let based_on = match &sink.loaded {
            Ok((_, based_on)) => *based_on,
            Err(_) => 0,
        };
        let (key, learned) = (sink.row_key, sink.rows_learned);
        let Sink {
            loaded,
            arena,
            future_hires,
            unchanged_refs,
            names,
            ..
        } = sink;
        loaded.map(|(index, _)| {
            // Everyone's row hash when any changed, else the stored ones stand.
            let known = if learned { index.rows() } else { Vec::new() };
            let extra = (future_hires, unchanged_refs, names);
            (summary, (index, arena, FileRows { key, known }, extra), based_on)
        })
    })?;
    let (index, mut arena, rows, (future_hires, unchanged_refs, names)) = sink;
    let summary = summary?;
    // The bytes parsed (and compressed) must be the bytes hashed.
    if !stream.finish(&file_hash, bytes).map_err(read_error)? {
        return Err(ImportError::Changed {
            file: display_name(name),
        });
    }
    tracing::debug!(rows = summary.rows, kept = arena.rows.len(), "parsed the file");
    // Returned in the report, which the front ends show: not logged twice.
    for warning in &summary.warnings {
        tracing::debug!("{warning}");
    }

    if summary.error_count > 0 && config.policy.on_invalid_row == OnInvalidRow::RejectFile {
        return Err(ImportError::InvalidRows {
            file: display_name(name),
            errors: summary.errors,
            count: summary.invalid_rows,
        });
    }

    let policy = DiffPolicy {
        deactivate_missing: config.policy.deactivate_missing,
    };
    let all_absences = store.absences()?;
    let mut warnings = summary.warnings.clone();
    let mut rechecked = Vec::new();
    if let Some(by) = summary.manager_by {
        let resolved = managers::resolve(
            store,
            by,
            &mut arena,
            &index,
            &summary.layout,
            &all_absences,
            &unchanged_refs,
            &names,
        )?;
        rechecked = resolved.updates;
        for warning in &resolved.warnings {
            tracing::warn!("{warning}");
        }
        warnings.extend(resolved.warnings);
    }
    let (creates, mut decided) = plan_events(store, &arena, &summary.layout, policy)?;
    decided.extend(rechecked);
    let (missing, absences) = missing_people(&index, &all_absences, policy, config.policy.deactivate_after_missing);
    decided.extend(missing);
    decided.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    let mut counts = Counts {
        skipped: summary.invalid_rows,
        created: creates.len() as u64,
        ..Counts::default()
    };
    for (_, kind, _) in &decided {
        match kind {
            EventKind::Created { .. } => counts.created += 1,
            EventKind::Updated { .. } => counts.updated += 1,
            EventKind::Deactivated => counts.deactivated += 1,
            EventKind::Reactivated { .. } => counts.reactivated += 1,
        }
    }
    let snapshot = NewSnapshot {
        file_hash,
        source: name.to_owned(),
        received,
        rows: summary.rows,
        bytes,
        header: summary.header.clone(),
        mapped_columns: summary.mapped_columns.clone(),
        counts,
        absences,
        prune_raw_before: match config.store.keep_raw_days {
            0 => 0,
            days => received - i64::from(days) * 86_400_000_000,
        },
        origin,
    };
    let reason = hold_reason(store, config, &summary, counts, index.active() as u64)?;
    tracing::debug!(events = counts.events(), "writing the snapshot and its events");
    let layout = &summary.layout;
    let arena = &arena;
    let created = creates.into_iter().map(|row| {
        let r = &arena.rows[row as usize];
        (
            arena.key(r).to_owned(),
            EventKind::Created {
                record: arena.record(layout, r),
            },
            r.raw,
        )
    });
    let events = merge_by_key(created, decided.into_iter());
    // The exact bytes, compressed meanwhile, go into the same transaction.
    let raw = raw.as_mut().map(|r| r as &mut dyn Read);
    if let Some(reason) = reason {
        tracing::info!("held {name}: {reason}");
        let events = events.map(|(key, kind, _)| (key, kind));
        return Ok(match store.append_held(based_on, snapshot, reason, events, raw)? {
            AppendOutcome::Appended(meta) => ImportOutcome::Held(meta),
            AppendOutcome::AlreadyImported(meta) => ImportOutcome::AlreadyImported(meta),
        });
    }
    if let (Some(plan), Some(watch)) = (retention.as_mut(), watch.as_ref()) {
        plan.seen_in_file(watch);
    }
    let retention = retention.as_ref().map(|plan| Retention {
        reason: &plan.reason,
        by: crate::retention::BY,
        leavers: &plan.leavers,
    });
    let (meta, erasures) =
        match store.append_import_retaining(based_on, snapshot, events, raw, Some(rows), retention.as_ref())? {
            (AppendOutcome::Appended(meta), erasures) => (meta, erasures),
            (AppendOutcome::AlreadyImported(meta), _) => return Ok(ImportOutcome::AlreadyImported(meta)),
        };
    tracing::info!(snapshot = meta.id, events = counts.events(), "imported {name}");
    // Counted, never named: the log must not keep what was erased.
    if !erasures.is_empty() {
        tracing::info!(
            snapshot = meta.id,
            forgotten = erasures.len(),
            "retention forgot {} leaver(s) deactivated more than {} days ago",
            erasures.len(),
            config.policy.forget_leavers_after_days
        );
    }
    Ok(ImportOutcome::Imported(ImportReport {
        snapshot: meta,
        skipped: summary.errors,
        warnings,
        empty_rows: summary.empty_rows,
        elapsed: Duration::ZERO, // Set by `import`.
        skipped_by_rule: summary.skipped_by_rule,
        leavers_by_date: summary.leavers_by_date,
        future_hires,
        forgotten_by_retention: erasures.len() as u64,
    }))
}

/// Asks the safeguards whether this import must wait for a person.
fn hold_reason(
    store: &Store,
    config: &Config,
    summary: &ingest::FileSummary,
    counts: Counts,
    active: u64,
) -> Result<Option<String>, StoreError> {
    let snapshots = store.snapshots()?;
    let held = snapshots
        .iter()
        .find(|s| s.status == SnapshotStatus::Held)
        .map(|s| s.id);
    let last_applied = snapshots.iter().rev().find(|s| s.status == SnapshotStatus::Applied);
    let lost: Vec<String> = last_applied
        .map(|s| {
            // Lost from the file, not merely no longer mapped (a mapping fix).
            s.mapped_columns
                .iter()
                .filter(|c| !summary.mapped_columns.contains(c) && !summary.header.contains(c))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let proposed = Proposed {
        rows: summary.rows,
        counts,
        active,
        held,
        lost_columns: &lost,
    };
    Ok(safeguard::hold_reason(&config.policy, &proposed))
}

/// An event decided before writing: the person's key, what happened and
/// the row hash of the row it came from (zero for people missing).
type Decided = (String, EventKind, RowHash);

/// Decides the events for kept rows (reading old records for known people):
/// new people as arena rows in key order (their records stay packed until
/// they are written), and every other event.
fn plan_events(
    store: &Store,
    arena: &Arena,
    layout: &FileLayout,
    policy: DiffPolicy,
) -> Result<(Vec<u32>, Vec<Decided>), StoreError> {
    let known: Vec<&ArenaRow> = arena.rows.iter().filter(|r| r.known && !r.dropped).collect();
    let before = store.user_states(known.iter().map(|r| arena.key(r)))?;
    let mut creates: Vec<u32> = (0..arena.rows.len() as u32)
        .filter(|&row| !arena.rows[row as usize].known && !arena.rows[row as usize].dropped)
        .collect();
    creates.sort_unstable_by(|&a, &b| {
        arena
            .key(&arena.rows[a as usize])
            .cmp(arena.key(&arena.rows[b as usize]))
    });
    let mut decided = Vec::new();
    for (r, before) in known.into_iter().zip(before) {
        let record = arena.record(layout, r);
        let incoming = Incoming::Row {
            record: &record,
            deactivate: r.deactivate,
        };
        if let Some(kind) = diff::decide(before.as_ref(), incoming, policy) {
            decided.push((arena.key(r).to_owned(), kind, r.raw));
        }
    }
    Ok((creates, decided))
}

/// Two key-ordered event streams as one (keys are never in both).
fn merge_by_key<A, B>(a: A, b: B) -> impl Iterator<Item = Decided> + Send
where
    A: Iterator<Item = Decided> + Send,
    B: Iterator<Item = Decided> + Send,
{
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if y.0 < x.0 => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

/// Active people the file did not mention: deactivated once they have been
/// missing from `after` consecutive imports, else counted. Returns their
/// events and the absence counters to store (0 clears one: the person is
/// back, or gone for good).
fn missing_people(
    index: &StateIndex,
    absences: &std::collections::HashMap<String, u32>,
    policy: DiffPolicy,
    after: u32,
) -> (Vec<Decided>, Vec<(String, u32)>) {
    let mut planned = Vec::new();
    let mut counters = Vec::new();
    let mut still_missing = std::collections::HashSet::new();
    if policy.deactivate_missing {
        for key in index.unseen_active() {
            let missed = absences.get(key).copied().unwrap_or(0) + 1;
            if missed >= after {
                planned.push((key.to_owned(), EventKind::Deactivated, RowHash::default()));
            } else {
                counters.push((key.to_owned(), missed));
                still_missing.insert(key);
            }
        }
    }
    counters.extend(
        absences
            .keys()
            .filter(|k| !still_missing.contains(k.as_str()))
            .map(|k| (k.clone(), 0)),
    );
    (planned, counters)
}

/// Where the import takes the file's rows: each key is claimed in the
/// state index (its duplicate check for known people; new people have a
/// set of their own), and new and changed rows go to the arena.
struct Sink<'scope> {
    loader: Option<std::thread::ScopedJoinHandle<'scope, Result<(StateIndex, u64), StoreError>>>,
    loaded: Result<(StateIndex, u64), StoreError>,
    new_keys: SeenSet,
    /// The index entry of the key claimed last, when the state knows it.
    claimed: Option<usize>,
    arena: Arena,
    /// The row-hash key the index's row hashes were made with, if any.
    stored_row_key: Option<[u8; 32]>,
    /// This file's row-hash key.
    row_key: [u8; 32],
    /// It is the stored one: rows are looked up by hash.
    by_hash: bool,
    /// Some known person's row hash changed.
    rows_learned: bool,
    /// `managerKey` / `managerName`, when mapped.
    manager_by: Option<ManagerBy>,
    /// New people whose start day is still to come (not created).
    future_hires: u64,
    /// The index entry [`RowSink::unchanged_row`] took last.
    last_unchanged: Option<usize>,
    /// The manager cells of rows taken as unchanged.
    unchanged_refs: managers::UnchangedRefs,
    /// `managerName`: every valid row's folded name → email.
    names: managers::Names,
}

impl Sink<'_> {
    fn wait_for_index(&mut self) {
        if let Some(handle) = self.loader.take() {
            self.loaded = handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if !self.by_hash
                && let Ok((index, _)) = &mut self.loaded
            {
                // Rows hashed otherwise than the stored ones: all by key.
                index.search_by_key();
            }
        }
    }
}

impl RowSink for Sink<'_> {
    fn claim_key(&mut self, key: &str, line: u64) -> Option<u64> {
        self.wait_for_index();
        self.claimed = None;
        let Ok((index, _)) = &mut self.loaded else { return None };
        match index.claim(key, line) {
            Claim::Absent => self.new_keys.insert(key, line),
            Claim::First(i) => {
                self.claimed = Some(i);
                None
            }
            Claim::Repeat(first) => Some(first),
        }
    }

    fn row(&mut self, event: RowEvent<'_>) {
        self.wait_for_index();
        let claimed = self.claimed.take();
        let Ok((index, _)) = &mut self.loaded else { return };
        match event {
            RowEvent::Valid(row) => {
                // Once the import is written, this row describes them (the
                // diff is idempotent): tomorrow it needs no decoding.
                if let Some(i) = claimed {
                    self.rows_learned |= index.set_row(i, row.raw);
                }
                if self.manager_by == Some(ManagerBy::Name) {
                    self.names.add(row.name_key, row.email);
                }
                if row.future_hire && claimed.is_none() {
                    self.future_hires += 1; // Created on their start day.
                    return;
                }
                if self.manager_by.is_some() && !row.manager.is_empty() {
                    // Its managerEmail is known once the whole file is read:
                    // compared with the state then.
                    if claimed.is_some() || !row.deactivate {
                        self.arena.push(&row, claimed.is_some());
                        self.arena.pending(row.manager, row.line, claimed);
                    }
                    return;
                }
                match claimed.map(|i| index.compare(i, &row.hash)) {
                    None if !row.deactivate => self.arena.push(&row, false),
                    None => {}
                    Some(Lookup::Unchanged) if !row.deactivate => {}
                    Some(_) => self.arena.push(&row, true),
                }
            }
            RowEvent::Invalid { key: Some(key) } => index.mark_skipped(key),
            RowEvent::Invalid { key: None } => {}
        }
    }

    fn row_key(&mut self, key: &[u8; 32]) -> bool {
        self.row_key = *key;
        self.by_hash = self.stored_row_key == Some(*key);
        self.by_hash
    }

    fn unchanged_row(&mut self, raw: &RowHash, line: u64, also: &mut dyn FnMut() -> bool) -> bool {
        self.wait_for_index();
        let Ok((index, _)) = &mut self.loaded else { return false };
        match index.unclaimed_with_row(raw) {
            Some(i) if also() => {
                index.claim_entry(i, line);
                self.last_unchanged = Some(i);
                true
            }
            _ => false,
        }
    }

    fn unchanged_manager(&mut self, manager: &str, line: u64) {
        if let Some(i) = self.last_unchanged.take() {
            self.unchanged_refs.push(i, line, manager);
        }
    }
}

/// New and changed rows, packed: key bytes, email bytes then encoded
/// values, back to back.
#[derive(Default)]
struct Arena {
    bytes: Vec<u8>,
    rows: Vec<ArenaRow>,
    /// Rows whose managerEmail waits for the whole file: (row, manager
    /// cell, line, index entry when known).
    pending: Vec<(u32, String, u64, Option<usize>)>,
    /// Managers' emails read from the state ([`ManagerRef::Stored`]).
    managers: Vec<String>,
}

struct ArenaRow {
    start: usize,
    raw: RowHash,
    key_len: u32,
    email_len: u32,
    values_len: u32,
    deactivate: bool,
    /// The person is in the state (changed or returning), not new.
    known: bool,
    /// Found unchanged after all, once its manager was resolved.
    dropped: bool,
    /// Its resolved managerEmail.
    manager: ManagerRef,
}

/// Where an arena row's resolved managerEmail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ManagerRef {
    /// None resolved (or none asked for).
    None,
    /// The email of this arena row.
    Row(u32),
    /// This one of [`Arena::managers`].
    Stored(u32),
}

impl Arena {
    fn push(&mut self, row: &Row<'_>, known: bool) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(row.key.as_bytes());
        self.bytes.extend_from_slice(row.email.as_bytes());
        self.bytes.extend_from_slice(row.values);
        let values_len = (self.bytes.len() - start - row.key.len() - row.email.len()) as u32;
        self.rows.push(ArenaRow {
            start,
            raw: row.raw,
            key_len: row.key.len() as u32,
            email_len: row.email.len() as u32,
            values_len,
            deactivate: row.deactivate,
            known,
            dropped: false,
            manager: ManagerRef::None,
        });
    }

    /// The row pushed last waits for its manager (`manager`, on `line`).
    fn pending(&mut self, manager: &str, line: u64, entry: Option<usize>) {
        let row = self.rows.len() as u32 - 1;
        self.pending.push((row, manager.to_owned(), line, entry));
    }

    fn key(&self, r: &ArenaRow) -> &str {
        // Keys were pushed from `&str`, so they are UTF-8.
        std::str::from_utf8(&self.bytes[r.start..r.start + r.key_len as usize]).unwrap_or_default()
    }

    fn email(&self, r: &ArenaRow) -> &str {
        let start = r.start + r.key_len as usize;
        std::str::from_utf8(&self.bytes[start..start + r.email_len as usize]).unwrap_or_default()
    }

    fn values(&self, r: &ArenaRow) -> &[u8] {
        let start = r.start + r.key_len as usize + r.email_len as usize;
        &self.bytes[start..start + r.values_len as usize]
    }

    /// Row `r`'s record, with its resolved managerEmail.
    fn record(&self, layout: &FileLayout, r: &ArenaRow) -> ampsync_store::Record {
        let mut record = layout.decode_record(self.values(r));
        let email = match r.manager {
            ManagerRef::None => return record,
            ManagerRef::Row(m) => self.rows.get(m as usize).map_or("", |m| self.email(m)),
            ManagerRef::Stored(m) => self.managers.get(m as usize).map_or("", String::as_str),
        };
        record.set("managerEmail".into(), email.to_owned());
        record
    }
}

/// Counts bytes as ingest reads them, for the progress bar, and shows them
/// to retention's watch.
struct Counting<'p, R> {
    inner: R,
    read: u64,
    progress: Option<&'p (dyn Fn(u64) + Sync)>,
    watch: Option<&'p mut Watch>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if let Some(watch) = self.watch.as_deref_mut() {
            watch.feed(&buf[..n]);
        }
        if let Some(progress) = self.progress {
            progress(self.read);
        }
        Ok(n)
    }
}

/// The file name as messages show it: the last path component.
fn display_name(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests;
