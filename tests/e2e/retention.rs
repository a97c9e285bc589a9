//! Retention (`policy.forget_leavers_after_days`), the run lock that keeps
//! `forget` and imports apart, and `verify --store` leaving a backup as it
//! is.
//!
//! The retention story runs the daily `sync` from a folder to a sandbox
//! with the clock pinned: a leaver deactivated on day D is kept through
//! day D+N (even late on that day, more than N×24 hours later) and
//! forgotten by the first sync of day D+N+1, in that import; someone who
//! left and came back is not; the sync's JSON and `runs.jsonl` count one,
//! and neither they nor the trace log name anyone forgotten.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use crate::common::TestEnv;
use crate::common::sandbox::TestSandbox;
use ampsync_sandbox::{SandboxOptions, TeamSeed};
use serde_json::{Value, json};

const HEADER: &str = "Employee ID,First name,Last name,Email,Job title,Primary team\n";
const ANN: &str = "E1001,Annelise,Lindqvist,annelise.lindqvist@acme.example,Engineer,Sales\n";
const BART: &str = "E1002,Bartholomew,Quincey-Hartwell,bartholomew.quincey@acme.example,Analyst,Sales\n";
const CY: &str = "E1003,Cyprian,Dufresne,cyprian.dufresne@acme.example,Accountant,Sales\n";
const BART_VALUES: [&str; 3] = ["bartholomew.quincey@acme.example", "Bartholomew", "Quincey-Hartwell"];

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Ann's job title on day `n`, so each day's file is new; and five others
/// who stay, so the day's changes stay under the safeguards' limits.
fn ann(n: u32) -> String {
    let staff: String = (1..=5)
        .map(|i| format!("E200{i},Staff,Member{i},staff{i}@acme.example,Clerk,Sales\n"))
        .collect();
    format!("{}{staff}", ANN.replace("Engineer", &format!("Engineer {n}")))
}

/// Drops day `n`'s file (written an hour before `now`) into the folder
/// `sync` takes files from, then runs `sync --format json` at `now`.
fn sync_day(env: &mut TestEnv, n: u32, now: &str, rows: &str) -> Value {
    place(env, n, now, rows);
    env.json(&["sync"])
}

/// Drops day `n`'s file, written an hour before `now`, into the folder.
fn place(env: &mut TestEnv, n: u32, now: &str, rows: &str) {
    env.now = now.into();
    let path = env.path().join("drop").join(format!("users_{n}.csv"));
    std::fs::write(&path, format!("{HEADER}{rows}")).expect("write the day's file");
    let at = SystemTime::UNIX_EPOCH
        + Duration::from_micros(ampsync_engine::clock::parse_time(now).expect("time") as u64)
        - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(at))
        .expect("set mtime");
}

fn last_run(env: &TestEnv) -> (String, Value) {
    let runs = std::fs::read_to_string(env.path().join("runs.jsonl")).expect("runs.jsonl");
    let last = runs.lines().last().expect("a run").to_owned();
    let value = serde_json::from_str(&last).expect("a JSON line");
    (runs, value)
}

