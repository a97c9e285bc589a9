//! Events: what happened to one person, why, and when; hash-chained.
//!
//! Each stored event carries the hash of its predecessor and its own hash,
//! blake3 over that predecessor hash and the encoded body, so changing any
//! event's bytes breaks the chain from there on.

use serde::{Deserialize, Serialize};

use crate::{Record, StoreError, codec};

/// A blake3 hash.
pub type Hash32 = [u8; 32];

/// The predecessor hash of the first event.
pub const GENESIS_HASH: Hash32 = [0; 32];

/// One field's change: `None` means the field had (or has) no value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What happened to the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// First seen: the full record.
    Created { record: Record },
    /// Fields changed, each old → new.
    Updated { changes: Vec<FieldChange> },
    /// Left (missing from the file, or marked to deactivate); record kept.
    Deactivated,
    /// Back after a deactivation, with any fields that changed meanwhile.
    Reactivated { changes: Vec<FieldChange> },
}

impl EventKind {
    /// The kind's name as the command line and JSON show it.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Created { .. } => "created",
            EventKind::Updated { .. } => "updated",
            EventKind::Deactivated => "deactivated",
            EventKind::Reactivated { .. } => "reactivated",
        }
    }

    /// Field changes this event makes (a creation's are all from nothing).
    pub fn changes(&self) -> Vec<FieldChange> {
        match self {
            EventKind::Created { record } => record
                .iter()
                .map(|(f, v)| FieldChange {
                    field: f.to_owned(),
                    old: None,
                    new: Some(v.to_owned()),
                })
                .collect(),
            EventKind::Updated { changes } | EventKind::Reactivated { changes } => changes.clone(),
            EventKind::Deactivated => Vec::new(),
        }
    }
}

/// Why an event was appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cause {
    /// The import of snapshot N.
    Import { snapshot: u64 },
    /// A rollback to the state after snapshot N.
    Rollback { to: u64 },
    /// The approval of held snapshot N.
    Approval { snapshot: u64 },
    /// A reconcile repair.
    Repair,
}

impl Cause {
    /// The snapshot this event came from, if it came from one.
    pub fn snapshot(&self) -> Option<u64> {
        match *self {
            Cause::Import { snapshot } | Cause::Approval { snapshot } => Some(snapshot),
            Cause::Rollback { .. } | Cause::Repair => None,
        }
    }
}

/// An event's content: everything its hash covers besides the predecessor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventBody {
    /// The person's key (external id, or email when the file has none).
    pub key: String,
    pub kind: EventKind,
    pub cause: Cause,
    /// Microseconds since the Unix epoch, UTC.
    pub time: i64,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: u64,
    pub body: EventBody,
    pub prev_hash: Hash32,
    pub hash: Hash32,
}

impl Event {
    /// The hash an event with this body and predecessor must have.
    pub fn compute_hash(prev_hash: &Hash32, encoded_body: &[u8]) -> Hash32 {
        let mut hasher = blake3::Hasher::new();
        hasher.update(prev_hash);
        hasher.update(encoded_body);
        *hasher.finalize().as_bytes()
    }

    /// Stored form: version byte, previous hash, own hash, postcard body.
    pub(crate) fn encode_new(body: &EventBody, prev_hash: &Hash32) -> Result<(Vec<u8>, Hash32), StoreError> {
        let mut out = Vec::with_capacity(160);
        out.push(codec::FORMAT_V1);
        out.extend_from_slice(prev_hash);
        out.extend_from_slice(&[0; 32]);
        let out = codec::encode_after("events", body, out)?;
        let hash = Event::compute_hash(prev_hash, &out[65..]);
        let mut out = out;
        out[33..65].copy_from_slice(&hash);
        Ok((out, hash))
    }

    pub(crate) fn decode(seq: u64, bytes: &[u8]) -> Result<Event, StoreError> {
        let (prev_hash, hash, body) = Event::split(bytes)?;
        let body = postcard::from_bytes(body).map_err(|source| StoreError::Decode {
            table: "events",
            source,
        })?;
        Ok(Event {
            seq,
            body,
            prev_hash,
            hash,
        })
    }

    /// Splits a stored event into predecessor hash, own hash and body bytes,
    /// without decoding the body (for the chain check).
    pub(crate) fn split(bytes: &[u8]) -> Result<(Hash32, Hash32, &[u8]), StoreError> {
        match bytes.first() {
            Some(&codec::FORMAT_V1) if bytes.len() >= 65 => {
                let mut prev = [0; 32];
                let mut own = [0; 32];
                prev.copy_from_slice(&bytes[1..33]);
                own.copy_from_slice(&bytes[33..65]);
                Ok((prev, own, &bytes[65..]))
            }
            Some(&version) => Err(StoreError::UnknownFormat {
                table: "events",
                version,
            }),
            None => Err(StoreError::UnknownFormat {
                table: "events",
                version: 0,
            }),
        }
    }
}

/// Whether an event has reached Learn Amp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delivery {
    /// Not yet sent.
    Pending,
    /// Learn Amp accepted it.
    Delivered { time: i64, remote_id: Option<u64> },
    /// The last attempt failed; a later push tries again.
    Failed {
        attempts: u32,
        last_error: String,
        time: i64,
    },
    /// Given up on after too many attempts; needs a person.
    Dead {
        attempts: u32,
        last_error: String,
        time: i64,
    },
    /// Never to be sent (superseded, e.g. by a rejected import).
    Skipped { reason: String },
}

impl Delivery {
    /// The status's name as the command line and JSON show it.
    pub fn name(&self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Delivered { .. } => "delivered",
            Delivery::Failed { .. } => "failed",
            Delivery::Dead { .. } => "dead",
            Delivery::Skipped { .. } => "skipped",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden test: the stored bytes of an event are part of the file
    /// format. If this fails, the format changed: add a new version instead.
    #[test]
    fn event_encoding_is_stable() {
        let body = EventBody {
            key: "E1".into(),
            kind: EventKind::Updated {
                changes: vec![FieldChange {
                    field: "jobTitle".into(),
                    old: Some("A".into()),
                    new: None,
                }],
            },
            cause: Cause::Import { snapshot: 2 },
            time: 1_700_000_000_000_000,
        };
        let (bytes, hash) = Event::encode_new(&body, &GENESIS_HASH).expect("encodes");
        assert_eq!(
            &bytes[65..],
            &[
                2, 69, 49, 1, 1, 8, 106, 111, 98, 84, 105, 116, 108, 101, 1, 1, 65, 0, 0, 2, 128, 128, 242, 129, 131,
                137, 133, 6
            ][..]
        );
        let decoded = Event::decode(7, &bytes).expect("decodes");
        assert_eq!(decoded.body, body);
        assert_eq!(decoded.hash, hash);
        assert_eq!(hash, Event::compute_hash(&GENESIS_HASH, &bytes[65..]));
    }
}
