//! Value encoding: one format-version byte, then postcard.
//!
//! postcard has no schema evolution of its own, so every stored value starts
//! with [`FORMAT_V1`]; a later format adds a version and a decoder for it.

use serde::{Serialize, de::DeserializeOwned};

use crate::StoreError;

/// The only value format so far.
pub(crate) const FORMAT_V1: u8 = 1;

/// Encodes `value` behind the version byte.
pub(crate) fn encode<T: Serialize>(table: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    encode_after(table, value, vec![FORMAT_V1])
}

/// Appends `value`'s postcard bytes to `prefix`.
pub(crate) fn encode_after<T: Serialize>(
    table: &'static str,
    value: &T,
    prefix: Vec<u8>,
) -> Result<Vec<u8>, StoreError> {
    postcard::to_extend(value, prefix).map_err(|source| StoreError::Encode { table, source })
}

/// Decodes a value written by [`encode`].
pub(crate) fn decode<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&FORMAT_V1, rest)) => postcard::from_bytes(rest).map_err(|source| StoreError::Decode { table, source }),
        Some((&version, _)) => Err(StoreError::UnknownFormat { table, version }),
        None => Err(StoreError::UnknownFormat { table, version: 0 }),
    }
}
