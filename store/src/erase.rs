//! `forget`: erasing a person's personal values from the store while the
//! log stays verifiable.
//!
//! An erased event keeps its place in the chain: its predecessor hash and
//! its own hash as they were, and its skeleton (sequence, time, kind,
//! cause, the names of the fields it changed), stored in the erased format
//! (`FORMAT_ERASED`). Its hash can no longer be recomputed, so `verify`
//! checks that it links to its neighbours and that an erasure record names
//! it. The person's state, Learn Amp id and absence count go (a person a
//! held import has is refused: approve or reject it first); delivery records keep their status but lose their messages;
//! the kept raw files the caller names are dropped. Then the file is
//! rewritten through a consistent copy (`Store::backup`), so no page of it
//! holds an erased byte.
//!
//! `forget` and retention (`policy.forget_leavers_after_days`, inside an
//! import's transaction: `Store::append_import_retaining`) run the same
//! erasure, [`erase_in`], on a write transaction.

use std::path::PathBuf;

use redb::{ReadableMultimapTable, ReadableTable, TableError, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::digest;
use crate::open::open_error;
use crate::seal::Keys;
use crate::store::{Db, Store};
use crate::tables::{
    ABSENCE, DELIVERY, ERASURES, EVENTS, HELD_EVENTS, META, RAW, REMOTE_IDS, SNAPSHOTS, STATE, STATE_DIGEST,
    USER_EVENTS,
};
use crate::{Delivery, Event, EventKind, SnapshotMeta, StoreError, codec};

/// What an erasure removed, when, why and on whose word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    pub id: u64,
    /// The person's key (kept: it is what `history` is asked for), or
    /// `forgotten-<id>` when the key was an email.
    pub key: String,
    /// Microseconds since the epoch.
    pub time: i64,
    pub reason: String,
    /// Who asked for it, if given.
    pub by: Option<String>,
    /// The events whose values were erased.
    pub events: Vec<u64>,
    /// The snapshots whose kept raw file was dropped because it held the
    /// person.
    pub raw_dropped: Vec<u64>,
}

/// A person to forget, and why.
#[derive(Debug, Clone)]
pub struct ForgetRequest<'a> {
    pub key: &'a str,
    pub reason: &'a str,
    pub by: Option<&'a str>,
    /// Microseconds since the epoch.
    pub time: i64,
    /// Snapshots whose kept raw file holds the person (the caller reads
    /// them; the store does not know CSV): they are dropped.
    pub raw_holding: &'a [u64],
}

/// The people an import forgets by retention (`policy.forget_leavers_after_days`),
/// in its own write transaction: see [`Store::append_import_retaining`].
#[derive(Debug, Clone)]
pub struct Retention<'a> {
    /// Kept in each erasure record.
    pub reason: &'a str,
    pub by: &'a str,
    /// Who to forget, found before the import by
    /// [`Store::leavers_deactivated_before`].
    pub leavers: &'a [Leaver],
}

/// A person retention forgets, and where their values are besides the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaver {
    pub key: String,
    /// Snapshots whose kept raw file holds the person: dropped with them.
    pub raw_holding: Vec<u64>,
    /// The file being imported holds them too: its kept raw copy is
    /// dropped as well.
    pub in_this_file: bool,
}

impl Store {
    /// Erases a person's personal values (see the module doc), in one
    /// write transaction, then rewrites the file so nothing erased survives
    /// in its free pages. Refused, with nothing changed, for a person who is
    /// active ([`StoreError::StillActive`]), is in a held import
    /// ([`StoreError::InHeldImport`]), has events not yet delivered, or is
    /// unknown.
    pub fn forget(&self, request: &ForgetRequest<'_>) -> Result<Erasure, StoreError> {
        // The refusals first, on a read transaction: a refused forget
        // leaves the file byte for byte as it was.
        self.check_forgettable(request.key)?;
        let txn = self.write()?;
        let erasure = erase_in(&txn, &self.keys, request)?;
        txn.commit()?;
        self.rewrite()?;
        Ok(erasure)
    }

