//! Push throughput against the Learn Amp sandbox on loopback.
//!
//! 10,000 people (seeded, generated here) are imported into a store once;
//! for each concurrency (1, 8, 32) and added latency (0, 20 ms) a copy of
//! that store is pushed to a fresh sandbox, and events per second are
//! reported. Each run is asserted: every event delivered, exactly 10,000
//! users in the sandbox. One timed run per configuration: a run at
//! concurrency 1 with 20 ms latency takes minutes, so criterion's ten
//! samples would not fit; `AMPSYNC_BENCH_PUSH_EVENTS` shrinks the data.
//!
//! Then the rate-limited run: 5,000 creates against a sandbox that admits
//! 50 requests per second (a token bucket), with
//! `max_requests_per_second = 100`: the adaptive pace must use at least 90%
//! of the limit, with at most 2% of requests answered 429 (both asserted).
//! `AMPSYNC_BENCH_LIMITED_EVENTS` shrinks it.
//!
//! `cargo bench --bench push`

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ampsync_engine::learnamp::{ClientOptions, Credentials, LearnAmpClient};
use ampsync_engine::replay::{CallOptions, PushOptions, build_plan, push};
use ampsync_engine::store::Store;
use ampsync_engine::{Config, ImportOutcome, Input, import};
use ampsync_sandbox::{Faults, Sandbox, SandboxOptions, TeamSeed};

