//! The diff: what events turn the current state into what a file says.
//!
//! Pure functions, no I/O. [`decide`] is the rule for one person; [`diff`]
//! applies it to whole maps and is the reference the fast import path (which
//! narrows the work with the state index first) must agree with.

use std::collections::BTreeMap;

use ampsync_store::{EventKind, FieldChange, Record, UserState};

/// What the file says about a person.
#[derive(Debug, Clone, Copy)]
pub enum Incoming<'a> {
    /// A row for them, and whether it asks to deactivate them.
    Row { record: &'a Record, deactivate: bool },
    /// No row for them.
    Missing,
}

/// The diff's policy switches.
#[derive(Debug, Clone, Copy)]
pub struct DiffPolicy {
    /// People missing from the file are deactivated.
    pub deactivate_missing: bool,
}

/// The event, if any, that brings one person from `before` to what the file
/// says. An email change under the same key is an update.
pub fn decide(before: Option<&UserState>, incoming: Incoming<'_>, policy: DiffPolicy) -> Option<EventKind> {
    match (before, incoming) {
        (
            None,
            Incoming::Row {
                record,
                deactivate: false,
            },
        ) => Some(EventKind::Created { record: record.clone() }),
        (None, _) => None,
        (
            Some(s),
            Incoming::Row {
                record,
                deactivate: false,
            },
        ) => {
            let changes = field_changes(&s.record, record);
            match (s.active, changes.is_empty()) {
                (true, true) => None,
                (true, false) => Some(EventKind::Updated { changes }),
                (false, _) => Some(EventKind::Reactivated { changes }),
            }
        }
        (Some(s), Incoming::Row { deactivate: true, .. }) => s.active.then_some(EventKind::Deactivated),
        (Some(s), Incoming::Missing) => (s.active && policy.deactivate_missing).then_some(EventKind::Deactivated),
    }
}

/// Each field whose value differs, old → new, in field order.
pub fn field_changes(old: &Record, new: &Record) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    let (mut a, mut b) = (old.iter().peekable(), new.iter().peekable());
    loop {
        let change = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(&(f, v)), None) => {
                a.next();
                (f, Some(v), None)
            }
            (None, Some(&(f, v))) => {
                b.next();
                (f, None, Some(v))
            }
            (Some(&(fa, va)), Some(&(fb, vb))) => match fa.cmp(fb) {
                std::cmp::Ordering::Less => {
                    a.next();
                    (fa, Some(va), None)
                }
                std::cmp::Ordering::Greater => {
                    b.next();
                    (fb, None, Some(vb))
                }
                std::cmp::Ordering::Equal => {
                    a.next();
                    b.next();
                    if va == vb {
                        continue;
                    }
                    (fa, Some(va), Some(vb))
                }
            },
        };
        changes.push(FieldChange {
            field: change.0.to_owned(),
            old: change.1.map(str::to_owned),
            new: change.2.map(str::to_owned),
        });
    }
    changes
}

/// The events, in key order, that take `state` to what `snapshot` says
/// (key → record and deactivate flag).
pub fn diff(
    state: &BTreeMap<String, UserState>,
    snapshot: &BTreeMap<String, (Record, bool)>,
    policy: DiffPolicy,
) -> Vec<(String, EventKind)> {
    let mut events = Vec::new();
    let keys: std::collections::BTreeSet<&String> = state.keys().chain(snapshot.keys()).collect();
    for key in keys {
        let incoming = match snapshot.get(key) {
            Some((record, deactivate)) => Incoming::Row {
                record,
                deactivate: *deactivate,
            },
            None => Incoming::Missing,
        };
        if let Some(kind) = decide(state.get(key), incoming, policy) {
            events.push((key.clone(), kind));
        }
    }
    events
}

