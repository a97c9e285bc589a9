//! Issue 12's story: an HR export not in Learn Amp's format, imported with
//! a `[mapping]` alone, over three days with the clock moved and rows left
//! byte for byte as they were.
//!
//! The export (a BambooHR-style "Employee #" report): a preferred name that
//! falls back to the legal first name, managers by employee number listed
//! after their reports, dates as DD/MM/YYYY, a termination date in the past
//! (never created) and one in the future (leaves on that day, with the same
//! bytes), and a guest row that is not a person to sync.


use crate::common::TestEnv;
use serde_json::{Value, json};

const CONFIG: &str = r#"[store]
path = "ampsync.redb"

[csv]
key = "Employee #"
date_formats = ["%d/%m/%Y"]

[mapping]
firstName = ["Preferred name", "Legal first name"]
lastName = "Last name"
email = "Work email"
jobTitle = "Job title"
department = "Department"
hireDate = "Hire date"
managerKey = "Reports to ID"
leaveDate = "Termination date"

[[skip]]
column = "Employment type"
equals = ["Guest"]

[policy]
max_deactivate_percent = 50
max_change_percent = 100
"#;

const HEADER: &str = "Employee #,Legal first name,Preferred name,Last name,Work email,Job title,Department,Reports to ID,Hire date,Termination date,Employment type\n";
const ALEX: &str = "1001,Alexandra,Alex,Morgan,alex.morgan@acme.example,Chief Executive,Board,,01/03/2019,,Full time\n";
// Reports to 1005, who is listed after her.
const PRIYA: &str = "1002,Priya,,Shah,priya.shah@acme.example,Engineer,Engineering,1005,14/02/2021,,Full time\n";
// Left before the first import: never created.
const TOM: &str = "1003,Thomas,Tom,Baker,tom.baker@acme.example,Analyst,Finance,1001,05/06/2018,20/11/2026,Full time\n";
// Leaves on 25/11/2026: active on the 24th, a leaver on the 25th.
const ZOE: &str = "1004,Zoë,,Müller,zoe.muller@acme.example,Designer,Product,1001,30/09/2022,25/11/2026,Part time\n";
const SAM: &str =
    "1005,Samuel,Sam,Okafor,sam.okafor@acme.example,Engineering Manager,Engineering,1001,11/11/2020,,Full time\n";
const SAM_NEW_EMAIL: &str =
    "1005,Samuel,Sam,Okafor,sam.okafor@acme-group.example,Engineering Manager,Engineering,1001,11/11/2020,,Full time\n";
const GUEST: &str = "G-17,Meeting,,Room 4,room4@acme.example,,,,,,Guest\n";

fn counts(summary: &Value) -> Value {
    json!({
        "created": summary["created"],
        "updated": summary["updated"],
        "deactivated": summary["deactivated"],
        "skipped": summary["skipped"],
        "skipped_by_rule": summary["skipped_by_rule"],
        "leavers_by_date": summary["leavers_by_date"],
    })
}

fn record(env: &TestEnv, key: &str) -> Value {
    env.json(&["show", key])
}

