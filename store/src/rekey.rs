//! `rekey`: sealing every value of the store under a new key (encrypting a
//! plain store, or moving an encrypted one to another key).
//!
//! Every event, state record, held event and raw chunk is opened with the
//! old key (or read plain) and sealed with the new one, and the key check
//! value replaced, in one write transaction: a crash leaves the store under
//! the old key or wholly under the new. Hashes are over the plain bodies,
//! so they do not change. Then the file is rewritten through a consistent
//! copy (as `forget` does), so no free page keeps an old ciphertext or
//! plaintext.

use std::ops::Bound;

use redb::{ReadableTable, WriteTransaction};

use crate::raw::chunk_row;
use crate::seal::{CHECK_ENTRY, Keys, Sealer, aad};
use crate::store::Store;
use crate::tables::{EVENTS, HELD_EVENTS, META, RAW, STATE};
use crate::{Event, EventBody, StoreError, StoreKey, UserState};

/// Rows re-sealed per read of a table: bounds the memory a large store
/// needs (a redb table cannot be written while it is being iterated).
const BATCH: usize = 4096;

/// What `rekey` re-sealed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RekeyReport {
    /// Events sealed under the new key (erased events hold no values and
    /// are left as they are).
    pub events: u64,
    /// People's state records.
    pub states: u64,
    /// Events of held imports.
    pub held_events: u64,
    /// Chunks of kept raw files.
    pub raw_chunks: u64,
}

impl Store {
    /// Seals every value under `new` (see the module doc). The store must
    /// be plain or opened with its current key. Refuses, with nothing
    /// changed, a store whose event does not match its hash (run `verify`).
    pub fn rekey(&mut self, new: &StoreKey) -> Result<RekeyReport, StoreError> {
        if !self.can_read_values() {
            return Err(self.keys.needed());
        }
        let sealer = Sealer::new(new);
        let txn = self.write()?;
        let report = RekeyReport {
            events: reseal_events(&txn, &self.keys, &sealer)?,
            states: reseal_states(&txn, &self.keys, &sealer)?,
            held_events: reseal_held(&txn, &self.keys, &sealer)?,
            raw_chunks: reseal_raw(&txn, &self.keys, &sealer)?,
        };
        txn.open_table(META)?
            .insert(CHECK_ENTRY, sealer.check_value()?.as_slice())?;
        txn.commit()?;
        self.keys = Keys {
            sealer: Some(sealer),
            encrypted: true,
            var: Some(new.var().to_owned()),
        };
        self.rewrite()?;
        Ok(report)
    }
}

fn reseal_events(txn: &WriteTransaction, old: &Keys, sealer: &Sealer) -> Result<u64, StoreError> {
    let mut table = txn.open_table(EVENTS)?;
    let mut count = 0;
    let mut next = 0u64;
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        for entry in table.range(next..)?.take(BATCH) {
            let (seq, bytes) = entry?;
            batch.push((seq.value(), bytes.value().to_vec()));
        }
        let Some(&(last, _)) = batch.last() else { break };
        for (seq, bytes) in batch {
            let Some(plain) = Event::plain_body(seq, &bytes, old)? else {
                continue; // Erased: no values to seal.
            };
            let (prev, hash, _) = Event::split(&bytes)?;
            if Event::compute_hash(&prev, &plain) != hash {
                return Err(StoreError::Inconsistent(format!(
                    "event {seq} does not match its hash: run `ampsync verify`; nothing was rekeyed"
                )));
            }
            let body: EventBody = postcard::from_bytes(&plain).map_err(|source| StoreError::Decode {
                table: "events",
                source,
            })?;
            let sealed = Event::encode_sealed(&body, &plain, &prev, &hash, seq, sealer)?;
            table.insert(seq, sealed.as_slice())?;
            count += 1;
        }
        next = last + 1;
    }
    Ok(count)
}

