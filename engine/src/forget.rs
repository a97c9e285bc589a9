//! `ampsync forget KEY`: finds the kept raw files that hold the person, then
//! has the store erase them (see `ampsync_store::Store::forget`).
//!
//! A kept file holds the person if its bytes contain their key or any
//! email they had. A match by accident (a key inside a longer one) only
//! drops a file that did not need to go: the file is dropped, never edited,
//! so what remains is always a file as it was received, or nothing.

use ampsync_store::{Erasure, ForgetRequest, Store, StoreError};

use crate::raw::{RawError, snapshot_bytes};

/// Why a person could not be forgotten.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForgetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Raw(#[from] RawError),
}

/// Who to forget, and why.
#[derive(Debug, Clone)]
pub struct Forget<'a> {
    pub key: &'a str,
    pub reason: &'a str,
    pub by: Option<&'a str>,
    /// Microseconds since the epoch.
    pub time: i64,
}

/// Erases `forget.key`'s personal values from the store, dropping every
/// kept raw file that holds them.
pub fn forget(store: &Store, forget: &Forget<'_>) -> Result<Erasure, ForgetError> {
    let needles = needles(store, forget.key)?;
    let holding = raw_holding(store, std::slice::from_ref(&needles))?;
    Ok(store.forget(&ForgetRequest {
        key: forget.key,
        reason: forget.reason,
        by: forget.by,
        time: forget.time,
        raw_holding: holding.first().map_or(&[][..], Vec::as_slice),
    })?)
}

/// What marks `key` in a kept file: the key and every email they had, in
/// lower case (a file may have an email in capitals; search lowercased
/// bytes).
pub(crate) fn needles(store: &Store, key: &str) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut needles: Vec<Vec<u8>> = vec![key.as_bytes().to_ascii_lowercase()];
    for (event, _) in store.user_events(key)? {
        for change in event.body.kind.changes() {
            if change.field == "email" {
                needles.extend(
                    [change.old, change.new]
                        .into_iter()
                        .flatten()
                        .map(|email| email.into_bytes().to_ascii_lowercase()),
                );
            }
        }
    }
    needles.retain(|n| !n.is_empty());
    needles.sort_unstable();
    needles.dedup();
    Ok(needles)
}

/// For each person (given by their needles), the snapshots whose kept raw
/// file holds them; each kept file is decompressed once for everyone.
pub(crate) fn raw_holding(store: &Store, people: &[Vec<Vec<u8>>]) -> Result<Vec<Vec<u64>>, ForgetError> {
    let mut holding = vec![Vec::new(); people.len()];
    if people.is_empty() {
        return Ok(holding);
    }
    for meta in store.snapshots()? {
        let mut bytes = match snapshot_bytes(store, meta.id) {
            Ok(bytes) => bytes,
            Err(RawError::NotKept(_)) => continue,
            // A damaged kept file is dropped too: it cannot be searched.
            Err(RawError::Damaged { .. } | RawError::Decompress { .. }) => {
                holding.iter_mut().for_each(|h| h.push(meta.id));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        bytes.make_ascii_lowercase();
        for (needles, holding) in people.iter().zip(&mut holding) {
            if needles.iter().any(|n| memchr::memmem::find(&bytes, n).is_some()) {
                holding.push(meta.id);
            }
        }
    }
    Ok(holding)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ampsync_store::{Delivery, DeliveryUpdate, EventFilter};

    use super::*;
    use crate::{Config, ImportOutcome, Input, clock, import};

    /// Regression (found by the store model test): a file without a key
    /// column keys people by their email, lowercased; a kept file that had
    /// it in capitals was not found to hold them, so it was kept, their
    /// email in it, after they were forgotten.
    #[test]
    fn a_kept_file_with_the_email_in_another_case_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.redb");
        let store = Store::open(&path).expect("store");
        let mut config = Config::parse("", Path::new("ampsync.toml")).expect("config");
        config.policy.max_deactivate_percent = f64::INFINITY;
        config.policy.max_change_percent = f64::INFINITY;
        let days = [
            "First name,Last name,Email\nZebedee,Quartermaine,ZEBEDEE.Q@ACME.EXAMPLE\n",
            "First name,Last name,Email\nAnn,Lee,ann@acme.example\n",
        ];
        // At the real time: pinning the clock would reach the tests beside.
        for (n, text) in days.iter().enumerate() {
            let input = Input::Bytes {
                name: format!("day{n}.csv"),
                bytes: text.as_bytes().to_vec(),
            };
            let outcome = import(&store, &config, &input, None).expect("import");
            assert!(matches!(outcome, ImportOutcome::Imported(_)), "{outcome:?}");
        }
        let delivered: Vec<DeliveryUpdate> = store
            .events(&EventFilter::default())
            .expect("events")
            .into_iter()
            .map(|(e, _)| DeliveryUpdate {
                seq: e.seq,
                key: e.body.key,
                delivery: Delivery::Delivered {
                    time: 1,
                    remote_id: None,
                },
                remote_id: None,
            })
            .collect();
        store.record_deliveries(&delivered).expect("deliver");

        let key = "zebedee.q@acme.example";
        let request = Forget {
            key,
            reason: "asked",
            by: None,
            time: clock::now_micros().expect("now"),
        };
        let erasure = forget(&store, &request).expect("forget");
        assert_eq!(
            erasure.raw_dropped,
            vec![1],
            "the file with ZEBEDEE.Q@ACME.EXAMPLE goes"
        );
        let bytes = std::fs::read(&path).expect("read the store").to_ascii_lowercase();
        for value in [key, "quartermaine"] {
            assert!(
                memchr::memmem::find(&bytes, value.as_bytes()).is_none(),
                "{value} survives"
            );
        }
    }
}