    /// People who are inactive and whose last deactivation is before
    /// `before` (microseconds since the epoch), in key order: whom retention
    /// forgets. People reactivated since are active, and those already
    /// forgotten have no state, so neither is among them.
    pub fn leavers_deactivated_before(&self, before: i64) -> Result<Vec<String>, StoreError> {
        let mut inactive = Vec::new();
        self.for_each_state(|e| {
            if !e.active {
                inactive.push(e.key.to_owned());
            }
        })?;
        let txn = self.read()?;
        let index = txn.open_multimap_table(USER_EVENTS)?;
        let events = txn.open_table(EVENTS)?;
        let mut leavers = Vec::new();
        for key in inactive {
            let seqs: Vec<u64> = index
                .get(key.as_str())?
                .map(|s| s.map(|s| s.value()))
                .collect::<Result<_, _>>()?;
            for seq in seqs.into_iter().rev() {
                let Some(bytes) = events.get(seq)? else {
                    return Err(StoreError::Inconsistent(format!("event {seq} indexed but missing")));
                };
                let event = Event::decode_skeleton(seq, bytes.value())?;
                if matches!(event.body.kind, EventKind::Deactivated) {
                    if event.body.time < before {
                        leavers.push(key);
                    }
                    break;
                }
            }
        }
        leavers.sort_unstable();
        Ok(leavers)
    }

    /// [`check_forgettable_in`] on a read transaction.
    fn check_forgettable(&self, key: &str) -> Result<(), StoreError> {
        let txn = self.read()?;
        check_forgettable_in(
            &txn.open_table(STATE)?,
            &txn.open_multimap_table(USER_EVENTS)?,
            &txn.open_table(DELIVERY)?,
            key,
            || match txn.open_table(HELD_EVENTS) {
                Ok(held) => check_not_held(&held, &self.keys, key),
                Err(TableError::TableDoesNotExist(_)) => Ok(()),
                Err(e) => Err(e.into()),
            },
        )
    }

    /// Every erasure, oldest first.
    pub fn erasures(&self) -> Result<Vec<Erasure>, StoreError> {
        let txn = self.read()?;
        let table = match txn.open_table(ERASURES) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        table
            .iter()?
            .map(|entry| {
                entry
                    .map_err(StoreError::from)
                    .and_then(|(_, v)| codec::decode("erasures", v.value()))
            })
            .collect()
    }

    /// Replaces the file with a consistent copy of itself (written beside
    /// it, synced, renamed over it), leaving no free page with old bytes.
    pub(crate) fn rewrite(&self) -> Result<(), StoreError> {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".rewrite-{}", std::process::id()));
        let temp = PathBuf::from(name);
        self.backup(&temp, true)?;
        let mut db = self.db.write().map_err(|_| StoreError::Poisoned)?;
        let closed = match db.take() {
            Some(Db::Write(old)) => old.close().map_err(|source| open_error(&self.path, source)),
            Some(Db::Read(old)) => old.close().map_err(|source| open_error(&self.path, source)),
            None => Ok(()),
        };
        let renamed = closed.and_then(|()| {
            std::fs::rename(&temp, &self.path).map_err(|source| StoreError::File {
                path: self.path.clone(),
                source,
            })
        });
        if renamed.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        // Reopened either way, so the handle stays usable.
        let reopened = crate::open::builder()
            .open_read_only(&self.path)
            .map_err(|source| open_error(&self.path, source));
        renamed?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|source| StoreError::File {
                    path: dir.to_owned(),
                    source,
                })?;
        }
        *db = Some(Db::Read(reopened?));
        Ok(())
    }
}

