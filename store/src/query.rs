//! The store's queries: snapshots, state, events and their delivery
//! status, absences, Learn Amp ids, remote files.

use std::collections::BTreeMap;

use redb::{MultimapTableHandle, ReadTransaction, ReadableTable, ReadableTableMetadata, TableError, TableHandle};

use crate::append::read_held;
use crate::digest::{self, StateEntry};
use crate::store::{Store, last_seq};
use crate::tables::{
    ABSENCE, DELIVERY, EVENTS, HELD_EVENTS, META, REMOTE_IDS, SNAPSHOT_BY_HASH, SNAPSHOTS, SOURCE_FILES, STATE,
    USER_EVENTS,
};
use crate::{Delivery, Event, EventKind, SnapshotMeta, StoreError, UserState, codec};

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
    /// Whether `event` is one this filter wants (an erased event by the
    /// names of the fields it changed).
    pub fn matches(&self, event: &Event) -> bool {
        let e = &event.body;
        self.since.is_none_or(|t| e.time >= t)
            && self.until.is_none_or(|t| e.time < t)
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k == e.kind.name()))
            && self.field.as_deref().is_none_or(|f| changed(event, f))
            && self.snapshot.is_none_or(|s| e.cause.snapshot() == Some(s))
    }
}

/// Whether `event` changed `field`. An erased event keeps the names of the
/// fields it changed beside its skeleton (an erased creation has no record
/// left to read them from).
fn changed(event: &Event, field: &str) -> bool {
    match &event.erased {
        Some(erased) => erased.fields.iter().any(|f| f == field),
        None => event.body.kind.changes().iter().any(|c| c.field == field),
    }
}

/// Deliveries at a glance (see [`Store::delivery_summary`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliverySummary {
    /// Events by status name ([`Delivery::name`]); a status no event has is
    /// left out.
    pub counts: BTreeMap<&'static str, u64>,
    /// The first refused events, in sequence order, with their statuses.
    pub failed: Vec<(Event, Delivery)>,
}

impl DeliverySummary {
    /// Events with status `name`.
    pub fn count(&self, name: &str) -> u64 {
        self.counts.get(name).copied().unwrap_or(0)
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
            if filter.matches(&event) {
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
    pub fn delivery_counts(&self) -> Result<BTreeMap<&'static str, u64>, StoreError> {
        Ok(self.delivery_summary(0)?.counts)
    }

    /// Events by delivery status name and the first `listed` refused events
    /// ([`Delivery::is_failed`]), in one pass over the delivery table that
    /// decodes only the refused statuses: the console's overview, which
    /// would otherwise read the table twice (counts, then the refused).
    pub fn delivery_summary(&self, listed: usize) -> Result<DeliverySummary, StoreError> {
        let txn = self.read()?;
        let events = txn.open_table(EVENTS)?;
        let delivery = txn.open_table(DELIVERY)?;
        let mut summary = DeliverySummary::default();
        // Counted by tag, named once at the end: a map entry per event would
        // cost more than reading it.
        let mut by_tag = [0u64; Delivery::NAME_BY_TAG.len()];
        let failed_tag = Delivery::NAME_BY_TAG.iter().position(|n| *n == "failed");
        for entry in delivery.iter()? {
            let (seq, bytes) = entry?;
            let bytes = bytes.value();
            let tag = match bytes.split_first() {
                Some((&codec::FORMAT_V1, postcard)) => Delivery::tag_of_encoded(postcard),
                _ => None,
            };
            let Some(tag) = tag else {
                // A value the peek does not know is decoded, so it counts or
                // fails exactly as a full decode would.
                let status: Delivery = codec::decode("delivery", bytes)?;
                *summary.counts.entry(status.name()).or_insert(0) += 1;
                continue;
            };
            by_tag[tag] += 1;
            if Some(tag) == failed_tag && summary.failed.len() < listed {
                let seq = seq.value();
                let status: Delivery = codec::decode("delivery", bytes)?;
                let event = events
                    .get(seq)?
                    .ok_or_else(|| StoreError::Inconsistent(format!("delivery of missing event {seq}")))?;
                summary
                    .failed
                    .push((Event::decode(seq, event.value(), &self.keys)?, status));
            }
        }
        for (name, n) in Delivery::NAME_BY_TAG.into_iter().zip(by_tag) {
            if n > 0 {
                *summary.counts.entry(name).or_insert(0) += n;
            }
        }
        Ok(summary)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counts, DeliveryUpdate, ForgetRequest, NewSnapshot, Record};

    fn created(n: usize) -> (String, EventKind) {
        (
            format!("k{n}"),
            EventKind::Created {
                record: Record::from_pairs([("email", format!("p{n}@x"))]),
            },
        )
    }

    #[test]
    fn the_delivery_summary_counts_every_status_and_lists_the_first_refused_events() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        let snapshot = NewSnapshot {
            file_hash: [1; 32],
            source: "day1.csv".into(),
            received: 1_000_000,
            rows: 8,
            bytes: 10,
            header: vec!["Email".into()],
            mapped_columns: vec!["Email".into()],
            counts: Counts::default(),
            absences: vec![],
            prune_raw_before: 0,
            origin: Default::default(),
        };
        store
            .append_import(0, snapshot, (1..=8).map(created), None, None)
            .expect("import");
        let failed = |error: &str| Delivery::Failed {
            attempts: 1,
            status: Some(422),
            error: error.into(),
            time: 2,
        };
        let statuses = [
            (
                1,
                Delivery::Delivered {
                    time: 2,
                    remote_id: Some(1),
                },
            ),
            (2, failed("first")),
            (
                3,
                Delivery::Delivered {
                    time: 2,
                    remote_id: None,
                },
            ),
            (
                4,
                Delivery::Waiting {
                    attempts: 1,
                    last_error: "503".into(),
                    since: 2,
                    time: 2,
                },
            ),
            (5, failed("second")),
            (6, Delivery::Superseded { by: 7, time: 2 }),
            (7, failed("third")),
        ];
        let updates: Vec<DeliveryUpdate> = statuses
            .iter()
            .map(|(seq, delivery)| DeliveryUpdate {
                seq: *seq,
                key: format!("k{seq}"),
                delivery: delivery.clone(),
                remote_id: None,
            })
            .collect();
        store.record_deliveries(&updates).expect("deliver");

        let summary = store.delivery_summary(2).expect("summary");
        let want: BTreeMap<&str, u64> = [
            ("delivered", 2),
            ("failed", 3),
            ("pending", 1),
            ("superseded", 1),
            ("waiting", 1),
        ]
        .into();
        assert_eq!(summary.counts, want);
        assert_eq!(store.delivery_counts().expect("counts"), want);
        let listed: Vec<(u64, &str, Delivery)> = summary
            .failed
            .iter()
            .map(|(e, d)| (e.seq, e.body.key.as_str(), d.clone()))
            .collect();
        assert_eq!(listed, [(2, "k2", failed("first")), (5, "k5", failed("second"))]);
        // The same refused events, in the same order, as the full query.
        let all = store.failed_events().expect("failed");
        assert_eq!(summary.failed[..], all[..2]);
        assert_eq!(summary.count("failed"), all.len() as u64);
        assert_eq!(summary.count("dead"), 0);
    }