fn reseal_states(txn: &WriteTransaction, old: &Keys, sealer: &Sealer) -> Result<u64, StoreError> {
    let mut table = txn.open_table(STATE)?;
    let mut count = 0;
    let mut after: Option<String> = None;
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        {
            let lower = match &after {
                Some(key) => Bound::Excluded(key.as_str()),
                None => Bound::Unbounded,
            };
            for entry in table.range::<&str>((lower, Bound::Unbounded))?.take(BATCH) {
                let (key, bytes) = entry?;
                let key = key.value().to_owned();
                let state = UserState::decode(&key, bytes.value(), old)?;
                batch.push((key, state));
            }
        }
        if batch.is_empty() {
            break;
        }
        for (key, state) in &batch {
            table.insert(key.as_str(), state.encode(key, Some(sealer))?.as_slice())?;
            count += 1;
        }
        after = batch.pop().map(|(key, _)| key);
    }
    Ok(count)
}

fn reseal_held(txn: &WriteTransaction, old: &Keys, sealer: &Sealer) -> Result<u64, StoreError> {
    let mut table = txn.open_table(HELD_EVENTS)?;
    let mut held = Vec::new();
    for entry in table.iter()? {
        let (k, v) = entry?;
        let (id, n) = k.value();
        held.push(((id, n), crate::held::decode(id, n, v.value(), old)?));
    }
    for ((id, n), event) in &held {
        table.insert((*id, *n), crate::held::encode(*id, *n, event, Some(sealer))?.as_slice())?;
    }
    Ok(held.len() as u64)
}

