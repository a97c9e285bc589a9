//! Appending to the log: imports, held imports and their approval or
//! rejection, rollbacks and repairs, each in one write transaction, with the
//! checks that keep the log's order (log end, time going forward) and the
//! encoder thread that chains the events' hashes.

use std::io::Read;

use redb::{ReadableTable, WriteTransaction};

use crate::digest::{self, FileRows, RowHash};
use crate::raw::{prune_raw, store_raw};
use crate::seal::{Keys, Sealer};
use crate::store::{Store, last_seq};
use crate::tables::{
    ABSENCE, DELIVERY, EVENTS, HELD_EVENTS, SNAPSHOT_BY_HASH, SNAPSHOTS, SOURCE_FILES, STATE, USER_EVENTS,
};
use crate::{
    Cause, Delivery, Erasure, Event, EventBody, EventKind, ForgetRequest, GENESIS_HASH, Hash32, NewSnapshot, Retention,
    SnapshotMeta, SnapshotStatus, StoreError, UserState, codec,
};

/// The result of appending an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// A new snapshot and its events were recorded.
    Appended(SnapshotMeta),
    /// The same file was already imported (found inside the transaction).
    AlreadyImported(SnapshotMeta),
}

/// An event to append: the person's key, what happened and, for an import,
/// the hash of the file row it came from (zero otherwise).
pub trait NewEvent: Send {
    fn into_parts(self) -> (String, EventKind, RowHash);
}

impl NewEvent for (String, EventKind) {
    fn into_parts(self) -> (String, EventKind, RowHash) {
        (self.0, self.1, RowHash::default())
    }
}

impl NewEvent for (String, EventKind, RowHash) {
    fn into_parts(self) -> (String, EventKind, RowHash) {
        self
    }
}

impl Store {
    /// The time check of [`check_time`] on a read transaction, before a
    /// refused append could reopen the file for writing (which rewrites its
    /// header): a refused append leaves the file byte for byte as it was.
    fn check_time_before_writing(&self, time: i64) -> Result<(), StoreError> {
        let txn = self.read()?;
        time_goes_forward(&txn.open_table(EVENTS)?, &txn.open_table(SNAPSHOTS)?, time)
    }

    /// Records an import: the snapshot, its events (in the order given, made
    /// lazily so a million of them need not sit in memory at once; all
    /// with cause `Import` of the new snapshot and time `received`), their
    /// pending deliveries and the state they project to — in one write
    /// transaction, so a crash leaves either all of it or none.
    ///
    /// `based_on` is the log end the events were computed against; if the
    /// log has moved since (another process imported meanwhile), nothing is
    /// written and [`StoreError::Conflict`] says to run again. Each event
    /// carries the hash of the file row it came from, and `rows` what the
    /// import learned of everyone else's (see [`FileRows`]).
    pub fn append_import(
        &self,
        based_on: u64,
        snapshot: NewSnapshot,
        events: impl IntoIterator<Item: NewEvent, IntoIter: Send>,
        raw: Option<&mut dyn Read>,
        rows: Option<FileRows>,
    ) -> Result<AppendOutcome, StoreError> {
        self.append_import_retaining(based_on, snapshot, events, raw, rows, None)
            .map(|(outcome, _)| outcome)
    }

