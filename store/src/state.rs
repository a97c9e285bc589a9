//! The projection of the log: each person's current record.
//!
//! Stored as version byte, active flag, record hash, then the postcard
//! record, so the import can scan keys and hashes without decoding records.
//! In an encrypted store the record is sealed to the person's key
//! (`FORMAT_SEALED`); the flag and hash stay in clear.

use crate::seal::{Keys, Sealer, aad};
use crate::{EventKind, Record, RecordHash, StoreError, codec};

/// The stored form of a state whose record is sealed.
pub(crate) const FORMAT_SEALED: u8 = 3;

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

    /// The stored form of person `key`'s state (sealed with `sealer` in an
    /// encrypted store).
    pub(crate) fn encode(&self, key: &str, sealer: Option<&Sealer>) -> Result<Vec<u8>, StoreError> {
        UserState::encode_parts(self.active, &self.record, key, sealer)
    }

    /// Encodes a state from its parts, so a creation need not copy its record.
    pub(crate) fn encode_parts(
        active: bool,
        record: &Record,
        key: &str,
        sealer: Option<&Sealer>,
    ) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::with_capacity(34 + 24 * record.len());
        out.push(if sealer.is_some() {
            FORMAT_SEALED
        } else {
            codec::FORMAT_V1
        });
        out.push(u8::from(active));
        out.extend_from_slice(&record.hash());
        match sealer {
            None => codec::encode_after("state", record, out),
            Some(sealer) => {
                let plain =
                    postcard::to_allocvec(record).map_err(|source| StoreError::Encode { table: "state", source })?;
                sealer.seal_into(&aad("state", key.as_bytes()), &plain, &mut out)?;
                Ok(out)
            }
        }
    }

    /// Reads only the active flag and record hash.
    pub(crate) fn decode_summary(bytes: &[u8]) -> Result<(bool, RecordHash), StoreError> {
        match bytes.first() {
            Some(&(codec::FORMAT_V1 | FORMAT_SEALED)) if bytes.len() >= 34 => {
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

    /// Decodes person `key`'s stored state, opening a sealed record with
    /// `keys`.
    pub(crate) fn decode(key: &str, bytes: &[u8], keys: &Keys) -> Result<UserState, StoreError> {
        let (active, _) = UserState::decode_summary(bytes)?;
        let decode =
            |plain: &[u8]| postcard::from_bytes(plain).map_err(|source| StoreError::Decode { table: "state", source });
        let record = if bytes[0] == FORMAT_SEALED {
            decode(&keys.open("state", key.as_bytes(), &bytes[34..])?)?
        } else {
            decode(&bytes[34..])?
        };
        Ok(UserState { active, record })
    }
}