/// Applies events to a state map: the projection the store keeps.
pub fn apply(
    mut state: BTreeMap<String, UserState>,
    events: &[(String, EventKind)],
) -> Result<BTreeMap<String, UserState>, String> {
    for (key, kind) in events {
        let next = UserState::apply(state.remove(key), kind)?;
        state.insert(key.clone(), next);
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POLICY: DiffPolicy = DiffPolicy {
        deactivate_missing: true,
    };

    fn record(pairs: &[(&str, &str)]) -> Record {
        Record::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn email_change_under_the_same_key_is_an_update() {
        let before = UserState {
            active: true,
            record: record(&[("email", "a@x.io"), ("lastName", "Nowak")]),
        };
        let after = record(&[("email", "b@x.io"), ("lastName", "Kowalska")]);
        let event = decide(
            Some(&before),
            Incoming::Row {
                record: &after,
                deactivate: false,
            },
            POLICY,
        );
        assert_eq!(
            event,
            Some(EventKind::Updated {
                changes: vec![
                    FieldChange {
                        field: "email".into(),
                        old: Some("a@x.io".into()),
                        new: Some("b@x.io".into())
                    },
                    FieldChange {
                        field: "lastName".into(),
                        old: Some("Nowak".into()),
                        new: Some("Kowalska".into())
                    },
                ]
            })
        );
    }

    #[test]
    fn missing_people_are_deactivated_only_by_policy() {
        let before = UserState {
            active: true,
            record: record(&[("email", "a@x.io")]),
        };
        assert_eq!(
            decide(Some(&before), Incoming::Missing, POLICY),
            Some(EventKind::Deactivated)
        );
        let keep = DiffPolicy {
            deactivate_missing: false,
        };
        assert_eq!(decide(Some(&before), Incoming::Missing, keep), None);
    }

    #[test]
    fn a_rejoiner_is_reactivated_with_what_changed_meanwhile() {
        let before = UserState {
            active: false,
            record: record(&[("email", "a@x.io"), ("jobTitle", "A")]),
        };
        let back = record(&[("email", "a@x.io"), ("jobTitle", "B")]);
        assert_eq!(
            decide(
                Some(&before),
                Incoming::Row {
                    record: &back,
                    deactivate: false
                },
                POLICY
            ),
            Some(EventKind::Reactivated {
                changes: vec![FieldChange {
                    field: "jobTitle".into(),
                    old: Some("A".into()),
                    new: Some("B".into())
                }]
            })
        );
    }

    #[test]
    fn a_deactivate_flag_deactivates_and_never_creates() {
        let r = record(&[("email", "a@x.io")]);
        let before = UserState {
            active: true,
            record: r.clone(),
        };
        assert_eq!(
            decide(
                Some(&before),
                Incoming::Row {
                    record: &r,
                    deactivate: true
                },
                POLICY
            ),
            Some(EventKind::Deactivated)
        );
        assert_eq!(
            decide(
                None,
                Incoming::Row {
                    record: &r,
                    deactivate: true
                },
                POLICY
            ),
            None
        );
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        prop::collection::btree_map(
            prop::sample::select(vec!["email", "firstName", "jobTitle", "role", "customFields.cc"]),
            "[a-c]{0,2}",
            0..5,
        )
        .prop_map(Record::from_pairs)
    }

    fn arb_state() -> impl Strategy<Value = BTreeMap<String, UserState>> {
        prop::collection::btree_map("[a-f]", (any::<bool>(), arb_record()), 0..6).prop_map(|m| {
            m.into_iter()
                .map(|(k, (active, record))| (k, UserState { active, record }))
                .collect()
        })
    }

    fn arb_snapshot() -> impl Strategy<Value = BTreeMap<String, (Record, bool)>> {
        prop::collection::btree_map("[a-f]", arb_record().prop_map(|r| (r, false)), 0..6)
    }

    proptest! {
        /// apply(diff(A, B), A) is B: everyone in B active with B's record,
        /// everyone else in A inactive with their last record.
        #[test]
        fn applying_the_diff_gives_the_snapshot(a in arb_state(), b in arb_snapshot()) {
            let events = diff(&a, &b, POLICY);
            let result = apply(a.clone(), &events).map_err(TestCaseError::fail)?;
            for (key, (record, _)) in &b {
                let state = result.get(key).ok_or_else(|| TestCaseError::fail(format!("{key} missing")))?;
                prop_assert!(state.active);
                prop_assert_eq!(&state.record, record);
            }
            for (key, before) in &a {
                if !b.contains_key(key) {
                    prop_assert_eq!(result.get(key), Some(&UserState { active: false, record: before.record.clone() }));
                }
            }
            prop_assert_eq!(result.len(), a.keys().chain(b.keys()).collect::<std::collections::BTreeSet<_>>().len());
        }

        /// diff(B, B) is empty: a state that already says what the file says
        /// needs no event.
        #[test]
        fn diffing_a_snapshot_against_itself_is_empty(b in arb_snapshot()) {
            let state: BTreeMap<String, UserState> =
                b.iter().map(|(k, (r, _))| (k.clone(), UserState { active: true, record: r.clone() })).collect();
            prop_assert_eq!(diff(&state, &b, POLICY), vec![]);
        }
    }
}