    /// [`Store::append_import`], also forgetting `retention`'s leavers in
    /// the same write transaction, after the import's events (someone the
    /// file reactivates is active by then, and is not forgotten; so is
    /// anyone with events not yet delivered, left for a later import). When
    /// anyone was forgotten, the file is then rewritten as `forget` does, so
    /// no free page keeps their values. Returns the erasures made.
    pub fn append_import_retaining(
        &self,
        based_on: u64,
        snapshot: NewSnapshot,
        events: impl IntoIterator<Item: NewEvent, IntoIter: Send>,
        raw: Option<&mut dyn Read>,
        rows: Option<FileRows>,
        retention: Option<&Retention<'_>>,
    ) -> Result<(AppendOutcome, Vec<Erasure>), StoreError> {
        if self.already_read(&snapshot.file_hash, &snapshot.origin)?.is_none() {
            self.check_time_before_writing(snapshot.received)?;
        }
        let txn = self.write()?;
        let (meta, erasures) = {
            if let Some(meta) = crate::origin::already_read_in(&txn, &snapshot.file_hash, &snapshot.origin)? {
                return Ok((AppendOutcome::AlreadyImported(meta), Vec::new()));
            }
            check_log_end(&txn, based_on)?;
            let time = snapshot.received;
            check_time(&txn, time)?;
            let id = next_snapshot_id(&txn)?;
            // The raw copy first: its compressed chunks wait in memory.
            store_raw(&txn, &snapshot.file_hash, raw, self.keys.for_writing()?)?;
            let range = append_events(
                &txn,
                &self.keys,
                Cause::Import { snapshot: id },
                time,
                events,
                rows.as_ref(),
            )?;
            prune_raw(&txn, snapshot.prune_raw_before)?;
            {
                let mut absence = txn.open_table(ABSENCE)?;
                for (key, count) in &snapshot.absences {
                    if *count == 0 {
                        absence.remove(key.as_str())?;
                    } else {
                        absence.insert(key.as_str(), *count)?;
                    }
                }
            }
            let log_end = match range {
                Some((_, last)) => last,
                None => last_seq(&txn.open_table(EVENTS)?)?,
            };
            let origin = snapshot.origin;
            let meta = snapshot.into_meta(id, SnapshotStatus::Applied, range, log_end, None);
            record_snapshot(&txn, &meta, &origin)?;
            let erasures = match retention {
                Some(retention) => retain(&txn, &self.keys, retention, id, time)?,
                None => Vec::new(),
            };
            (meta, erasures)
        };
        txn.commit()?;
        if !erasures.is_empty() {
            self.rewrite()?;
        }
        Ok((AppendOutcome::Appended(meta), erasures))
    }

    /// Records an import a safeguard stopped: the snapshot (status `held`,
    /// with `reason`) and the events it would append, computed against log
    /// end `based_on`; nothing reaches the log or the state.
    pub fn append_held(
        &self,
        based_on: u64,
        snapshot: NewSnapshot,
        reason: String,
        events: impl IntoIterator<Item = (String, EventKind)>,
        raw: Option<&mut dyn Read>,
    ) -> Result<AppendOutcome, StoreError> {
        if self.already_read(&snapshot.file_hash, &snapshot.origin)?.is_none() {
            self.check_time_before_writing(snapshot.received)?;
        }
        let txn = self.write()?;
        let meta = {
            if let Some(meta) = crate::origin::already_read_in(&txn, &snapshot.file_hash, &snapshot.origin)? {
                return Ok(AppendOutcome::AlreadyImported(meta));
            }
            check_time(&txn, snapshot.received)?;
            let id = next_snapshot_id(&txn)?;
            let sealer = self.keys.for_writing()?;
            store_raw(&txn, &snapshot.file_hash, raw, sealer)?;
            {
                let mut held = txn.open_table(HELD_EVENTS)?;
                for (n, event) in (0u64..).zip(events) {
                    held.insert((id, n), crate::held::encode(id, n, &event, sealer)?.as_slice())?;
                }
            }
            let origin = snapshot.origin;
            let meta = snapshot.into_meta(id, SnapshotStatus::Held, None, based_on, Some(reason));
            record_snapshot(&txn, &meta, &origin)?;
            meta
        };
        txn.commit()?;
        Ok(AppendOutcome::Appended(meta))
    }

