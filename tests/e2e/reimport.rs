//! Replaying an import after a config fix (issue #12, item 12): the
//! idempotency key is the file's hash plus the config fingerprint, and
//! `reimport N` reads snapshot N's kept file again. The real binary on
//! real stores, the v0.1.0 fixture store included.


use serde_json::{Value, json};

use crate::common::TestEnv;

/// Four people; "Job title" and "Location" are recognised by name, "Cost
/// centre" is not.
const DAY1: &str = "\
Employee ID,First name,Last name,Email,Job title,Location,Cost centre
E1,Ada,Lovelace,ada@acme.example,Engineer,London,CC-10
E2,Alan,Turing,alan@acme.example,Cryptanalyst,Manchester,CC-20
E3,Grace,Hopper,grace@acme.example,Admiral,Arlington,CC-30
E4,Edsger,Dijkstra,edsger@acme.example,Professor,Austin,CC-40
";

/// The mistake: the job title read from the cost centre.
const WRONG: &str = "[store]\npath = \"ampsync.redb\"\n[mapping]\njobTitle = \"Cost centre\"\n";
/// The fix. Every person's title changes with it: the change safeguard is
/// raised so the fix goes through (a test below keeps the default).
const FIXED: &str = "[store]\npath = \"ampsync.redb\"\n[mapping]\njobTitle = \"Job title\"\n\
                     [policy]\nmax_change_percent = 100\n";
const WRONG_LENIENT: &str = "[store]\npath = \"ampsync.redb\"\n[mapping]\njobTitle = \"Cost centre\"\n\
                             [policy]\nmax_change_percent = 100\n";

fn set_config(env: &TestEnv, text: &str) {
    env.write("ampsync.toml", text);
}

fn store_bytes(env: &TestEnv) -> Vec<u8> {
    std::fs::read(env.store_path()).expect("store file")
}

/// The (key, changes) of snapshot `n`'s events, changes as JSON.
fn changes_of(env: &TestEnv, n: u64) -> Vec<(String, String, Value)> {
    let events = env.json(&["events", "--snapshot", &n.to_string()]);
    events
        .as_array()
        .expect("events array")
        .iter()
        .map(|e| {
            (
                e["key"].as_str().expect("key").to_owned(),
                e["kind"].as_str().expect("kind").to_owned(),
                e["changes"].clone(),
            )
        })
        .collect()
}

/// The updates the fix makes: the job title only, location untouched.
fn title_fixes() -> Vec<(String, String, Value)> {
    [
        ("E1", "CC-10", "Engineer"),
        ("E2", "CC-20", "Cryptanalyst"),
        ("E3", "CC-30", "Admiral"),
        ("E4", "CC-40", "Professor"),
    ]
    .into_iter()
    .map(|(key, old, new)| {
        (
            key.to_owned(),
            "updated".to_owned(),
            json!([{"field": "jobTitle", "old": old, "new": new}]),
        )
    })
    .collect()
}

fn outcome(summary: &Value) -> (&str, u64, Option<u64>) {
    (
        summary["outcome"].as_str().expect("outcome"),
        summary["snapshot"].as_u64().expect("snapshot"),
        summary["reimport_of"].as_u64(),
    )
}

#[test]
fn importing_the_same_file_after_a_mapping_fix_reads_it_again() {
    let mut env = TestEnv::with_config(WRONG_LENIENT);
    let file = env.write("day1.csv", DAY1);
    let first = env.import_at("2026-11-24T06:30:00Z", &file);
    assert_eq!(outcome(&first), ("imported", 1, None));
    assert_eq!(first["created"], 4);
    let wrong_fingerprint = first["fingerprint"].as_str().expect("fingerprint").to_owned();
    assert_eq!(wrong_fingerprint.len(), 64);

    // The same bytes, the same config: a no-op, the store untouched.
    let before = store_bytes(&env);
    let again = env.import_at("2026-11-24T07:00:00Z", &file);
    assert_eq!(outcome(&again), ("already_imported", 1, None));
    assert_eq!(store_bytes(&env), before);

    // A change elsewhere in the config (not how files are read) is no fix.
    set_config(
        &env,
        &format!("{WRONG_LENIENT}[learnamp]\nbase_url = \"http://127.0.0.1:9\"\n"),
    );
    let elsewhere = env.import_at("2026-11-24T07:10:00Z", &file);
    assert_eq!(outcome(&elsewhere), ("already_imported", 1, None));

    // The fix: the same file is read again, and only the job titles change.
    set_config(&env, FIXED);
    let fixed = env.import_at("2026-11-24T07:30:00Z", &file);
    assert_eq!(outcome(&fixed), ("imported", 2, None));
    assert_eq!(
        (&fixed["created"], &fixed["updated"], &fixed["deactivated"]),
        (&json!(0), &json!(4), &json!(0))
    );
    let fixed_fingerprint = fixed["fingerprint"].as_str().expect("fingerprint").to_owned();
    assert_ne!(fixed_fingerprint, wrong_fingerprint);
    assert_eq!(changes_of(&env, 2), title_fixes());
    let ada = env.json(&["show", "E1"]);
    assert_eq!(
        (&ada["record"]["jobTitle"], &ada["record"]["location"]),
        (&json!("Engineer"), &json!("London")),
        "{ada}"
    );

    // Read with the fix once: a rerun is a no-op again.
    let rerun = env.import_at("2026-11-24T08:00:00Z", &file);
    assert_eq!(outcome(&rerun), ("already_imported", 2, None));

    let snapshots = env.json(&["snapshots"]);
    let listed: Vec<(Value, Value, Value)> = snapshots
        .as_array()
        .expect("snapshots")
        .iter()
        .map(|s| (s["id"].clone(), s["fingerprint"].clone(), s["reimport_of"].clone()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (json!(1), json!(wrong_fingerprint), Value::Null),
            (json!(2), json!(fixed_fingerprint), Value::Null),
        ]
    );
    let table = env.run(&["snapshots"]).expect_code(0).stdout;
    assert!(
        table.contains("CONFIG") && table.contains(&fixed_fingerprint[..8]),
        "{table}"
    );
    let text = env.run(&["import", "day1.csv"]).expect_code(0).stdout;
    assert!(
        text.contains("already imported as snapshot 2")
            && text.contains(&format!("config {}", &fixed_fingerprint[..8])),
        "{text}"
    );
}

