//! `ampsync forget`: the erasure story. Three imports pushed to a sandbox;
//! a person still in the file is refused with the store unchanged; a leaver
//! is forgotten; `verify` still walks the whole chain; `history` shows the
//! erasure record in place of the values; the leaver's email and names are
//! nowhere in the store file's bytes; the kept raw file that held them is
//! dropped and `export-snapshot` says so; imports go on.


use ampsync_sandbox::{SandboxOptions, TeamSeed};
use crate::common::TestEnv;
use crate::common::sandbox::TestSandbox;
use serde_json::json;

const HEADER: &str = "Employee ID,First name,Last name,Email,Job title,Primary team\n";
const ANN: &str = "E1001,Annelise,Lindqvist,annelise.lindqvist@acme.example,Engineer,Sales\n";
const BART: &str = "E1002,Bartholomew,Quincey-Hartwell,bartholomew.quincey@acme.example,Analyst,Sales\n";
const CY: &str = "E1003,Cyprian,Dufresne,cyprian.dufresne@acme.example,Accountant,Sales\n";
const BART_VALUES: [&str; 3] = ["bartholomew.quincey@acme.example", "Bartholomew", "Quincey-Hartwell"];

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn push(env: &mut TestEnv, now: &str) {
    env.now = now.into();
    env.run(&["push"]).expect_code(0);
}

#[test]
fn a_forgotten_leaver_leaves_a_verifiable_skeleton_and_no_value_in_the_file() {
    let sandbox = TestSandbox::start(SandboxOptions {
        teams: vec![TeamSeed::from("Sales")],
        ..SandboxOptions::default()
    });
    let mut env = TestEnv::new();
    sandbox.configure(
        &mut env,
        "max_requests_per_second = 500\n[policy]\nmax_deactivate_percent = 100\nmax_change_percent = 100",
    );
    let day1 = env.write("day1.csv", format!("{HEADER}{ANN}{BART}{CY}"));
    let day2 = env.write(
        "day2.csv",
        format!("{HEADER}{}{CY}", ANN.replace("Engineer", "Senior Engineer")),
    );
    let day3 = env.write(
        "day3.csv",
        format!(
            "{HEADER}{}{}",
            ANN.replace("Engineer", "Senior Engineer"),
            CY.replace("Accountant", "Controller")
        ),
    );
    env.import_at("2026-11-02T06:30:00Z", &day1);
    push(&mut env, "2026-11-02T06:35:00Z");
    env.import_at("2026-11-03T06:30:00Z", &day2);
    push(&mut env, "2026-11-03T06:35:00Z");
    env.import_at("2026-11-04T06:30:00Z", &day3);
    push(&mut env, "2026-11-04T06:35:00Z");
    let before = std::fs::read(env.store_path()).expect("store");
    for value in BART_VALUES {
        assert!(contains(&before, value), "{value} should be in the store before forget");
    }

    // Still in the current file: refused, the file byte for byte as it was.
    env.now = "2026-11-05T09:00:00Z".into();
    let refused = env.run(&["forget", "E1001", "--reason", "asked"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("E1001 is active: they are in the current file"),
        "{}",
        refused.stderr
    );
    assert!(
        std::fs::read(env.store_path()).expect("store") == before,
        "a refused forget changed the store"
    );

    let forgot = env.json(&[
        "forget",
        "E1002",
        "--reason",
        "GDPR article 17 request",
        "--by",
        "Data Protection Officer",
    ]);
    assert_eq!(forgot["erasure"], json!(1), "{forgot}");
    assert_eq!(
        forgot["events"].as_array().map(Vec::len),
        Some(2),
        "created and deactivated: {forgot}"
    );
    assert_eq!(
        forgot["raw_files_dropped"],
        json!([1]),
        "only day 1 held them: {forgot}"
    );

    let after = std::fs::read(env.store_path()).expect("store");
    for value in BART_VALUES {
        assert!(!contains(&after, value), "{value} survives in the store file");
    }

    let verify = env.json(&["verify"]);
    assert_eq!(verify["ok"], json!(true), "{verify}");
    assert_eq!(verify["chain_broken_at"], json!(null), "{verify}");
    assert_eq!(verify["erased_events"], json!(2), "{verify}");

    let history = env.json(&["history", "E1002"]);
    assert_eq!(
        history["erasures"][0]["reason"],
        json!("GDPR article 17 request"),
        "{history}"
    );
    assert_eq!(
        history["erasures"][0]["by"],
        json!("Data Protection Officer"),
        "{history}"
    );
    assert_eq!(
        history["erasures"][0]["time"],
        json!("2026-11-05T09:00:00Z"),
        "{history}"
    );
    let events = history["events"].as_array().expect("events");
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["created", "deactivated"]);
    for event in events {
        assert_eq!(event["erased"]["erasure"], json!(1), "{event}");
        assert_eq!(event["delivery"]["status"], json!("delivered"), "{event}");
    }
    assert!(
        events[0]["erased"]["fields"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("email")) && f.contains(&json!("lastName"))),
        "{history}"
    );
    for value in BART_VALUES {
        assert!(!history.to_string().contains(value), "{value} in history: {history}");
    }

    // The kept file of day 1 is gone, and export-snapshot says why; day 2's
    // never held them and is whole.
    let export = env.run(&["export-snapshot", "1", "out1.csv"]);
    assert_eq!(export.code, 1, "{export:?}");
    assert!(
        export
            .stderr
            .contains("the file of snapshot 1 was dropped on 2026-11-05T09:00:00Z by erasure 1"),
        "{}",
        export.stderr
    );
    env.run(&["export-snapshot", "2", "out2.csv"]).expect_code(0);
    assert_eq!(
        std::fs::read(env.path().join("out2.csv")).expect("out2"),
        std::fs::read(&day2).expect("day2")
    );

    // Nothing of them comes back through the audit commands: no state as of
    // any time, and a rollback to before they left leaves them forgotten.
    env.now = "2026-11-05T10:00:00Z".into();
    let shown = env.run(&["show", "E1002", "--as-of", "2026-11-02T12:00:00Z", "--format", "json"]);
    for value in BART_VALUES {
        assert!(!shown.stdout.contains(value), "{value} shown: {}", shown.stdout);
    }
    let rollback = env.json(&["rollback", "--to", "1", "--dry-run"]);
    let keys: Vec<&str> = rollback["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["key"].as_str())
        .collect();
    assert!(keys.contains(&"E1001") && !keys.contains(&"E1002"), "{rollback}");

    // A second forget of the same person is refused; imports go on.
    let again = env.run(&["forget", "E1002", "--reason", "twice"]);
    assert!(
        again.stderr.contains("E1002 has already been forgotten"),
        "{}",
        again.stderr
    );
    let day4 = env.write(
        "day4.csv",
        format!("{HEADER}{}", CY.replace("Accountant", "Controller")),
    );
    let imported = env.import_at("2026-11-06T06:30:00Z", &day4);
    assert_eq!(imported["deactivated"], json!(1), "{imported}");
    env.now = "2026-11-06T07:00:00Z".into();
    let verify = env.json(&["verify"]);
    assert_eq!(verify["ok"], json!(true), "{verify}");
}

