//! Rollback: compensating events that bring the state back to what it was
//! after snapshot N. Nothing is erased: like `jj op restore`, a rollback is
//! new history (cause `rollback to N`); the snapshots after N are marked
//! `rolled_back`, and the next import diffs against the restored state.

use std::collections::{BTreeMap, BTreeSet};

use ampsync_store::{EventFilter, EventKind, SnapshotStatus, Store, StoreError, UserState};

use crate::clock::{self, ClockError};
use crate::diff::field_changes;

/// Why a rollback cannot be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RollbackError {
    #[error("no snapshot {0}: see `ampsync snapshots`")]
    NoSuchSnapshot(u64),
    #[error("snapshot {id} is {status}: it never changed the state, so there is no state after it to return to")]
    NotApplied { id: u64, status: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Clock(#[from] ClockError),
}

/// A rollback's events, and where they were appended (not on a dry run).
#[derive(Debug, Clone)]
pub struct Rollback {
    pub to: u64,
    pub events: Vec<(String, EventKind)>,
    pub appended: Option<(u64, u64)>,
}

/// The events that take the current state back to the state after snapshot
/// `to`; appended unless `dry_run`.
pub fn rollback(store: &Store, to: u64, dry_run: bool) -> Result<Rollback, RollbackError> {
    let meta = store.snapshot(to)?.ok_or(RollbackError::NoSuchSnapshot(to))?;
    if matches!(meta.status, SnapshotStatus::Held | SnapshotStatus::Rejected) {
        return Err(RollbackError::NotApplied {
            id: to,
            status: meta.status.name(),
        });
    }
    let based_on = store.log_end()?;
    let mut target: BTreeMap<String, UserState> = BTreeMap::new();
    let mut current: BTreeMap<String, UserState> = BTreeMap::new();
    for (event, _) in store.events(&EventFilter::default())? {
        let key = event.body.key;
        // A forgotten person stays forgotten: their erased events restore
        // nothing (and a rejoin after it starts from a creation).
        if event.erased.is_some() {
            current.remove(&key);
            target.remove(&key);
            continue;
        }
        let apply = |map: &mut BTreeMap<String, UserState>| {
            let before = map.remove(&key);
            UserState::apply(before, &event.body.kind).map(|after| map.insert(key.clone(), after))
        };
        apply(&mut current).map_err(StoreError::Inconsistent)?;
        if event.seq <= meta.log_end {
            apply(&mut target).map_err(StoreError::Inconsistent)?;
        }
    }
    let keys: BTreeSet<&String> = current.keys().chain(target.keys()).collect();
    let mut events = Vec::new();
    for key in keys {
        match (current.get(key), target.get(key)) {
            // Created since snapshot N: they go (deactivated, data kept).
            (Some(now), None) if now.active => events.push((key.clone(), EventKind::Deactivated)),
            (Some(now), Some(then)) => {
                let changes = field_changes(&now.record, &then.record);
                match (now.active, then.active) {
                    (false, true) => events.push((key.clone(), EventKind::Reactivated { changes })),
                    (true, false) => {
                        if !changes.is_empty() {
                            events.push((key.clone(), EventKind::Updated { changes }));
                        }
                        events.push((key.clone(), EventKind::Deactivated));
                    }
                    _ if !changes.is_empty() => events.push((key.clone(), EventKind::Updated { changes })),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let appended = if dry_run || events.is_empty() {
        None
    } else {
        store.append_rollback(based_on, to, clock::now_micros()?, events.clone())?
    };
    Ok(Rollback { to, events, appended })
}