#[test]
fn a_non_learn_amp_export_imports_with_a_mapping_alone_over_three_days() {
    let mut env = TestEnv::with_config(CONFIG);

    // Day 1, 24 November: the guest is skipped, Tom has left already.
    let day1 = env.write("day1.csv", format!("{HEADER}{ALEX}{PRIYA}{TOM}{ZOE}{GUEST}{SAM}"));
    let first = env.import_at("2026-11-24T06:30:00Z", &day1);
    assert_eq!(
        counts(&first),
        json!({"created": 4, "updated": 0, "deactivated": 0, "skipped": 0, "skipped_by_rule": 1, "leavers_by_date": 1}),
        "{first}"
    );
    let alex = record(&env, "1001");
    assert_eq!(alex["record"]["firstName"], json!("Alex"), "the preferred name");
    assert_eq!(
        alex["record"]["hireDate"],
        json!("2019-03-01"),
        "DD/MM/YYYY stored as ISO"
    );
    let priya = record(&env, "1002");
    assert_eq!(
        priya["record"]["firstName"],
        json!("Priya"),
        "no preferred name: the legal one"
    );
    assert_eq!(
        priya["record"]["managerEmail"],
        json!("sam.okafor@acme.example"),
        "a manager by ID listed after the report"
    );
    assert_eq!(record(&env, "1004")["active"], json!(true), "leaves tomorrow");
    assert_ne!(env.run(&["show", "1003"]).code, 0, "a past leaver is never created");
    assert_ne!(env.run(&["show", "G-17"]).code, 0, "a guest is not a person to sync");

    // Day 2, 25 November: Zoë's row is byte for byte the same, but her day
    // has come. Sam's email changed; Priya's row is the same bytes, but her
    // manager's email must follow.
    let day2 = env.write(
        "day2.csv",
        format!("{HEADER}{ALEX}{PRIYA}{TOM}{ZOE}{GUEST}{SAM_NEW_EMAIL}"),
    );
    let second = env.import_at("2026-11-25T06:30:00Z", &day2);
    assert_eq!(
        counts(&second),
        json!({"created": 0, "updated": 2, "deactivated": 1, "skipped": 0, "skipped_by_rule": 1, "leavers_by_date": 2}),
        "{second}"
    );
    assert_eq!(
        record(&env, "1004")["active"],
        json!(false),
        "left on her termination date"
    );
    assert_eq!(
        record(&env, "1002")["record"]["managerEmail"],
        json!("sam.okafor@acme-group.example")
    );

    // The same file again the next day changes nothing.
    let day2_again = env.write(
        "day2b.csv",
        format!("{HEADER}{ALEX}{PRIYA}{TOM}{ZOE}{GUEST}{SAM_NEW_EMAIL}\n"),
    );
    let again = env.import_at("2026-11-26T06:30:00Z", &day2_again);
    assert_eq!(
        counts(&again),
        json!({"created": 0, "updated": 0, "deactivated": 0, "skipped": 0, "skipped_by_rule": 1, "leavers_by_date": 2}),
        "{again}"
    );

    // Day 4: Sam leaves the file; Priya's unchanged row loses her manager,
    // with a warning naming her line.
    let day4 = env.write("day4.csv", format!("{HEADER}{ALEX}{PRIYA}{TOM}{ZOE}{GUEST}"));
    let fourth = env.import_at("2026-11-27T06:30:00Z", &day4);
    assert_eq!(
        counts(&fourth),
        json!({"created": 0, "updated": 1, "deactivated": 1, "skipped": 0, "skipped_by_rule": 1, "leavers_by_date": 2}),
        "{fourth}"
    );
    assert_eq!(record(&env, "1002")["record"]["managerEmail"], Value::Null);
    let warnings = fourth["warnings"].to_string();
    assert!(
        warnings.contains("line 3: manager \\\"1005\\\" (managerKey) is no one's key in this file"),
        "{warnings}"
    );
}

#[test]
fn a_future_hire_waits_for_their_start_day_with_the_same_bytes() {
    let config = "[store]\npath = \"ampsync.redb\"\n[csv]\ndate_formats = [\"%d/%m/%Y\"]\n\
                  [mapping]\nstartDate = \"Start date\"\nhireDate = \"Start date\"\n[policy]\nfuture_hires = \"wait\"\n";
    let mut env = TestEnv::with_config(config);
    let header = "Employee ID,First name,Last name,Email,Start date\n";
    let rows = "1,Ann,Lee,ann@x.io,01/01/2020\n2,Bo,Ng,bo@x.io,25/11/2026\n";
    let day1 = env.write("day1.csv", format!("{header}{rows}"));
    let first = env.import_at("2026-11-24T06:30:00Z", &day1);
    assert_eq!(
        (&first["created"], &first["future_hires"]),
        (&json!(1), &json!(1)),
        "{first}"
    );
    assert_ne!(env.run(&["show", "2"]).code, 0, "not created before their start day");

    // The same rows (a new file only by a blank line) on the start day.
    let day2 = env.write("day2.csv", format!("{header}{rows}\n"));
    let second = env.import_at("2026-11-25T06:30:00Z", &day2);
    assert_eq!(
        (&second["created"], &second["future_hires"]),
        (&json!(1), &json!(0)),
        "{second}"
    );
    assert_eq!(record(&env, "2")["record"]["hireDate"], json!("2026-11-25"));
}

