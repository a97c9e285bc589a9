//! Import throughput on a large generated staff file, against a floor.
//!
//! Data: `datagen` (benches/gen/) writes, into a temp dir, once per run and from a fixed seed,
//! `AMPSYNC_BENCH_ROWS` people (default 1,000,000; 2,000 under `cargo test
//! --benches`) as `day1.csv` (~170-byte rows: non-ASCII names, quoted fields
//! with commas, `\,` in team lists), `day2.csv` (0.3% leavers, 0.3% joiners,
//! 0.4% field changes, shuffled) and `day1_reordered.csv` (day 1 shuffled).
//!
//! Groups (throughput in bytes of the file imported; every result asserted):
//! - `floor`: day 2 parsed with csv's `ByteRecord`, each row blake3-hashed:
//!   the least any import must do.
//! - `first_import`: day 1 into an empty store (a new store per iteration).
//! - `day2_import`: day 2 into a store holding day 1 (a copy per iteration);
//!   the counts must be the generator's.
//! - `day2_mapped`: the same day 2 as an HR system writes it (DD/MM/YYYY
//!   dates, the manager by employee ID, a termination date column) over the
//!   same day 1, read with a mapping (`datagen::MAPPED_CONFIG`): same counts,
//!   target ≤ 1.2× `day2_import` (issue 12).
//! - `day2_encrypted`: `day2_import` with encryption at rest on (day 1
//!   imported into an encrypted store, opened with its key each time):
//!   same counts, target ≤ 1.3× `day2_import` (issue 14).
//! - `rerun`: day 2 into a store that already holds it: `AlreadyImported`.
//! - `reordered`: the reordered day 1 into a store holding day 1: no events.
//!
//! Before the groups (while this process is small; see `cli_runs`), the real
//! binary imports day 1 then day 2 into a new store, each as a child
//! process, to report its peak RSS (`wait4`) and, from its debug log with
//! times, where the time goes. At the end, a summary of ratios to the floor
//! (medians of the timed iterations) against the targets: first ≤ 6×,
//! day 2 ≤ 2.5×, rerun ≤ 0.25×, peak RSS < 400 MiB.
//!
//! Run: `cargo bench --bench import` (`AMPSYNC_BENCH_ROWS=100000` for a quick
//! one; `AMPSYNC_BENCH_KEEP=1` keeps the temp dir with the files and stores).

// `wait4(2)` is the only way to read one child's peak RSS; it needs `unsafe`
// (the workspace denies it). Nothing else in this file uses it.
#![allow(unsafe_code)]

// `gen` is a reserved word in edition 2024, hence the path.
#[path = "gen/mod.rs"]
mod datagen;

use std::fs;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ampsync_engine::store::{Keying, Store, StoreKey};
use ampsync_engine::{Config, ImportOutcome, Input, import};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};

const SEED: u64 = 0x5EED_2026;
const MIB: f64 = 1024.0 * 1024.0;

