//! The tamper check: the hash chain walked from the first event, the state
//! rebuilt from the log and compared with the stored projection, and the
//! state digest compared with that projection.
//!
//! An encrypted store opened without its key is checked by links only: each
//! sealed event's predecessor hash must be the previous event's hash (the
//! hashes are in clear), but its own hash covers the sealed body and the
//! state is not rebuilt. With the key, every sealed event is opened and
//! rehashed as a plain one is.

use std::collections::BTreeMap;

use redb::{ReadableTable, ReadableTableMetadata};

use crate::digest::{self, RowHash, StateEntry};
use crate::store::last_seq;
use crate::tables::{EVENTS, RAW, STATE};
use crate::{Event, GENESIS_HASH, Store, StoreError, UserState};

/// How many differences a report keeps in full.
const MAX_DIFFERENCES: usize = 20;

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events walked.
    pub events: u64,
    /// The first sequence number whose hash or link does not hold.
    pub chain_broken_at: Option<u64>,
    /// How the stored projection differs from the state the log implies.
    pub state_differences: Vec<String>,
    /// All differences, counted.
    pub state_difference_count: u64,
    /// Events whose values `forget` erased (linked, not rehashed).
    pub erased: u64,
    /// Sealed events checked by their links only, the store being opened
    /// without its key; when any, the state was not rebuilt either.
    pub links_only: u64,
}

impl VerifyReport {
    /// Everything holds.
    pub fn ok(&self) -> bool {
        self.chain_broken_at.is_none() && self.state_difference_count == 0
    }
}

