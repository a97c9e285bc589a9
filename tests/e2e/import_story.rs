//! The example days end to end: day1 → day2 → day2 again → a reordered
//! day2 → day3, checked through `snapshots`, `events`, `history` and `show`.

use crate::common::{TestEnv, example};
use serde_json::{Value, json};

/// One field change: `(field, old, new)`.
type Change = (String, Value, Value);

/// `(key, kind, changes)` of each event, for whole-list checks.
fn summary(events: &Value) -> Vec<(String, String, Vec<Change>)> {
    events
        .as_array()
        .expect("an array of events")
        .iter()
        .map(|e| {
            let changes = e["changes"]
                .as_array()
                .expect("changes")
                .iter()
                .map(|c| {
                    (
                        c["field"].as_str().expect("field").to_owned(),
                        c["old"].clone(),
                        c["new"].clone(),
                    )
                })
                .collect();
            (
                e["key"].as_str().expect("key").to_owned(),
                e["kind"].as_str().expect("kind").to_owned(),
                changes,
            )
        })
        .collect()
}

fn change(field: &str, old: &str, new: &str) -> Change {
    (field.to_owned(), json!(old), json!(new))
}

/// day2 with its rows in reverse order: different bytes, same people.
fn reversed_copy(env: &TestEnv) -> std::path::PathBuf {
    let text = std::fs::read_to_string(example("day2.csv")).expect("read day2");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1..].reverse();
    env.write("day2-reordered.csv", lines.join("\n") + "\n")
}