/// Targets, as ratios to the floor, and peak RSS.
const TARGET_FIRST: f64 = 6.0;
const TARGET_DAY2: f64 = 2.5;
/// `day2_mapped` against `day2_import` (issue 12).
const TARGET_MAPPED: f64 = 1.2;
/// `day2_encrypted` against `day2_import` (issue 14).
const TARGET_ENCRYPTED: f64 = 1.3;
/// The key of the encrypted stores (a fixed one: the bench measures time).
const BENCH_KEY: &str = "5eed20265eed20265eed20265eed20265eed20265eed20265eed20265eed2026";
const TARGET_RERUN: f64 = 0.25;
const TARGET_PEAK_MIB: f64 = 400.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench_mode = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    let rows: usize = match std::env::var("AMPSYNC_BENCH_ROWS") {
        Ok(v) => v.replace('_', "").parse().expect("AMPSYNC_BENCH_ROWS: a number"),
        Err(_) if bench_mode => 1_000_000,
        Err(_) => 2_000,
    };

    let tmp = tempfile::Builder::new()
        .prefix("ampsync-bench-")
        .tempdir()
        .expect("temp dir");
    let dir = tmp.path().to_owned();
    // AMPSYNC_BENCH_KEEP=1 leaves the files behind, to look at or rerun by hand.
    let _cleanup = match std::env::var_os("AMPSYNC_BENCH_KEEP") {
        Some(_) => {
            eprintln!("keeping {}", tmp.keep().display());
            None
        }
        None => Some(tmp),
    };
    let dir = dir.as_path();
    let started = Instant::now();
    let data = datagen::generate(dir, rows, SEED).expect("generate the data");
    let size = |p: &Path| fs::metadata(p).expect("file size").len();
    let (day1_bytes, day2_bytes, reordered_bytes) = (size(&data.day1), size(&data.day2), size(&data.day1_reordered));
    eprintln!(
        "data: {rows} rows in {:.1?} in {}: day1 {:.1} MiB ({:.0} B/row), day2 {:.1} MiB \
         ({} rows; expect {} created, {} updated, {} deactivated)",
        started.elapsed(),
        dir.display(),
        day1_bytes as f64 / MIB,
        day1_bytes as f64 / rows as f64,
        day2_bytes as f64 / MIB,
        data.day2_rows,
        data.expect_day2.created,
        data.expect_day2.updated,
        data.expect_day2.deactivated,
    );

    // Peak memory and phases of the real binary, first: a child's peak RSS
    // also counts this process's own peak at the spawn (see `run_child`), so
    // it is measured while this process is still small.
    let peaks = cli_runs(dir, &data);

    let config = Config::default();
    let work = dir.join("work.redb");

    // Stores prepared once: day 1 imported, and day 1 then day 2.
    let day1_store = dir.join("day1.redb");
    let day2_store = dir.join("day2.redb");
    let prep_first = {
        let store = Store::open(&day1_store).expect("open the store");
        let (elapsed, outcome) = timed(|| import(&store, &config, &Input::File(data.day1.clone()), None));
        check_first(&outcome.expect("import day 1"), data.day1_rows);
        let closing = Instant::now();
        drop(store);
        eprintln!(
            "prepare: day 1 into an empty store {elapsed:.2?} (closing the store {:.2?}); store {:.1} MiB",
            closing.elapsed(),
            size(&day1_store) as f64 / MIB
        );
        elapsed
    };
    let prep_day2 = {
        fs::copy(&day1_store, &day2_store).expect("copy the store");
        let store = Store::open(&day2_store).expect("open the store");
        let (elapsed, outcome) = timed(|| import(&store, &config, &Input::File(data.day2.clone()), None));
        check_day2(&outcome.expect("import day 2"), &data);
        let closing = Instant::now();
        drop(store);
        eprintln!(
            "prepare: day 2 over day 1 {elapsed:.2?} (closing the store {:.2?}); store {:.1} MiB",
            closing.elapsed(),
            size(&day2_store) as f64 / MIB
        );
        elapsed
    };

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();

    // floor
    let mut floor_times = Vec::new();
    {
        let mut g = group(&mut c, "floor", day2_bytes);
        g.bench_function(BenchmarkId::new("day2", rows), |b| {
            b.iter_custom(|iters| {
                each(iters, &mut floor_times, || {
                    let (elapsed, n) = timed(|| floor(&data.day2));
                    assert_eq!(n, data.day2_rows, "floor: rows parsed");
                    elapsed
                })
            })
        });
        g.finish();
    }

    // first_import
    let mut first_times = Vec::new();
    {
        let mut g = group(&mut c, "first_import", day1_bytes);
        g.bench_function(BenchmarkId::new("day1", rows), |b| {
            b.iter_custom(|iters| {
                each(iters, &mut first_times, || {
                    let store = Store::open(&work).expect("open the store");
                    let (elapsed, outcome) = timed(|| import(&store, &config, &Input::File(data.day1.clone()), None));
                    check_first(&outcome.expect("import day 1"), data.day1_rows);
                    drop(store);
                    fs::remove_file(&work).expect("remove the store");
                    elapsed
                })
            })
        });
        g.finish();
    }

    // day2_import
    let mut day2_times = Vec::new();
    {
        let mut g = group(&mut c, "day2_import", day2_bytes);
        g.bench_function(BenchmarkId::new("day2", rows), |b| {
            b.iter_custom(|iters| {
                each(iters, &mut day2_times, || {
                    fs::copy(&day1_store, &work).expect("copy the store");
                    let store = Store::open(&work).expect("open the store");
                    let (elapsed, outcome) = timed(|| import(&store, &config, &Input::File(data.day2.clone()), None));
                    check_day2(&outcome.expect("import day 2"), &data);
                    drop(store);
                    fs::remove_file(&work).expect("remove the store");
                    elapsed
                })
            })
        });
        g.finish();
    }

    // day2_mapped: the same days as an HR system writes them (DD/MM/YYYY,
    // the manager by ID, a termination date column), read with a mapping.
    let mut mapped_times = Vec::new();
    {
        let mapped = Config::parse(datagen::MAPPED_CONFIG, Path::new("mapped.toml")).expect("the mapped config");
        let mapped_store = dir.join("day1_mapped.redb");
        {
            let store = Store::open(&mapped_store).expect("open the store");
            let outcome = import(&store, &mapped, &Input::File(data.day1_mapped.clone()), None);
            check_first(&outcome.expect("import day 1 mapped"), data.day1_rows);
        }
        let mut g = group(&mut c, "day2_mapped", day2_bytes);
        g.bench_function(BenchmarkId::new("day2", rows), |b| {
            b.iter_custom(|iters| {
                each(iters, &mut mapped_times, || {
                    fs::copy(&mapped_store, &work).expect("copy the store");
                    let store = Store::open(&work).expect("open the store");
                    let (elapsed, outcome) =
                        timed(|| import(&store, &mapped, &Input::File(data.day2_mapped.clone()), None));
                    check_day2(&outcome.expect("import day 2 mapped"), &data);
                    drop(store);
                    fs::remove_file(&work).expect("remove the store");
                    elapsed
                })
            })
        });
        g.finish();
        fs::remove_file(&mapped_store).expect("remove the store");
    }

    // day2_encrypted: day2_import with encryption at rest on.
    let mut encrypted_times = Vec::new();
    {
        let keyed = || Keying::Key(StoreKey::parse("AMPSYNC_BENCH_KEY", BENCH_KEY).expect("the bench key"));
        let encrypted_store = dir.join("day1_encrypted.redb");
        {
            let store = Store::open_with(&encrypted_store, keyed()).expect("open the store");
            let outcome = import(&store, &config, &Input::File(data.day1.clone()), None);
            check_first(&outcome.expect("import day 1 encrypted"), data.day1_rows);
        }
        let mut g = group(&mut c, "day2_encrypted", day2_bytes);
        g.bench_function(BenchmarkId::new("day2", rows), |b| {
            b.iter_custom(|iters| {
                each(iters, &mut encrypted_times, || {
                    fs::copy(&encrypted_store, &work).expect("copy the store");
                    let store = Store::open_existing_with(&work, keyed()).expect("open the store");
                    let (elapsed, outcome) = timed(|| import(&store, &config, &Input::File(data.day2.clone()), None));
                    check_day2(&outcome.expect("import day 2 encrypted"), &data);
                    drop(store);
                    fs::remove_file(&work).expect("remove the store");
                    elapsed
                })
            })
        });
        g.finish();
        fs::remove_file(&encrypted_store).expect("remove the store");
    }

    // rerun
    let mut rerun_times = Vec::new();
    {
        let store = Store::open(&day2_store).expect("open the store");
        let events = store.event_count().expect("event count");
        let mut g = group(&mut c, "rerun", day2_bytes);
        g.bench_function(BenchmarkId::new("day2", rows), |b| {
            b.iter_custom(|iters| {
                each(iters, &mut rerun_times, || {
                    let (elapsed, outcome) = timed(|| import(&store, &config, &Input::File(data.day2.clone()), None));
                    check_rerun(&outcome.expect("import day 2 again"));
                    elapsed
                })
            })
        });
        g.finish();
        assert_eq!(store.event_count().expect("event count"), events, "rerun: events");
    }

    // reordered
    let mut reordered_times = Vec::new();
    {
        let mut g = group(&mut c, "reordered", reordered_bytes);
        g.bench_function(BenchmarkId::new("day1_reordered", rows), |b| {
            b.iter_custom(|iters| {
                each(iters, &mut reordered_times, || {
                    fs::copy(&day1_store, &work).expect("copy the store");
                    let store = Store::open(&work).expect("open the store");
                    let before = store.event_count().expect("event count");
                    let input = Input::File(data.day1_reordered.clone());
                    let (elapsed, outcome) = timed(|| import(&store, &config, &input, None));
                    match outcome.expect("import the reordered day 1") {
                        ImportOutcome::Imported(report) => {
                            let c = report.snapshot.counts;
                            assert_eq!(
                                (c.created, c.updated, c.deactivated, c.reactivated, c.skipped),
                                (0, 0, 0, 0, 0),
                                "reordered: counts"
                            );
                        }
                        ImportOutcome::AlreadyImported(meta) | ImportOutcome::Held(meta) => {
                            panic!("reordered: snapshot {} was {}", meta.id, meta.status.name())
                        }
                    }
                    assert_eq!(store.event_count().expect("event count"), before, "reordered: events");
                    drop(store);
                    fs::remove_file(&work).expect("remove the store");
                    elapsed
                })
            })
        });
        g.finish();
    }

    c.final_summary();

    // Summary: medians of the timed iterations (a single run when a group
    // was filtered out).
    let floor_t = median(&floor_times).unwrap_or_else(|| timed(|| floor(&data.day2)).0);
    let first_t = median(&first_times).unwrap_or(prep_first);
    let day2_t = median(&day2_times).unwrap_or(prep_day2);
    let rerun_t = median(&rerun_times).unwrap_or_else(|| {
        let store = Store::open(&day2_store).expect("open the store");
        timed(|| import(&store, &config, &Input::File(data.day2.clone()), None)).0
    });
    let reordered_t = median(&reordered_times);

    let line = |name: &str, t: Duration, bytes: u64, n: usize, target: Option<f64>| {
        let ratio = t.as_secs_f64() / floor_t.as_secs_f64();
        let verdict = match target {
            Some(max) if ratio <= max => format!("≤ {max}×  met"),
            Some(max) => format!("≤ {max}×  MISSED"),
            None => String::new(),
        };
        println!(
            "  {name:<13} {:>9.3} s  {:>7.1} MiB/s  {:>6.2}×  {verdict}   ({})",
            t.as_secs_f64(),
            bytes as f64 / MIB / t.as_secs_f64(),
            ratio,
            match n {
                0 => "one run".to_owned(),
                n => format!("median of {n}"),
            },
        );
    };
    println!();
    println!("summary ({rows} rows; day1 {day1_bytes} bytes, day2 {day2_bytes} bytes):");
    println!(
        "  {:<13} {:>11}  {:>13}  {:>7}  target",
        "", "time", "throughput", "/floor"
    );
    line("floor", floor_t, day2_bytes, floor_times.len(), None);
    line(
        "first_import",
        first_t,
        day1_bytes,
        first_times.len(),
        Some(TARGET_FIRST),
    );
    line("day2_import", day2_t, day2_bytes, day2_times.len(), Some(TARGET_DAY2));
    if let Some(t) = median(&mapped_times) {
        line("day2_mapped", t, day2_bytes, mapped_times.len(), None);
        println!(
            "    day2_mapped / day2_import: {:.2}× (target ≤ {TARGET_MAPPED}×)",
            t.as_secs_f64() / day2_t.as_secs_f64()
        );
    }
    if let Some(t) = median(&encrypted_times) {
        line("day2_encrypted", t, day2_bytes, encrypted_times.len(), None);
        println!(
            "    day2_encrypted / day2_import: {:.2}× (target ≤ {TARGET_ENCRYPTED}×)",
            t.as_secs_f64() / day2_t.as_secs_f64()
        );
    }
    line("rerun", rerun_t, day2_bytes, rerun_times.len(), Some(TARGET_RERUN));
    if let Some(t) = reordered_t {
        line("reordered", t, reordered_bytes, reordered_times.len(), None);
    }
    for (name, mib, floor_mib) in peaks {
        println!(
            "  peak RSS, `ampsync import {name}`: {mib:.1} MiB  (< {TARGET_PEAK_MIB} MiB  {})",
            if mib < TARGET_PEAK_MIB { "met" } else { "MISSED" }
        );
        if mib <= floor_mib {
            println!("    (not the child's own: the bench itself had {floor_mib:.1} MiB resident at the spawn)");
        }
    }
}

