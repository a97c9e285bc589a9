//! The delivery plan: undelivered events grouped per person in sequence
//! order, manager references resolved, and people ordered so that a manager
//! exists in Learn Amp before anyone who names them. Pure but for reading
//! the store.

use std::collections::{BTreeMap, HashMap, HashSet};

use ampsync_store::{Delivery, Event, EventKind, Store, StoreError};

use super::requests::{CallOptions, ManagerField, UserCall, call_for};

/// One event to deliver.
#[derive(Debug, Clone)]
pub struct Step {
    pub seq: u64,
    pub event: EventKind,
    /// The call, with `managerEmail` already resolved.
    pub call: UserCall,
    /// Attempts made by earlier pushes (a failed event is retried).
    pub prior_attempts: u32,
}

/// One person's undelivered events, in order, and when they may go.
#[derive(Debug, Clone)]
pub struct UserQueue {
    pub key: String,
    /// People of level N go after everyone of lower levels is done.
    pub level: u32,
    pub steps: Vec<Step>,
}

/// A manager to set once everyone exists (a cycle of managers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub key: String,
    pub manager_email: String,
}

/// Everything a push will do.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// By level, then key.
    pub queues: Vec<UserQueue>,
    pub follow_ups: Vec<FollowUp>,
    /// Manager references that name nobody active, and the like.
    pub warnings: Vec<String>,
}

impl Plan {
    /// Number of events to deliver.
    pub fn events(&self) -> usize {
        self.queues.iter().map(|q| q.steps.len()).sum()
    }

    /// The levels, in order.
    pub fn levels(&self) -> Vec<u32> {
        let mut levels: Vec<u32> = self.queues.iter().map(|q| q.level).collect();
        levels.dedup();
        levels
    }
}

/// Builds the plan for every undelivered event in `store`.
pub fn build(store: &Store, options: CallOptions) -> Result<Plan, StoreError> {
    let undelivered = store.undelivered()?;
    let mentions_manager = undelivered.iter().any(|(e, _)| manager_of(&e.body.kind).is_some());
    // email → (key, active), only needed when some event names a manager.
    let mut people: HashMap<String, (String, bool)> = HashMap::new();
    if mentions_manager {
        store.for_each_user(|key, state| {
            if let Some(email) = state.record.get("email") {
                people.insert(email.to_owned(), (key.to_owned(), state.active));
            }
        })?;
    }
    Ok(plan(undelivered, &people, options))
}

