//! Recording what became of deliveries: outcomes with the Learn Amp ids
//! they revealed, and `retry` making refused events pending again.

use redb::ReadableTable;

use crate::store::Store;
use crate::tables::{DELIVERY, REMOTE_IDS};
use crate::{Delivery, StoreError, codec};

/// A delivery outcome to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryUpdate {
    pub seq: u64,
    /// The person the event is about.
    pub key: String,
    pub delivery: Delivery,
    /// Their Learn Amp id, when the delivery learned it.
    pub remote_id: Option<u64>,
}

impl Store {
    /// Makes refused (or dead) events pending again, for `retry`, in one
    /// transaction. Every `seq` must be such an event; otherwise nothing
    /// changes and the error names it.
    pub fn retry_events(&self, seqs: &[u64]) -> Result<(), StoreError> {
        let txn = self.write()?;
        {
            let mut delivery = txn.open_table(DELIVERY)?;
            let pending = codec::encode("delivery", &Delivery::Pending)?;
            for &seq in seqs {
                let status = match delivery.get(seq)? {
                    Some(v) => codec::decode::<Delivery>("delivery", v.value())?,
                    None => return Err(StoreError::NotRetryable { seq, status: "unknown" }),
                };
                if !matches!(status, Delivery::Failed { .. } | Delivery::Dead { .. }) {
                    return Err(StoreError::NotRetryable {
                        seq,
                        status: status.name(),
                    });
                }
                delivery.insert(seq, pending.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Records delivery outcomes (and the Learn Amp ids they revealed) in
    /// one write transaction.
    pub fn record_deliveries(&self, updates: &[DeliveryUpdate]) -> Result<(), StoreError> {
        if updates.is_empty() {
            return Ok(());
        }
        let txn = self.write()?;
        {
            let mut delivery = txn.open_table(DELIVERY)?;
            let mut remote = txn.open_table(REMOTE_IDS)?;
            for u in updates {
                delivery.insert(u.seq, codec::encode("delivery", &u.delivery)?.as_slice())?;
                if let Some(id) = u.remote_id {
                    remote.insert(u.key.as_str(), id)?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }
}
