//! Row hashes: a keyed blake3 of a row's raw fields.
//!
//! The key covers everything besides the row's bytes that decides what a row
//! means: the header, the resolved mapping and value translations, the CSV
//! settings, and the decoding rules of this build. So two rows with the same
//! hash under the same key decode to the same record, and an import can
//! recognise yesterday's unchanged rows without decoding them (see
//! `ampsync_store::FileRows`).

use ampsync_store::RowHash;

use super::columns::ColumnPlan;
use super::{push_len, read_len};
use crate::config::Config;
use crate::fields::Field;

/// Bump when decoding, normalisation or validation changes what a row
/// means: row hashes made before then stop matching.
/// 2: keys and emails NFKC without zero-width characters, text NFC,
/// control characters refused, a UTF-8 byte-order mark over `csv.encoding`.
pub(crate) const DECODING_RULES: u32 = 2;

/// The row-hash key of a file read with `config`, decoded as `encoding`
/// (a byte-order mark or `"auto"` decide over the config) and split by
/// `delimiter` (the header's, under `"auto"`), whose header resolved to
/// `plan` (people keyed by `key_field`).
pub(super) fn file_key(
    config: &Config,
    encoding: &'static encoding_rs::Encoding,
    delimiter: u8,
    plan: &ColumnPlan,
    key_field: Field,
) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("ampsync row hash 2026-11-25");
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(&DECODING_RULES.to_le_bytes());
    // `Debug` of these is deterministic: maps in the plan are `BTreeMap`s.
    let settings = format!(
        "{:?}",
        (delimiter, encoding.name(), &config.csv.list_separator, key_field, plan)
    );
    hasher.update(settings.as_bytes());
    *hasher.finalize().as_bytes()
}

/// Appends `record`'s fields to `out`, each after its length.
pub(super) fn pack(record: &csv::ByteRecord, out: &mut Vec<u8>) {
    for field in record {
        push_len(out, field.len());
        out.extend_from_slice(field);
    }
}

/// The row hash of fields packed by [`pack`].
pub(super) fn hash(key: &[u8; 32], packed: &[u8]) -> RowHash {
    let mut row = RowHash::default();
    let n = row.len();
    row.copy_from_slice(&blake3::keyed_hash(key, packed).as_bytes()[..n]);
    row
}

/// The record whose fields [`pack`] packed, into `record`.
pub(super) fn unpack(mut packed: &[u8], record: &mut csv::ByteRecord) {
    record.clear();
    while let Some((len, rest)) = read_len(packed) {
        let (field, rest) = rest.split_at(len.min(rest.len()));
        record.push_field(field);
        packed = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_their_bounds_count() {
        let record = csv::ByteRecord::from(vec!["a,b", "", "é"]);
        let mut packed = Vec::new();
        pack(&record, &mut packed);
        let mut back = csv::ByteRecord::new();
        unpack(&packed, &mut back);
        assert_eq!(back, record);
        let mut joined = Vec::new();
        pack(&csv::ByteRecord::from(vec!["a", "b", "", "é"]), &mut joined);
        let key = [7; 32];
        assert_ne!(hash(&key, &packed), hash(&key, &joined), "fields, not just bytes");
        assert_ne!(hash(&key, &packed), hash(&[8; 32], &packed), "keyed");
    }
}