fn reseal_raw(txn: &WriteTransaction, old: &Keys, sealer: &Sealer) -> Result<u64, StoreError> {
    let mut table = txn.open_table(RAW)?;
    let mut chunks = Vec::new();
    for entry in table.iter()? {
        let (k, _) = entry?;
        let (hash, n) = k.value();
        chunks.push((*hash, n));
    }
    for (hash, n) in &chunks {
        let row = chunk_row(hash, *n);
        let Some(bytes) = table.get((hash, *n))?.map(|v| v.value().to_vec()) else {
            continue;
        };
        let plain = if old.encrypted {
            old.open("raw", &row, &bytes)?
        } else {
            bytes
        };
        table.insert((hash, *n), sealer.seal(&aad("raw", &row), &plain)?.as_slice())?;
    }
    Ok(chunks.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::Keying;
    use crate::{Counts, EventFilter, EventKind, NewSnapshot, Record};

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn key(text: &str) -> Keying {
        Keying::Key(StoreKey::parse("K", text).expect("key"))
    }

    fn import(store: &Store, based_on: u64, n: u8, events: Vec<(String, EventKind)>) {
        let snapshot = NewSnapshot {
            file_hash: [n; 32],
            source: format!("day{n}.csv"),
            received: i64::from(n) * 1_000_000,
            rows: 1,
            bytes: 1,
            header: vec![],
            mapped_columns: vec![],
            counts: Counts::default(),
            absences: vec![],
            prune_raw_before: 0,
            origin: Default::default(),
        };
        let mut raw: &[u8] = b"Email\nalice@example.com\n";
        store
            .append_import(based_on, snapshot, events, Some(&mut raw), None)
            .expect("import");
    }

    fn created(k: &str, email: &str) -> (String, EventKind) {
        let record = Record::from_pairs([("email", email)]);
        (k.to_owned(), EventKind::Created { record })
    }

    #[test]
    fn an_encrypted_store_needs_its_key_and_binds_each_value_to_its_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        let store = Store::open_with(&path, key(KEY)).expect("create");
        assert!(store.is_encrypted());
        import(
            &store,
            0,
            1,
            vec![created("a", "alice@example.com"), created("b", "bob@example.com")],
        );
        let events = store.events(&EventFilter::default()).expect("events");
        assert!(store.verify().expect("verify").ok());
        assert_eq!(
            store.raw(&[1; 32]).expect("raw").as_deref(),
            Some(&b"Email\nalice@example.com\n"[..])
        );
        drop(store);
        let bytes = std::fs::read(&path).expect("read");
        assert!(!bytes.windows(5).any(|w| w == b"alice"));

        match Store::open_existing_with(&path, key(&"ab".repeat(32))) {
            Err(StoreError::WrongKey { var, .. }) => assert_eq!(var, "K"),
            other => panic!("expected WrongKey, got {other:?}"),
        }
        match Store::open_existing_with(&path, Keying::None) {
            Ok(locked) => {
                assert!(matches!(
                    locked.user_state("a"),
                    Err(StoreError::KeyNeeded { var: None })
                ));
                let report = locked.verify().expect("verify");
                assert_eq!((report.ok(), report.links_only), (true, 2));
                assert!(matches!(
                    locked.append_repair(2, 9_000_000, vec![created("c", "c@x")]),
                    Err(StoreError::KeyNeeded { .. })
                ));
            }
            Err(e) => panic!("opens without the key: {e}"),
        }
        assert!(std::fs::read(&path).expect("read") == bytes, "nothing written");

        // A sealed record moved to another person's row does not open.
        let store = Store::open_existing_with(&path, key(KEY)).expect("open");
        assert_eq!(store.events(&EventFilter::default()).expect("events"), events);
        {
            let txn = store.write().expect("write");
            {
                let mut state = txn.open_table(STATE).expect("state");
                let a = state.get("a").expect("get").expect("a").value().to_vec();
                state.insert("b", a.as_slice()).expect("insert");
            }
            txn.commit().expect("commit");
        }
        assert!(matches!(
            store.user_state("b"),
            Err(StoreError::Unsealable { table: "state" })
        ));
        let report = store.verify().expect("verify");
        assert!(
            report
                .state_differences
                .contains(&"b: the projection's sealed record does not open: damaged or moved".to_owned()),
            "{report:?}"
        );
    }

    #[test]
    fn rekey_seals_a_plain_store_and_moves_it_to_a_new_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        let store = Store::open(&path).expect("create");
        import(&store, 0, 1, vec![created("a", "alice@example.com")]);
        store
            .append_held(
                1,
                NewSnapshot {
                    file_hash: [2; 32],
                    source: "day2.csv".into(),
                    received: 2_000_000,
                    rows: 1,
                    bytes: 1,
                    header: vec![],
                    mapped_columns: vec![],
                    counts: Counts::default(),
                    absences: vec![],
                    prune_raw_before: 0,
                    origin: Default::default(),
                },
                "held".into(),
                vec![created("h", "held@example.com")],
                None,
            )
            .expect("held");
        let events = store.events(&EventFilter::default()).expect("events");
        drop(store);
        assert!(matches!(
            Store::open_existing_with(&path, key(KEY)),
            Err(StoreError::NotEncrypted { .. })
        ));

        let mut store = Store::open_existing(&path).expect("open");
        let report = store.rekey(&StoreKey::parse("K", KEY).expect("key")).expect("rekey");
        assert_eq!(
            (report.events, report.states, report.held_events, report.raw_chunks),
            (1, 1, 1, 1)
        );
        assert_eq!(store.events(&EventFilter::default()).expect("events"), events);
        drop(store);
        let bytes = std::fs::read(&path).expect("read");
        for value in [&b"alice"[..], b"held@"] {
            assert!(!bytes.windows(value.len()).any(|w| w == value), "plaintext survives");
        }

        let other = "ab".repeat(32);
        let mut store = Store::open_existing_with(&path, key(KEY)).expect("open");
        store.rekey(&StoreKey::parse("K", &other).expect("key")).expect("rekey");
        drop(store);
        assert!(matches!(
            Store::open_existing_with(&path, key(KEY)),
            Err(StoreError::WrongKey { .. })
        ));
        let store = Store::open_existing_with(&path, key(&other)).expect("open");
        assert_eq!(store.events(&EventFilter::default()).expect("events"), events);
        assert_eq!(
            store.held_events(2).expect("held"),
            vec![created("h", "held@example.com")]
        );
        assert_eq!(
            store.raw(&[1; 32]).expect("raw").as_deref(),
            Some(&b"Email\nalice@example.com\n"[..])
        );
        assert!(store.verify().expect("verify").ok());
    }
}