/// Erases `request.key` inside `txn` (see the module doc): the one erasure
/// both `forget` and an import's retention (`Store::append_import_retaining`)
/// run. Checks again, inside the transaction, that the person can be
/// forgotten. The caller commits, then rewrites the file.
pub(crate) fn erase_in(
    txn: &WriteTransaction,
    keys: &Keys,
    request: &ForgetRequest<'_>,
) -> Result<Erasure, StoreError> {
    let key = request.key;
    check_forgettable_in(
        &txn.open_table(STATE)?,
        &txn.open_multimap_table(USER_EVENTS)?,
        &txn.open_table(DELIVERY)?,
        key,
        || check_not_held(&txn.open_table(HELD_EVENTS)?, keys, key),
    )?;
    let mut erasures = txn.open_table(ERASURES)?;
    let id = erasures.last()?.map_or(1, |(k, _)| k.value() + 1);
    let seqs: Vec<u64> = txn
        .open_multimap_table(USER_EVENTS)?
        .get(key)?
        .map(|s| s.map(|s| s.value()))
        .collect::<Result<_, _>>()?;
    // A key that is an email (a file without a key column) is personal
    // itself: what remains is filed under a pseudonym.
    let kept_key = if key.contains('@') {
        format!("forgotten-{id}")
    } else {
        key.to_owned()
    };
    if kept_key != key {
        let mut index = txn.open_multimap_table(USER_EVENTS)?;
        index.remove_all(key)?;
        for &seq in &seqs {
            index.insert(kept_key.as_str(), seq)?;
        }
    }
    let mut events = txn.open_table(EVENTS)?;
    let mut delivery = txn.open_table(DELIVERY)?;
    let mut erased = Vec::new();
    for &seq in &seqs {
        let bytes = events.get(seq)?.map(|v| v.value().to_vec());
        let Some(bytes) = bytes else {
            return Err(StoreError::Inconsistent(format!("event {seq} indexed but missing")));
        };
        if Event::is_erased(&bytes) {
            continue;
        }
        let mut event = Event::decode(seq, &bytes, keys)?;
        event.body.key.clone_from(&kept_key);
        events.insert(seq, event.encode_erased(id)?.as_slice())?;
        let status = delivery.get(seq)?.map(|v| v.value().to_vec());
        if let Some(status) = status {
            let status = without_messages(codec::decode("delivery", &status)?);
            delivery.insert(seq, codec::encode("delivery", &status)?.as_slice())?;
        }
        erased.push(seq);
    }
    txn.open_table(STATE)?.remove(key)?;
    txn.open_table(REMOTE_IDS)?.remove(key)?;
    txn.open_table(ABSENCE)?.remove(key)?;
    // No held event is theirs: `check_not_held` refused that above.
    let mut raw_dropped = Vec::new();
    {
        let snapshots = txn.open_table(SNAPSHOTS)?;
        let mut raw = txn.open_table(RAW)?;
        for &id in request.raw_holding {
            let Some(meta) = snapshots.get(id)? else {
                return Err(StoreError::NoSuchSnapshot(id));
            };
            let meta: SnapshotMeta = codec::decode("snapshots", meta.value())?;
            let hash = &meta.file_hash;
            if raw.range((hash, 0)..=(hash, u64::MAX))?.next().is_some() {
                raw.retain_in((hash, 0)..=(hash, u64::MAX), |_, _| false)?;
                raw_dropped.push(id);
            }
        }
    }
    // The digest holds the person's key and record hash: it is rebuilt
    // from `state` by the next import.
    txn.open_table(STATE_DIGEST)?.retain(|_, _| false)?;
    digest::forget_tag(&mut txn.open_table(META)?)?;
    let erasure = Erasure {
        id,
        key: kept_key,
        time: request.time,
        reason: request.reason.to_owned(),
        by: request.by.map(str::to_owned),
        events: erased,
        raw_dropped,
    };
    erasures.insert(id, codec::encode("erasures", &erasure)?.as_slice())?;
    Ok(erasure)
}

