//! Events: what happened to one person, why, and when; hash-chained.
//!
//! Each stored event carries the hash of its predecessor and its own hash,
//! blake3 over that predecessor hash and the encoded body, so changing any
//! event's bytes breaks the chain from there on.
//!
//! Three stored forms: plain (`FORMAT_V1`), erased (`FORMAT_ERASED`: the
//! skeleton, values gone) and sealed (`FORMAT_SEALED`, in an encrypted
//! store: the same skeleton in clear, then the sealed encoded body). The
//! hash always covers the plain encoded body, so sealing, rekeying and
//! erasing never change it.

use serde::{Deserialize, Serialize};

use crate::seal::{Keys, Sealer, aad};
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

impl FieldChange {
    /// The change with its values erased: the field name only.
    fn without_values(&self) -> FieldChange {
        FieldChange {
            field: self.field.clone(),
            old: None,
            new: None,
        }
    }
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

    /// The same kind with every value erased: a creation without its
    /// record, changes with field names only.
    pub(crate) fn without_values(&self) -> EventKind {
        match self {
            EventKind::Created { .. } => EventKind::Created {
                record: Record::default(),
            },
            EventKind::Updated { changes } => EventKind::Updated {
                changes: changes.iter().map(FieldChange::without_values).collect(),
            },
            EventKind::Reactivated { changes } => EventKind::Reactivated {
                changes: changes.iter().map(FieldChange::without_values).collect(),
            },
            EventKind::Deactivated => EventKind::Deactivated,
        }
    }

    /// The names of the fields this event sets or changes.
    pub(crate) fn field_names(&self) -> Vec<String> {
        match self {
            EventKind::Created { record } => record.iter().map(|(f, _)| f.to_owned()).collect(),
            EventKind::Updated { changes } | EventKind::Reactivated { changes } => {
                changes.iter().map(|c| c.field.clone()).collect()
            }
            EventKind::Deactivated => Vec::new(),
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
    /// Set when `forget` erased the event's values: `body` then holds the
    /// skeleton only (no values; a creation no record).
    pub erased: Option<Erased>,
}

/// What an erased event keeps besides its skeleton.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    /// The erasure that removed the values (see `Store::erasure`).
    pub erasure: u64,
    /// The fields the event changed (a creation: the fields it set).
    pub fields: Vec<String>,
}

/// The stored form of an erased event: its predecessor and own hash as they
/// were (the chain still links), the skeleton and what was erased.
pub(crate) const FORMAT_ERASED: u8 = 2;

/// The stored form of an event in an encrypted store: version byte,
/// predecessor and own hash, the length (u32 LE) and postcard of the
/// skeleton and field names (as an erased event keeps), then the encoded
/// body sealed to its sequence number (see `seal.rs`).
pub(crate) const FORMAT_SEALED: u8 = 3;

/// Where a sealed event's skeleton starts: after version byte and hashes.
const SKELETON_AT: usize = 65;

impl Event {
    /// The hash an event with this body and predecessor must have.
    pub fn compute_hash(prev_hash: &Hash32, encoded_body: &[u8]) -> Hash32 {
        let mut hasher = blake3::Hasher::new();
        hasher.update(prev_hash);
        hasher.update(encoded_body);
        *hasher.finalize().as_bytes()
    }