    /// Releases held snapshot `id`: its events are appended (cause
    /// `approval`) and it becomes `applied`. Refused with
    /// [`StoreError::Conflict`] when the log moved since it was held (its
    /// events no longer fit the state: reject it and import the file again).
    pub fn approve(&self, id: u64, time: i64) -> Result<SnapshotMeta, StoreError> {
        self.check_time_before_writing(time)?;
        let txn = self.write()?;
        let meta = {
            let mut meta = held_snapshot(&txn, id)?;
            check_log_end(&txn, meta.log_end)?;
            check_time(&txn, time)?;
            let log_end = meta.log_end;
            let events = {
                let mut held = txn.open_table(HELD_EVENTS)?;
                let events = read_held(&held, id, &self.keys)?;
                held.retain_in((id, 0)..=(id, u64::MAX), |_, _| false)?;
                events
            };
            let range = append_events(&txn, &self.keys, Cause::Approval { snapshot: id }, time, events, None)?;
            meta.status = SnapshotStatus::Applied;
            meta.events = range;
            meta.log_end = range.map_or(log_end, |(_, last)| last);
            txn.open_table(SNAPSHOTS)?
                .insert(id, codec::encode("snapshots", &meta)?.as_slice())?;
            meta
        };
        txn.commit()?;
        Ok(meta)
    }

    /// Discards held snapshot `id`: it becomes `rejected`, its events are
    /// dropped, and the same file may be imported again later.
    pub fn reject(&self, id: u64) -> Result<SnapshotMeta, StoreError> {
        let txn = self.write()?;
        let meta = {
            let mut meta = held_snapshot(&txn, id)?;
            txn.open_table(HELD_EVENTS)?
                .retain_in((id, 0)..=(id, u64::MAX), |_, _| false)?;
            meta.status = SnapshotStatus::Rejected;
            crate::origin::unindex_rejected(&txn, &meta)?;
            txn.open_table(SNAPSHOTS)?
                .insert(id, codec::encode("snapshots", &meta)?.as_slice())?;
            meta
        };
        txn.commit()?;
        Ok(meta)
    }

    /// Appends a rollback: compensating `events` (cause `Rollback { to }`,
    /// pending delivery), and every applied snapshot after `to` marked
    /// `rolled_back` — in one write transaction. `based_on` is the log end
    /// the events were computed against ([`StoreError::Conflict`] if the log
    /// moved). Returns the sequence numbers used.
    pub fn append_rollback(
        &self,
        based_on: u64,
        to: u64,
        time: i64,
        events: impl IntoIterator<Item = (String, EventKind), IntoIter: Send>,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        self.check_time_before_writing(time)?;
        let txn = self.write()?;
        let range = {
            check_log_end(&txn, based_on)?;
            check_time(&txn, time)?;
            let range = append_events(&txn, &self.keys, Cause::Rollback { to }, time, events, None)?;
            let mut snapshots = txn.open_table(SNAPSHOTS)?;
            let later: Vec<SnapshotMeta> = snapshots
                .range(to + 1..)?
                .map(|entry| {
                    entry
                        .map_err(StoreError::from)
                        .and_then(|(_, v)| codec::decode("snapshots", v.value()))
                })
                .collect::<Result<_, _>>()?;
            for mut meta in later
                .into_iter()
                .filter(|m: &SnapshotMeta| m.status == SnapshotStatus::Applied)
            {
                meta.status = SnapshotStatus::RolledBack;
                snapshots.insert(meta.id, codec::encode("snapshots", &meta)?.as_slice())?;
            }
            range
        };
        txn.commit()?;
        Ok(range)
    }

    /// Appends repair events (cause `Repair`, pending delivery) computed
    /// against log end `based_on`.
    pub fn append_repair(
        &self,
        based_on: u64,
        time: i64,
        events: impl IntoIterator<Item = (String, EventKind), IntoIter: Send>,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        self.check_time_before_writing(time)?;
        let txn = self.write()?;
        let range = {
            check_log_end(&txn, based_on)?;
            check_time(&txn, time)?;
            append_events(&txn, &self.keys, Cause::Repair, time, events, None)?
        };
        txn.commit()?;
        Ok(range)
    }

    /// Remembers that the remote file `name` (with this size and mtime)
    /// was imported as `snapshot`.
    pub fn record_source_file(&self, name: &str, size: u64, mtime: u64, snapshot: u64) -> Result<(), StoreError> {
        let txn = self.write()?;
        txn.open_table(SOURCE_FILES)?.insert(name, (size, mtime, snapshot))?;
        txn.commit()?;
        Ok(())
    }
}