/// Refuses to forget an unknown person, an active one (they are in the
/// current file and would come back), one already forgotten, one a held
/// import has (`not_held`), and one with events Learn Amp has not yet been
/// sent, in that order.
fn check_forgettable_in(
    state: &impl ReadableTable<&'static str, &'static [u8]>,
    user_events: &impl ReadableMultimapTable<&'static str, u64>,
    delivery: &impl ReadableTable<u64, &'static [u8]>,
    key: &str,
    not_held: impl FnOnce() -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let found = state.get(key)?.map(|v| v.value().to_vec());
    match found {
        Some(bytes) if crate::UserState::decode_summary(&bytes)?.0 => {
            return Err(StoreError::StillActive { key: key.to_owned() });
        }
        Some(_) => {}
        None => {
            let known = user_events.get(key)?.next().is_some();
            return Err(if known {
                StoreError::AlreadyForgotten { key: key.to_owned() }
            } else {
                StoreError::NoSuchPerson { key: key.to_owned() }
            });
        }
    }
    // A held import that has them again comes before their deliveries:
    // pushing would not make them forgettable.
    not_held()?;
    for seq in user_events.get(key)? {
        let seq = seq?.value();
        if let Some(status) = delivery.get(seq)? {
            let status: Delivery = codec::decode("delivery", status.value())?;
            if status.is_due() {
                return Err(StoreError::Undelivered {
                    key: key.to_owned(),
                    seq,
                });
            }
        }
    }
    Ok(())
}

/// Refuses to forget a person a held import has events for: the file that
/// has them again waits for `approve`, which would bring them back (and its
/// events, computed against their state, could no longer be applied).
fn check_not_held(
    held: &impl ReadableTable<(u64, u64), &'static [u8]>,
    keys: &Keys,
    key: &str,
) -> Result<(), StoreError> {
    for entry in held.iter()? {
        let (k, v) = entry?;
        let (id, n) = k.value();
        let (who, _): (String, EventKind) = crate::held::decode(id, n, v.value(), keys)?;
        if who == key {
            return Err(StoreError::InHeldImport {
                key: key.to_owned(),
                snapshot: k.value().0,
            });
        }
    }
    Ok(())
}

