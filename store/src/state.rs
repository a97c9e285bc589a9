//! The projection of the log: each person's current record.
//!
//! Stored as version byte, active flag, record hash, then the postcard
//! record, so the import can scan keys and hashes without decoding records.

use crate::{EventKind, Record, RecordHash, StoreError, codec};

/// A person's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    pub active: bool,
    pub record: Record,
}

impl UserState {
    /// The state an event leaves behind, given the state before it.
    pub fn apply(before: Option<UserState>, kind: &EventKind) -> Result<UserState, String> {
        match (before, kind) {
            (None, EventKind::Created { record }) => Ok(UserState {
                active: true,
                record: record.clone(),
            }),
            (Some(_), EventKind::Created { .. }) => Err("created a person who already exists".into()),
            (None, _) => Err(format!("{} a person who does not exist", kind.name())),
            (Some(mut s), EventKind::Updated { changes }) => {
                for c in changes {
                    s.record.set(c.field.clone(), c.new.clone().unwrap_or_default());
                }
                Ok(s)
            }
            (Some(mut s), EventKind::Deactivated) => {
                s.active = false;
                Ok(s)
            }
            (Some(mut s), EventKind::Reactivated { changes }) => {
                s.active = true;
                for c in changes {
                    s.record.set(c.field.clone(), c.new.clone().unwrap_or_default());
                }
                Ok(s)
            }
        }
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>, StoreError> {
        UserState::encode_parts(self.active, &self.record)
    }

    /// Encodes a state from its parts, so a creation need not copy its record.
    pub(crate) fn encode_parts(active: bool, record: &Record) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::with_capacity(34 + 24 * record.len());
        out.push(codec::FORMAT_V1);
        out.push(u8::from(active));
        out.extend_from_slice(&record.hash());
        codec::encode_after("state", record, out)
    }

    /// Reads only the active flag and record hash.
    pub(crate) fn decode_summary(bytes: &[u8]) -> Result<(bool, RecordHash), StoreError> {
        match bytes.first() {
            Some(&codec::FORMAT_V1) if bytes.len() >= 34 => {
                let mut hash = [0; 32];
                hash.copy_from_slice(&bytes[2..34]);
                Ok((bytes[1] != 0, hash))
            }
            Some(&version) => Err(StoreError::UnknownFormat {
                table: "state",
                version,
            }),
            None => Err(StoreError::UnknownFormat {
                table: "state",
                version: 0,
            }),
        }
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<UserState, StoreError> {
        let (active, _) = UserState::decode_summary(bytes)?;
        let record =
            postcard::from_bytes(&bytes[34..]).map_err(|source| StoreError::Decode { table: "state", source })?;
        Ok(UserState { active, record })
    }
}
