//! The daemon on a per-second schedule: it runs, picks up a new file on a
//! later run, keeps a second process off the store, and stops cleanly on
//! SIGTERM.


use std::process::Stdio;

use crate::common::sandbox::TestSandbox;
use crate::common::{Lines, TestEnv, example};
use serde_json::{Value, json};

#[test]
fn the_daemon_runs_on_schedule_takes_new_files_holds_the_store_and_stops_on_sigterm() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    let drop = env.path().join("drop");
    std::fs::create_dir_all(&drop).expect("drop folder");
    sandbox.configure(
        &mut env,
        &format!(
            "max_requests_per_second = 500\n[source]\nkind = \"dir\"\nremote_dir = \"{}\"\npattern = \"users_*.csv\"\nsettle_seconds = 0\n[schedule]\ncron = \"* * * * * *\"\ntimezone = \"Europe/London\"\n",
            drop.display()
        ),
    );
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let place = |name: &str, day: &str, mtime: std::time::SystemTime| {
        let path = drop.join(name);
        std::fs::copy(example(day), &path).expect("copy");
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(mtime))
            .expect("mtime");
    };
    place("users_1.csv", "day1.csv", old);

    let mut daemon = env
        .command(&["daemon"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    let mut out = Lines::of(daemon.stdout.take().expect("stdout"));
    out.wait_for("users_1.csv as snapshot 1");
    out.wait_for("→ imported");

    // While it runs, nobody else may run on the store.
    let second = env.run(&["sync"]);
    assert_eq!(second.code, 1, "{second:?}");
    assert!(
        second.stderr.contains("another run holds the store"),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("daemon"),
        "the message says who: {}",
        second.stderr
    );
    // Regression: the read commands were refused while the daemon held the
    // store open for writing; they need no run lock, and redb readers do not
    // block its writer.
    let snapshots = env.json(&["snapshots"]);
    assert_eq!(snapshots[0]["id"], json!(1), "{snapshots}");
    env.run(&["verify"]).expect_code(0);

    // A new file is taken by a later run.
    place("users_2.csv", "day2.csv", old + std::time::Duration::from_secs(60));
    out.wait_for("users_2.csv as snapshot 2");
    out.wait_for("→ imported");

    let pid = daemon.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    out.wait_for("stopped");
    let status = daemon.wait().expect("daemon exits");
    assert!(status.success(), "a clean stop: {status:?}");

    // Every run left a line; the two imports are among them.
    let runs = std::fs::read_to_string(env.path().join("runs.jsonl")).expect("runs.jsonl");
    let runs: Vec<Value> = runs
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let imported: Vec<(&Value, &Value)> = runs
        .iter()
        .filter(|r| r["outcome"] == "imported")
        .map(|r| (&r["snapshot"], &r["counts"]["created"]))
        .collect();
    assert_eq!(imported, vec![(&json!(1), &json!(50)), (&json!(2), &json!(2))]);
    assert_eq!(sandbox.users().len(), 52);
    // The store is free again.
    env.run(&["sync"]).expect_code(0);
}

/// A plain HTTP GET, for the health endpoint.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the health address");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

#[test]
fn a_late_export_is_recorded_as_missing_file_and_shown_in_metrics() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    let drop = env.path().join("drop");
    std::fs::create_dir_all(&drop).expect("drop folder");
    // The pinned clock says 06:30 UTC; the file was expected by 06:00.
    sandbox.configure(
        &mut env,
        &format!(
            "[source]\nkind = \"dir\"\nremote_dir = \"{}\"\npattern = \"users_*.csv\"\n[schedule]\ncron = \"* * * * * *\"\ntimezone = \"UTC\"\nexpect_file_by = \"06:00\"\n",
            drop.display()
        ),
    );
    let mut daemon = env
        .command(&["daemon", "--health-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    let mut out = Lines::of(daemon.stdout.take().expect("stdout"));
    let health = out.wait_for("health on http://");
    let addr = health
        .trim_start_matches("health on http://")
        .split('/')
        .next()
        .expect("address")
        .to_owned();
    out.wait_for("→ missing_file");

    assert!(http_get(&addr, "/healthz").ends_with("ok\n"));
    let metrics = http_get(&addr, "/metrics");
    for expected in [
        "ampsync_missing_file 1",
        "ampsync_last_run_outcome{outcome=\"missing_file\"} 1",
        "ampsync_last_run_outcome{outcome=\"imported\"} 0",
        "ampsync_deliveries{status=\"pending\"} 0",
        "ampsync_oldest_undelivered_seconds 0",
        "ampsync_events_total{kind=\"created\"} 0",
    ] {
        assert!(metrics.contains(expected), "/metrics lacks {expected:?}:\n{metrics}");
    }
    std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .expect("kill");
    out.wait_for("stopped");
    assert!(daemon.wait().expect("exit").success());
    let runs = std::fs::read_to_string(env.path().join("runs.jsonl")).expect("runs.jsonl");
    let last: Value = serde_json::from_str(runs.lines().last().expect("a run")).expect("json");
    assert_eq!(last["outcome"], json!("missing_file"));
    assert_eq!(
        last["error"],
        json!("no new file has arrived by schedule.expect_file_by: the export is late or lost")
    );
}
