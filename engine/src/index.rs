//! A dense, in-memory index of the projected state for one import: each
//! person's key, active flag, record hash prefix and last row hash, and
//! where the file being read mentioned them (which is also its
//! duplicate-key check).
//!
//! Entries sit in one `Vec`, in key order, each holding its key inline
//! (longer keys go to one string arena), and `hashbrown::HashTable`s hold
//! only entry numbers. A lookup touches a table and one entry: at a million
//! people, cache misses, not hashing, are the cost, so every avoided
//! indirection counts. For a million people this is ~90 MB in a handful of
//! allocations.
//!
//! An import whose rows are mostly found by row hash needs a table by row
//! hash, and finds the few others by key with a binary search of the
//! entries (building a key table too would cost more than all those
//! searches); one that reads every row by key needs the table by key.

use ampsync_store::{HASH_PREFIX, RecordHash, RowHash, StateEntry};
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// Keys up to this many bytes live inside their entry (64 bytes in all).
const INLINE: usize = 34;

#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: [u8; HASH_PREFIX],
    /// The row hash of the row that describes them (zero: none known).
    row: RowHash,
    /// The key's bytes when it fits, else its arena offset (LE u32).
    key: [u8; INLINE],
    key_len: u32,
    /// The line of the first row with this key that was claimed; 0: none.
    line: u64,
    active: bool,
    /// A row with this key was skipped as invalid.
    skipped: bool,
}

/// What claiming a key found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Not in the state: a new person.
    Absent,
    /// Known, and this is the first row with the key: entry `n`.
    First(usize),
    /// Known, and an earlier row (on this line) had the key already.
    Repeat(u64),
}

/// How a row compares with the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Known, active, and the record is the same.
    Unchanged,
    /// Known and either inactive or with a different record.
    Differs,
}

/// The state index. Build it with [`StateIndex::push`] from the store's
/// state scan.
#[derive(Debug)]
pub struct StateIndex {
    keys: String,
    entries: Vec<Entry>,
    /// Entries by key, when built; else (entries are then in key order)
    /// found by binary search.
    table: Option<HashTable<u32>>,
    /// Entries with a row hash, by row hash (when searched so).
    rows: Option<HashTable<u32>>,
    hasher: DefaultHashBuilder,
}

/// How an import will mostly search the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Searched {
    /// Every row by its key.
    ByKey,
    /// Rows by their row hash first.
    ByRowHash,
}

impl Default for StateIndex {
    fn default() -> StateIndex {
        StateIndex::with_capacity(0, Searched::ByKey)
    }
}

