//! Audit queries on a year of history: 365 daily imports of 100,000 people
//! with 1% daily churn (0.3% leavers, 0.3% joiners, 0.4% changed), written
//! straight through the store (the import path has its own bench). Measures
//! `history KEY` (find the person, their events, the snapshots that caused
//! them), `show KEY --as-of T` (the record rebuilt from the log), `verify`
//! (the whole chain and state), and the store's size per day.
//!
//! `cargo bench --bench audit`; `AMPSYNC_BENCH_PEOPLE` / `AMPSYNC_BENCH_DAYS`
//! shrink it.

use std::time::{Duration, Instant};

use ampsync_engine::store::{Counts, EventKind, FieldChange, NewSnapshot, Record, Store};
use ampsync_engine::{AsOf, resolve_key, state_as_of};
use criterion::Criterion;

const DAY: i64 = 86_400_000_000;
const START: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

fn env(name: &str, default: usize) -> usize {
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

/// Builds the year; returns the store and a person with a long history.
fn build(dir: &std::path::Path, people: usize, days: usize) -> (Store, String) {
    let store = Store::open(&dir.join("audit.redb")).expect("store");
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
            events.retain(|(k, kind)| !(k == "P0000007" && matches!(kind, EventKind::Deactivated)));
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
    (store, "P0000007".to_owned())
}

fn main() {
    let people = env("AMPSYNC_BENCH_PEOPLE", 100_000);
    let days = env("AMPSYNC_BENCH_DAYS", 365);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let (store, key) = build(dir.path(), people, days);
    let events = store.event_count().expect("count");
    let size = std::fs::metadata(dir.path().join("audit.redb"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "built {days} days of {people} people: {events} events in {:.1} s; store {:.1} MiB, {:.0} KiB per day",
        started.elapsed().as_secs_f64(),
        size as f64 / 1048576.0,
        size as f64 / 1024.0 / days as f64
    );

    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    c.bench_function("history KEY", |b| {
        b.iter(|| {
            let key = resolve_key(&store, &key).expect("resolve").expect("known");
            let history = store.user_events(&key).expect("history");
            let snapshots = store.snapshots().expect("snapshots");
            assert!(history.len() >= days && snapshots.len() == days);
            history.len()
        })
    });
    let mid = START + (days as i64 / 2) * DAY + 1;
    c.bench_function("show KEY --as-of T", |b| {
        b.iter(|| {
            let state = state_as_of(&store, &key, AsOf::Time(mid))
                .expect("as of")
                .expect("existed");
            assert_eq!(
                state.record.get("jobTitle").map(str::to_owned),
                Some(format!("Engineer, day {}", days / 2))
            );
        })
    });
    let t = Instant::now();
    let report = store.verify().expect("verify");
    let verify = t.elapsed();
    assert!(report.ok(), "{report:?}");
    println!(
        "verify: {events} events and {} people in {:.2} s (target < 10 s)",
        store.state_len().unwrap_or(0),
        verify.as_secs_f64()
    );
    c.final_summary();
}