    /// Regression (found by the store model test): `events --field email`
    /// left out a forgotten person's creation (its record is erased) while
    /// it kept their erased updates: the skeleton says which fields changed.
    #[test]
    fn an_erased_event_still_matches_the_fields_it_changed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        let snapshot = |n: u8| NewSnapshot {
            file_hash: [n; 32],
            source: format!("day{n}.csv"),
            received: i64::from(n) * 1_000_000,
            rows: 1,
            bytes: 10,
            header: vec!["Email".into()],
            mapped_columns: vec!["Email".into()],
            counts: Counts::default(),
            absences: vec![],
            prune_raw_before: 0,
            origin: Default::default(),
        };
        let created = EventKind::Created {
            record: Record::from_pairs([("email", "ann@x.io"), ("lastName", "Lee")]),
        };
        store
            .append_import(0, snapshot(1), vec![("E1".to_owned(), created)], None, None)
            .expect("import");
        store
            .append_import(
                1,
                snapshot(2),
                vec![("E1".to_owned(), EventKind::Deactivated)],
                None,
                None,
            )
            .expect("import");
        let delivered = |seq| DeliveryUpdate {
            seq,
            key: "E1".into(),
            delivery: Delivery::Delivered {
                time: 3_000_000,
                remote_id: None,
            },
            remote_id: None,
        };
        store.record_deliveries(&[delivered(1), delivered(2)]).expect("deliver");
        let by_field = |field: &str| -> Vec<u64> {
            let filter = EventFilter {
                field: Some(field.to_owned()),
                ..EventFilter::default()
            };
            store
                .events(&filter)
                .expect("events")
                .iter()
                .map(|(e, _)| e.seq)
                .collect()
        };
        assert_eq!(by_field("email"), vec![1], "before");

        store
            .forget(&ForgetRequest {
                key: "E1",
                reason: "asked",
                by: None,
                time: 4_000_000,
                raw_holding: &[],
            })
            .expect("forget");
        assert_eq!(by_field("email"), vec![1], "after: the erased creation set the email");
        assert_eq!(by_field("lastName"), vec![1]);
        assert_eq!(by_field("jobTitle"), Vec::<u64>::new());
    }
}
