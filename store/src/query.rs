//! The store's queries: snapshots, state, events and their delivery
//! status, absences, Learn Amp ids, remote files.

use redb::{MultimapTableHandle, ReadTransaction, ReadableTable, ReadableTableMetadata, TableError, TableHandle};

use crate::append::read_held;
use crate::digest::{self, StateEntry};
use crate::store::{Store, last_seq};
use crate::tables::{
    ABSENCE, DELIVERY, EVENTS, HELD_EVENTS, META, REMOTE_IDS, SNAPSHOT_BY_HASH, SNAPSHOTS, SOURCE_FILES, STATE,
    USER_EVENTS,
};
use crate::{Delivery, Event, EventBody, EventKind, SnapshotMeta, StoreError, UserState, codec};

/// Which events a query wants. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Microseconds since the epoch, inclusive.
    pub since: Option<i64>,
    /// Microseconds since the epoch, exclusive.
    pub until: Option<i64>,
    /// Event kind names (`created`, `updated`, …).
    pub kinds: Vec<String>,
    /// Only events that changed this field.
    pub field: Option<String>,
    /// Only events of this snapshot.
    pub snapshot: Option<u64>,
}

impl EventFilter {
    fn matches(&self, e: &EventBody) -> bool {
        self.since.is_none_or(|t| e.time >= t)
            && self.until.is_none_or(|t| e.time < t)
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k == e.kind.name()))
            && self
                .field
                .as_deref()
                .is_none_or(|f| e.kind.changes().iter().any(|c| c.field == f))
            && self.snapshot.is_none_or(|s| e.cause.snapshot() == Some(s))
    }
}

impl Store {
    /// The snapshot that imported a file with this hash, if any.
    pub fn snapshot_by_hash(&self, hash: &[u8; 32]) -> Result<Option<SnapshotMeta>, StoreError> {
        let txn = self.read()?;
        let id = txn.open_table(SNAPSHOT_BY_HASH)?.get(hash)?.map(|g| g.value());
        match id {
            Some(id) => self.snapshot_in(&txn, id),
            None => Ok(None),
        }
    }

    /// Snapshot `id`.
    pub fn snapshot(&self, id: u64) -> Result<Option<SnapshotMeta>, StoreError> {
        self.snapshot_in(&self.read()?, id)
    }

    fn snapshot_in(&self, txn: &ReadTransaction, id: u64) -> Result<Option<SnapshotMeta>, StoreError> {
        match txn.open_table(SNAPSHOTS)?.get(id)? {
            Some(v) => Ok(Some(codec::decode("snapshots", v.value())?)),
            None => Ok(None),
        }
    }

