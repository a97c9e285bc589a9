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
