//! `SeenSet`: the strings a file has used so far (keys, emails) and the line
//! of each, for duplicate detection.
//!
//! Strings are packed into one arena and a `hashbrown::HashTable` holds only
//! entry numbers, so a million emails cost ~50 MB in a few allocations and
//! comparisons are exact (no fingerprint can make a false duplicate).

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

#[derive(Debug, Clone, Copy)]
struct Entry {
    start: u32,
    len: u32,
    line: u64,
}

/// A set of strings with the line each was first seen on.
#[derive(Debug, Default)]
pub(crate) struct SeenSet {
    text: String,
    entries: Vec<Entry>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl SeenSet {
    /// An empty set with room for `n` strings.
    pub(crate) fn with_capacity(n: usize) -> SeenSet {
        SeenSet {
            text: String::with_capacity(n * 24),
            entries: Vec::with_capacity(n),
            table: HashTable::with_capacity(n),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// Records `s` as seen on `line`; if it was seen before, returns that line.
    pub(crate) fn insert(&mut self, s: &str, line: u64) -> Option<u64> {
        let hash = self.hasher.hash_one(s);
        let (text, entries) = (&self.text, &self.entries);
        if let Some(&i) = self.table.find(hash, |&i| entry_str(text, &entries[i as usize]) == s) {
            return Some(self.entries[i as usize].line);
        }
        let index = self.entries.len() as u32;
        self.entries.push(Entry {
            start: self.text.len() as u32,
            len: s.len() as u32,
            line,
        });
        self.text.push_str(s);
        let (text, entries, hasher) = (&self.text, &self.entries, &self.hasher);
        self.table
            .insert_unique(hash, index, |&i| hasher.hash_one(entry_str(text, &entries[i as usize])));
        None
    }
}

fn entry_str<'a>(text: &'a str, e: &Entry) -> &'a str {
    &text[e.start as usize..(e.start + e.len) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_first_line_of_a_repeat() {
        let mut seen = SeenSet::default();
        assert_eq!(seen.insert("a@x.io", 2), None);
        assert_eq!(seen.insert("b@x.io", 3), None);
        assert_eq!(seen.insert("a@x.io", 9), Some(2));
        assert_eq!(seen.insert("a@x.i", 10), None);
    }
}