/// A group with the settings every group here shares.
fn group<'a>(c: &'a mut Criterion, name: &str, bytes: u64) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Bytes(bytes));
    g
}

/// Runs `one` `iters` times; each returns the time of its timed part, which
/// is also kept in `times`. The sum goes to criterion.
fn each(iters: u64, times: &mut Vec<Duration>, mut one: impl FnMut() -> Duration) -> Duration {
    (0..iters)
        .map(|_| {
            let t = one();
            times.push(t);
            t
        })
        .sum()
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

fn median(times: &[Duration]) -> Option<Duration> {
    let mut t = times.to_vec();
    t.sort();
    (!t.is_empty()).then(|| t[t.len() / 2])
}

/// The floor: every row parsed into a `ByteRecord` and hashed. Returns rows.
fn floor(path: &Path) -> u64 {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(256 * 1024)
        .from_path(path)
        .expect("open the file");
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader.read_byte_record(&mut record).expect("parse a row") {
        black_box(blake3::hash(record.as_slice()));
        rows += 1;
    }
    rows
}

fn check_first(outcome: &ImportOutcome, rows: u64) {
    match outcome {
        ImportOutcome::Imported(report) => {
            let c = report.snapshot.counts;
            assert_eq!(
                (c.created, c.updated, c.deactivated, c.reactivated, c.skipped),
                (rows, 0, 0, 0, 0),
                "first import: counts"
            );
        }
        ImportOutcome::AlreadyImported(meta) | ImportOutcome::Held(meta) => {
            panic!("first import: snapshot {} was {}", meta.id, meta.status.name())
        }
    }
}

fn check_day2(outcome: &ImportOutcome, data: &datagen::Dataset) {
    match outcome {
        ImportOutcome::Imported(report) => {
            let c = report.snapshot.counts;
            let e = data.expect_day2;
            assert_eq!(
                (c.created, c.updated, c.deactivated, c.reactivated, c.skipped),
                (e.created, e.updated, e.deactivated, 0, 0),
                "day 2: counts (created, updated, deactivated, reactivated, skipped)"
            );
            assert_eq!(report.snapshot.rows, data.day2_rows, "day 2: rows");
        }
        ImportOutcome::AlreadyImported(meta) | ImportOutcome::Held(meta) => {
            panic!("day 2: snapshot {} was {}", meta.id, meta.status.name())
        }
    }
}

fn check_rerun(outcome: &ImportOutcome) {
    if let ImportOutcome::Imported(report) = outcome {
        panic!(
            "rerun: imported again as snapshot {} ({:?})",
            report.snapshot.id, report.snapshot.counts
        );
    }
}

/// `ampsync import` of day 1 then day 2 into a new store, each a child
/// process: prints its output, its debug log with times since it started,
/// and its peak RSS. Returns (file, peak RSS in MiB, this process's RSS in
/// MiB when it was spawned: the child's figure cannot be lower).
fn cli_runs(dir: &Path, data: &datagen::Dataset) -> Vec<(&'static str, f64, f64)> {
    let bin = env!("CARGO_BIN_EXE_ampsync");
    let cli_dir = dir.join("cli");
    fs::create_dir_all(&cli_dir).expect("create the cli dir");
    let config = cli_dir.join("ampsync.toml");
    fs::write(&config, "[store]\npath = \"s.redb\"\n").expect("write the config");
    let mut peaks = Vec::new();
    for (name, file) in [("day1.csv", &data.day1), ("day2.csv", &data.day2)] {
        let mut cmd = Command::new(bin);
        cmd.arg("--config")
            .arg(&config)
            .arg("import")
            .arg(file)
            .env(
                "AMPSYNC_LOG",
                "warn,ampsync=debug,ampsync_engine=debug,ampsync_store=debug",
            )
            .env("NO_COLOR", "1");
        // Linux keeps the larger of the child's peak RSS and that of the
        // memory it was spawned from (ours, as `Command` spawns with
        // CLONE_VM), so our own peak is first reset to what is resident now.
        let _ = fs::write("/proc/self/clear_refs", "5");
        let own_mib = own_rss_kib("VmRSS:") as f64 / 1024.0;
        let run = run_child(&mut cmd);
        eprintln!();
        eprintln!(
            "`ampsync import {name}`: {} in {:.2?}, peak RSS {:.1} MiB (this process: {own_mib:.1} MiB)",
            run.status,
            run.wall,
            run.max_rss_kib as f64 / 1024.0
        );
        for (at, line) in &run.log {
            eprintln!("  +{:>8.3}s  {}", at.as_secs_f64(), strip_ansi(line));
        }
        for line in run.stdout.lines() {
            eprintln!("  | {line}");
        }
        assert_eq!(run.status, "exit status 0", "`ampsync import {name}` failed");
        peaks.push((name, run.max_rss_kib as f64 / 1024.0, own_mib));
    }
    peaks
}

/// A `/proc/self/status` figure in KiB (`VmRSS:`, `VmHWM:`); 0 if unknown.
fn own_rss_kib(field: &str) -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// `line` without terminal colour codes (`ESC [ ... m`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

struct ChildRun {
    status: String,
    wall: Duration,
    max_rss_kib: i64,
    stdout: String,
    /// stderr lines, with when they arrived (since the spawn).
    log: Vec<(Duration, String)>,
}

fn run_child(cmd: &mut Command) -> ChildRun {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start the binary");
    let mut out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        BufReader::new(err)
            .lines()
            .map_while(Result::ok)
            .map(|l| (start.elapsed(), l))
            .collect::<Vec<_>>()
    });
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data, valid when zeroed; `wait4` writes
    // into the two locals, which outlive the call. `child` is never waited
    // on by std (its handle is dropped without `wait`).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "wait4: {e}");
    }
    let wall = start.elapsed();
    drop(child);
    let status = if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status}")
    };
    ChildRun {
        status,
        wall,
        // Linux reports ru_maxrss in KiB.
        max_rss_kib: usage.ru_maxrss,
        stdout: out.join().expect("stdout reader"),
        log: err.join().expect("stderr reader"),
    }
}