#[test]
fn three_example_days_make_exactly_the_expected_events() {
    let mut env = TestEnv::new();

    let day1 = env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    assert_eq!(
        (
            &day1["outcome"],
            &day1["snapshot"],
            &day1["rows"],
            &day1["created"],
            &day1["updated"],
            &day1["deactivated"]
        ),
        (
            &json!("imported"),
            &json!(1),
            &json!(50),
            &json!(50),
            &json!(0),
            &json!(0)
        )
    );

    let day2 = env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
    assert_eq!(
        [
            &day2["created"],
            &day2["updated"],
            &day2["deactivated"],
            &day2["reactivated"],
            &day2["skipped"]
        ],
        [&json!(2), &json!(3), &json!(2), &json!(0), &json!(0)]
    );
    let day2_events = env.json(&["events", "--snapshot", "2"]);
    assert_eq!(
        summary(&day2_events),
        vec![
            (
                "E1014".into(),
                "updated".into(),
                vec![
                    change("jobTitle", "Software Engineer", "Engineering Team Lead"),
                    change("role", "viewer", "reporter")
                ]
            ),
            ("E1020".into(), "deactivated".into(), vec![]),
            (
                "E1026".into(),
                "updated".into(),
                vec![
                    change(
                        "email",
                        "agnieszka.nowak@northwind.example",
                        "agnieszka.kowalska@northwind.example"
                    ),
                    change("lastName", "Nowak", "Kowalska"),
                ]
            ),
            (
                "E1027".into(),
                "updated".into(),
                vec![change("primaryTeam", "Finance", "Sales")]
            ),
            ("E1039".into(), "deactivated".into(), vec![]),
            (
                "E1051".into(),
                "created".into(),
                [
                    ("email", "olivia.grant@northwind.example"),
                    ("firstName", "Olivia"),
                    ("hireDate", "2025-03-04"),
                    ("integrationExternalId", "E1051"),
                    ("jobTitle", "Junior Software Engineer"),
                    ("language", "en"),
                    ("lastName", "Grant"),
                    ("location", "London"),
                    ("managerEmail", "lukasz.kowalski@northwind.example"),
                    ("primaryTeam", "Engineering"),
                    ("role", "viewer"),
                ]
                .iter()
                .map(|(f, v)| (f.to_string(), Value::Null, json!(v)))
                .collect()
            ),
            (
                "E1052".into(),
                "created".into(),
                [
                    ("email", "theo.girard@northwind.example"),
                    ("firstName", "Théo"),
                    ("hireDate", "2025-03-04"),
                    ("integrationExternalId", "E1052"),
                    ("jobTitle", "Account Executive"),
                    ("language", "fr"),
                    ("lastName", "Girard"),
                    ("location", "Paris"),
                    ("managerEmail", "jose.nunez@northwind.example"),
                    ("primaryTeam", "Sales"),
                    ("role", "viewer"),
                ]
                .iter()
                .map(|(f, v)| (f.to_string(), Value::Null, json!(v)))
                .collect()
            ),
        ]
    );
    let event = &day2_events[0];
    let day2_hash = blake3::hash(&std::fs::read(example("day2.csv")).expect("read day2"))
        .to_hex()
        .to_string();
    assert_eq!(event["cause"], json!({"type": "import", "snapshot": 2}));
    assert_eq!(event["source"], json!(example("day2.csv").display().to_string()));
    assert_eq!(event["file_hash"], json!(day2_hash));
    assert_eq!(event["time"], json!("2026-11-25T06:30:00Z"));
    assert_eq!(event["delivery"], json!({"status": "pending"}));

    // The same file again: a no-op that names the snapshot.
    let again = env.import_at("2026-11-25T07:00:00Z", &example("day2.csv"));
    assert_eq!(again["outcome"], json!("already_imported"));
    assert_eq!(again["snapshot"], json!(2));
    let text = env
        .run(&["import", example("day2.csv").to_str().expect("path")])
        .expect_code(0);
    assert!(
        text.stdout.contains("already imported as snapshot 2"),
        "{}",
        text.stdout
    );

    // Different bytes, same people: a snapshot with zero events.
    let reordered = env.import_at("2026-11-25T08:00:00Z", &reversed_copy(&env));
    assert_eq!(reordered["snapshot"], json!(3));
    assert_eq!(
        [
            &reordered["created"],
            &reordered["updated"],
            &reordered["deactivated"],
            &reordered["reactivated"]
        ],
        [&json!(0), &json!(0), &json!(0), &json!(0)]
    );
    assert_eq!(env.json(&["events", "--snapshot", "3"]), json!([]));

    let day3 = env.import_at("2026-11-26T06:30:00Z", &example("day3.csv"));
    assert_eq!(day3["snapshot"], json!(4));
    assert_eq!(
        summary(&env.json(&["events", "--snapshot", "4"])),
        vec![
            ("E1020".into(), "reactivated".into(), vec![]),
            (
                "E1035".into(),
                "updated".into(),
                vec![change("jobTitle", "Support Specialist", "Senior Support Specialist")]
            ),
            ("E1042".into(), "deactivated".into(), vec![]),
        ]
    );

    // The rejoiner's whole story, found by email.
    let history = env.json(&["history", "oliver.bennett@northwind.example"]);
    assert_eq!(history["key"], json!("E1020"));
    let story: Vec<(&str, &str, &str)> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or(""),
                e["time"].as_str().unwrap_or(""),
                e["source"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let day = |n: &str| example(&format!("day{n}.csv")).display().to_string();
    assert_eq!(
        story,
        vec![
            ("created", "2026-11-24T06:30:00Z", day("1").as_str()),
            ("deactivated", "2026-11-25T06:30:00Z", day("2").as_str()),
            ("reactivated", "2026-11-26T06:30:00Z", day("3").as_str()),
        ]
    );

    // An old email finds the person whose email changed.
    assert_eq!(
        env.json(&["history", "agnieszka.nowak@northwind.example"])["key"],
        json!("E1026")
    );

    // show: now, and as of a snapshot before the change.
    let now = env.json(&["show", "E1014"]);
    assert_eq!(now["active"], json!(true));
    assert_eq!(now["record"]["jobTitle"], json!("Engineering Team Lead"));
    let before = env.json(&["show", "E1014", "--snapshot", "1"]);
    assert_eq!(before["record"]["jobTitle"], json!("Software Engineer"));
    let leaver = env.json(&["show", "E1020", "--as-of", "2026-11-25T12:00:00Z"]);
    assert_eq!(
        (&leaver["active"], &leaver["record"]["email"]),
        (&json!(false), &json!("oliver.bennett@northwind.example"))
    );

    // Team lists: an array of names, a comma in a name kept.
    let zoe = env.json(&["show", "E1002"]);
    assert_eq!(zoe["record"]["secondaryTeams"], json!(["Research, Development"]));
    assert_eq!(zoe["record"]["firstName"], json!("Zoë"));
    let ana = env.json(&["show", "E1009"]);
    assert_eq!(ana["record"]["primaryTeam"], json!("Research, Development"));

    // The log is one hash chain.
    let all = env.json(&["events"]);
    let all = all.as_array().expect("events");
    assert_eq!(all.len(), 50 + 7 + 3);
    assert_eq!(all[0]["prev_hash"], json!("0".repeat(64)));
    for pair in all.windows(2) {
        assert_eq!(
            pair[1]["prev_hash"], pair[0]["hash"],
            "chain broken at seq {}",
            pair[1]["seq"]
        );
        assert_eq!(pair[1]["seq"].as_u64(), pair[0]["seq"].as_u64().map(|s| s + 1));
    }

    let snapshots = env.json(&["snapshots"]);
    let statuses: Vec<(u64, u64, &str)> = snapshots
        .as_array()
        .expect("snapshots")
        .iter()
        .map(|s| {
            (
                s["id"].as_u64().unwrap_or(0),
                s["rows"].as_u64().unwrap_or(0),
                s["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (1, 50, "applied"),
            (2, 50, "applied"),
            (3, 50, "applied"),
            (4, 50, "applied")
        ]
    );
}

#[test]
fn event_filters_select_by_kind_field_and_time() {
    let mut env = TestEnv::new();
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
    let keys = |v: Value| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|e| e["key"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        keys(env.json(&["events", "--kind", "deactivated"])),
        vec!["E1020", "E1039"]
    );
    // A creation sets every field, so it counts as changing the role too.
    assert_eq!(
        keys(env.json(&["events", "--field", "role", "--since", "2026-11-25"])),
        vec!["E1014", "E1051", "E1052"]
    );
    assert_eq!(
        keys(env.json(&["events", "--field", "role", "--kind", "updated"])),
        vec!["E1014"]
    );
    assert_eq!(
        env.json(&["events", "--until", "2026-11-25"]).as_array().map(Vec::len),
        Some(50)
    );

    let csv = env
        .run(&["events", "--snapshot", "2", "--kind", "updated", "--format", "csv"])
        .expect_code(0);
    assert_eq!(
        csv.stdout.lines().take(3).collect::<Vec<_>>(),
        vec![
            "seq,time,key,kind,cause,source,field,old,new,delivery",
            &format!(
                "51,2026-11-25T06:30:00Z,E1014,updated,import of snapshot 2,{},jobTitle,Software Engineer,Engineering Team Lead,pending",
                example("day2.csv").display()
            ),
            &format!(
                "51,2026-11-25T06:30:00Z,E1014,updated,import of snapshot 2,{},role,viewer,reporter,pending",
                example("day2.csv").display()
            ),
        ]
    );
}

#[test]
fn verify_passes_on_a_healthy_store_and_fails_on_a_tampered_one() {
    let mut env = TestEnv::new();
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
    assert_eq!(
        env.json(&["verify"]),
        json!({"ok": true, "events": 57, "chain_broken_at": null, "state_differences": [], "state_difference_count": 0, "erased_events": 0, "raw_files_checked": 2, "raw_files_damaged": [], "encrypted": false, "links_only_events": 0})
    );
    {
        let store = ampsync_engine::store::Store::open(&env.store_path()).expect("open the store");
        let mut bytes = store.event_bytes(51).expect("read").expect("event 51");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        store.overwrite_event_bytes(51, &bytes).expect("tamper");
    }
    let run = env.run(&["verify"]).expect_code(1);
    assert_eq!(
        run.stdout.lines().next(),
        Some("hash chain: BROKEN at event 51 (of 57): its bytes or its link changed")
    );
}

#[test]
fn deactivate_after_missing_waits_for_consecutive_absences() {
    let mut env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[policy]\ndeactivate_after_missing = 2\n");
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    // Day 2: E1020 and E1039 are missing for the first time: not yet.
    let day2 = env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
    assert_eq!(day2["deactivated"], json!(0));
    let e1039 = env.json(&["show", "E1039"]);
    assert_eq!(
        (
            &e1039["active"],
            &e1039["missing_from_imports"],
            &e1039["deactivated_after"]
        ),
        (&json!(true), &json!(1), &json!(2))
    );
    let table = env.run(&["show", "E1039"]).expect_code(0);
    assert!(
        table
            .stdout
            .contains("active, but missing from the last 1 import(s): deactivated after 2"),
        "{}",
        table.stdout
    );
    // Day 3: E1020 is back (no reactivation needed), E1039 misses a second
    // import and goes, E1042 misses its first.
    let day3 = env.import_at("2026-11-26T06:30:00Z", &example("day3.csv"));
    assert_eq!((&day3["deactivated"], &day3["reactivated"]), (&json!(1), &json!(0)));
    let deactivated: Vec<Value> = env
        .json(&["events", "--kind", "deactivated"])
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["key"].clone())
        .collect();
    assert_eq!(deactivated, vec![json!("E1039")]);
    assert_eq!(
        env.json(&["show", "E1020"]).get("missing_from_imports"),
        None,
        "back: the count is cleared"
    );
    assert_eq!(env.json(&["show", "E1042"])["missing_from_imports"], json!(1));
}

#[test]
fn export_snapshot_writes_the_exact_bytes_back_until_they_are_pruned() {
    let mut env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\nkeep_raw_days = 2\n");
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
    for (id, day) in [("1", "day1.csv"), ("2", "day2.csv")] {
        let out = env.path().join(format!("out{id}.csv"));
        env.run(&["export-snapshot", id, out.to_str().expect("path")])
            .expect_code(0);
        assert_eq!(
            std::fs::read(&out).expect("exported"),
            std::fs::read(example(day)).expect("original"),
            "snapshot {id}"
        );
    }
    let verify = env.json(&["verify"]);
    assert_eq!(
        (
            &verify["ok"],
            &verify["raw_files_checked"],
            &verify["raw_files_damaged"]
        ),
        (&json!(true), &json!(2), &json!([]))
    );

    // Three days later the first two files are past keep_raw_days: gone; their events stay.
    env.import_at("2026-11-27T07:00:00Z", &example("day3.csv"));
    let run = env
        .run(&[
            "export-snapshot",
            "1",
            env.path().join("again.csv").to_str().expect("path"),
        ])
        .expect_code(1);
    assert!(
        run.stderr
            .contains("the file of snapshot 1 is no longer kept (store.keep_raw_days)"),
        "{}",
        run.stderr
    );
    env.run(&[
        "export-snapshot",
        "3",
        env.path().join("out3.csv").to_str().expect("path"),
    ])
    .expect_code(0);
    assert_eq!(
        std::fs::read(env.path().join("out3.csv")).expect("exported"),
        std::fs::read(example("day3.csv")).expect("day3")
    );
    assert_eq!(
        env.json(&["events", "--snapshot", "1"]).as_array().map(Vec::len),
        Some(50)
    );
    assert_eq!(env.json(&["verify"])["raw_files_checked"], json!(1));
}
