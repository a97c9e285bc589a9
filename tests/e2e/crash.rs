//! A crash in the middle of a large import: the store opens afterwards,
//! holds the previous state, and the same import then succeeds.


use std::process::Stdio;

use crate::common::{Lines, TestEnv, example};
use serde_json::json;

const ROWS: usize = 150_000;

fn big_file(env: &TestEnv) -> std::path::PathBuf {
    let mut text = String::with_capacity(ROWS * 80);
    // The example days' header: no mapped column goes missing.
    text.push_str("Employee ID,First name,Last name,Email,Job title,Primary team,Secondary teams,Role,Language,Location,Hire date,Manager email\n");
    for i in 0..ROWS {
        text.push_str(&format!(
            "X{i:07},Zoë,Müller {i},person{i}@big.example,\"Engineer, grade {}\",Engineering,,viewer,de,Berlin,2024-01-01,\n",
            i % 7
        ));
    }
    env.write("big.csv", text)
}

#[test]
fn killing_an_import_mid_write_loses_nothing_and_the_rerun_succeeds() {
    // The big file replaces everyone: let it through the safeguards.
    let mut env = TestEnv::with_config(
        "[store]\npath = \"ampsync.redb\"\n[policy]\nmax_deactivate_percent = 100\nmax_change_percent = 100\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    let events_before = env.json(&["events"]);
    let big = big_file(&env);

    env.now = "2026-11-25T06:30:00Z".into();
    let mut child = env
        .command(&["import", big.to_str().expect("path")])
        .env("AMPSYNC_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ampsync");
    // The import announces its write transaction; kill it right then.
    Lines::of(child.stderr.take().expect("stderr")).wait_for("writing the snapshot and its events");
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the import was killed, not finished");

    // The store opens, and holds exactly the state before the import.
    assert_eq!(env.json(&["snapshots"]).as_array().map(Vec::len), Some(1));
    assert_eq!(env.json(&["events"]), events_before);

    let rerun = env.import_at("2026-11-25T07:00:00Z", &big);
    assert_eq!((&rerun["outcome"], &rerun["snapshot"]), (&json!("imported"), &json!(2)));
    assert_eq!((&rerun["created"], &rerun["deactivated"]), (&json!(ROWS), &json!(50)));
    assert_eq!(
        env.json(&["show", "X0149999"])["record"]["jobTitle"],
        json!("Engineer, grade 3")
    );
}
