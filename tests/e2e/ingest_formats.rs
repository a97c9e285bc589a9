//! The file formats ampsync reads: Learn Amp's own two, a customer export
//! through `[mapping]`, Windows-1252, and the `skip_row` policy.


use crate::common::TestEnv;
use serde_json::json;

fn events(env: &TestEnv, snapshot: &str) -> Vec<(String, String)> {
    env.json(&["events", "--snapshot", snapshot])
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap_or("").to_owned(),
                e["kind"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn learn_amp_sync_format_is_read_as_it_is() {
    // A three-person company: one leaver is a third of it.
    let mut env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[policy]\nmax_deactivate_percent = 100\n");
    let day1 = env.write(
        "sync_users.csv",
        "\u{feff}first_name,last_name,email,job_title,manager,coach,primary_team,secondary_team,role,language,location,time_zone,hire_date,deactivate\n\
         Ann,Lee,Ann.Lee@Acme.example,CEO,,,,\"Board,Leadership\\, EMEA\",admin,en-us,London,Europe/London,2020-01-06,\n\
         Bo,Chan,bo.chan@acme.example,Engineer,ann.lee@acme.example,ann.lee@acme.example,Engineering,,learner,,Leeds,,,0\n\
         Cy,Diaz,cy.diaz@acme.example,Analyst,ann.lee@acme.example,,Finance,,viewer,fr,,,,no\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &day1);
    // No employee ID column: email is the key.
    let ann = env.json(&["show", "ann.lee@acme.example"]);
    assert_eq!(
        ann,
        json!({"key": "ann.lee@acme.example", "active": true, "record": {
            "email": "ann.lee@acme.example", "firstName": "Ann", "lastName": "Lee", "jobTitle": "CEO",
            "primaryTeam": "Board", "secondaryTeams": ["Leadership, EMEA"], "role": "admin", "language": "en-US",
            "location": "London", "timeZone": "Europe/London", "hireDate": "2020-01-06",
        }})
    );
    let bo = env.json(&["show", "bo.chan@acme.example"]);
    assert_eq!(bo["record"]["role"], json!("viewer"), "learner is viewer");
    assert_eq!(bo["record"]["managerEmail"], json!("ann.lee@acme.example"));
    assert_eq!(bo["record"]["coachEmail"], json!("ann.lee@acme.example"));

    // Next day: Cy is flagged to deactivate, Bo's row has cosmetic noise only.
    let day2 = env.write(
        "sync_users2.csv",
        "first_name,last_name,email,job_title,manager,coach,primary_team,secondary_team,role,language,location,time_zone,hire_date,deactivate\n\
         Ann,Lee,ann.lee@acme.example,CEO,,,,\"Board,Leadership\\, EMEA\",admin,en-US,London,Europe/London,2020-01-06,\n\
         Bo,Chan,BO.CHAN@acme.example,\"  Engineer \",Ann.Lee@acme.example,ann.lee@acme.example,Engineering,,Learner,,Leeds,,,false\n\
         Cy,Diaz,cy.diaz@acme.example,Analyst,ann.lee@acme.example,,Finance,,viewer,fr,,,,YES\n",
    );
    env.import_at("2026-11-25T06:30:00Z", &day2);
    assert_eq!(
        events(&env, "2"),
        vec![("cy.diaz@acme.example".into(), "deactivated".into())]
    );
}

#[test]
fn the_bulk_invite_template_and_a_full_name_column_are_read() {
    let mut env = TestEnv::new();
    let file = env.write(
        "invite.csv",
        "First name,Last name,Email,Job title,Primary team,Secondary teams,Role,Language,Location,Timezone\n\
         Zoë,Müller,zoe@acme.example,CTO,Engineering,\"Research\\, Development\",Reporter,de,Berlin,Europe/Berlin\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &file);
    let zoe = env.json(&["show", "zoe@acme.example"]);
    assert_eq!(zoe["record"]["secondaryTeams"], json!(["Research, Development"]));
    assert_eq!(zoe["record"]["role"], json!("reporter"));

    let mut env = TestEnv::new();
    let file = env.write(
        "names.csv",
        "Employee ID,Name,Email\nE1,Ana María Gómez,ana@acme.example\nE2,\"Ó Briain, Siobhán\",siobhan@acme.example\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &file);
    let ana = env.json(&["show", "E1"]);
    assert_eq!(
        (&ana["record"]["firstName"], &ana["record"]["lastName"]),
        (&json!("Ana"), &json!("María Gómez"))
    );
    let siobhan = env.json(&["show", "E2"]);
    assert_eq!(
        (&siobhan["record"]["firstName"], &siobhan["record"]["lastName"]),
        (&json!("Siobhán"), &json!("Ó Briain"))
    );
}

#[test]
fn a_customer_export_is_read_through_the_mapping() {
    let mut env = TestEnv::with_config(
        r#"
[store]
path = "ampsync.redb"
[csv]
delimiter = ";"
key = "Staff No"
[mapping]
firstName = "Given"
lastName = "Family"
email = "Work Mail"
jobTitle = "Position"
role = "Access"
language = "Locale"
[mapping.custom_fields]
"Cost centre" = "Cost Centre"
[mapping.values.role]
"Manager" = "reporter"
"Staff" = "viewer"
[mapping.values.language]
"en-GB" = "en"
"#,
    );
    let file = env.write(
        "hr.csv",
        "Staff No;Given;Family;Work Mail;Position;Access;Locale;Cost Centre;Title\n\
         0042;Dee;Ng;dee.ng@acme.example;Head of Ops;MANAGER;en-GB;CC-7;Ms\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &file);
    assert_eq!(
        env.json(&["show", "0042"]),
        json!({"key": "0042", "active": true, "record": {
            "customFields.Cost centre": "CC-7", "email": "dee.ng@acme.example", "firstName": "Dee",
            "integrationExternalId": "0042", "jobTitle": "Head of Ops", "language": "en", "lastName": "Ng",
            "role": "reporter",
        }})
    );

    // A mapped column missing from a later file is named.
    let broken = env.write(
        "hr2.csv",
        "Staff No;Given;Family;Work Mail;Position;Access;Locale\n1;A;B;a@b.example;X;Staff;en-GB\n",
    );
    let run = env.run(&["import", broken.to_str().expect("path")]).expect_code(1);
    assert!(
        run.stderr
            .contains("hr2.csv, line 1: no \"Cost Centre\" column (mapping.custom_fields.\"Cost centre\")"),
        "{}",
        run.stderr
    );
}

#[test]
fn windows_1252_exports_are_transcoded_when_configured() {
    let mut env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[csv]\nencoding = \"windows-1252\"\n");
    let mut bytes = b"Employee ID,First name,Last name,Email\nE1,Ren\xe9e,B\xe9langer,renee@acme.example\n".to_vec();
    bytes.extend_from_slice(b"E2,J\xfcrgen,Stra\xdfe \x80,j@acme.example\n");
    let file = env.write("excel.csv", bytes);
    env.import_at("2026-11-24T06:30:00Z", &file);
    let renee = env.json(&["show", "E1"]);
    assert_eq!(
        (&renee["record"]["firstName"], &renee["record"]["lastName"]),
        (&json!("Renée"), &json!("Bélanger"))
    );
    assert_eq!(env.json(&["show", "E2"])["record"]["lastName"], json!("Straße €"));
}

#[test]
fn skip_row_imports_the_rest_and_never_deactivates_a_skipped_person() {
    let mut env = TestEnv::with_config(
        "[store]\npath = \"ampsync.redb\"\n[policy]\non_invalid_row = \"skip_row\"\nmax_deactivate_percent = 100\nmax_change_percent = 100\n",
    );
    let day1 = env.write(
        "d1.csv",
        "Employee ID,First name,Last name,Email,Role\nE1,A,One,a@acme.example,viewer\nE2,B,Two,b@acme.example,viewer\nE3,C,Three,c@acme.example,viewer\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &day1);
    let day2 = env.write(
        "d2.csv",
        "Employee ID,First name,Last name,Email,Role\nE1,A,One,a@acme.example,boss\nE3,C,Three,c@acme.example,admin\nE4,D,Four,not-an-email,viewer\n",
    );
    let report = env.import_at("2026-11-25T06:30:00Z", &day2);
    assert_eq!(
        (
            &report["updated"],
            &report["deactivated"],
            &report["created"],
            &report["skipped"]
        ),
        (&json!(1), &json!(1), &json!(0), &json!(2))
    );
    assert_eq!(
        report["skipped_rows"],
        json!([
            {"line": 2, "column": "Role", "message": "unknown role \"boss\"; Learn Amp's roles are: viewer, curator, reporter, learning_designer, hr, admin, and learner; to translate the file's values, add them under [mapping.values.role] (column \"Role\" was recognised by its name, not named in the config; to not read it: mapping.role = false, or mapping.auto = false)"},
            {"line": 4, "column": "Email", "message": "\"not-an-email\" is not an email address"},
        ])
    );
    // E1's row was skipped: E1 stays active. E2 is gone: deactivated.
    assert_eq!(
        events(&env, "2"),
        vec![("E2".into(), "deactivated".into()), ("E3".into(), "updated".into())]
    );
    assert_eq!(env.json(&["show", "E1"])["active"], json!(true));
}

/// Regression (issue 11, break 1): a pipe was read twice (to hash, then to
/// parse), so `import -` and `import /dev/stdin` said "the file is empty".
#[test]
fn import_reads_standard_input_and_a_pipe_once() {
    use std::io::Write;
    use std::process::Stdio;

    let env = TestEnv::new();
    let text = "Employee ID,First name,Last name,Email\nE1,Ann,Lee,ann@acme.example\n";
    let piped = |args: &[&str]| {
        let mut child = env
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write to stdin");
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")
    };
    let hash = blake3::hash(text.as_bytes()).to_hex().to_string();
    let first = piped(&["import", "-", "--format", "json"]);
    assert_eq!(
        (&first["outcome"], &first["created"], &first["file_hash"]),
        (&json!("imported"), &json!(1), &json!(hash))
    );
    assert_eq!(env.json(&["snapshots"])[0]["source"], json!("stdin"));
    let again = piped(&["import", "/dev/stdin", "--format", "json"]);
    assert_eq!(
        (&again["outcome"], &again["snapshot"]),
        (&json!("already_imported"), &json!(1))
    );
}

/// Regression (issue 11, break 11): with `csv.encoding = "windows-1252"`, a
/// file that starts with a UTF-8 byte-order mark had its names garbled
/// (Zoë → ZoÃ«). The mark means UTF-8. A file that reads as UTF-8 without
/// one gets a warning.
#[test]
fn a_utf8_byte_order_mark_wins_over_a_legacy_encoding() {
    let mut env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[csv]\nencoding = \"windows-1252\"\n");
    let file = env.write(
        "bom.csv",
        "\u{feff}Employee ID,First name,Last name,Email\nE1,Zoë,Brontë,zoe@acme.example\n",
    );
    let report = env.import_at("2026-11-24T06:30:00Z", &file);
    assert_eq!(report["warnings"], json!([]));
    let zoe = env.json(&["show", "E1"]);
    assert_eq!(
        (&zoe["record"]["firstName"], &zoe["record"]["lastName"]),
        (&json!("Zoë"), &json!("Brontë"))
    );

    let mut env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[csv]\nencoding = \"windows-1252\"\n");
    let no_bom = env.write(
        "utf8.csv",
        "Employee ID,First name,Last name,Email\nE1,Zoë,Brontë,zoe@acme.example\nE2,Ann,Lee,ann@acme.example\n",
    );
    let report = env.import_at("2026-11-25T06:30:00Z", &no_bom);
    assert_eq!(
        report["warnings"],
        json!([
            "utf8.csv: 1 row(s) have non-ASCII text that is valid UTF-8, and none is windows-1252 only, but csv.encoding = \"windows-1252\": if names look garbled (Zoë read as ZoÃ«), the file is UTF-8: set csv.encoding = \"utf-8\""
        ])
    );
}

/// Regression (issue 11, break 13): a byte-order mark, a zero-width space
/// or fullwidth digits in an employee ID made a second person, and a
/// composed and a decomposed `ü` two people; a NUL byte was accepted in a
/// job title.
#[test]
fn keys_and_names_are_normalised_so_the_same_person_stays_one() {
    let mut env = TestEnv::new();
    let day1 = env.write(
        "d1.csv",
        "Employee ID,First name,Last name,Email,Job title\n\
         E1010,Jürgen,Müller,jm@acme.example,Dev\n\
         E1011,Ann,Lee,ann@acme.example,Ops\n\
         E1012,Bo,Chan,bo@acme.example,QA\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &day1);
    let day2 = env.write(
        "d2.csv",
        "Employee ID,First name,Last name,Email,Job title\n\
         \u{feff}E1010,Ju\u{308}rgen,Mu\u{308}ller,jm@acme.example,Dev\n\
         E10\u{200b}11,Ann,Lee,ann\u{200b}@acme.example,Ops\n\
         Ｅ１０１２,Bo,Chan,bo@acme.example,QA\n",
    );
    let report = env.import_at("2026-11-25T06:30:00Z", &day2);
    assert_eq!(
        (
            &report["outcome"],
            &report["created"],
            &report["updated"],
            &report["deactivated"]
        ),
        (&json!("imported"), &json!(0), &json!(0), &json!(0))
    );
    assert_eq!(env.json(&["show", "E1010"])["record"]["firstName"], json!("Jürgen"));

    let nul = env.write(
        "d3.csv",
        "Employee ID,First name,Last name,Email,Job title\nE1010,Jürgen,Müller,jm@acme.example,De\0v\n",
    );
    let run = env.run(&["import", nul.to_str().expect("path")]).expect_code(1);
    assert!(
        run.stderr
            .contains("line 2, column \"Job title\": contains the control character U+0000 (character 3 of the value)"),
        "{}",
        run.stderr
    );
}