    /// All snapshots, oldest first.
    pub fn snapshots(&self) -> Result<Vec<SnapshotMeta>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(SNAPSHOTS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (_, v) = entry?;
            out.push(codec::decode("snapshots", v.value())?);
        }
        Ok(out)
    }

    /// Visits every person in the projected state, in key order, reading
    /// only their key, active flag and record hash prefix (from the state
    /// digest when it is current, else from `state`). Returns the log's end
    /// (last sequence number) the state corresponds to: pass it to
    /// [`Store::append_import`] as `based_on`.
    pub fn for_each_state(&self, mut f: impl FnMut(StateEntry<'_>)) -> Result<u64, StoreError> {
        let txn = self.read()?;
        let log_end = last_seq(&txn.open_table(EVENTS)?)?;
        if !digest::each_if_current(&txn, log_end, &mut f)? {
            digest::each_in_state(&txn.open_table(STATE)?, |e| {
                f(e);
                Ok(())
            })?;
        }
        Ok(log_end)
    }

    /// The key the state digest's row hashes were made with, if it has any
    /// that are current (see [`FileRows`]).
    pub fn row_key(&self) -> Result<Option<[u8; 32]>, StoreError> {
        let txn = self.read()?;
        let log_end = last_seq(&txn.open_table(EVENTS)?)?;
        let meta = match txn.open_table(META) {
            Ok(meta) => meta,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if digest::log_end_of(&meta)? != Some(log_end) {
            return Ok(None);
        }
        digest::row_key(&meta)
    }

    /// Visits every person in the projected state with their full record.
    pub fn for_each_user(&self, mut f: impl FnMut(&str, &UserState)) -> Result<(), StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(STATE)?;
        for entry in table.iter()? {
            let (k, v) = entry?;
            f(k.value(), &UserState::decode(k.value(), v.value(), &self.keys)?);
        }
        Ok(())
    }

    /// Number of people in the projected state (active or not).
    pub fn state_len(&self) -> Result<u64, StoreError> {
        Ok(self.read()?.open_table(STATE)?.len()?)
    }

    /// One person's current state.
    pub fn user_state(&self, key: &str) -> Result<Option<UserState>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(STATE)?;
        table
            .get(key)?
            .map(|v| UserState::decode(key, v.value(), &self.keys))
            .transpose()
    }

    /// Several people's current state, read in one transaction.
    pub fn user_states<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<Vec<Option<UserState>>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(STATE)?;
        keys.into_iter()
            .map(|k| {
                table
                    .get(k)?
                    .map(|v| UserState::decode(k, v.value(), &self.keys))
                    .transpose()
            })
            .collect()
    }

    /// The events held snapshot `id` would append.
    pub fn held_events(&self, id: u64) -> Result<Vec<(String, EventKind)>, StoreError> {
        let txn = self.read()?;
        let table = match txn.open_table(HELD_EVENTS) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        read_held(&table, id, &self.keys)
    }

    /// Everyone currently counted as missing: key → consecutive imports.
    pub fn absences(&self) -> Result<std::collections::HashMap<String, u32>, StoreError> {
        let txn = self.read()?;
        let table = match txn.open_table(ABSENCE) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Default::default()),
            Err(e) => return Err(e.into()),
        };
        let mut out = std::collections::HashMap::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            out.insert(k.value().to_owned(), v.value());
        }
        Ok(out)
    }

    /// The log's last sequence number (0 when empty).
    pub fn log_end(&self) -> Result<u64, StoreError> {
        last_seq(&self.read()?.open_table(EVENTS)?)
    }

    /// Events matching `filter`, oldest first, each with its delivery status.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<(Event, Delivery)>, StoreError> {
        let txn = self.read()?;
        let range = match filter.snapshot {
            Some(id) => match self.snapshot_in(&txn, id)? {
                Some(meta) => meta.events,
                None => return Err(StoreError::NoSuchSnapshot(id)),
            },
            None => Some((1, u64::MAX)),
        };
        let Some((first, last)) = range else {
            return Ok(Vec::new());
        };
        let events = txn.open_table(EVENTS)?;
        let delivery = txn.open_table(DELIVERY)?;
        let mut out = Vec::new();
        for entry in events.range(first..=last)? {
            let (seq, bytes) = entry?;
            let event = Event::decode(seq.value(), bytes.value(), &self.keys)?;
            if filter.matches(&event.body) {
                let status = delivery_of(&delivery, event.seq)?;
                out.push((event, status));
            }
        }
        Ok(out)
    }

    /// One person's events, oldest first, each with its delivery status.
    pub fn user_events(&self, key: &str) -> Result<Vec<(Event, Delivery)>, StoreError> {
        let txn = self.read()?;
        let index = txn.open_multimap_table(USER_EVENTS)?;
        let events = txn.open_table(EVENTS)?;
        let delivery = txn.open_table(DELIVERY)?;
        let mut out = Vec::new();
        for seq in index.get(key)? {
            let seq = seq?.value();
            let bytes = events
                .get(seq)?
                .ok_or_else(|| StoreError::Inconsistent(format!("event {seq} indexed but missing")))?;
            out.push((
                Event::decode(seq, bytes.value(), &self.keys)?,
                delivery_of(&delivery, seq)?,
            ));
        }
        Ok(out)
    }

    /// Events the next push sends ([`Delivery::is_due`]), in sequence
    /// order, each with its status.
    pub fn undelivered(&self) -> Result<Vec<(Event, Delivery)>, StoreError> {
        self.events_with_status(Delivery::is_due)
    }

    /// Events Learn Amp refused ([`Delivery::Failed`]), in sequence order:
    /// they wait for a person, or for a later change to the same person.
    pub fn failed_events(&self) -> Result<Vec<(Event, Delivery)>, StoreError> {
        self.events_with_status(Delivery::is_failed)
    }

    fn events_with_status(&self, wanted: fn(&Delivery) -> bool) -> Result<Vec<(Event, Delivery)>, StoreError> {
        let txn = self.read()?;
        let events = txn.open_table(EVENTS)?;
        let delivery = txn.open_table(DELIVERY)?;
        let mut out = Vec::new();
        for entry in delivery.iter()? {
            let (seq, status) = entry?;
            let status: Delivery = codec::decode("delivery", status.value())?;
            if wanted(&status) {
                let seq = seq.value();
                let bytes = events
                    .get(seq)?
                    .ok_or_else(|| StoreError::Inconsistent(format!("delivery of missing event {seq}")))?;
                out.push((Event::decode(seq, bytes.value(), &self.keys)?, status));
            }
        }
        Ok(out)
    }

    /// The oldest event the next push sends: its sequence number and time.
    pub fn oldest_due(&self) -> Result<Option<(u64, i64)>, StoreError> {
        let txn = self.read()?;
        let events = txn.open_table(EVENTS)?;
        let delivery = txn.open_table(DELIVERY)?;
        for entry in delivery.iter()? {
            let (seq, status) = entry?;
            let status: Delivery = codec::decode("delivery", status.value())?;
            if status.is_due() {
                let seq = seq.value();
                let bytes = events
                    .get(seq)?
                    .ok_or_else(|| StoreError::Inconsistent(format!("delivery of missing event {seq}")))?;
                return Ok(Some((seq, Event::decode_skeleton(seq, bytes.value())?.body.time)));
            }
        }
        Ok(None)
    }

    /// Counts of events by delivery status name.
    pub fn delivery_counts(&self) -> Result<std::collections::BTreeMap<&'static str, u64>, StoreError> {
        let txn = self.read()?;
        let delivery = txn.open_table(DELIVERY)?;
        let mut counts = std::collections::BTreeMap::new();
        for entry in delivery.iter()? {
            let (_, status) = entry?;
            let status: Delivery = codec::decode("delivery", status.value())?;
            *counts.entry(status.name()).or_insert(0) += 1;
        }
        Ok(counts)
    }

    /// The Learn Amp id recorded for a person.
    pub fn remote_id(&self, key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.read()?.open_table(REMOTE_IDS)?.get(key)?.map(|g| g.value()))
    }

    /// Every recorded Learn Amp id, by key.
    pub fn remote_ids(&self) -> Result<std::collections::HashMap<String, u64>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(REMOTE_IDS)?;
        let mut out = std::collections::HashMap::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            out.insert(k.value().to_owned(), v.value());
        }
        Ok(out)
    }

    /// The size, mtime and snapshot recorded for remote file `name`.
    pub fn source_file(&self, name: &str) -> Result<Option<(u64, u64, u64)>, StoreError> {
        let txn = self.read()?;
        // Stores made before this table existed simply have no entries.
        match txn.open_table(SOURCE_FILES) {
            Ok(table) => Ok(table.get(name)?.map(|v| v.value())),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Number of events in the log.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        Ok(self.read()?.open_table(EVENTS)?.len()?)
    }

    /// Names of the tables in the file (for diagnostics and tests).
    pub fn table_names(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.read()?;
        let mut names: Vec<String> = txn.list_tables()?.map(|t| t.name().to_owned()).collect();
        names.extend(txn.list_multimap_tables()?.map(|t| t.name().to_owned()));
        names.sort();
        Ok(names)
    }
}

fn delivery_of(table: &impl ReadableTable<u64, &'static [u8]>, seq: u64) -> Result<Delivery, StoreError> {
    match table.get(seq)? {
        Some(v) => codec::decode("delivery", v.value()),
        None => Ok(Delivery::Pending),
    }
}