/// The plan for `undelivered` events, given every person's current email
/// and whether they are active.
pub fn plan(
    undelivered: Vec<(Event, Delivery)>,
    people: &HashMap<String, (String, bool)>,
    options: CallOptions,
) -> Plan {
    let mut by_key: BTreeMap<String, Vec<(Event, Delivery)>> = BTreeMap::new();
    for (event, delivery) in undelivered {
        by_key
            .entry(event.body.key.clone())
            .or_default()
            .push((event, delivery));
    }
    // Emails that changed in this batch: old → new.
    let mut renamed: HashMap<String, String> = HashMap::new();
    // People who must be delivered before anyone naming them as manager.
    let mut must_exist_first: HashSet<&str> = HashSet::new();
    for (key, events) in &by_key {
        for (event, _) in events {
            match &event.body.kind {
                EventKind::Created { .. } => {
                    must_exist_first.insert(key);
                }
                EventKind::Updated { changes } | EventKind::Reactivated { changes } => {
                    for c in changes.iter().filter(|c| c.field == "email") {
                        if let (Some(old), Some(new)) = (&c.old, &c.new) {
                            renamed.insert(old.clone(), new.clone());
                        }
                        must_exist_first.insert(key);
                    }
                }
                EventKind::Deactivated => {}
            }
        }
    }

    let mut warnings = Vec::new();
    let mut deps: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    let mut resolved: HashMap<u64, Option<String>> = HashMap::new();
    for (key, events) in &by_key {
        let entry = deps.entry(key.as_str()).or_default();
        for (event, _) in events {
            let Some(named) = manager_of(&event.body.kind) else {
                continue;
            };
            let active_owner = |email: &str| people.get(email).filter(|(_, active)| *active).map(|(k, _)| k.as_str());
            let target = match active_owner(named) {
                Some(owner) => Some((named.to_owned(), owner)),
                None => renamed
                    .get(named)
                    .and_then(|new| active_owner(new).map(|owner| (new.clone(), owner))),
            };
            match target {
                Some((email, owner)) if owner != key => {
                    if must_exist_first.contains(owner) {
                        entry.insert(by_key.get_key_value(owner).map_or(owner, |(k, _)| k.as_str()));
                    }
                    resolved.insert(event.seq, Some(email));
                }
                _ => {
                    warnings.push(format!(
                        "{key} names {named} as manager, who is not an active person in the file: sent without the manager"
                    ));
                    resolved.insert(event.seq, None);
                }
            }
        }
    }

    let (levels, deferred) = assign_levels(&deps);
    let levels: HashMap<String, u32> = levels.into_iter().map(|(k, l)| (k.to_owned(), l)).collect();
    let deferred: HashSet<String> = deferred.into_iter().map(str::to_owned).collect();
    drop(deps);
    let mut follow_ups = Vec::new();
    let mut queues: Vec<UserQueue> = by_key
        .into_iter()
        .map(|(key, events)| {
            let defer = deferred.contains(&key);
            let steps = events
                .into_iter()
                .map(|(event, delivery)| {
                    let manager = match resolved.get(&event.seq) {
                        Some(Some(email)) if defer => {
                            follow_ups.push(FollowUp {
                                key: key.clone(),
                                manager_email: email.clone(),
                            });
                            ManagerField::Omit
                        }
                        Some(Some(email)) => ManagerField::Set(email),
                        Some(None) => ManagerField::Omit,
                        None => ManagerField::AsIs,
                    };
                    let call = call_for(&event.body.kind, manager, options);
                    let prior_attempts = match delivery {
                        Delivery::Failed { attempts, .. } => attempts,
                        _ => 0,
                    };
                    Step {
                        seq: event.seq,
                        event: event.body.kind,
                        call,
                        prior_attempts,
                    }
                })
                .collect();
            UserQueue {
                level: levels.get(&key).copied().unwrap_or(0),
                key,
                steps,
            }
        })
        .collect();
    queues.sort_by(|a, b| (a.level, &a.key).cmp(&(b.level, &b.key)));
    Plan {
        queues,
        follow_ups,
        warnings,
    }
}

/// Levels by dependency depth; people caught in a cycle are put first with
/// their manager deferred (returned in the set).
fn assign_levels<'a>(deps: &BTreeMap<&'a str, HashSet<&'a str>>) -> (HashMap<&'a str, u32>, HashSet<&'a str>) {
    let mut levels: HashMap<&str, u32> = HashMap::new();
    let mut deferred = HashSet::new();
    let mut remaining: Vec<&str> = deps.keys().copied().collect();
    while !remaining.is_empty() {
        let mut progress = false;
        remaining.retain(|key| {
            let mine = &deps[key];
            if mine.iter().all(|d| levels.contains_key(d) || !deps.contains_key(d)) {
                let level = mine
                    .iter()
                    .filter_map(|d| levels.get(d))
                    .map(|l| l + 1)
                    .max()
                    .unwrap_or(0);
                levels.insert(key, level);
                progress = true;
                false
            } else {
                true
            }
        });
        if !progress {
            // A cycle: its members go together, without their managers.
            let before = levels.clone();
            for key in remaining.drain(..) {
                let level = deps[key]
                    .iter()
                    .filter_map(|d| before.get(d))
                    .map(|l| l + 1)
                    .max()
                    .unwrap_or(0);
                levels.insert(key, level);
                deferred.insert(key);
            }
        }
    }
    (levels, deferred)
}