impl StateIndex {
    /// An empty index with room for `n` people, to be `searched` so.
    pub fn with_capacity(n: usize, searched: Searched) -> StateIndex {
        StateIndex {
            keys: String::new(),
            entries: Vec::with_capacity(n),
            table: (searched == Searched::ByKey).then(|| HashTable::with_capacity(n)),
            rows: (searched == Searched::ByRowHash).then(|| HashTable::with_capacity(n)),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// Builds the table by key, if there is none: for an index loaded to be
    /// searched by row hash and then searched by key after all (the file's
    /// rows were not hashed as the stored ones were).
    pub fn search_by_key(&mut self) {
        if self.table.is_some() {
            return;
        }
        let mut table = HashTable::with_capacity(self.entries.len());
        let (entries, keys, hasher) = (&self.entries, &self.keys, &self.hasher);
        for (i, e) in entries.iter().enumerate() {
            table.insert_unique(hasher.hash_one(key_of(keys, e)), i as u32, |&i| {
                hasher.hash_one(key_of(keys, &entries[i as usize]))
            });
        }
        self.table = Some(table);
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
            row: e.row,
            key,
            key_len: e.key.len() as u32,
            line: 0,
            active: e.active,
            skipped: false,
        });
        let (entries, keys, hasher) = (&self.entries, &self.keys, &self.hasher);
        if let Some(table) = &mut self.table {
            table.insert_unique(hasher.hash_one(e.key), index, |&i| {
                hasher.hash_one(key_of(keys, &entries[i as usize]))
            });
        }
        if let Some(rows) = &mut self.rows
            && e.row != RowHash::default()
        {
            rows.insert_unique(row_hash(&e.row), index, |&i| row_hash(&entries[i as usize].row));
        }
        if let [.., before, _] = entries.as_slice()
            && key_bytes(keys, before) >= e.key.as_bytes()
        {
            // Not in key order (never from the store): binary search is out.
            self.search_by_key();
        }
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

    /// Records that a row on `line` has `key`.
    pub fn claim(&mut self, key: &str, line: u64) -> Claim {
        let Some(i) = self.find(key) else {
            return Claim::Absent;
        };
        match self.entries[i].line {
            0 => {
                self.claim_entry(i, line);
                Claim::First(i)
            }
            first => Claim::Repeat(first),
        }
    }

    /// The person whose last row hashed to `row`, if they have no row in
    /// this file yet.
    pub fn unclaimed_with_row(&self, row: &RowHash) -> Option<usize> {
        self.rows
            .as_ref()?
            .find(row_hash(row), |&i| {
                let e = &self.entries[i as usize];
                e.row == *row && e.line == 0
            })
            .map(|&i| i as usize)
    }

    /// Records that entry `i` (from [`StateIndex::unclaimed_with_row`]) has
    /// a row on `line`.
    pub fn claim_entry(&mut self, i: usize, line: u64) {
        if let Some(e) = self.entries.get_mut(i) {
            e.line = line.max(1);
        }
    }

    /// Sets entry `i`'s row hash (its row no longer looks up by the old
    /// one); returns whether that changed it.
    pub fn set_row(&mut self, i: usize, row: RowHash) -> bool {
        match self.entries.get_mut(i) {
            Some(e) if e.row != row => {
                e.row = row;
                true
            }
            _ => false,
        }
    }

    /// Everyone's row hash, in entry (key) order.
    pub fn rows(&self) -> Vec<RowHash> {
        self.entries.iter().map(|e| e.row).collect()
    }

    /// Compares entry `i` (from [`Claim::First`]) with a row's record hash.
    pub fn compare(&self, i: usize, hash: &RecordHash) -> Lookup {
        match self.entries.get(i) {
            Some(e) if e.active && e.hash[..] == hash[..HASH_PREFIX] => Lookup::Unchanged,
            _ => Lookup::Differs,
        }
    }

    /// Marks `key` as mentioned by a row skipped as invalid: such a person
    /// is not missing from the file.
    pub fn mark_skipped(&mut self, key: &str) {
        if let Some(i) = self.find(key) {
            self.entries[i].skipped = true;
        }
    }

    /// Active people the file did not mention, in key order of the scan.
    pub fn unseen_active(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|e| e.active && e.line == 0 && !e.skipped)
            .map(|e| key_of(&self.keys, e))
    }

    /// The entry of `key` if a row of this file claimed it.
    pub fn claimed(&self, key: &str) -> Option<usize> {
        self.find(key).filter(|&i| self.entries[i].line != 0)
    }

    /// Entry `i`'s key.
    pub fn key(&self, i: usize) -> &str {
        self.entries.get(i).map_or("", |e| key_of(&self.keys, e))
    }

    /// Entry `i`'s row hash.
    pub fn row(&self, i: usize) -> RowHash {
        self.entries.get(i).map_or_else(RowHash::default, |e| e.row)
    }

    fn find(&self, key: &str) -> Option<usize> {
        match &self.table {
            Some(table) => table
                .find(self.hasher.hash_one(key), |&i| {
                    key_bytes(&self.keys, &self.entries[i as usize]) == key.as_bytes()
                })
                .map(|&i| i as usize),
            None => self
                .entries
                .binary_search_by(|e| key_bytes(&self.keys, e).cmp(key.as_bytes()))
                .ok(),
        }
    }
}

/// A row hash's table hash: its first bytes (it is a blake3 output already).
fn row_hash(row: &RowHash) -> u64 {
    let mut first = [0; 8];
    first.copy_from_slice(&row[..8]);
    u64::from_le_bytes(first)
}

