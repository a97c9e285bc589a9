//! The year of history the audit and console benches read: 365 daily
//! imports of 100,000 people with 1% daily churn (0.3% leavers, 0.3%
//! joiners, 0.4% changed job titles), written straight through the store
//! (the import path has its own bench), plus one person, [`LONG_HISTORY`],
//! whose job title changes every day.

use std::path::Path;

use ampsync_engine::store::{Counts, EventKind, FieldChange, NewSnapshot, Record, Store};

/// One day in microseconds.
pub const DAY: i64 = 86_400_000_000;
/// The first day's import: 2026-01-01T00:00:00Z.
pub const START: i64 = 1_767_225_600_000_000;
/// The person changed every day.
pub const LONG_HISTORY: &str = "P0000007";

/// `name` from the environment as a number, else `default`.
pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn person(i: usize) -> Record {
    Record::from_pairs([
        ("email", format!("person{i}@bench.example")),
        ("firstName", "Zoë".to_owned()),
        ("lastName", format!("Müller {i}")),
        ("integrationExternalId", format!("P{i:07}")),
        ("jobTitle", format!("Engineer, level {}", i % 5)),
        ("primaryTeam", ["Engineering", "Sales", "Finance"][i % 3].to_owned()),
        ("role", "viewer".to_owned()),
        ("language", "en".to_owned()),
    ])
}

/// Writes the year into a new store at `path` (day `d` received at
/// `START + d * DAY`).
pub fn build(path: &Path, people: usize, days: usize) -> Store {
    let store = Store::open(path).expect("store");
    let mut active: Vec<usize> = (0..people).collect();
    let mut next = people;
    let mut x: u64 = 0x5eed;
    let mut rand = move |n: usize| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) as usize % n
    };
    let churn = people / 1000; // 0.1% per kind-unit
    for day in 0..days {
        let mut events: Vec<(String, EventKind)> = Vec::new();
        let mut counts = Counts::default();
        if day == 0 {
            events.extend((0..people).map(|i| (format!("P{i:07}"), EventKind::Created { record: person(i) })));
            counts.created = people as u64;
        } else {
            for _ in 0..3 * churn {
                let gone = active.swap_remove(rand(active.len()));
                events.push((format!("P{gone:07}"), EventKind::Deactivated));
                events.push((format!("P{next:07}"), EventKind::Created { record: person(next) }));
                active.push(next);
                next += 1;
            }
            // 0.4% change their job title; P0000007 every day, for a long history.
            let mut changed: Vec<usize> = (0..4 * churn).map(|_| active[rand(active.len())]).collect();
            changed.push(7);
            changed.sort_unstable();
            changed.dedup();
            for i in changed {
                let change = FieldChange {
                    field: "jobTitle".into(),
                    old: None,
                    new: Some(format!("Engineer, day {day}")),
                };
                events.push((format!("P{i:07}"), EventKind::Updated { changes: vec![change] }));
            }
            counts.created = 3 * churn as u64;
            counts.deactivated = 3 * churn as u64;
            counts.updated = events.len() as u64 - 6 * churn as u64;
        }
        // Person 7 must stay: put them back if churn took them.
        if !active.contains(&7) {
            active.push(7);
            events.retain(|(k, kind)| !(k == LONG_HISTORY && matches!(kind, EventKind::Deactivated)));
        }
        events.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&(day as u64).to_le_bytes());
        let snapshot = NewSnapshot {
            file_hash: hash,
            source: format!("users_{day:03}.csv"),
            received: START + day as i64 * DAY,
            rows: active.len() as u64,
            bytes: 0,
            header: vec![],
            mapped_columns: vec![],
            counts,
            absences: vec![],
            prune_raw_before: 0,
            origin: Default::default(),
        };
        let based_on = store.log_end().expect("log end");
        store
            .append_import(based_on, snapshot, events, None, None)
            .expect("append a day");
    }
    store
}
