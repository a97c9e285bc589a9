//! Held events: what a held import would append, kept until it is approved
//! or rejected. Each is stored as the format byte and the postcard of (key,
//! kind); in an encrypted store the postcard is sealed to its row
//! (`FORMAT_SEALED`).

use crate::seal::{Keys, Sealer, aad};
use crate::{EventKind, StoreError, codec};

/// The stored form of a sealed held event.
const FORMAT_SEALED: u8 = 3;

/// The table's name, as errors and seals name it.
const TABLE: &str = "held_events";

/// The associated data of held event `n` of snapshot `id`.
fn row(id: u64, n: u64) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&id.to_be_bytes());
    out[8..].copy_from_slice(&n.to_be_bytes());
    out
}

/// The stored form of held event `n` of snapshot `id`.
pub(crate) fn encode(
    id: u64,
    n: u64,
    event: &(String, EventKind),
    sealer: Option<&Sealer>,
) -> Result<Vec<u8>, StoreError> {
    match sealer {
        None => codec::encode(TABLE, event),
        Some(sealer) => {
            let plain = postcard::to_allocvec(event).map_err(|source| StoreError::Encode { table: TABLE, source })?;
            let mut out = vec![FORMAT_SEALED];
            sealer.seal_into(&aad(TABLE, &row(id, n)), &plain, &mut out)?;
            Ok(out)
        }
    }
}

/// Decodes held event `n` of snapshot `id`, opening a seal with `keys`.
pub(crate) fn decode(id: u64, n: u64, bytes: &[u8], keys: &Keys) -> Result<(String, EventKind), StoreError> {
    match bytes.split_first() {
        Some((&FORMAT_SEALED, sealed)) => {
            let plain = keys.open(TABLE, &row(id, n), sealed)?;
            postcard::from_bytes(&plain).map_err(|source| StoreError::Decode { table: TABLE, source })
        }
        _ => codec::decode(TABLE, bytes),
    }
}