#[test]
fn reimport_reads_the_kept_file_through_the_fixed_config_and_names_its_origin() {
    let mut env = TestEnv::with_config(WRONG_LENIENT);
    let file = env.write("day1.csv", DAY1);
    env.import_at("2026-11-24T06:30:00Z", &file);
    // The file is not needed any more: the store kept it.
    std::fs::remove_file(&file).expect("remove the file");

    // With the config that read it: nothing to re-read, nothing written.
    let before = store_bytes(&env);
    env.now = "2026-11-24T07:00:00Z".into();
    let same = env.json(&["reimport", "1"]);
    assert_eq!(outcome(&same), ("already_imported", 1, None));
    assert_eq!(store_bytes(&env), before);

    set_config(&env, FIXED);
    env.now = "2026-11-24T07:30:00Z".into();
    let text = env.run(&["reimport", "1"]).expect_code(0).stdout;
    assert!(text.starts_with("re-imported snapshot 1 ("), "{text}");
    assert!(text.contains("as snapshot 2 with config"), "{text}");
    assert_eq!(changes_of(&env, 2), title_fixes());

    // Again with the same config: a no-op, whether asked as a re-import or an import.
    env.now = "2026-11-24T08:00:00Z".into();
    let again = env.json(&["reimport", "1"]);
    assert_eq!(outcome(&again), ("already_imported", 2, Some(1)));
    let out = env.run(&["snapshots", "--format", "json"]).expect_code(0).json();
    assert_eq!(out.as_array().map(Vec::len), Some(2));
    assert_eq!(
        (&out[1]["reimport_of"], &out[0]["reimport_of"]),
        (&json!(1), &Value::Null)
    );

    // Where the change came from: snapshots, history, events.
    let table = env.run(&["snapshots"]).expect_code(0).stdout;
    assert!(table.contains("reimport of 1"), "{table}");
    let history = env.run(&["history", "E1"]).expect_code(0).stdout;
    assert!(
        history.contains("by import of snapshot 2 from ") && history.contains("re-import of snapshot 1"),
        "{history}"
    );
    let history = env.json(&["history", "E1"]);
    let origins: Vec<(Value, Value)> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| (e["kind"].clone(), e["reimport_of"].clone()))
        .collect();
    assert_eq!(
        origins,
        vec![(json!("created"), Value::Null), (json!("updated"), json!(1))]
    );
    assert_eq!(env.json(&["verify"])["ok"], json!(true));
}

#[test]
fn a_reimport_is_held_by_the_safeguards_like_an_import() {
    let mut env = TestEnv::with_config(WRONG);
    let file = env.write("day1.csv", DAY1);
    env.import_at("2026-11-24T06:30:00Z", &file);
    // The default policy: changing everyone's title is above max_change_percent.
    set_config(
        &env,
        "[store]\npath = \"ampsync.redb\"\n[mapping]\njobTitle = \"Job title\"\n",
    );
    env.now = "2026-11-24T07:00:00Z".into();
    let held = env.run(&["reimport", "1", "--format", "json"]).expect_code(3).json();
    assert_eq!(outcome(&held), ("held", 2, Some(1)));
    assert!(
        held["reason"]
            .as_str()
            .is_some_and(|r| r.contains("max_change_percent")),
        "{held}"
    );
    assert_eq!(env.json(&["show", "E1"])["record"]["jobTitle"], json!("CC-10"));
    // Held: read again only once it is decided.
    let refused = env.run(&["reimport", "2"]).expect_code(1);
    assert!(refused.stderr.contains("snapshot 2 is held"), "{}", refused.stderr);

    env.now = "2026-11-24T07:10:00Z".into();
    env.run(&["approve", "2", "--no-push"]).expect_code(0);
    assert_eq!(env.json(&["show", "E1"])["record"]["jobTitle"], json!("Engineer"));
    let history = env.json(&["history", "E1"]);
    assert_eq!(
        history["events"][1]["cause"],
        json!({"type": "approval", "snapshot": 2})
    );
    assert_eq!(history["events"][1]["reimport_of"], json!(1));
}

