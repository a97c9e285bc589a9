//! Catching a person up: a run of events Learn Amp refused, followed by a
//! newer one, folded into the one event that brings Learn Amp to the
//! state the log says now. Pure.
//!
//! So one bad row never blocks a person's later changes: when the file
//! fixes what was refused (or changes anything else about them), the next
//! push sends their latest state in a single request, and the refused
//! events count as delivered by it.

use std::collections::BTreeMap;

use ampsync_store::{EventKind, FieldChange, Record};

/// The one event that has the effect of `chain` (oldest first), or `None`
/// when nothing is left to send: someone created and gone again before
/// Learn Amp ever had them.
pub fn fold(chain: &[&EventKind]) -> Option<EventKind> {
    let mut created: Option<Record> = None;
    let mut touched: BTreeMap<String, FieldChange> = BTreeMap::new();
    let mut active: Option<bool> = None;
    for kind in chain {
        let changes: &[FieldChange] = match kind {
            EventKind::Created { record } => {
                created = Some(record.clone());
                touched.clear();
                active = None;
                &[]
            }
            EventKind::Updated { changes } => changes,
            EventKind::Reactivated { changes } => {
                active = Some(true);
                changes
            }
            EventKind::Deactivated => {
                active = Some(false);
                &[]
            }
        };
        for c in changes {
            match &mut created {
                Some(record) => record.set(c.field.clone(), c.new.clone().unwrap_or_default()),
                None => {
                    touched
                        .entry(c.field.clone())
                        .and_modify(|t| t.new.clone_from(&c.new))
                        .or_insert_with(|| c.clone());
                }
            }
        }
    }
    let changes = || touched.values().filter(|c| c.old != c.new).cloned().collect::<Vec<_>>();
    match (created, active) {
        (Some(_), Some(false)) => None,
        (Some(record), _) => Some(EventKind::Created { record }),
        (None, Some(false)) => Some(EventKind::Deactivated),
        (None, Some(true)) => Some(EventKind::Reactivated { changes: changes() }),
        (None, None) => Some(EventKind::Updated { changes: changes() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(field: &str, old: Option<&str>, new: Option<&str>) -> FieldChange {
        FieldChange {
            field: field.into(),
            old: old.map(Into::into),
            new: new.map(Into::into),
        }
    }

    fn updated(changes: Vec<FieldChange>) -> EventKind {
        EventKind::Updated { changes }
    }

    #[test]
    fn a_refused_creation_and_the_fix_become_one_creation_with_the_fix() {
        let created = EventKind::Created {
            record: Record::from_pairs([("email", "a@x.io"), ("role", "hr"), ("jobTitle", "HR")]),
        };
        let fix = updated(vec![change("role", Some("hr"), Some("viewer"))]);
        assert_eq!(
            fold(&[&created, &fix]),
            Some(EventKind::Created {
                record: Record::from_pairs([("email", "a@x.io"), ("role", "viewer"), ("jobTitle", "HR")])
            })
        );
    }

    #[test]
    fn refused_updates_and_later_ones_become_one_update_of_every_field_touched() {
        let a = updated(vec![
            change("role", Some("viewer"), Some("hr")),
            change("jobTitle", Some("A"), Some("B")),
        ]);
        let b = updated(vec![
            change("role", Some("hr"), Some("reporter")),
            change("location", None, Some("Leeds")),
        ]);
        assert_eq!(
            fold(&[&a, &b]),
            Some(updated(vec![
                change("jobTitle", Some("A"), Some("B")),
                change("location", None, Some("Leeds")),
                change("role", Some("viewer"), Some("reporter")),
            ]))
        );
        // A field changed and changed back needs nothing.
        let back = updated(vec![change("jobTitle", Some("B"), Some("A"))]);
        assert_eq!(
            fold(&[&a, &back]),
            Some(updated(vec![change("role", Some("viewer"), Some("hr"))]))
        );
    }

    #[test]
    fn leaving_wins_and_someone_never_created_who_left_needs_nothing() {
        let created = EventKind::Created {
            record: Record::from_pairs([("email", "a@x.io")]),
        };
        let a = updated(vec![change("role", Some("viewer"), Some("hr"))]);
        assert_eq!(fold(&[&a, &EventKind::Deactivated]), Some(EventKind::Deactivated));
        assert_eq!(fold(&[&created, &EventKind::Deactivated]), None);
        let back = EventKind::Reactivated {
            changes: vec![change("jobTitle", None, Some("B"))],
        };
        assert_eq!(
            fold(&[&a, &EventKind::Deactivated, &back]),
            Some(EventKind::Reactivated {
                changes: vec![
                    change("jobTitle", None, Some("B")),
                    change("role", Some("viewer"), Some("hr"))
                ]
            })
        );
    }
}