#[test]
fn a_leaver_is_forgotten_by_the_first_import_of_day_n_plus_1_and_only_counted() {
    let sandbox = TestSandbox::start(SandboxOptions {
        teams: vec![TeamSeed::from("Sales")],
        ..SandboxOptions::default()
    });
    let mut env = TestEnv::new();
    let drop = env.path().join("drop");
    std::fs::create_dir_all(&drop).expect("drop folder");
    sandbox.configure(
        &mut env,
        &format!(
            "max_requests_per_second = 500\n[source]\nkind = \"dir\"\nremote_dir = \"{}\"\npattern = \"users_*.csv\"\nsettle_seconds = 30\n\
             [policy]\nmax_deactivate_percent = 100\nmax_change_percent = 100\nforget_leavers_after_days = 3\n\
             [schedule]\ncron = \"0 30 6 * * *\"\ntimezone = \"Europe/London\"\n",
            drop.display()
        ),
    );
    // Day 1 (2 November): all three. Day D (3 November, 06:30): Bart and
    // Cy leave. 4 November: Cy comes back.
    sync_day(&mut env, 1, "2026-11-02T06:30:00Z", &format!("{}{BART}{CY}", ann(1)));
    let day_d = sync_day(&mut env, 2, "2026-11-03T06:30:00Z", &ann(2));
    assert_eq!(day_d["run"]["counts"]["deactivated"], json!(2), "{day_d}");
    sync_day(&mut env, 3, "2026-11-04T06:30:00Z", &format!("{}{CY}", ann(3)));

    // Day D+N (6 November), late: more than 3×24 hours after Bart left,
    // but not yet more than 3 days by the calendar. Kept.
    let kept = sync_day(&mut env, 4, "2026-11-06T23:00:00Z", &format!("{}{CY}", ann(4)));
    assert_eq!(kept["run"]["outcome"], json!("imported"), "{kept}");
    assert_eq!(kept["run"]["counts"].get("forgotten_by_retention"), None, "{kept}");
    let history = env.json(&["history", "E1002"]);
    assert!(history.to_string().contains(BART_VALUES[0]), "{history}");
    let before = std::fs::read(env.store_path()).expect("store");
    assert!(contains(&before, BART_VALUES[1]));

    // Day D+N+1 (7 November), the first sync of the day, traced.
    env.env.push(("AMPSYNC_LOG".into(), "trace".into()));
    place(&mut env, 5, "2026-11-07T06:30:00Z", &format!("{}{CY}", ann(5)));
    let run = env.run(&["sync", "--format", "json"]).expect_code(0);
    env.env.pop();
    let forgot = run.json();
    assert_eq!(forgot["run"]["counts"]["forgotten_by_retention"], json!(1), "{forgot}");
    let (runs, last) = last_run(&env);
    assert_eq!(last["counts"]["forgotten_by_retention"], json!(1), "{last}");
    assert_eq!(last["snapshot"], json!(5), "{last}");
    for value in BART_VALUES.iter().chain(&["E1002"]) {
        assert!(!run.stderr.contains(value), "{value} logged:\n{}", run.stderr);
        assert!(!run.stdout.contains(value), "{value} in the output:\n{}", run.stdout);
        assert!(!runs.contains(value), "{value} in runs.jsonl:\n{runs}");
    }
    assert!(
        run.stderr
            .contains("retention forgot 1 leaver(s) deactivated more than 3 days ago"),
        "{}",
        run.stderr
    );

    // Forgotten in that import: the erasure record in place of the values,
    // nothing of them in the file's bytes, and the log still verifies.
    let history = env.json(&["history", "E1002"]);
    let erasure = &history["erasures"][0];
    assert_eq!(
        (&erasure["reason"], &erasure["by"], &erasure["time"]),
        (
            &json!("retention: deactivated more than 3 days ago"),
            &json!("ampsync"),
            &json!("2026-11-07T06:30:00Z")
        ),
        "{history}"
    );
    let events = history["events"].as_array().expect("events");
    assert_eq!(events.len(), 2, "{history}");
    assert!(events.iter().all(|e| e["erased"]["erasure"] == json!(1)), "{history}");
    for value in BART_VALUES {
        assert!(!history.to_string().contains(value), "{value} in history: {history}");
    }
    let after = std::fs::read(env.store_path()).expect("store");
    for value in BART_VALUES {
        assert!(!contains(&after, value), "{value} survives in the store file");
    }
    let verify = env.json(&["verify"]);
    assert_eq!(
        (&verify["ok"], &verify["erased_events"]),
        (&json!(true), &json!(2)),
        "{verify}"
    );

    // Cy left on the same day but came back: kept, with their values.
    let cy = env.json(&["history", "E1003"]);
    assert_eq!(cy["erasures"].as_array().map(Vec::len).unwrap_or(0), 0, "{cy}");
    assert!(cy.to_string().contains("cyprian.dufresne@acme.example"), "{cy}");

    // The next day forgets no one again.
    let next = sync_day(&mut env, 6, "2026-11-08T06:30:00Z", &format!("{}{CY}", ann(6)));
    assert_eq!(next["run"]["counts"].get("forgotten_by_retention"), None, "{next}");
    assert_eq!(env.json(&["verify"])["ok"], json!(true));
}