#[test]
fn a_reimport_that_cannot_happen_says_why_and_changes_nothing() {
    let mut env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\nkeep_raw_days = 1\n");
    let day1 = env.write("day1.csv", DAY1);
    env.import_at("2026-11-20T06:30:00Z", &day1);
    // Three days later: snapshot 1's kept file is pruned by this import.
    let day2 = env.write("day2.csv", DAY1.replace("Engineer", "Countess"));
    env.import_at("2026-11-23T06:30:00Z", &day2);
    // A truncated file, held, then rejected.
    env.write("short.csv", DAY1.lines().take(2).collect::<Vec<_>>().join("\n"));
    env.now = "2026-11-23T07:00:00Z".into();
    env.run(&["import", "short.csv"]).expect_code(3);

    env.now = "2026-11-23T08:00:00Z".into();
    let cases = [
        (
            "1",
            "the file of snapshot 1 is no longer kept: kept files are pruned after store.keep_raw_days (now 1)",
        ),
        ("99", "no snapshot 99: see `ampsync snapshots`"),
        (
            "3",
            "snapshot 3 is held by a safeguard: approve it (`ampsync approve 3`)",
        ),
    ];
    for (n, says) in cases {
        let before = store_bytes(&env);
        let run = env.run(&["reimport", n]).expect_code(1);
        assert!(run.stderr.contains(says), "reimport {n}: {}", run.stderr);
        assert_eq!(store_bytes(&env), before, "reimport {n} wrote to the store");
        let json = env.run(&["reimport", n, "--format", "json"]).expect_code(1);
        assert!(
            json.stderr.contains(says),
            "reimport {n} --format json: {}",
            json.stderr
        );
    }
    env.run(&["reject", "3"]).expect_code(0);
    let before = store_bytes(&env);
    let rejected = env.run(&["reimport", "3"]).expect_code(1);
    assert!(
        rejected.stderr.contains("snapshot 3 was rejected") && rejected.stderr.contains("export-snapshot 3"),
        "{}",
        rejected.stderr
    );
    assert_eq!(store_bytes(&env), before);
    // Snapshot 2's file is still kept, and reads again with no change.
    let kept = env.json(&["reimport", "2"]);
    assert_eq!(outcome(&kept), ("already_imported", 2, None));
}

#[test]
fn the_v0_1_0_store_reruns_its_last_file_as_a_no_op_and_reimports_it_on_request() {
    let fixture = crate::common::repo().join("tests/data/stores/v0.1.0");
    let config = std::fs::read_to_string(fixture.join("ampsync.toml")).expect("fixture config");
    let mut env = TestEnv::with_config(&config);
    for name in ["ampsync.redb", "day3.csv"] {
        std::fs::copy(fixture.join(name), env.path().join(name)).expect("copy the fixture");
    }
    // The first command after the upgrade moves the store to this
    // release's schema (a backup beside it); then the nightly rerun of its
    // last file changes nothing.
    env.json(&["snapshots"]);
    let before = store_bytes(&env);
    let rerun = env.import_at("2026-11-05T06:30:00Z", &env.path().join("day3.csv"));
    assert_eq!(outcome(&rerun), ("already_imported", 4, None));
    assert_eq!(rerun["fingerprint"], Value::Null, "read before fingerprints");
    assert_eq!(store_bytes(&env), before);
    let snapshots = env.json(&["snapshots"]);
    assert!(
        snapshots
            .as_array()
            .expect("snapshots")
            .iter()
            .all(|s| s["fingerprint"].is_null() && s["reimport_of"].is_null()),
        "{snapshots}"
    );

    // Asked for, its kept file is read again: with the config that read
    // it, nothing changes.
    env.now = "2026-11-05T07:00:00Z".into();
    let reread = env.json(&["reimport", "4"]);
    assert_eq!(outcome(&reread), ("imported", 5, Some(4)));
    assert_eq!(
        [
            &reread["created"],
            &reread["updated"],
            &reread["deactivated"],
            &reread["reactivated"]
        ],
        [&json!(0), &json!(0), &json!(0), &json!(0)]
    );
    assert_eq!(reread["source"], json!("day3.csv"));
    let again = env.json(&["reimport", "4"]);
    assert_eq!(outcome(&again), ("already_imported", 5, Some(4)));
    assert_eq!(env.json(&["verify"])["ok"], json!(true));
}
