//! The delivery plan: undelivered events grouped per person in sequence
//! order, refused events folded into the next change to the same person,
//! manager references resolved, and people ordered so that a manager
//! exists in Learn Amp before anyone who names them. Pure but for reading
//! the store.

use std::collections::{BTreeMap, HashMap, HashSet};

use ampsync_store::{Delivery, Event, EventKind, Store, StoreError};

use super::catch_up;
use super::requests::{CallOptions, ManagerField, TeamForms, UserCall, call_for};

/// One request to make: an event, or refused events and the newer one that
/// carries them.
#[derive(Debug, Clone)]
pub struct Step {
    pub seq: u64,
    /// What it sends: the event, or the fold of `covers` and the event.
    pub event: EventKind,
    /// The call, with `managerEmail` already resolved.
    pub call: UserCall,
    /// Earlier events Learn Amp refused that this request brings too.
    pub covers: Vec<u64>,
    /// How the plan decided `managerEmail` (kept to fold at push time).
    pub manager: Manager,
    /// The person's team forms (by external id or by name).
    pub teams: TeamForms,
    /// The `integrationExternalId` Learn Amp has for the person before this
    /// step: updates address them by it.
    pub external_id: Option<String>,
    /// Attempts made by earlier pushes.
    pub prior_attempts: u32,
    /// When transient faults first held it back, if they did.
    pub waiting_since: Option<i64>,
}

/// The plan's decision about `managerEmail` for one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manager {
    /// As the event says (it names no manager, or one that needs no care).
    AsIs,
    /// This email (the manager's current one).
    Set(String),
    /// Left out: nobody active, or set after a cycle is created.
    Omit,
}

impl Manager {
    pub fn field(&self) -> ManagerField<'_> {
        match self {
            Manager::AsIs => ManagerField::AsIs,
            Manager::Set(m) => ManagerField::Set(m),
            Manager::Omit => ManagerField::Omit,
        }
    }
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

/// An event Learn Amp refused that nothing newer carries yet: it waits for
/// a person (`retry`) or the person's next change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub seq: u64,
    pub key: String,
    pub status: Option<u16>,
    pub error: String,
}

/// Everything a push will do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// By level, then key.
    pub queues: Vec<UserQueue>,
    pub follow_ups: Vec<FollowUp>,
    /// Manager references that name nobody active, and the like.
    pub warnings: Vec<String>,
    /// Refused events waiting for a person.
    pub refused: Vec<Refused>,
    /// The oldest event to send: its sequence number and time.
    pub oldest: Option<(u64, i64)>,
    pub options: CallOptions,
}

impl Plan {
    /// Number of requests to make.
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

/// What the plan needs to know about a person now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub key: String,
    pub active: bool,
    /// Their `integrationExternalId` after the last event in the log.
    pub external_id: Option<String>,
    pub teams: TeamForms,
}

/// Builds the plan for every undelivered event in `store`.
pub fn build(store: &Store, options: CallOptions) -> Result<Plan, StoreError> {
    let undelivered = store.undelivered()?;
    let mut failed = store.failed_events()?;
    let due: HashSet<&str> = undelivered.iter().map(|(e, _)| e.body.key.as_str()).collect();
    let waiting: Vec<Refused> = failed
        .iter()
        .filter(|(e, _)| !due.contains(e.body.key.as_str()))
        .map(|(e, d)| refused(e, d))
        .collect();
    failed.retain(|(e, _)| due.contains(e.body.key.as_str()));
    let mentions_manager = undelivered.iter().any(|(e, _)| manager_of(&e.body.kind).is_some());
    // email → person; key → person. Everyone when some event names a
    // manager (one scan), else only the people in the plan.
    let mut people: HashMap<String, Person> = HashMap::new();
    let mut now: HashMap<String, Person> = HashMap::new();
    let mut note = |key: &str, state: &ampsync_store::UserState| {
        let person = Person {
            key: key.to_owned(),
            active: state.active,
            external_id: state.record.get("integrationExternalId").map(str::to_owned),
            teams: TeamForms::of(&state.record),
        };
        if let Some(email) = state.record.get("email") {
            people.insert(email.to_owned(), person.clone());
        }
        if due.contains(key) {
            now.insert(key.to_owned(), person);
        }
    };
    if mentions_manager {
        store.for_each_user(|key, state| note(key, state))?;
    } else {
        for key in &due {
            if let Some(state) = store.user_state(key)? {
                note(key, &state);
            }
        }
    }
    drop(due);
    let mut plan = plan(undelivered, failed, &people, &now, options);
    plan.refused.extend(waiting);
    plan.refused.sort_by_key(|r| r.seq);
    Ok(plan)
}

fn refused(event: &Event, delivery: &Delivery) -> Refused {
    let (status, error) = match delivery {
        Delivery::Failed { status, error, .. } => (*status, error.clone()),
        other => (None, other.name().to_owned()),
    };
    Refused {
        seq: event.seq,
        key: event.body.key.clone(),
        status,
        error,
    }
}