/// Appends `events` after the last one, chaining hashes, projecting state and
/// marking each pending, and updates the state digest (with an import's
/// `rows`). Returns the range of sequence numbers used.
///
/// The events are encoded and hashed on a second thread while this one
/// does the inserts: at a million creations that is most of the work that
/// is not redb's, and it then costs no time.
fn append_events<I>(
    txn: &WriteTransaction,
    keys: &Keys,
    cause: Cause,
    time: i64,
    events: I,
    rows: Option<&FileRows>,
) -> Result<Option<(u64, u64)>, StoreError>
where
    I: IntoIterator<Item: NewEvent>,
    I::IntoIter: Send,
{
    let mut log = txn.open_table(EVENTS)?;
    let mut index = txn.open_multimap_table(USER_EVENTS)?;
    let mut state = txn.open_table(STATE)?;
    let mut delivery = txn.open_table(DELIVERY)?;
    let (mut seq, prev): (u64, Hash32) = match log.last()? {
        Some((k, v)) => (k.value(), Event::split(v.value())?.1),
        None => (0, GENESIS_HASH),
    };
    let first = seq + 1;
    let sealer = keys.for_writing()?;
    let pending = codec::encode("delivery", &Delivery::Pending)?;
    let mut changes = digest::Changes::default();
    let events = events.into_iter();
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let (tx, batches) = std::sync::mpsc::sync_channel::<Vec<Encoded>>(ENCODED_AHEAD);
        let encoder = scope.spawn(move || encode_events(events, cause, time, (first, prev), sealer, &tx));
        let mut inserted = || -> Result<(), StoreError> {
            for batch in &batches {
                for e in batch {
                    seq += 1;
                    let key = e.key.as_str();
                    let encoded_state = match (e.state, e.kind) {
                        // A creation reads nothing: `insert` reports a clash.
                        (Some(encoded), _) => {
                            if state.insert(key, encoded.as_slice())?.is_some() {
                                return Err(StoreError::Inconsistent(format!(
                                    "{key}: created a person who already exists"
                                )));
                            }
                            encoded
                        }
                        (None, kind) => {
                            let before = state
                                .get(key)?
                                .map(|v| UserState::decode(key, v.value(), keys))
                                .transpose()?;
                            let after = UserState::apply(before, &kind.unwrap_or(EventKind::Deactivated))
                                .map_err(|why| StoreError::Inconsistent(format!("{key}: {why}")))?;
                            let encoded = after.encode(key, sealer)?;
                            state.insert(key, encoded.as_slice())?;
                            encoded
                        }
                    };
                    let (active, hash) = UserState::decode_summary(&encoded_state)?;
                    changes.record(key, active, &hash, e.row);
                    log.insert(seq, e.event.as_slice())?;
                    index.insert(key, seq)?;
                    delivery.insert(seq, pending.as_slice())?;
                }
            }
            Ok(())
        };
        let result = inserted();
        drop(batches); // Stops the encoder if the inserts failed.
        let encoded = encoder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        result.and(encoded)
    })?;
    drop((log, index, state, delivery));
    digest::update(txn, &changes, first - 1, seq, rows)?;
    Ok((seq >= first).then_some((first, seq)))
}

/// Encoded batches the encoder may run ahead by.
const ENCODED_AHEAD: usize = 16;

/// Events per batch from the encoder.
const ENCODED_BATCH: usize = 512;

/// One event ready to insert.
struct Encoded {
    key: String,
    /// The stored event (chained to its predecessor).
    event: Vec<u8>,
    /// A creation's stored state; other kinds are applied to the state
    /// found in the store, so they travel as they are.
    state: Option<Vec<u8>>,
    kind: Option<EventKind>,
    /// The file row it came from, for the digest.
    row: RowHash,
}

