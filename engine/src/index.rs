//! A dense, in-memory index of the projected state for one import: each
//! person's key, active flag and record hash prefix, and whether the file
//! being read has mentioned them.
//!
//! Entries sit in one `Vec`, each holding its key inline (longer keys go to
//! one string arena), and a `hashbrown::HashTable` holds only entry numbers.
//! A lookup touches the table and one entry: at a million people, cache
//! misses, not hashing, are the cost, so every avoided indirection counts.
//! For a million people this is ~70 MB in a handful of allocations.

use ampsync_store::{HASH_PREFIX, RecordHash, StateEntry};
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// Keys up to this many bytes live inside their entry.
const INLINE: usize = 38;

#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: [u8; HASH_PREFIX],
    /// The key's bytes when it fits, else its arena offset (LE u32).
    key: [u8; INLINE],
    key_len: u32,
    active: bool,
    seen: bool,
}

/// What the index knows about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Not in the state: a new person.
    Absent,
    /// Known, active, and the record is the same.
    Unchanged,
    /// Known and either inactive or with a different record.
    Differs,
}

/// The state index. Build it with [`StateIndex::push`] from the store's
/// state scan.
#[derive(Debug, Default)]
pub struct StateIndex {
    keys: String,
    entries: Vec<Entry>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl StateIndex {
    /// An empty index with room for `n` people.
    pub fn with_capacity(n: usize) -> StateIndex {
        StateIndex {
            keys: String::new(),
            entries: Vec::with_capacity(n),
            table: HashTable::with_capacity(n),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// Adds one person (keys are unique in the state).
    pub fn push(&mut self, e: StateEntry<'_>) {
        let index = self.entries.len() as u32;
        let hash = e.hash;
        let mut key = [0; INLINE];
        if e.key.len() <= INLINE {
            key[..e.key.len()].copy_from_slice(e.key.as_bytes());
        } else {
            key[..4].copy_from_slice(&(self.keys.len() as u32).to_le_bytes());
            self.keys.push_str(e.key);
        }
        self.entries.push(Entry {
            hash,
            key,
            key_len: e.key.len() as u32,
            active: e.active,
            seen: false,
        });
        let h = self.hasher.hash_one(e.key);
        let (entries, keys, hasher) = (&self.entries, &self.keys, &self.hasher);
        self.table
            .insert_unique(h, index, |&i| hasher.hash_one(key_of(keys, &entries[i as usize])));
    }

    /// Number of people.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the state is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of active people.
    pub fn active(&self) -> usize {
        self.entries.iter().filter(|e| e.active).count()
    }

    /// Looks `key` up, compares `hash`, and marks the person seen.
    pub fn visit(&mut self, key: &str, hash: &RecordHash) -> Lookup {
        let Some(i) = self.find(key) else {
            return Lookup::Absent;
        };
        let entry = &mut self.entries[i];
        entry.seen = true;
        if entry.active && entry.hash[..] == hash[..HASH_PREFIX] {
            Lookup::Unchanged
        } else {
            Lookup::Differs
        }
    }

    /// Marks `key` seen without comparing (a row skipped as invalid).
    pub fn mark_seen(&mut self, key: &str) {
        if let Some(i) = self.find(key) {
            self.entries[i].seen = true;
        }
    }

    /// Active people the file did not mention, in key order of the scan.
    pub fn unseen_active(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|e| e.active && !e.seen)
            .map(|e| key_of(&self.keys, e))
    }

    fn find(&self, key: &str) -> Option<usize> {
        let h = self.hasher.hash_one(key);
        self.table
            .find(h, |&i| key_of(&self.keys, &self.entries[i as usize]) == key)
            .map(|&i| i as usize)
    }
}

fn key_of<'a>(keys: &'a str, e: &'a Entry) -> &'a str {
    let len = e.key_len as usize;
    if len <= INLINE {
        // Inline keys were copied from a `&str`, whole.
        std::str::from_utf8(&e.key[..len]).unwrap_or_default()
    } else {
        let start = u32::from_le_bytes([e.key[0], e.key[1], e.key[2], e.key[3]]) as usize;
        &keys[start..start + len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_classify_and_mark_seen() {
        let mut index = StateIndex::with_capacity(2);
        index.push(StateEntry {
            key: "a",
            active: true,
            hash: [1; 16],
        });
        index.push(StateEntry {
            key: "b",
            active: false,
            hash: [2; 16],
        });
        index.push(StateEntry {
            key: "c",
            active: true,
            hash: [3; 16],
        });
        assert_eq!(index.visit("a", &[1; 32]), Lookup::Unchanged);
        assert_eq!(index.visit("b", &[2; 32]), Lookup::Differs, "inactive people differ");
        assert_eq!(index.visit("z", &[1; 32]), Lookup::Absent);
        let long = "a-key-longer-than-thirty-eight-bytes@example.com";
        index.push(StateEntry {
            key: long,
            active: true,
            hash: [4; 16],
        });
        assert_eq!(index.visit(long, &[4; 32]), Lookup::Unchanged);
        assert_eq!(index.visit(&long[1..], &[4; 32]), Lookup::Absent);
        assert_eq!(index.unseen_active().collect::<Vec<_>>(), vec!["c"]);
        index.mark_seen("c");
        assert_eq!(index.unseen_active().count(), 0);
        assert_eq!((index.len(), index.active()), (4, 3));
    }
}