/// A unit of delivery before managers are resolved: an event, or refused
/// events folded into the next due one.
struct Unit {
    seq: u64,
    /// Nothing is left to send (someone created and gone again before
    /// Learn Amp ever had them): `kind` is a placeholder.
    nothing: bool,
    kind: EventKind,
    covers: Vec<u64>,
    delivery: Delivery,
    external_id: Option<String>,
}

/// The plan for `undelivered` events and the `failed` events of the same
/// people, given every person's current email and state (`people`, by
/// email) and the planned people's state (`now`, by key).
pub fn plan(
    undelivered: Vec<(Event, Delivery)>,
    failed: Vec<(Event, Delivery)>,
    people: &HashMap<String, Person>,
    now: &HashMap<String, Person>,
    options: CallOptions,
) -> Plan {
    let oldest = undelivered.iter().map(|(e, _)| (e.seq, e.body.time)).min();
    let mut by_key: BTreeMap<String, Vec<(Event, Delivery)>> = BTreeMap::new();
    for (event, delivery) in undelivered.into_iter().chain(failed) {
        by_key
            .entry(event.body.key.clone())
            .or_default()
            .push((event, delivery));
    }
    let mut refused_left = Vec::new();
    let by_key: BTreeMap<String, Vec<Unit>> = by_key
        .into_iter()
        .map(|(key, mut events)| {
            events.sort_by_key(|(e, _)| e.seq);
            let units = units(&key, events, now.get(&key), &mut refused_left);
            (key, units)
        })
        .collect();

    // Emails that changed in this batch: old → new.
    let mut renamed: HashMap<String, String> = HashMap::new();
    // People who must be delivered before anyone naming them as manager.
    let mut must_exist_first: HashSet<&str> = HashSet::new();
    for (key, units) in &by_key {
        for unit in units {
            match &unit.kind {
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
    for (key, units) in &by_key {
        let entry = deps.entry(key.as_str()).or_default();
        for unit in units {
            let Some(named) = manager_of(&unit.kind) else {
                continue;
            };
            let active_owner = |email: &str| people.get(email).filter(|p| p.active).map(|p| p.key.as_str());
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
                    resolved.insert(unit.seq, Some(email));
                }
                _ => {
                    warnings.push(format!(
                        "{key} names {named} as manager, who is not an active person in the file: sent without the manager"
                    ));
                    resolved.insert(unit.seq, None);
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
        .map(|(key, units)| {
            let defer = deferred.contains(&key);
            let teams = now.get(&key).map(|p| p.teams).unwrap_or_default();
            let steps = units
                .into_iter()
                .map(|unit| {
                    let manager = match resolved.get(&unit.seq) {
                        Some(Some(email)) if defer => {
                            follow_ups.push(FollowUp {
                                key: key.clone(),
                                manager_email: email.clone(),
                            });
                            Manager::Omit
                        }
                        Some(Some(email)) => Manager::Set(email.clone()),
                        Some(None) => Manager::Omit,
                        None => Manager::AsIs,
                    };
                    let call = if unit.nothing {
                        UserCall::nothing()
                    } else {
                        call_for(&unit.kind, manager.field(), teams, options)
                    };
                    let (prior_attempts, waiting_since) = match &unit.delivery {
                        Delivery::Waiting { attempts, since, .. } => (*attempts, Some(*since)),
                        d => (d.attempts(), None),
                    };
                    Step {
                        seq: unit.seq,
                        event: unit.kind,
                        call,
                        covers: unit.covers,
                        manager,
                        teams,
                        external_id: unit.external_id,
                        prior_attempts,
                        waiting_since,
                    }
                })
                .collect();
            UserQueue {
                level: levels.get(&key).copied().unwrap_or(0),
                key,
                steps,
            }
        })
        .filter(|q: &UserQueue| !q.steps.is_empty())
        .collect();
    queues.sort_by(|a, b| (a.level, &a.key).cmp(&(b.level, &b.key)));
    Plan {
        queues,
        follow_ups,
        warnings,
        refused: refused_left,
        oldest,
        options,
    }
}

/// One person's events (sequence order) as units: each run of refused
/// events is folded into the due event after it; refused events with
/// nothing after them are left for a person. Each unit learns the external
/// id Learn Amp has before it, walking back from the person's current one.
fn units(key: &str, events: Vec<(Event, Delivery)>, now: Option<&Person>, left: &mut Vec<Refused>) -> Vec<Unit> {
    // Walk back first: the external id before each event.
    let mut external_id = now.and_then(|p| p.external_id.clone());
    let mut before: Vec<Option<String>> = vec![None; events.len()];
    for (i, (event, _)) in events.iter().enumerate().rev() {
        external_id = external_id_before(&event.body.kind, external_id);
        before[i].clone_from(&external_id);
    }
    let mut units = Vec::new();
    let mut chain: Vec<(Event, Option<String>)> = Vec::new();
    for ((event, delivery), external_id) in events.into_iter().zip(before) {
        if delivery.is_failed() {
            left.push(refused(&event, &delivery));
            chain.push((event, external_id));
            continue;
        }
        if chain.is_empty() {
            units.push(Unit {
                seq: event.seq,
                nothing: false,
                kind: event.body.kind,
                covers: Vec::new(),
                delivery,
                external_id,
            });
            continue;
        }
        // The refused run is carried by this event: no longer left over.
        left.retain(|r| !chain.iter().any(|(e, _)| e.seq == r.seq));
        let covers: Vec<u64> = chain.iter().map(|(e, _)| e.seq).collect();
        let first_external_id = chain.first().and_then(|(_, x)| x.clone());
        let mut kinds: Vec<&EventKind> = chain.iter().map(|(e, _)| &e.body.kind).collect();
        kinds.push(&event.body.kind);
        let kind = catch_up::fold(&kinds);
        chain.clear();
        if kind.is_none() {
            tracing::debug!(key, "created and gone again before Learn Amp had them");
        }
        units.push(Unit {
            seq: event.seq,
            nothing: kind.is_none(),
            kind: kind.unwrap_or(EventKind::Deactivated),
            covers,
            delivery,
            external_id: first_external_id,
        });
    }
    units
}

/// The external id before `kind`, given the one after it.
pub fn external_id_before(kind: &EventKind, after: Option<String>) -> Option<String> {
    match kind {
        EventKind::Created { .. } => None,
        EventKind::Updated { changes } | EventKind::Reactivated { changes } => {
            match changes.iter().find(|c| c.field == "integrationExternalId") {
                Some(c) => c.old.clone(),
                None => after,
            }
        }
        EventKind::Deactivated => after,
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
                erased: None,
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

    fn people(list: &[(&str, &str, bool)]) -> HashMap<String, Person> {
        list.iter()
            .map(|(email, key, active)| {
                let person = Person {
                    key: key.to_string(),
                    active: *active,
                    external_id: Some(key.to_string()),
                    teams: Default::default(),
                };
                (email.to_string(), person)
            })
            .collect()
    }

    fn by_key(who: &HashMap<String, Person>) -> HashMap<String, Person> {
        who.values().map(|p| (p.key.clone(), p.clone())).collect()
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
        let plan = plan(events, Vec::new(), &who, &by_key(&who), OPTIONS);
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
        let plan = plan(events, Vec::new(), &who, &by_key(&who), OPTIONS);
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
        let plan = plan(events, Vec::new(), &who, &by_key(&who), OPTIONS);
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

    fn failed(seq: u64, key: &str, kind: EventKind) -> (Event, Delivery) {
        let (event, _) = event(seq, key, kind);
        (
            event,
            Delivery::Failed {
                attempts: 1,
                status: Some(422),
                error: "no".into(),
                time: 0,
            },
        )
    }

    #[test]
    fn a_refused_creation_is_carried_by_the_next_change_and_trailing_refusals_wait() {
        let fix = EventKind::Updated {
            changes: vec![FieldChange {
                field: "role".into(),
                old: Some("hr".into()),
                new: Some("viewer".into()),
            }],
        };
        let mut refused_create = created(1, "A", "a@x.io", None);
        refused_create.1 = failed(1, "A", refused_create.0.body.kind.clone()).1;
        let undelivered = vec![event(5, "A", fix)];
        let refused = vec![refused_create, failed(3, "B", EventKind::Deactivated)];
        let who = people(&[("a@x.io", "A", true)]);
        let plan = plan(undelivered, refused, &who, &by_key(&who), OPTIONS);
        assert_eq!(plan.queues.len(), 1, "B's refusal has nothing after it");
        let step = &plan.queues[0].steps[0];
        assert_eq!((step.seq, step.covers.clone()), (5, vec![1]));
        assert_eq!(step.call.action, super::super::requests::Action::Create);
        assert_eq!(
            step.event,
            EventKind::Created {
                record: Record::from_pairs([
                    ("email", "a@x.io"),
                    ("firstName", "F"),
                    ("lastName", "L"),
                    ("role", "viewer")
                ])
            }
        );
        assert_eq!(
            plan.refused,
            vec![Refused {
                seq: 3,
                key: "B".into(),
                status: Some(422),
                error: "no".into()
            }]
        );
    }

    #[test]
    fn updates_know_the_external_id_learn_amp_has_before_them() {
        let rename = EventKind::Updated {
            changes: vec![FieldChange {
                field: "integrationExternalId".into(),
                old: Some("OLD".into()),
                new: Some("A".into()),
            }],
        };
        let job = EventKind::Updated {
            changes: vec![FieldChange {
                field: "jobTitle".into(),
                old: None,
                new: Some("X".into()),
            }],
        };
        let who = people(&[("a@x.io", "A", true)]);
        let plan = plan(
            vec![event(1, "A", rename), event(2, "A", job)],
            Vec::new(),
            &who,
            &by_key(&who),
            OPTIONS,
        );
        let ids: Vec<Option<String>> = plan.queues[0].steps.iter().map(|s| s.external_id.clone()).collect();
        assert_eq!(ids, vec![Some("OLD".into()), Some("A".into())]);
    }
}
