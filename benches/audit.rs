//! Audit queries on a year of history: 365 daily imports of 100,000 people
//! with 1% daily churn (0.3% leavers, 0.3% joiners, 0.4% changed), written
//! straight through the store (the import path has its own bench; the year
//! is `benches/year/`, shared with the console bench). Measures
//! `history KEY` (find the person, their events, the snapshots that caused
//! them), `show KEY --as-of T` (the record rebuilt from the log), `verify`
//! (the whole chain and state), and the store's size per day.
//!
//! `cargo bench --bench audit`; `AMPSYNC_BENCH_PEOPLE` / `AMPSYNC_BENCH_DAYS`
//! shrink it.

use std::time::{Duration, Instant};

use ampsync_engine::{AsOf, resolve_key, state_as_of};
use criterion::Criterion;

#[path = "year/mod.rs"]
mod year;

use year::{DAY, LONG_HISTORY, START, env};

fn main() {
    let people = env("AMPSYNC_BENCH_PEOPLE", 100_000);
    let days = env("AMPSYNC_BENCH_DAYS", 365);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let store = year::build(&dir.path().join("audit.redb"), people, days);
    let key = LONG_HISTORY.to_owned();
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
