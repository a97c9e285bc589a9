//! Audit queries over the log: finding a person by key or email, and a
//! person's record at a point in time, rebuilt from their events.

use ampsync_store::{Event, EventKind, Store, StoreError, UserState};

/// A point in the log's history.
#[derive(Debug, Clone, Copy)]
pub enum AsOf {
    /// Now: every event.
    Now,
    /// Events up to this time (microseconds since the epoch, inclusive).
    Time(i64),
    /// Events up to the end of the log when snapshot N was applied.
    Snapshot(u64),
}

/// The key of the person `text` names: a key, or an email they have or had
/// (case-insensitive).
pub fn resolve_key(store: &Store, text: &str) -> Result<Option<String>, StoreError> {
    // A forgotten person has no state, but their events keep the key.
    if store.user_state(text)?.is_some() || !store.user_events(text)?.is_empty() {
        return Ok(Some(text.to_owned()));
    }
    let email = text.trim().to_lowercase();
    if !email.contains('@') {
        return Ok(None);
    }
    if store.user_state(&email)?.is_some() {
        return Ok(Some(email));
    }
    // An email they had: the newest event that set it wins.
    let mut found = None;
    for (event, _) in store.events(&Default::default())? {
        let sets_email = match &event.body.kind {
            EventKind::Created { record } => record.get("email") == Some(&email),
            EventKind::Updated { changes } | EventKind::Reactivated { changes } => changes
                .iter()
                .any(|c| c.field == "email" && (c.new.as_deref() == Some(&email) || c.old.as_deref() == Some(&email))),
            EventKind::Deactivated => false,
        };
        if sets_email {
            found = Some(event.body.key);
        }
    }
    Ok(found)
}

/// A person's state as of `at`, rebuilt from their events; `None` when they
/// did not exist yet.
pub fn state_as_of(store: &Store, key: &str, at: AsOf) -> Result<Option<UserState>, StoreError> {
    let limit_seq = match at {
        AsOf::Snapshot(id) => Some(store.snapshot(id)?.ok_or(StoreError::NoSuchSnapshot(id))?.log_end),
        _ => None,
    };
    let events: Vec<Event> = store.user_events(key)?.into_iter().map(|(e, _)| e).collect();
    let mut state = None;
    for event in events {
        let included = match at {
            AsOf::Now => true,
            AsOf::Time(t) => event.body.time <= t,
            AsOf::Snapshot(_) => limit_seq.is_some_and(|end| event.seq <= end),
        };
        if !included {
            break;
        }
        if event.erased.is_some() {
            // Forgotten: there is nothing to show of them at any time.
            state = None;
            continue;
        }
        state = Some(UserState::apply(state, &event.body.kind).map_err(StoreError::Inconsistent)?);
    }
    Ok(state)
}