/// A delivery status without Learn Amp's messages (they may quote the
/// person's values): the status and its times stay.
fn without_messages(status: Delivery) -> Delivery {
    const ERASED: &str = "(erased)";
    match status {
        Delivery::LegacyFailed { attempts, time, .. } => Delivery::LegacyFailed {
            attempts,
            last_error: ERASED.into(),
            time,
        },
        Delivery::Dead { attempts, time, .. } => Delivery::Dead {
            attempts,
            last_error: ERASED.into(),
            time,
        },
        Delivery::Waiting {
            attempts, since, time, ..
        } => Delivery::Waiting {
            attempts,
            last_error: ERASED.into(),
            since,
            time,
        },
        Delivery::Failed {
            attempts, status, time, ..
        } => Delivery::Failed {
            attempts,
            status,
            error: ERASED.into(),
            time,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counts, DeliveryUpdate, NewSnapshot, Record};

    fn snapshot(n: u8) -> NewSnapshot {
        NewSnapshot {
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
        }
    }

    /// Regression: a person with events in a held import (a later file
    /// that has them again) could be forgotten; their held events were
    /// scrubbed to skeletons, and approving the import then failed for good
    /// ("reactivated a person who does not exist"): the held file could only
    /// be rejected.
    #[test]
    fn a_person_in_a_held_import_is_not_forgotten_and_the_import_can_be_approved() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        let store = Store::open(&path).expect("open");
        let record = Record::from_pairs([("email", "ann@x.io"), ("lastName", "Lee")]);
        let created = EventKind::Created { record };
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
                remote_id: Some(9),
            },
            remote_id: Some(9),
        };
        store.record_deliveries(&[delivered(1), delivered(2)]).expect("deliver");
        hold_reactivation(&store);
        let before = std::fs::read(&path).expect("read");

        let request = ForgetRequest {
            key: "E1",
            reason: "asked",
            by: None,
            time: 4_000_000,
            raw_holding: &[],
        };
        match store.forget(&request) {
            Err(e @ StoreError::InHeldImport { snapshot: 3, .. }) => assert_eq!(
                e.to_string(),
                "E1 is in held import 3, which would bring them back: approve or reject it first, then forget them"
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(std::fs::read(&path).expect("read"), before, "nothing written");
        store.approve(3, 5_000_000).expect("approve");
        let ann = store.user_state("E1").expect("read").expect("E1 is back");
        assert_eq!((ann.active, ann.record.get("lastName")), (true, Some("Chan")));
    }

    /// Regression (a merge ran the checks in the other order): a person in a
    /// held import whose deactivation is not yet sent is refused for the held
    /// import, not told to push first (pushing would not make them
    /// forgettable).
    #[test]
    fn the_held_import_is_named_before_undelivered_events() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        let record = Record::from_pairs([("email", "ann@x.io"), ("lastName", "Lee")]);
        store
            .append_import(
                0,
                snapshot(1),
                vec![("E1".to_owned(), EventKind::Created { record })],
                None,
                None,
            )
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
        hold_reactivation(&store);
        let request = ForgetRequest {
            key: "E1",
            reason: "asked",
            by: None,
            time: 4_000_000,
            raw_holding: &[],
        };
        let refused = store.forget(&request);
        assert!(
            matches!(refused, Err(StoreError::InHeldImport { snapshot: 3, .. })),
            "{refused:?}"
        );
    }

    /// Holds snapshot 3: it would bring E1 back with a new last name.
    fn hold_reactivation(store: &Store) {
        let back = EventKind::Reactivated {
            changes: vec![crate::FieldChange {
                field: "lastName".into(),
                old: Some("Lee".into()),
                new: Some("Chan".into()),
            }],
        };
        store
            .append_held(2, snapshot(3), "held".into(), vec![("E1".to_owned(), back)], None)
            .expect("held");
    }

    #[test]
    fn a_key_that_is_an_email_is_replaced_by_a_pseudonym() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        let store = Store::open(&path).expect("open");
        let key = "zebedee.quartermaine@acme.example".to_owned();
        let created = EventKind::Created {
            record: Record::from_pairs([("email", key.as_str()), ("lastName", "Quartermaine")]),
        };
        store
            .append_import(0, snapshot(1), vec![(key.clone(), created)], None, None)
            .expect("import");
        store
            .append_import(1, snapshot(2), vec![(key.clone(), EventKind::Deactivated)], None, None)
            .expect("import");
        let delivered = |seq| DeliveryUpdate {
            seq,
            key: key.clone(),
            delivery: Delivery::Delivered {
                time: 3_000_000,
                remote_id: Some(9),
            },
            remote_id: Some(9),
        };
        store.record_deliveries(&[delivered(1), delivered(2)]).expect("deliver");

        let erasure = store
            .forget(&ForgetRequest {
                key: &key,
                reason: "asked",
                by: None,
                time: 4_000_000,
                raw_holding: &[],
            })
            .expect("forget");
        assert_eq!(
            (erasure.key.as_str(), erasure.events.as_slice()),
            ("forgotten-1", &[1, 2][..])
        );
        let bytes = std::fs::read(&path).expect("read");
        for value in ["zebedee", "Quartermaine"] {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "{value} survives"
            );
        }
        let history = store.user_events("forgotten-1").expect("history");
        assert_eq!(history.len(), 2);
        assert!(
            history
                .iter()
                .all(|(e, _)| e.erased.is_some() && e.body.key == "forgotten-1")
        );
        assert!(store.user_events(&key).expect("history").is_empty());
        let report = store.verify().expect("verify");
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.erased, 2);
    }
}