fn main() {
    let events: usize = std::env::var("AMPSYNC_BENCH_PUSH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let base = prepare(dir.path(), events);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    println!("push of {events} creates to the sandbox on loopback");
    println!(
        "{:>11} {:>8} {:>10} {:>12} {:>10}",
        "concurrency", "latency", "seconds", "events/s", "requests"
    );
    let mut results = Vec::new();
    for latency_ms in [0u64, 20] {
        for concurrency in [1usize, 8, 32] {
            let store_path = dir.path().join(format!("run-{latency_ms}-{concurrency}.redb"));
            std::fs::copy(&base, &store_path).expect("copy store");
            let (seconds, requests) = runtime.block_on(run(&store_path, events, concurrency, latency_ms));
            let rate = events as f64 / seconds;
            println!(
                "{concurrency:>11} {:>6}ms {seconds:>10.2} {rate:>12.0} {requests:>10}",
                latency_ms
            );
            results.push(((latency_ms, concurrency), rate));
            let _ = std::fs::remove_file(&store_path);
        }
    }
    let rate = |l, c| results.iter().find(|(k, _)| *k == (l, c)).map_or(0.0, |(_, r)| *r);
    let speedup = rate(20, 32) / rate(20, 1);
    println!("20 ms latency: concurrency 32 is {speedup:.1}x concurrency 1 (target ≥ 25x)");
    println!(
        "no latency: best {:.0} events/s (target ≥ 2000)",
        rate(0, 1).max(rate(0, 8)).max(rate(0, 32))
    );

    let limited: usize = std::env::var("AMPSYNC_BENCH_LIMITED_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let limited_dir = tempfile::tempdir().expect("temp dir");
    let limited_base = prepare(limited_dir.path(), limited);
    let outcome = runtime.block_on(run_limited(&limited_base, limited, 50, 100.0));
    let throughput = outcome.requests as f64 / outcome.seconds;
    let share_429 = outcome.rate_limited as f64 / outcome.requests as f64;
    println!(
        "rate-limited sandbox (50/s), max_requests_per_second = 100: {limited} creates in {:.1} s, {throughput:.1} requests/s ({:.0}% of the limit), {} of {} requests answered 429 ({:.2}%)",
        outcome.seconds,
        throughput / 50.0 * 100.0,
        outcome.rate_limited,
        outcome.requests,
        share_429 * 100.0
    );
    assert!(
        throughput >= 0.9 * 50.0,
        "throughput {throughput:.1}/s is below 90% of the limit"
    );
    assert!(share_429 <= 0.02, "{:.2}% of requests answered 429", share_429 * 100.0);
}

/// What the rate-limited run measured.
struct Limited {
    seconds: f64,
    requests: u64,
    rate_limited: u64,
}

/// A push of `n` creates to a sandbox admitting `limit` requests a second,
/// starting at `start` requests a second.
async fn run_limited(base: &Path, n: usize, limit: u32, start: f64) -> Limited {
    let sandbox = sandbox_with(Faults {
        rate_limit_per_second: Some(limit),
        ..Faults::default()
    })
    .await;
    let store = Arc::new(Store::open(base).expect("store"));
    let client = client_of(&sandbox, start);
    let plan = build_plan(&store, CallOptions { skip_invitation: true }).expect("plan");
    let options = PushOptions {
        concurrency: 8,
        retry_for: std::time::Duration::from_secs(3600),
        create_missing_teams: false,
        stop: None,
    };
    let started = Instant::now();
    let report = push(store, client, plan, options, None).await.expect("push");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.delivered, n as u64, "every event delivered: {report:?}");
    assert_eq!(sandbox.users().len(), n, "every person created once");
    let stats = sandbox.stats();
    sandbox.shutdown().await;
    Limited {
        seconds,
        requests: stats.requests,
        rate_limited: stats.rate_limited,
    }
}

/// A store holding `n` undelivered creations.
fn prepare(dir: &Path, n: usize) -> std::path::PathBuf {
    let mut csv = String::from("Employee ID,First name,Last name,Email,Job title,Role,Language,Primary team\n");
    let teams = ["Engineering", "Sales", "Finance", "Support"];
    let mut x: u64 = 0x5eed;
    for i in 0..n {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let team = teams[(x >> 33) as usize % teams.len()];
        csv.push_str(&format!(
            "B{i:06},Zoë,Müller {i},person{i}@bench.example,\"Engineer, level {}\",viewer,en,{team}\n",
            x % 5
        ));
    }
    let file = dir.join("people.csv");
    std::fs::write(&file, csv).expect("write csv");
    let path = dir.join("base.redb");
    let store = Store::open(&path).expect("store");
    let config = Config::default();
    match import(&store, &config, &Input::File(file), None).expect("import") {
        ImportOutcome::Imported(r) => assert_eq!(r.snapshot.counts.created, n as u64),
        other => panic!("unexpected {other:?}"),
    }
    path
}

/// One timed push; returns seconds and requests sent.
async fn run(store_path: &Path, n: usize, concurrency: usize, latency_ms: u64) -> (f64, u64) {
    let sandbox = sandbox_with(Faults {
        latency_ms,
        ..Faults::default()
    })
    .await;
    let store = Arc::new(Store::open(store_path).expect("store"));
    let client = client_of(&sandbox, 1e9);
    let plan = build_plan(&store, CallOptions { skip_invitation: true }).expect("plan");
    let options = PushOptions {
        concurrency,
        retry_for: std::time::Duration::from_secs(3600),
        create_missing_teams: false,
        stop: None,
    };
    let started = Instant::now();
    let report = push(store, client, plan, options, None).await.expect("push");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.delivered, n as u64, "every event delivered: {report:?}");
    assert_eq!(sandbox.users().len(), n, "every person created once");
    sandbox.shutdown().await;
    (seconds, report.requests)
}

/// A sandbox on loopback with the bench's teams and these faults.
async fn sandbox_with(faults: Faults) -> Sandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let options = SandboxOptions {
        teams: ["Engineering", "Sales", "Finance", "Support"]
            .into_iter()
            .map(TeamSeed::from)
            .collect(),
        faults,
        ..SandboxOptions::default()
    };
    Sandbox::start(listener, options).await.expect("sandbox")
}

/// A client of `sandbox` starting at `rate` requests a second.
fn client_of(sandbox: &Sandbox, rate: f64) -> Arc<LearnAmpClient> {
    let defaults = SandboxOptions::default();
    let options = ClientOptions {
        base_url: sandbox.url(),
        scopes: String::new(),
        max_requests_per_second: rate,
    };
    Arc::new(
        LearnAmpClient::new(&options, Credentials::new(defaults.client_id, defaults.client_secret)).expect("client"),
    )
}