#[test]
fn in_learnamp_also_deletes_them_there_once_confirmed() {
    let sandbox = TestSandbox::start(SandboxOptions {
        teams: vec![TeamSeed::from("Sales")],
        ..SandboxOptions::default()
    });
    let mut env = TestEnv::new();
    sandbox.configure(
        &mut env,
        "max_requests_per_second = 500\n[policy]\nmax_deactivate_percent = 100\nmax_change_percent = 100",
    );
    let day1 = env.write("day1.csv", format!("{HEADER}{ANN}{BART}{CY}"));
    let day2 = env.write("day2.csv", format!("{HEADER}{ANN}{CY}"));
    env.import_at("2026-11-02T06:30:00Z", &day1);
    push(&mut env, "2026-11-02T06:35:00Z");
    env.import_at("2026-11-03T06:30:00Z", &day2);
    push(&mut env, "2026-11-03T06:35:00Z");
    let emails = |sandbox: &TestSandbox| -> Vec<String> {
        sandbox
            .users()
            .iter()
            .filter_map(|u| u["email"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(emails(&sandbox).contains(&BART_VALUES[0].to_owned()));

    // No terminal to confirm on, and no --yes: nothing happens anywhere.
    env.now = "2026-11-04T09:00:00Z".into();
    let before = std::fs::read(env.store_path()).expect("store");
    let refused = env.run(&["forget", "E1002", "--reason", "asked", "--in-learnamp"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("pass --yes to confirm"), "{}", refused.stderr);
    assert!(std::fs::read(env.store_path()).expect("store") == before);
    assert!(emails(&sandbox).contains(&BART_VALUES[0].to_owned()));

    let forgot = env.json(&["forget", "E1002", "--reason", "asked", "--in-learnamp", "--yes"]);
    assert!(forgot["deleted_in_learnamp"].is_u64(), "{forgot}");
    assert!(
        !emails(&sandbox).contains(&BART_VALUES[0].to_owned()),
        "still in Learn Amp"
    );
    assert_eq!(emails(&sandbox).len(), 2, "only they were deleted");
    assert_eq!(env.json(&["verify"])["ok"], json!(true));
}