/// The encoder thread: events to stored bytes (sealed with `sealer` in an
/// encrypted store), in order from sequence number `first`, hashes chained
/// from `prev`. Stops quietly when the receiver is gone.
fn encode_events(
    events: impl Iterator<Item: NewEvent>,
    cause: Cause,
    time: i64,
    (first, mut prev): (u64, Hash32),
    sealer: Option<&Sealer>,
    tx: &std::sync::mpsc::SyncSender<Vec<Encoded>>,
) -> Result<(), StoreError> {
    let mut batch = Vec::with_capacity(ENCODED_BATCH);
    for ((key, kind, row), seq) in events.map(NewEvent::into_parts).zip(first..) {
        let state = match &kind {
            EventKind::Created { record } => Some(UserState::encode_parts(true, record, &key, sealer)?),
            _ => None,
        };
        let body = EventBody { key, kind, cause, time };
        let (event, hash) = Event::encode_new(&body, &prev, seq, sealer)?;
        prev = hash;
        let EventBody { key, kind, .. } = body;
        batch.push(Encoded {
            key,
            event,
            kind: state.is_none().then_some(kind),
            state,
            row,
        });
        if batch.len() == ENCODED_BATCH
            && tx
                .send(std::mem::replace(&mut batch, Vec::with_capacity(ENCODED_BATCH)))
                .is_err()
        {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
    Ok(())
}

/// The id the next snapshot gets.
fn next_snapshot_id(txn: &WriteTransaction) -> Result<u64, StoreError> {
    Ok(txn.open_table(SNAPSHOTS)?.last()?.map_or(1, |(k, _)| k.value() + 1))
}

/// Stores a new snapshot, how it read its file, and its hash → id entry
/// (the latest read of the same bytes is the one the idempotency check sees).
fn record_snapshot(
    txn: &WriteTransaction,
    meta: &SnapshotMeta,
    origin: &crate::SnapshotOrigin,
) -> Result<(), StoreError> {
    txn.open_table(SNAPSHOTS)?
        .insert(meta.id, codec::encode("snapshots", meta)?.as_slice())?;
    txn.open_table(SNAPSHOT_BY_HASH)?.insert(&meta.file_hash, meta.id)?;
    crate::origin::record(txn, meta.id, origin)
}

/// Snapshot `id`, which must be held (for `approve` and `reject`).
fn held_snapshot(txn: &WriteTransaction, id: u64) -> Result<SnapshotMeta, StoreError> {
    let meta: SnapshotMeta = match txn.open_table(SNAPSHOTS)?.get(id)? {
        Some(v) => codec::decode("snapshots", v.value())?,
        None => return Err(StoreError::NoSuchSnapshot(id)),
    };
    if meta.status != SnapshotStatus::Held {
        return Err(StoreError::NotHeld {
            id,
            status: meta.status.name(),
        });
    }
    Ok(meta)
}

/// The events held snapshot `id` would append, in order.
pub(crate) fn read_held(
    table: &impl ReadableTable<(u64, u64), &'static [u8]>,
    id: u64,
    keys: &Keys,
) -> Result<Vec<(String, EventKind)>, StoreError> {
    let mut out = Vec::new();
    for entry in table.range((id, 0)..=(id, u64::MAX))? {
        let (k, v) = entry?;
        out.push(crate::held::decode(id, k.value().1, v.value(), keys)?);
    }
    Ok(out)
}

/// Forgets `retention`'s leavers inside an import's transaction (snapshot
/// `id`, time `time`), skipping anyone who may not be forgotten now.
fn retain(
    txn: &WriteTransaction,
    keys: &Keys,
    retention: &Retention<'_>,
    id: u64,
    time: i64,
) -> Result<Vec<Erasure>, StoreError> {
    let mut erasures = Vec::new();
    for leaver in retention.leavers {
        let mut raw_holding = leaver.raw_holding.clone();
        if leaver.in_this_file {
            raw_holding.push(id);
        }
        let request = ForgetRequest {
            key: &leaver.key,
            reason: retention.reason,
            by: Some(retention.by),
            time,
            raw_holding: &raw_holding,
        };
        match crate::erase::erase_in(txn, keys, &request) {
            Ok(erasure) => erasures.push(erasure),
            // Reactivated by this file, not yet delivered, in a held
            // import, or gone: the checks run before anything is written,
            // so nothing changed.
            Err(
                StoreError::StillActive { .. }
                | StoreError::Undelivered { .. }
                | StoreError::InHeldImport { .. }
                | StoreError::AlreadyForgotten { .. }
                | StoreError::NoSuchPerson { .. },
            ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(erasures)
}

/// Refuses with [`StoreError::Conflict`] unless the log still ends at
/// `based_on`: events computed against an older state must not be appended.
fn check_log_end(txn: &WriteTransaction, based_on: u64) -> Result<(), StoreError> {
    let log_end = last_seq(&txn.open_table(EVENTS)?)?;
    if log_end == based_on {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            expected: based_on,
            found: log_end,
        })
    }
}

/// Refuses with [`StoreError::TimeWentBackwards`] an append dated before the
/// last event or snapshot: the log's times only go forward, which is what
/// `show --as-of` and `events --since` rely on.
fn check_time(txn: &WriteTransaction, time: i64) -> Result<(), StoreError> {
    time_goes_forward(&txn.open_table(EVENTS)?, &txn.open_table(SNAPSHOTS)?, time)
}

fn time_goes_forward(
    events: &impl ReadableTable<u64, &'static [u8]>,
    snapshots: &impl ReadableTable<u64, &'static [u8]>,
    time: i64,
) -> Result<(), StoreError> {
    let last_event = match events.last()? {
        Some((seq, bytes)) => Some(Event::decode_skeleton(seq.value(), bytes.value())?.body.time),
        None => None,
    };
    let last_snapshot = match snapshots.last()? {
        Some((_, bytes)) => Some(codec::decode::<SnapshotMeta>("snapshots", bytes.value())?.received),
        None => None,
    };
    match last_event.max(last_snapshot) {
        Some(latest) if time < latest => Err(StoreError::TimeWentBackwards { time, latest }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{META, STATE_DIGEST};
    use crate::{Counts, EventFilter, FieldChange, Record, StateEntry};

    fn snapshot(hash: u8) -> NewSnapshot {
        NewSnapshot {
            file_hash: [hash; 32],
            source: format!("day{hash}.csv"),
            received: i64::from(hash) * 1_000_000,
            rows: 1,
            bytes: 10,
            header: vec!["Email".into()],
            mapped_columns: vec!["Email".into()],
            counts: Counts::default(),
            absences: vec![],
            prune_raw_before: 0,
            origin: Default::default(),
        }
    }

    fn created(key: &str, email: &str) -> (String, EventKind) {
        (
            key.to_owned(),
            EventKind::Created {
                record: Record::from_pairs([("email", email)]),
            },
        )
    }

    #[test]
    fn an_import_appends_chained_events_and_projects_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        let first = store
            .append_import(
                0,
                snapshot(1),
                vec![created("b", "b@x"), created("a", "a@x")],
                None,
                None,
            )
            .expect("append");
        let AppendOutcome::Appended(meta) = first else {
            panic!("expected a new snapshot")
        };
        assert_eq!((meta.id, meta.events, meta.log_end), (1, Some((1, 2)), 2));

        let change = FieldChange {
            field: "email".into(),
            old: Some("a@x".into()),
            new: Some("a2@x".into()),
        };
        let second = vec![
            ("a".to_owned(), EventKind::Updated { changes: vec![change] }),
            ("b".to_owned(), EventKind::Deactivated),
        ];
        store.append_import(2, snapshot(2), second, None, None).expect("append");

        let a = store.user_state("a").expect("read").expect("a exists");
        assert_eq!((a.active, a.record.get("email")), (true, Some("a2@x")));
        assert!(!store.user_state("b").expect("read").expect("b exists").active);

        let events = store.events(&EventFilter::default()).expect("events");
        assert_eq!(events.len(), 4);
        assert_eq!(events[0].0.prev_hash, GENESIS_HASH);
        for pair in events.windows(2) {
            assert_eq!(pair[1].0.prev_hash, pair[0].0.hash);
        }
        assert!(events.iter().all(|(_, d)| *d == Delivery::Pending));
        let history: Vec<u64> = store
            .user_events("a")
            .expect("history")
            .iter()
            .map(|(e, _)| e.seq)
            .collect();
        assert_eq!(history, vec![2, 3]);
    }

    /// The state as the import sees it: (key, active, hash prefix).
    fn scanned(store: &Store) -> Vec<(String, bool, [u8; 16])> {
        let mut out = Vec::new();
        store
            .for_each_state(|e| out.push((e.key.to_owned(), e.active, e.hash)))
            .expect("scan");
        out
    }

    /// The same, read from `state` itself.
    fn from_state(store: &Store) -> Vec<(String, bool, [u8; 16])> {
        let mut out = Vec::new();
        store
            .for_each_user(|key, s| {
                out.push((
                    key.to_owned(),
                    s.active,
                    StateEntry::from_state(key, s.active, &s.record.hash()).hash,
                ))
            })
            .expect("users");
        out
    }

    #[test]
    fn the_state_digest_follows_every_append_and_falls_back_when_stale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        // Enough people for several digest blocks, keys out of order.
        let key = |i: usize| format!("k{i:05}-{}", "x".repeat(i % 7));
        let people: Vec<_> = (0..30_000)
            .rev()
            .map(|i| created(&key(i), &format!("p{i}@x")))
            .collect();
        store.append_import(0, snapshot(1), people, None, None).expect("append");
        assert_eq!(scanned(&store).len(), 30_000);
        assert_eq!(scanned(&store), from_state(&store));

        let change = |from: &str, to: &str| FieldChange {
            field: "email".into(),
            old: Some(from.into()),
            new: Some(to.into()),
        };
        let second = vec![
            created("a-new", "new@x"),
            (key(0), EventKind::Deactivated),
            (
                key(12345),
                EventKind::Updated {
                    changes: vec![change("p12345@x", "q@x")],
                },
            ),
            created("zz-new", "zz@x"),
        ];
        store
            .append_import(30_000, snapshot(2), second, None, None)
            .expect("append");
        let after = scanned(&store);
        assert_eq!(after.len(), 30_002);
        assert_eq!(after, from_state(&store));
        assert!(!after.iter().any(|(k, active, _)| *k == key(0) && *active));
        assert!(store.verify().expect("verify").ok());

        // A digest that no longer matches the log end is not used...
        {
            let txn = store.write().expect("write");
            tag_digest_stale(&txn);
            txn.open_table(STATE_DIGEST)
                .expect("digest")
                .retain(|_, _| false)
                .expect("clear");
            txn.commit().expect("commit");
        }
        assert_eq!(scanned(&store), after, "read from state");
        // ... and the next append rebuilds it.
        store
            .append_import(30_004, snapshot(3), vec![created("b-new", "b@x")], None, None)
            .expect("append");
        assert_eq!(scanned(&store), from_state(&store));
        assert!(store.verify().expect("verify").ok());
    }

    /// Tags the digest as matching a log end it does not (a store from a
    /// build that did not keep it).
    fn tag_digest_stale(txn: &WriteTransaction) {
        txn.open_table(META)
            .expect("meta")
            .insert(digest::DIGEST_LOG_END, 1u64.to_le_bytes().as_slice())
            .expect("insert");
    }

    /// Row hashes as the next import sees them: key → row.
    fn rows_of(store: &Store) -> Vec<(String, RowHash)> {
        let mut out = Vec::new();
        store
            .for_each_state(|e| out.push((e.key.to_owned(), e.row)))
            .expect("scan");
        out
    }

    #[test]
    fn row_hashes_are_kept_for_imports_and_cleared_by_any_other_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        let with_row = |(key, kind): (String, EventKind), row: u8| (key, kind, [row; 16]);
        let events = vec![with_row(created("a", "a@x"), 1), with_row(created("b", "b@x"), 2)];
        let rows = |known: Vec<RowHash>| FileRows { key: [9; 32], known };
        store
            .append_import(0, snapshot(1), events, None, Some(rows(vec![])))
            .expect("append");
        assert_eq!(rows_of(&store), vec![("a".into(), [1; 16]), ("b".into(), [2; 16])]);
        assert_eq!(store.row_key().expect("row key"), Some([9; 32]));

        // An import with no events that learned new rows rewrites them...
        store
            .append_import(
                2,
                snapshot(2),
                Vec::<(String, EventKind)>::new(),
                None,
                Some(rows(vec![[3; 16], [2; 16]])),
            )
            .expect("append");
        assert_eq!(rows_of(&store), vec![("a".into(), [3; 16]), ("b".into(), [2; 16])]);
        // ... and refuses rows for another number of people.
        match store.append_import(
            2,
            snapshot(3),
            Vec::<(String, EventKind)>::new(),
            None,
            Some(rows(vec![[4; 16]])),
        ) {
            Err(StoreError::Inconsistent(why)) => assert!(why.contains("row hashes"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(rows_of(&store)[0].1, [3; 16]);

        // A change that is not an import's row clears the person's row.
        store
            .append_repair(2, 3_000_000, vec![("b".to_owned(), EventKind::Deactivated)])
            .expect("repair");
        assert_eq!(rows_of(&store), vec![("a".into(), [3; 16]), ("b".into(), [0; 16])]);
        assert!(
            store.verify().expect("verify").ok(),
            "rows are not the projection's business"
        );

        // A rebuilt digest knows no rows, and says so.
        {
            let txn = store.write().expect("write");
            tag_digest_stale(&txn);
            txn.commit().expect("commit");
        }
        assert_eq!(store.row_key().expect("row key"), None, "stale");
        store
            .append_repair(3, 3_000_001, vec![("a".to_owned(), EventKind::Deactivated)])
            .expect("repair");
        assert_eq!(rows_of(&store), vec![("a".into(), [0; 16]), ("b".into(), [0; 16])]);
        assert_eq!(store.row_key().expect("row key"), None);
    }

    /// Regression: an `AMPSYNC_NOW` earlier than the last import was
    /// accepted, and `show --as-of` then answered from the wrong events.
    #[test]
    fn an_append_dated_before_the_latest_entry_is_refused_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        store
            .append_import(0, snapshot(2), vec![created("a", "a@x")], None, None)
            .expect("append at 2 s");
        let before = store.events(&EventFilter::default()).expect("events");
        let earlier = snapshot(1);
        match store.append_import(1, earlier, vec![created("b", "b@x")], None, None) {
            Err(
                e @ StoreError::TimeWentBackwards {
                    time: 1_000_000,
                    latest: 2_000_000,
                },
            ) => assert_eq!(
                e.to_string(),
                "the time now (1970-01-01T00:00:01Z) is before the store's latest entry (1970-01-01T00:00:02Z): \
                 nothing was appended; check the system clock or AMPSYNC_NOW"
            ),
            other => panic!("expected TimeWentBackwards, got {other:?}"),
        }
        assert!(matches!(
            store.append_repair(1, 1_999_999, vec![created("c", "c@x")]),
            Err(StoreError::TimeWentBackwards { .. })
        ));
        assert!(matches!(
            store.append_held(1, snapshot(1), "held".into(), vec![created("d", "d@x")], None),
            Err(StoreError::TimeWentBackwards { .. })
        ));
        assert_eq!(store.events(&EventFilter::default()).expect("events"), before);
        assert_eq!(store.snapshots().expect("snapshots").len(), 1);
        // The same instant is not going backwards.
        store
            .append_repair(1, 2_000_000, vec![created("b", "b@x")])
            .expect("same time");
    }

    #[test]
    fn the_same_file_twice_and_a_moved_log_are_refused_without_writing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        store
            .append_import(0, snapshot(1), vec![created("a", "a@x")], None, None)
            .expect("append");
        match store.append_import(1, snapshot(1), vec![created("z", "z@x")], None, None) {
            Ok(AppendOutcome::AlreadyImported(meta)) => assert_eq!(meta.id, 1),
            other => panic!("expected AlreadyImported, got {other:?}"),
        }
        match store.append_import(0, snapshot(2), vec![created("z", "z@x")], None, None) {
            Err(StoreError::Conflict { expected: 0, found: 1 }) => {}
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(store.event_count().expect("count"), 1);
        assert!(store.user_state("z").expect("read").is_none());
    }
}
