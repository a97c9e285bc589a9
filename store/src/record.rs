//! A person's canonical record: Learn Amp field name → normalised value.

use serde::{Deserialize, Serialize};

/// The blake3 hash of a record's canonical form.
pub type RecordHash = [u8; 32];

/// A person's record as the file describes them, after mapping and
/// normalisation: `(field, value)` pairs sorted by field name, with no empty
/// values. Field names are Learn Amp's (`firstName`, `jobTitle`, …, and
/// `customFields.<name>`); the store treats them as opaque strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    fields: Vec<(String, String)>,
}

impl Record {
    /// Builds a record from pairs in any order; empty values are dropped and
    /// a later pair for the same field wins.
    pub fn from_pairs<I, K, V>(pairs: I) -> Record
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut record = Record::default();
        for (k, v) in pairs {
            record.set(k.into(), v.into());
        }
        record
    }

    /// The value of `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.position(field).ok().map(|i| self.fields[i].1.as_str())
    }

    /// Sets `field` to `value`; an empty value removes the field.
    pub fn set(&mut self, field: String, value: String) {
        match (self.position(&field), value.is_empty()) {
            (Ok(i), false) => self.fields[i].1 = value,
            (Ok(i), true) => {
                self.fields.remove(i);
            }
            (Err(i), false) => self.fields.insert(i, (field, value)),
            (Err(_), true) => {}
        }
    }

    /// The fields in canonical (name) order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of non-empty fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when no field has a value.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The blake3 hash of the canonical form; equal records hash equally.
    pub fn hash(&self) -> RecordHash {
        hash_fields(self.iter())
    }

    fn position(&self, field: &str) -> Result<usize, usize> {
        self.fields.binary_search_by(|(k, _)| k.as_str().cmp(field))
    }
}

/// Hashes `(field, value)` pairs given in canonical order (sorted by field,
/// empty values left out), exactly as [`Record::hash`] does. The import's hot
/// path uses it to hash a row without building a `Record`.
pub fn hash_fields<'a>(fields: impl Iterator<Item = (&'a str, &'a str)>) -> RecordHash {
    let mut hasher = blake3::Hasher::new();
    for (k, v) in fields {
        if v.is_empty() {
            continue;
        }
        // Length-prefixed, so no two different records share a byte stream.
        hasher.update(&(k.len() as u32).to_le_bytes());
        hasher.update(k.as_bytes());
        hasher.update(&(v.len() as u32).to_le_bytes());
        hasher.update(v.as_bytes());
    }
    *hasher.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_sorted_and_empty_values_dropped() {
        let r = Record::from_pairs([("lastName", "Lee"), ("email", "a@x"), ("jobTitle", "")]);
        assert_eq!(
            r.iter().collect::<Vec<_>>(),
            vec![("email", "a@x"), ("lastName", "Lee")]
        );
    }

    #[test]
    fn hash_ignores_insertion_order_but_not_values() {
        let a = Record::from_pairs([("a", "1"), ("b", "2")]);
        let b = Record::from_pairs([("b", "2"), ("a", "1")]);
        let c = Record::from_pairs([("a", "12")]);
        assert_eq!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
        // "a"="12" and "a1"="2" must not collide.
        assert_ne!(c.hash(), Record::from_pairs([("a1", "2")]).hash());
    }

    #[test]
    fn hash_fields_matches_record_hash() {
        let r = Record::from_pairs([("email", "a@x"), ("firstName", "Zoë")]);
        assert_eq!(
            hash_fields([("email", "a@x"), ("firstName", "Zoë"), ("z", "")].into_iter()),
            r.hash()
        );
    }
}
