//! Rows recognised by their bytes: an import takes yesterday's exact rows
//! as unchanged without decoding them. These check that this shortcut never
//! changes an answer: people who left and came back with the same row, a
//! changed mapping, duplicates between known and new rows.


use crate::common::TestEnv;
use serde_json::{Value, json};

const HEADER: &str = "Employee ID,First name,Last name,Email,Role\n";
const ANN: &str = "E1,Ann,Lee,ann@x.io,Manager\n";
const BO: &str = "E2,Bo,Ng,bo@x.io,Staff\n";
const CY: &str = "E3,Cy,Oh,cy@x.io,Staff\n";

/// Twenty more people, so one leaver stays under the safeguards' limits.
fn others() -> String {
    (100..120).map(|i| format!("E{i},P{i},Q,p{i}@x.io,Staff\n")).collect()
}

fn config(manager_role: &str) -> String {
    format!(
        "[store]\npath = \"ampsync.redb\"\n[mapping.values.role]\n\"Manager\" = \"{manager_role}\"\n\"Staff\" = \"viewer\"\n"
    )
}

/// `(key, kind)` of each event of snapshot `n`.
fn events_of(env: &TestEnv, n: u64) -> Vec<(String, String)> {
    env.json(&["events", "--snapshot", &n.to_string()])
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["key"].as_str().expect("key").to_owned(),
                e["kind"].as_str().expect("kind").to_owned(),
            )
        })
        .collect()
}

fn counts(summary: &Value) -> [&Value; 4] {
    [
        &summary["created"],
        &summary["updated"],
        &summary["deactivated"],
        &summary["reactivated"],
    ]
}

#[test]
fn someone_back_with_the_exact_row_they_left_with_is_reactivated() {
    let mut env = TestEnv::with_config(&config("reporter"));
    let others = others();
    let day1 = env.write("day1.csv", format!("{HEADER}{ANN}{BO}{CY}{others}"));
    let day2 = env.write("day2.csv", format!("{HEADER}{others}{ANN}{BO}"));
    let day3 = env.write("day3.csv", format!("{HEADER}{CY}{BO}{others}{ANN}"));
    env.import_at("2026-11-24T06:30:00Z", &day1);
    let second = env.import_at("2026-11-25T06:30:00Z", &day2);
    assert_eq!(counts(&second), [&json!(0), &json!(0), &json!(1), &json!(0)]);
    let third = env.import_at("2026-11-26T06:30:00Z", &day3);
    assert_eq!(counts(&third), [&json!(0), &json!(0), &json!(0), &json!(1)]);
    assert_eq!(events_of(&env, 3), vec![("E3".to_owned(), "reactivated".to_owned())]);
    assert_eq!(env.json(&["show", "E3"])["active"], json!(true));
}

#[test]
fn a_changed_value_mapping_rereads_rows_whose_bytes_did_not_change() {
    let mut env = TestEnv::with_config(&config("reporter"));
    let day1 = env.write("day1.csv", format!("{HEADER}{ANN}{BO}"));
    env.import_at("2026-11-24T06:30:00Z", &day1);
    assert_eq!(env.json(&["show", "E1"])["record"]["role"], json!("reporter"));

    // Same rows (a new file only because of a blank line), new mapping.
    env.write("ampsync.toml", config("curator"));
    let day2 = env.write("day2.csv", format!("{HEADER}{ANN}{BO}\n"));
    let second = env.import_at("2026-11-25T06:30:00Z", &day2);
    assert_eq!(counts(&second), [&json!(0), &json!(1), &json!(0), &json!(0)]);
    let update = &env.json(&["events", "--snapshot", "2"])[0];
    assert_eq!(
        (&update["key"], &update["changes"]),
        (
            &json!("E1"),
            &json!([{"field": "role", "old": "reporter", "new": "curator"}])
        )
    );

    // And again with that mapping: nothing changes.
    let day3 = env.write("day3.csv", format!("{HEADER}{BO}{ANN}"));
    let third = env.import_at("2026-11-26T06:30:00Z", &day3);
    assert_eq!(counts(&third), [&json!(0), &json!(0), &json!(0), &json!(0)]);
}

#[test]
fn duplicates_between_unchanged_and_other_rows_are_still_found() {
    let cases = [
        // A new person with a known, unchanged person's email, after them...
        (
            format!("{HEADER}{ANN}E9,Di,Ho,ann@x.io,Staff\n{BO}"),
            "line 3, column \"Email\": duplicate email \"ann@x.io\" (also on line 2)",
        ),
        // ... and before them: the unchanged row is the duplicate.
        (
            format!("{HEADER}E9,Di,Ho,ANN@x.io,Staff\n{ANN}{BO}"),
            "line 3, column \"Email\": duplicate email \"ann@x.io\" (also on line 2)",
        ),
        // The same row twice.
        (
            format!("{HEADER}{ANN}{BO}{ANN}"),
            "line 4, column \"Employee ID\": duplicate key \"E1\" (also on line 2)",
        ),
        // A changed row for a known key after the unchanged one.
        (
            format!("{HEADER}{ANN}{BO}E1,Ann,Lee,ann.lee@x.io,Manager\n"),
            "line 4, column \"Employee ID\": duplicate key \"E1\" (also on line 2)",
        ),
    ];
    for (text, error) in cases {
        let mut env = TestEnv::with_config(&config("reporter"));
        let day1 = env.write("day1.csv", format!("{HEADER}{ANN}{BO}"));
        env.import_at("2026-11-24T06:30:00Z", &day1);
        let before = std::fs::read(env.store_path()).expect("store");
        let day2 = env.write("day2.csv", &text);
        let run = env.run(&["import", day2.to_str().expect("path")]).expect_code(1);
        assert!(
            run.stderr.contains(error),
            "{text}\nwanted: {error}\ngot: {}",
            run.stderr
        );
        assert_eq!(std::fs::read(env.store_path()).expect("store"), before, "{text}");
    }
}

#[test]
fn a_rolled_back_person_is_restored_by_their_unchanged_row() {
    let mut env = TestEnv::with_config(&config("reporter"));
    let day1 = env.write("day1.csv", format!("{HEADER}{ANN}{BO}"));
    let day2 = env.write("day2.csv", format!("{HEADER}{ANN}{BO}{CY}"));
    let day3 = env.write("day3.csv", format!("{HEADER}{CY}{ANN}{BO}"));
    env.import_at("2026-11-24T06:30:00Z", &day1);
    env.import_at("2026-11-25T06:30:00Z", &day2);
    env.run(&["rollback", "--to", "1", "--no-push"]).expect_code(0);
    assert_eq!(env.json(&["show", "E3"])["active"], json!(false));
    // Cy's row is byte for byte the one that created them: still, the
    // rollback changed them, so the row is read and they come back.
    let third = env.import_at("2026-11-26T06:30:00Z", &day3);
    assert_eq!(counts(&third), [&json!(0), &json!(0), &json!(0), &json!(1)]);
    assert_eq!(env.json(&["show", "E3"])["active"], json!(true));
}