/// The manager email an event sets, if any.
fn manager_of(kind: &EventKind) -> Option<&str> {
    match kind {
        EventKind::Created { record } => record.get("managerEmail"),
        EventKind::Updated { changes } | EventKind::Reactivated { changes } => changes
            .iter()
            .find(|c| c.field == "managerEmail")
            .and_then(|c| c.new.as_deref()),
        EventKind::Deactivated => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ampsync_store::{Cause, EventBody, FieldChange, Record};

    fn event(seq: u64, key: &str, kind: EventKind) -> (Event, Delivery) {
        let body = EventBody {
            key: key.into(),
            kind,
            cause: Cause::Import { snapshot: 1 },
            time: 0,
        };
        (
            Event {
                seq,
                body,
                prev_hash: [0; 32],
                hash: [0; 32],
            },
            Delivery::Pending,
        )
    }

    fn created(seq: u64, key: &str, email: &str, manager: Option<&str>) -> (Event, Delivery) {
        let mut pairs = vec![("email", email), ("firstName", "F"), ("lastName", "L")];
        if let Some(m) = manager {
            pairs.push(("managerEmail", m));
        }
        event(
            seq,
            key,
            EventKind::Created {
                record: Record::from_pairs(pairs),
            },
        )
    }

    fn people(list: &[(&str, &str, bool)]) -> HashMap<String, (String, bool)> {
        list.iter()
            .map(|(email, key, active)| (email.to_string(), (key.to_string(), *active)))
            .collect()
    }

    const OPTIONS: CallOptions = CallOptions { skip_invitation: true };

    fn levels(plan: &Plan) -> Vec<(String, u32)> {
        plan.queues.iter().map(|q| (q.key.clone(), q.level)).collect()
    }

    #[test]
    fn managers_created_in_the_same_run_go_first() {
        let events = vec![
            created(1, "A", "a@x.io", Some("b@x.io")),
            created(2, "B", "b@x.io", Some("c@x.io")),
            created(3, "C", "c@x.io", None),
        ];
        let who = people(&[("a@x.io", "A", true), ("b@x.io", "B", true), ("c@x.io", "C", true)]);
        let plan = plan(events, &who, OPTIONS);
        assert_eq!(levels(&plan), vec![("C".into(), 0), ("B".into(), 1), ("A".into(), 2)]);
        assert!(plan.warnings.is_empty() && plan.follow_ups.is_empty());
    }

    #[test]
    fn a_cycle_is_created_without_managers_then_fixed() {
        let events = vec![
            created(1, "A", "a@x.io", Some("b@x.io")),
            created(2, "B", "b@x.io", Some("a@x.io")),
        ];
        let who = people(&[("a@x.io", "A", true), ("b@x.io", "B", true)]);
        let plan = plan(events, &who, OPTIONS);
        assert_eq!(levels(&plan), vec![("A".into(), 0), ("B".into(), 0)]);
        assert!(
            plan.queues
                .iter()
                .all(|q| q.steps[0].call.fields.iter().all(|(f, _)| f != "managerEmail"))
        );
        assert_eq!(
            plan.follow_ups,
            vec![
                FollowUp {
                    key: "A".into(),
                    manager_email: "b@x.io".into()
                },
                FollowUp {
                    key: "B".into(),
                    manager_email: "a@x.io".into()
                }
            ]
        );
    }

    #[test]
    fn a_manager_who_left_is_dropped_with_a_warning_and_a_renamed_one_is_followed() {
        let email_change = EventKind::Updated {
            changes: vec![FieldChange {
                field: "email".into(),
                old: Some("m@x.io".into()),
                new: Some("m2@x.io".into()),
            }],
        };
        let events = vec![
            created(1, "A", "a@x.io", Some("gone@x.io")),
            created(2, "B", "b@x.io", Some("m@x.io")),
            event(3, "M", email_change),
        ];
        let who = people(&[
            ("a@x.io", "A", true),
            ("b@x.io", "B", true),
            ("m2@x.io", "M", true),
            ("gone@x.io", "G", false),
        ]);
        let plan = plan(events, &who, OPTIONS);
        assert_eq!(
            plan.warnings,
            vec!["A names gone@x.io as manager, who is not an active person in the file: sent without the manager"]
        );
        assert_eq!(levels(&plan), vec![("A".into(), 0), ("M".into(), 0), ("B".into(), 1)]);
        let b = &plan.queues[2].steps[0].call.fields;
        assert!(b.contains(&(
            "managerEmail".into(),
            super::super::requests::FormValue::Text("m2@x.io".into())
        )));
    }
}