impl Store {
    /// Walks the chain and rebuilds the state from the log.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let txn = self.read()?;
        let events = txn.open_table(EVENTS)?;
        let mut report = VerifyReport::default();
        let mut prev = GENESIS_HASH;
        let mut expected_seq = 1;
        let mut rebuilt: BTreeMap<String, UserState> = BTreeMap::new();
        let erased_by: BTreeMap<u64, u64> = self
            .erasures()?
            .iter()
            .flat_map(|e| e.events.iter().map(move |&seq| (seq, e.id)))
            .collect();
        for entry in events.iter()? {
            let (seq, bytes) = entry?;
            let (seq, bytes) = (seq.value(), bytes.value());
            report.events += 1;
            if report.chain_broken_at.is_some() {
                continue;
            }
            let (stored_prev, stored_hash, body) = Event::split(bytes)?;
            let linked = seq == expected_seq && stored_prev == prev;
            // An erased event's hash covered values that are gone: it must
            // link, and an erasure record must name it.
            let holds = if Event::is_erased(bytes) {
                erased_by.contains_key(&seq)
            } else if Event::is_sealed(bytes) {
                if self.keys.sealer.is_none() {
                    // No key: the link is all that can be checked.
                    if !linked {
                        report.chain_broken_at = Some(seq);
                        continue;
                    }
                    report.links_only += 1;
                    prev = stored_hash;
                    expected_seq = seq + 1;
                    continue;
                }
                match Event::plain_body(seq, bytes, &self.keys) {
                    Ok(Some(plain)) => Event::compute_hash(&stored_prev, &plain) == stored_hash,
                    // A seal that does not open is a changed event.
                    Ok(None) | Err(StoreError::Unsealable { .. } | StoreError::Inconsistent(_)) => false,
                    Err(e) => return Err(e),
                }
            } else {
                Event::compute_hash(&stored_prev, body) == stored_hash
            };
            if !linked || !holds {
                report.chain_broken_at = Some(seq);
                continue;
            }
            match Event::decode(seq, bytes, &self.keys) {
                Ok(event) if event.erased.is_some() => {
                    report.erased += 1;
                    rebuilt.remove(&event.body.key);
                }
                Ok(event) => {
                    let before = rebuilt.remove(&event.body.key);
                    match UserState::apply(before, &event.body.kind) {
                        Ok(after) => {
                            rebuilt.insert(event.body.key, after);
                        }
                        Err(why) => report.note(format!("event {seq} ({}): {why}", event.body.key)),
                    }
                }
                Err(_) => report.chain_broken_at = Some(seq),
            }
            prev = stored_hash;
            expected_seq = seq + 1;
        }
        if report.chain_broken_at.is_some() {
            return Ok(report);
        }
        if report.links_only > 0 {
            // The digest holds only what is in clear: it can still be
            // compared with the projection.
            self.check_digest(&mut report)?;
            return Ok(report);
        }
        let state = txn.open_table(STATE)?;
        if state.len()? != rebuilt.len() as u64 {
            report.note(format!(
                "the projection holds {} people, the log {}",
                state.len()?,
                rebuilt.len()
            ));
        }
        for entry in state.iter()? {
            let (key, value) = entry?;
            let key = key.value();
            let stored = match UserState::decode(key, value.value(), &self.keys) {
                Ok(stored) => stored,
                Err(StoreError::Unsealable { .. }) => {
                    report.note(format!(
                        "{key}: the projection's sealed record does not open: damaged or moved"
                    ));
                    continue;
                }
                Err(e) => return Err(e),
            };
            match rebuilt.get(key) {
                None => report.note(format!("{key}: in the projection but in no event")),
                Some(expected) if *expected != stored => {
                    let what = if expected.active != stored.active {
                        "active flag"
                    } else {
                        "record"
                    };
                    report.note(format!("{key}: the projection's {what} differs from the log's"));
                }
                Some(_) => {}
            }
        }
        drop(state);
        self.check_digest(&mut report)?;
        Ok(report)
    }

    /// Compares the state digest, when it claims to be current, with `state`.
    fn check_digest(&self, report: &mut VerifyReport) -> Result<(), StoreError> {
        let txn = self.read()?;
        let log_end = last_seq(&txn.open_table(EVENTS)?)?;
        let mut found = Vec::new();
        // Row hashes are not derived from the log: they are not compared.
        let found_entry = |e: StateEntry<'_>| {
            let e = StateEntry {
                row: RowHash::default(),
                ..e
            };
            digest::push_entry(&mut found, &e)
        };
        if !digest::each_if_current(&txn, log_end, found_entry)? {
            return Ok(()); // No current digest: imports read `state` itself.
        }
        let mut expected = Vec::new();
        digest::each_in_state(&txn.open_table(STATE)?, |e| {
            digest::push_entry(&mut expected, &e);
            Ok(())
        })?;
        if expected != found {
            let first = digest::entries(&expected)
                .zip(digest::entries(&found))
                .find(|(e, f)| e.as_ref().ok() != f.as_ref().ok())
                .and_then(|(e, _)| e.ok().map(|e| e.key.to_owned()));
            report.note(match first {
                Some(key) => format!("{key}: the state digest differs from the projection"),
                None => "the state digest and the projection hold different people".to_owned(),
            });
        }
        Ok(())
    }

    /// Test support: replaces the stored bytes of event `seq`, as an
    /// attacker (or a disk fault) would. Never used by ampsync itself.
    #[doc(hidden)]
    pub fn overwrite_event_bytes(&self, seq: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let txn = self.write()?;
        txn.open_table(EVENTS)?.insert(seq, bytes)?;
        txn.commit()?;
        Ok(())
    }

    /// Test support: the stored bytes of event `seq`.
    #[doc(hidden)]
    pub fn event_bytes(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read()?.open_table(EVENTS)?.get(seq)?.map(|v| v.value().to_vec()))
    }

    /// Test support: replaces the kept raw file of `file_hash` by `bytes`
    /// (compressed bytes, as one chunk), as a disk fault would.
    #[doc(hidden)]
    pub fn overwrite_raw(&self, file_hash: &[u8; 32], bytes: &[u8]) -> Result<(), StoreError> {
        let txn = self.write()?;
        {
            let mut raw = txn.open_table(RAW)?;
            raw.retain_in((file_hash, 0)..=(file_hash, u64::MAX), |_, _| false)?;
            raw.insert((file_hash, 0), bytes)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Test support: overwrites a person's projected state.
    #[doc(hidden)]
    pub fn overwrite_state(&self, key: &str, state: &UserState) -> Result<(), StoreError> {
        let txn = self.write()?;
        let sealer = self.keys.for_writing()?;
        txn.open_table(STATE)?
            .insert(key, state.encode(key, sealer)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }
}

impl VerifyReport {
    fn note(&mut self, difference: String) {
        self.state_difference_count += 1;
        if self.state_differences.len() < MAX_DIFFERENCES {
            self.state_differences.push(difference);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counts, EventKind, NewSnapshot, Record};

    fn store_with_three_people() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("open");
        let snapshot = NewSnapshot {
            file_hash: [1; 32],
            source: "d1.csv".into(),
            received: 0,
            rows: 3,
            bytes: 1,
            header: vec![],
            mapped_columns: vec![],
            counts: Counts::default(),
            absences: vec![],
            prune_raw_before: 0,
            origin: Default::default(),
        };
        let events = ["a", "b", "c"].iter().map(|k| {
            (
                k.to_string(),
                EventKind::Created {
                    record: Record::from_pairs([("email", format!("{k}@x.io"))]),
                },
            )
        });
        store.append_import(0, snapshot, events, None, None).expect("append");
        (dir, store)
    }

    #[test]
    fn a_healthy_store_verifies() {
        let (_dir, store) = store_with_three_people();
        let report = store.verify().expect("verify");
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.events, 3);
    }

    #[test]
    fn changing_one_event_names_its_sequence_number() {
        let (_dir, store) = store_with_three_people();
        let mut bytes = store.event_bytes(2).expect("read").expect("event 2");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        store.overwrite_event_bytes(2, &bytes).expect("tamper");
        assert_eq!(store.verify().expect("verify").chain_broken_at, Some(2));
    }

    #[test]
    fn an_altered_projection_is_found() {
        let (_dir, store) = store_with_three_people();
        let mut b = store.user_state("b").expect("read").expect("b");
        b.active = false;
        store.overwrite_state("b", &b).expect("alter");
        let report = store.verify().expect("verify");
        assert_eq!(report.chain_broken_at, None);
        assert_eq!(
            report.state_differences,
            vec![
                "b: the projection's active flag differs from the log's",
                // The digest was written with the append, not by the tamperer.
                "b: the state digest differs from the projection",
            ]
        );
    }
}