    /// Stored form of event `seq`: version byte, previous hash, own hash,
    /// postcard body; sealed with `sealer` in an encrypted store.
    pub(crate) fn encode_new(
        body: &EventBody,
        prev_hash: &Hash32,
        seq: u64,
        sealer: Option<&Sealer>,
    ) -> Result<(Vec<u8>, Hash32), StoreError> {
        if let Some(sealer) = sealer {
            let plain = postcard::to_allocvec(body).map_err(|source| StoreError::Encode {
                table: "events",
                source,
            })?;
            let hash = Event::compute_hash(prev_hash, &plain);
            let out = Event::encode_sealed(body, &plain, prev_hash, &hash, seq, sealer)?;
            return Ok((out, hash));
        }
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

    /// The sealed stored form of an event whose encoded body is `plain`.
    pub(crate) fn encode_sealed(
        body: &EventBody,
        plain: &[u8],
        prev_hash: &Hash32,
        hash: &Hash32,
        seq: u64,
        sealer: &Sealer,
    ) -> Result<Vec<u8>, StoreError> {
        let skeleton = EventBody {
            key: body.key.clone(),
            kind: body.kind.without_values(),
            cause: body.cause,
            time: body.time,
        };
        let mut out = Vec::with_capacity(2 * plain.len() + 160);
        out.push(FORMAT_SEALED);
        out.extend_from_slice(prev_hash);
        out.extend_from_slice(hash);
        out.extend_from_slice(&[0; 4]);
        let mut out = codec::encode_after("events", &(skeleton, body.kind.field_names()), out)?;
        let skeleton_len = u32::try_from(out.len() - SKELETON_AT - 4)
            .map_err(|_| StoreError::Inconsistent("an event skeleton over 4 GiB".into()))?;
        out[SKELETON_AT..SKELETON_AT + 4].copy_from_slice(&skeleton_len.to_le_bytes());
        sealer.seal_into(&aad("events", &seq.to_be_bytes()), plain, &mut out)?;
        Ok(out)
    }

    /// A sealed event's skeleton bytes and its sealed body.
    fn sealed_parts(bytes: &[u8]) -> Result<(&[u8], &[u8]), StoreError> {
        let corrupt = || StoreError::Inconsistent("a sealed event is cut short".into());
        let len = bytes.get(SKELETON_AT..SKELETON_AT + 4).ok_or_else(corrupt)?;
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let start = SKELETON_AT + 4;
        let skeleton = bytes.get(start..start + len).ok_or_else(corrupt)?;
        Ok((skeleton, &bytes[start + len..]))
    }

    /// Whether a stored event is sealed (an encrypted store's).
    pub(crate) fn is_sealed(bytes: &[u8]) -> bool {
        bytes.first() == Some(&FORMAT_SEALED)
    }

    /// The encoded body of a plain or sealed event (opening the seal
    /// with `keys`): the bytes its hash covers. `None` for an erased one.
    pub(crate) fn plain_body(seq: u64, bytes: &[u8], keys: &Keys) -> Result<Option<Vec<u8>>, StoreError> {
        match bytes.first() {
            Some(&FORMAT_SEALED) => {
                let (_, sealed) = Event::sealed_parts(bytes)?;
                Ok(Some(keys.open("events", &seq.to_be_bytes(), sealed)?))
            }
            Some(&FORMAT_ERASED) => Ok(None),
            _ => Ok(Some(Event::split(bytes)?.2.to_vec())),
        }
    }

    /// Decodes a stored event; a sealed one is opened with `keys`
    /// ([`StoreError::KeyNeeded`] without the key).
    pub(crate) fn decode(seq: u64, bytes: &[u8], keys: &Keys) -> Result<Event, StoreError> {
        if Event::is_sealed(bytes) {
            let (prev_hash, hash, _) = Event::split(bytes)?;
            let (_, sealed) = Event::sealed_parts(bytes)?;
            let plain = keys.open("events", &seq.to_be_bytes(), sealed)?;
            let body = postcard::from_bytes(&plain).map_err(|source| StoreError::Decode {
                table: "events",
                source,
            })?;
            return Ok(Event {
                seq,
                body,
                prev_hash,
                hash,
                erased: None,
            });
        }
        Event::decode_clear(seq, bytes)
    }

    /// Decodes what any stored event holds in clear: a sealed event's
    /// skeleton (no values), any other whole. Enough for its key, kind,
    /// cause and time, without the key.
    pub(crate) fn decode_skeleton(seq: u64, bytes: &[u8]) -> Result<Event, StoreError> {
        if Event::is_sealed(bytes) {
            let (prev_hash, hash, _) = Event::split(bytes)?;
            let (skeleton, _) = Event::sealed_parts(bytes)?;
            let (body, _fields): (EventBody, Vec<String>) =
                postcard::from_bytes(skeleton).map_err(|source| StoreError::Decode {
                    table: "events",
                    source,
                })?;
            return Ok(Event {
                seq,
                body,
                prev_hash,
                hash,
                erased: None,
            });
        }
        Event::decode_clear(seq, bytes)
    }

    /// Decodes a plain or erased event.
    fn decode_clear(seq: u64, bytes: &[u8]) -> Result<Event, StoreError> {
        let (prev_hash, hash, body) = Event::split(bytes)?;
        let decode_error = |source| StoreError::Decode {
            table: "events",
            source,
        };
        let (body, erased) = if Event::is_erased(bytes) {
            let (body, erased): (EventBody, Erased) = postcard::from_bytes(body).map_err(decode_error)?;
            (body, Some(erased))
        } else {
            (postcard::from_bytes(body).map_err(decode_error)?, None)
        };
        Ok(Event {
            seq,
            body,
            prev_hash,
            hash,
            erased,
        })
    }

    /// Whether a stored event's values were erased (its hash can then no
    /// longer be recomputed from its bytes).
    pub(crate) fn is_erased(bytes: &[u8]) -> bool {
        bytes.first() == Some(&FORMAT_ERASED)
    }

    /// The stored form of this event with its values erased by erasure
    /// `erasure`: same hashes, the skeleton, the names of the fields.
    pub(crate) fn encode_erased(&self, erasure: u64) -> Result<Vec<u8>, StoreError> {
        let fields = self.body.kind.changes().into_iter().map(|c| c.field).collect();
        let body = EventBody {
            kind: self.body.kind.without_values(),
            ..self.body.clone()
        };
        let mut out = Vec::with_capacity(96);
        out.push(FORMAT_ERASED);
        out.extend_from_slice(&self.prev_hash);
        out.extend_from_slice(&self.hash);
        codec::encode_after("events", &(body, Erased { erasure, fields }), out)
    }

    /// Splits a stored event into predecessor hash, own hash and body bytes,
    /// without decoding the body (for the chain check). A sealed event's
    /// "body" is its skeleton and seal: its hash is over [`Event::plain_body`].
    pub(crate) fn split(bytes: &[u8]) -> Result<(Hash32, Hash32, &[u8]), StoreError> {
        match bytes.first() {
            Some(&(codec::FORMAT_V1 | FORMAT_ERASED | FORMAT_SEALED)) if bytes.len() >= 65 => {
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
///
/// Stored with postcard, so a variant's position is its on-disk tag: new
/// variants go at the end, and the two that releases before 0.2 wrote
/// (`LegacyFailed`, `Dead`) stay readable with their old meaning mapped onto
/// today's rules (see each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delivery {
    /// Not yet sent.
    Pending,
    /// Learn Amp accepted it.
    Delivered { time: i64, remote_id: Option<u64> },
    /// Written before 0.2 for an attempt that failed and was to be tried
    /// again: read as [`Delivery::Waiting`] (the next push sends it).
    LegacyFailed {
        attempts: u32,
        last_error: String,
        time: i64,
    },
    /// Written before 0.2 for an event given up on after a set number of
    /// attempts, transient or not. The next push tries it once more, so a
    /// person is never lost to a fault that has passed; a refusal then
    /// makes it [`Delivery::Failed`].
    Dead {
        attempts: u32,
        last_error: String,
        time: i64,
    },
    /// Never to be sent (e.g. the events of a rejected import).
    Skipped { reason: String },
    /// Only transient faults so far (429, 5xx, no answer): the next push
    /// sends it again. `since` is when the first of them happened.
    Waiting {
        attempts: u32,
        last_error: String,
        since: i64,
        time: i64,
    },
    /// Learn Amp refused it (400, 403, 404 for an unknown custom field,
    /// 422): a person must act. It is not sent again by itself: a later
    /// change to the same person carries it (see [`Delivery::Superseded`]),
    /// or `retry` sends it again.
    Failed {
        attempts: u32,
        /// The HTTP status, when Learn Amp answered.
        status: Option<u16>,
        /// Learn Amp's message, with its field errors.
        error: String,
        time: i64,
    },
    /// Brought to Learn Amp by the request of the later event `by`, which
    /// sent the person's latest state.
    Superseded { by: u64, time: i64 },
}

impl Delivery {
    /// The status's name as the command line and JSON show it.
    pub fn name(&self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Delivered { .. } => "delivered",
            Delivery::LegacyFailed { .. } | Delivery::Waiting { .. } => "waiting",
            Delivery::Failed { .. } => "failed",
            Delivery::Dead { .. } => "dead",
            Delivery::Skipped { .. } => "skipped",
            Delivery::Superseded { .. } => "superseded",
        }
    }

    /// The status names by postcard variant tag: [`Delivery::name`] of
    /// each variant, in declaration order.
    pub(crate) const NAME_BY_TAG: [&'static str; 8] = [
        "pending",
        "delivered",
        "waiting",
        "dead",
        "skipped",
        "waiting",
        "failed",
        "superseded",
    ];

    /// The variant tag of a delivery from its postcard bytes without
    /// decoding the rest: postcard writes the variant first, as one byte for
    /// these eight (the golden test below pins it). For counting a whole
    /// table, where decoding every value costs as much as reading it.
    /// `None` for bytes that do not start with a known variant.
    pub(crate) fn tag_of_encoded(postcard: &[u8]) -> Option<usize> {
        let tag = usize::from(*postcard.first()?);
        (tag < Delivery::NAME_BY_TAG.len()).then_some(tag)
    }

    /// The next push sends it: pending, waiting on a transient fault, or
    /// written as failed or dead by a release before 0.2.
    pub fn is_due(&self) -> bool {
        matches!(
            self,
            Delivery::Pending | Delivery::Waiting { .. } | Delivery::LegacyFailed { .. } | Delivery::Dead { .. }
        )
    }

    /// Refused by Learn Amp: waits for a person (or a later change).
    pub fn is_failed(&self) -> bool {
        matches!(self, Delivery::Failed { .. })
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        match self {
            Delivery::LegacyFailed { attempts, .. }
            | Delivery::Dead { attempts, .. }
            | Delivery::Waiting { attempts, .. }
            | Delivery::Failed { attempts, .. } => *attempts,
            _ => 0,
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
        let (bytes, hash) = Event::encode_new(&body, &GENESIS_HASH, 1, None).expect("encodes");
        assert_eq!(
            &bytes[65..],
            &[
                2, 69, 49, 1, 1, 8, 106, 111, 98, 84, 105, 116, 108, 101, 1, 1, 65, 0, 0, 2, 128, 128, 242, 129, 131,
                137, 133, 6
            ][..]
        );
        let decoded = Event::decode(7, &bytes, &Keys::default()).expect("decodes");
        assert_eq!(decoded.body, body);
        assert_eq!(decoded.hash, hash);
        assert_eq!(hash, Event::compute_hash(&GENESIS_HASH, &bytes[65..]));
    }

    /// Golden test: delivery statuses written by every release stay
    /// readable. The first five tags are what releases before 0.2 wrote.
    #[test]
    fn delivery_encoding_is_stable() {
        let cases: [(Delivery, &[u8]); 8] = [
            (Delivery::Pending, &[0]),
            (
                Delivery::Delivered {
                    time: 2,
                    remote_id: Some(7),
                },
                &[1, 4, 1, 7],
            ),
            (
                Delivery::LegacyFailed {
                    attempts: 1,
                    last_error: "x".into(),
                    time: 3,
                },
                &[2, 1, 1, 120, 6],
            ),
            (
                Delivery::Dead {
                    attempts: 8,
                    last_error: "y".into(),
                    time: 1,
                },
                &[3, 8, 1, 121, 2],
            ),
            (Delivery::Skipped { reason: "r".into() }, &[4, 1, 114]),
            (
                Delivery::Waiting {
                    attempts: 2,
                    last_error: "z".into(),
                    since: 1,
                    time: 2,
                },
                &[5, 2, 1, 122, 2, 4],
            ),
            (
                Delivery::Failed {
                    attempts: 1,
                    status: Some(422),
                    error: "e".into(),
                    time: 1,
                },
                &[6, 1, 1, 166, 3, 1, 101, 2],
            ),
            (Delivery::Superseded { by: 9, time: 1 }, &[7, 9, 2]),
        ];
        for (delivery, bytes) in cases {
            assert_eq!(
                postcard::to_allocvec(&delivery).expect("encodes"),
                bytes,
                "{delivery:?}"
            );
            assert_eq!(postcard::from_bytes::<Delivery>(bytes).expect("decodes"), delivery);
            let tag = Delivery::tag_of_encoded(bytes);
            assert_eq!(
                tag.map(|t| Delivery::NAME_BY_TAG[t]),
                Some(delivery.name()),
                "{delivery:?}"
            );
        }
        assert_eq!(Delivery::tag_of_encoded(&[8]), None);
        assert_eq!(Delivery::tag_of_encoded(&[]), None);
    }
}
