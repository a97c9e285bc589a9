//! A person's canonical record: Learn Amp field name → normalised value.

use std::borrow::Cow;

use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The blake3 hash of a record's canonical form.
pub type RecordHash = [u8; 32];

/// Field names stored as a one-byte code instead of their text. The position
/// in this list is the code, so it is part of the file format: only append.
const KNOWN_FIELDS: [&str; 15] = [
    "email",
    "firstName",
    "lastName",
    "integrationExternalId",
    "jobTitle",
    "role",
    "language",
    "location",
    "department",
    "hireDate",
    "managerEmail",
    "coachEmail",
    "primaryTeam",
    "secondaryTeams",
    "timeZone",
];

/// A field name: one of Learn Amp's (no allocation) or a custom one.
type Name = Cow<'static, str>;

fn intern(name: String) -> Name {
    match KNOWN_FIELDS.iter().find(|k| **k == name) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(name),
    }
}

/// A person's record as the file describes them, after mapping and
/// normalisation: `(field, value)` pairs sorted by field name, with no empty
/// values. Field names are Learn Amp's (`firstName`, `jobTitle`, …, and
/// `customFields.<name>`); the store treats them as opaque strings, though
/// its encoding abbreviates the common ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    fields: Vec<(Name, String)>,
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
        // Pairs usually arrive in order: appending is the common case.
        let position = match self.fields.last() {
            Some((last, _)) if last.as_ref() < field.as_str() => Err(self.fields.len()),
            None => Err(0),
            _ => self.position(&field),
        };
        match (position, value.is_empty()) {
            (Ok(i), false) => self.fields[i].1 = value,
            (Ok(i), true) => {
                self.fields.remove(i);
            }
            (Err(i), false) => self.fields.insert(i, (intern(field), value)),
            (Err(_), true) => {}
        }
    }

    /// The fields in canonical (name) order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
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
        self.fields.binary_search_by(|(k, _)| k.as_ref().cmp(field))
    }
}

/// How a field name is written: a code into `KNOWN_FIELDS`, or the text.
#[derive(Serialize, Deserialize)]
enum NameCode<'a> {
    Known(u8),
    Custom(#[serde(borrow)] Cow<'a, str>),
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.fields.len()))?;
        for (name, value) in &self.fields {
            let code = match KNOWN_FIELDS.iter().position(|k| *k == name.as_ref()) {
                Some(i) => NameCode::Known(i as u8),
                None => NameCode::Custom(Cow::Borrowed(name.as_ref())),
            };
            seq.serialize_element(&(code, value))?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Record, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Record;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence of (field, value) pairs")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Record, A::Error> {
                let mut fields = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some((code, value)) = seq.next_element::<(NameCode<'de>, String)>()? {
                    let name = match code {
                        NameCode::Known(i) => match KNOWN_FIELDS.get(usize::from(i)) {
                            Some(k) => Cow::Borrowed(*k),
                            None => return Err(serde::de::Error::custom(format!("unknown field code {i}"))),
                        },
                        NameCode::Custom(name) => intern(name.into_owned()),
                    };
                    fields.push((name, value));
                }
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(Record { fields })
            }
        }
        deserializer.deserialize_seq(Fields)
    }
}

/// Hashes `(field, value)` pairs given in canonical order (sorted by field,
/// empty values left out), exactly as [`Record::hash`] does. The import's hot
/// path uses it to hash a row without building a `Record`.
pub fn hash_fields<'a>(fields: impl Iterator<Item = (&'a str, &'a str)>) -> RecordHash {
    hash_fields_with(&mut Vec::new(), fields)
}

/// [`hash_fields`] with a caller-owned scratch buffer, so hashing a million
/// rows allocates once. The canonical form is gathered first and hashed in
/// one call: blake3 is slow on many tiny updates.
pub fn hash_fields_with<'a, V: AsRef<[u8]> + ?Sized + 'a>(
    scratch: &mut Vec<u8>,
    fields: impl Iterator<Item = (&'a str, &'a V)>,
) -> RecordHash {
    scratch.clear();
    for (k, v) in fields {
        let v = v.as_ref();
        if v.is_empty() {
            continue;
        }
        // Length-prefixed, so no two different records share a byte stream.
        scratch.extend_from_slice(&(k.len() as u32).to_le_bytes());
        scratch.extend_from_slice(k.as_bytes());
        scratch.extend_from_slice(&(v.len() as u32).to_le_bytes());
        scratch.extend_from_slice(v);
    }
    *blake3::hash(scratch).as_bytes()
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

    /// Golden test: the record encoding is part of the file format.
    #[test]
    fn record_encoding_is_stable_and_round_trips() {
        let r = Record::from_pairs([("firstName", "Zoë"), ("customFields.cc", "7"), ("email", "a@x")]);
        let bytes = postcard::to_allocvec(&r).expect("encodes");
        assert_eq!(
            bytes,
            vec![
                3, 1, 15, 99, 117, 115, 116, 111, 109, 70, 105, 101, 108, 100, 115, 46, 99, 99, 1, 55, 0, 0, 3, 97, 64,
                120, 0, 1, 4, 90, 111, 195, 171
            ]
        );
        assert_eq!(postcard::from_bytes::<Record>(&bytes).expect("decodes"), r);
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