#[test]
fn a_manager_by_name_resolves_ignoring_case_and_accent_composition_and_warns_when_ambiguous() {
    let config = "[store]\npath = \"ampsync.redb\"\n[mapping]\nmanagerName = \"Reports to\"\n";
    let mut env = TestEnv::with_config(config);
    // "Zoë" in the cell is decomposed (e + U+0308); the row has it composed.
    let file = String::from(
        "Employee ID,First name,Last name,Email,Reports to\n\
         1,Ann,Lee,ann@x.io,ZOE\u{308} MULLER\n\
         2,Zo\u{eb},Muller,zoe@x.io,\n\
         3,Bo,Ng,bo@x.io,Sam Smith\n\
         4,Sam,Smith,sam1@x.io,\n\
         5,Sam,Smith,sam2@x.io,\n\
         6,Cy,Oh,cy@x.io,Nobody Here\n",
    );
    let day1 = env.write("day1.csv", file);
    let first = env.import_at("2026-11-24T06:30:00Z", &day1);
    assert_eq!(first["created"], json!(6), "{first}");
    assert_eq!(record(&env, "1")["record"]["managerEmail"], json!("zoe@x.io"));
    assert_eq!(record(&env, "3")["record"]["managerEmail"], Value::Null);
    let warnings = first["warnings"].to_string();
    assert!(
        warnings.contains("line 4: manager \\\"Sam Smith\\\" (managerName) names several people in this file"),
        "{warnings}"
    );
    assert!(
        warnings.contains("line 7: manager \\\"Nobody Here\\\" (managerName) names no one in this file"),
        "{warnings}"
    );
}

#[test]
fn a_known_person_whose_row_becomes_skipped_is_missing_with_the_grace_period() {
    let config = "[store]\npath = \"ampsync.redb\"\n[[skip]]\ncolumn = \"Type\"\nequals = [\"Guest\"]\n\
                  [policy]\ndeactivate_after_missing = 2\nmax_deactivate_percent = 50\n";
    let mut env = TestEnv::with_config(config);
    let header = "Employee ID,First name,Last name,Email,Type\n";
    let rest = "1,Ann,Lee,ann@x.io,Member\n2,Cy,Oh,cy@x.io,Member\n3,Di,Po,di@x.io,Member\n";
    let day1 = env.write("day1.csv", format!("{header}{rest}4,Bo,Ng,bo@x.io,Member\n"));
    assert_eq!(env.import_at("2026-11-24T06:30:00Z", &day1)["created"], json!(4));
    let guest = format!("{header}{rest}4,Bo,Ng,bo@x.io,Guest\n");
    let day2 = env.write("day2.csv", &guest);
    let second = env.import_at("2026-11-25T06:30:00Z", &day2);
    assert_eq!(
        (&second["deactivated"], &second["skipped_by_rule"]),
        (&json!(0), &json!(1)),
        "{second}"
    );
    assert_eq!(
        record(&env, "4")["active"],
        json!(true),
        "missing once: the grace period"
    );
    let day3 = env.write("day3.csv", format!("{guest}\n"));
    let third = env.import_at("2026-11-26T06:30:00Z", &day3);
    assert_eq!(third["deactivated"], json!(1), "{third}");
    assert_eq!(record(&env, "4")["active"], json!(false));
}