/// Polls (every 10 ms) until `path` holds `needle`, for at most ten seconds.
fn wait_for_file(path: &std::path::Path, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
            return;
        }
        assert!(Instant::now() < deadline, "{} never held {needle:?}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn forget_is_refused_while_an_import_runs_and_changes_nothing() {
    let mut env = TestEnv::with_config(
        "[store]\npath = \"ampsync.redb\"\n[csv]\nkey = \"Employee ID\"\n[policy]\nmax_deactivate_percent = 100\n",
    );
    let day1 = env.write("day1.csv", format!("{HEADER}{ANN}{BART}{CY}"));
    env.import_at("2026-11-02T06:30:00Z", &day1);
    let day2 = env.write("day2.csv", format!("{HEADER}{ANN}{CY}"));
    env.import_at("2026-11-03T06:30:00Z", &day2);

    // An import reading standard input holds the run lock until its input
    // ends.
    env.now = "2026-11-04T06:30:00Z".into();
    let mut import = env
        .command(&["import", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the import");
    let mut input = import.stdin.take().expect("stdin");
    input.write_all(HEADER.as_bytes()).expect("write");
    let lock = env.path().join("ampsync.redb.lock");
    wait_for_file(&lock, &format!("(pid {}, import)", import.id()));
    let before = std::fs::read(env.store_path()).expect("store");

    let refused = env.run(&["forget", "E1002", "--reason", "asked"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("another run holds the store") && refused.stderr.contains(", import)"),
        "{}",
        refused.stderr
    );
    let second = env.run(&["import", day2.to_str().expect("path")]);
    assert!(
        second.stderr.contains("another run holds the store"),
        "{}",
        second.stderr
    );
    assert!(
        std::fs::read(env.store_path()).expect("store") == before,
        "a refused run changed the store"
    );

    // Once the import ends, forget runs.
    input.write_all(format!("{ANN}{CY}").as_bytes()).expect("write");
    drop(input);
    let out = import.wait_with_output().expect("import");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    env.now = "2026-11-04T07:00:00Z".into();
    let forgot = env.run(&["forget", "E1002", "--reason", "asked"]);
    // Never pushed: refused for that reason, not the lock.
    assert!(forgot.stderr.contains("not yet sent to Learn Amp"), "{}", forgot.stderr);
}

#[test]
fn verify_store_leaves_an_older_backup_byte_for_byte_as_it_was() {
    let env = TestEnv::new();
    let fixture = crate::common::repo().join("tests/data/stores/v0.2.0-pre/ampsync.redb");
    let copy = env.path().join("ampsync.redb.bak-v1");
    std::fs::copy(&fixture, &copy).expect("copy the fixture");
    let before = std::fs::read(&copy).expect("read");

    let verified = env.run(&["verify", "--store", copy.to_str().expect("path"), "--format", "json"]);
    let report = verified.expect_code(0).json();
    assert_eq!(
        (&report["ok"], &report["events"]),
        (&json!(true), &json!(625)),
        "{report}"
    );
    assert!(
        std::fs::read(&copy).expect("read") == before,
        "verify --store changed the file"
    );
    let beside: Vec<String> = std::fs::read_dir(env.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !beside.iter().any(|n| n.contains(".bak-v1.")),
        "a backup of the backup was written: {beside:?}"
    );
}