/// An entry's key as bytes (no UTF-8 check: lookups compare bytes).
fn key_bytes<'a>(keys: &'a str, e: &'a Entry) -> &'a [u8] {
    let len = e.key_len as usize;
    if len <= INLINE {
        &e.key[..len]
    } else {
        let start = u32::from_le_bytes([e.key[0], e.key[1], e.key[2], e.key[3]]) as usize;
        &keys.as_bytes()[start..start + len]
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
    fn claims_find_duplicates_and_compare_records() {
        let mut index = StateIndex::with_capacity(2, Searched::ByKey);
        index.push(StateEntry {
            key: "a",
            active: true,
            hash: [1; 16],
            row: [9; 16],
        });
        index.push(StateEntry {
            key: "b",
            active: false,
            hash: [2; 16],
            row: [0; 16],
        });
        index.push(StateEntry {
            key: "c",
            active: true,
            hash: [3; 16],
            row: [0; 16],
        });
        let visit = |index: &mut StateIndex, key: &str, hash: u8, line: u64| match index.claim(key, line) {
            Claim::First(i) => Ok(index.compare(i, &[hash; 32])),
            other => Err(other),
        };
        assert_eq!(visit(&mut index, "a", 1, 2), Ok(Lookup::Unchanged));
        assert_eq!(
            visit(&mut index, "b", 2, 3),
            Ok(Lookup::Differs),
            "inactive people differ"
        );
        assert_eq!(visit(&mut index, "z", 1, 4), Err(Claim::Absent));
        assert_eq!(visit(&mut index, "a", 1, 5), Err(Claim::Repeat(2)), "a duplicate key");
        let long = "a-key-longer-than-thirty-four-bytes@example.com";
        index.push(StateEntry {
            key: long,
            active: true,
            hash: [4; 16],
            row: [0; 16],
        });
        assert_eq!(visit(&mut index, long, 4, 6), Ok(Lookup::Unchanged));
        assert_eq!(visit(&mut index, &long[1..], 4, 7), Err(Claim::Absent));
        assert_eq!(index.unseen_active().collect::<Vec<_>>(), vec!["c"]);
        index.mark_skipped("c");
        assert_eq!(index.unseen_active().count(), 0);
        assert_eq!((index.len(), index.active()), (4, 3));
    }

    #[test]
    fn rows_are_found_by_hash_until_claimed() {
        let mut index = StateIndex::with_capacity(2, Searched::ByRowHash);
        for (key, row) in [("a", [9; 16]), ("b", [0; 16]), ("c", [7; 16])] {
            index.push(StateEntry {
                key,
                active: true,
                hash: [1; 16],
                row,
            });
        }
        assert_eq!(index.unclaimed_with_row(&[7; 16]), Some(2));
        assert_eq!(index.unclaimed_with_row(&[0; 16]), None, "zero is no row");
        assert_eq!(index.unclaimed_with_row(&[8; 16]), None);
        index.claim_entry(2, 5);
        assert_eq!(index.unclaimed_with_row(&[7; 16]), None, "claimed");
        assert_eq!(index.claim("c", 9), Claim::Repeat(5), "a key claimed by its row");
        assert_eq!(index.claim("a", 3), Claim::First(0));
        assert_eq!(index.unclaimed_with_row(&[9; 16]), None, "claimed by key");
        assert!(index.set_row(1, [4; 16]));
        assert!(!index.set_row(1, [4; 16]), "already so");
        assert_eq!(index.rows(), vec![[9; 16], [4; 16], [7; 16]]);
        assert_eq!(index.claim("zz", 10), Claim::Absent, "binary search: past the end");
        index.search_by_key();
        assert_eq!(index.claim("b", 11), Claim::First(1), "by the key table");
        assert_eq!(index.claim("c", 12), Claim::Repeat(5));
    }

    #[test]
    fn keys_out_of_order_are_found_all_the_same() {
        let mut index = StateIndex::with_capacity(3, Searched::ByRowHash);
        for key in ["m", "b", "x", "a"] {
            index.push(StateEntry {
                key,
                active: true,
                hash: [1; 16],
                row: [0; 16],
            });
        }
        for (i, key) in ["m", "b", "x", "a"].into_iter().enumerate() {
            assert_eq!(index.claim(key, 2), Claim::First(i), "{key}");
        }
        assert_eq!(index.claim("c", 3), Claim::Absent);
    }
}
