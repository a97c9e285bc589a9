//! The proposals for the sample exports of real systems
//! (`tests/data/exports/`), checked choice by choice, and the TOML they
//! make checked as TOML.

use chrono::NaiveDate;

use crate::init_from::{Proposal, Source, propose};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default()
}

fn sample(name: &str) -> Proposal {
    let path = format!("{}/../tests/data/exports/{name}.csv", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    propose(&bytes, today()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn cols(columns: &[&str]) -> Option<Source> {
    Some(Source::Columns(columns.iter().map(|c| (*c).to_owned()).collect()))
}

/// What each system's sample must give: (sample, system, delimiter,
/// encoding, skip_lines, date_formats, key, [(field, columns)]).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    usize,
    &'static [&'static str],
    &'static str,
    &'static [(&'static str, &'static [&'static str])],
);

const CASES: &[Case] = &[
    (
        "bamboohr",
        "BambooHR",
        ",",
        "utf-8",
        0,
        &["%m/%d/%Y"],
        "Employee #",
        &[
            ("firstName", &["Preferred Name", "First Name"]),
            ("email", &["Work Email"]),
            ("managerName", &["Reporting to"]),
            ("leaveDate", &["Termination Date"]),
            ("startDate", &["Hire Date"]),
            ("deactivate", &["Status"]),
        ],
    ),
    (
        "okta",
        "Okta",
        ",",
        "utf-8",
        0,
        &[],
        "employeeNumber",
        &[
            ("email", &["email"]),
            ("jobTitle", &["title"]),
            ("managerEmail", &["managerId"]),
            ("deactivate", &["status"]),
        ],
    ),
    (
        "entra",
        "Microsoft Entra ID (user download)",
        ",",
        "utf-8",
        0,
        &[],
        "objectId",
        &[
            ("email", &["mail"]),
            ("firstName", &["givenName"]),
            ("lastName", &["surname"]),
            ("deactivate", &["accountEnabled"]),
        ],
    ),
    (
        "entra_bulk",
        "Microsoft Entra ID (bulk create template)",
        ",",
        "utf-8",
        1,
        &[],
        "User name [userPrincipalName] Required",
        &[
            ("firstName", &["First name [givenName]"]),
            ("deactivate", &["Block sign in (Yes/No) [accountEnabled] Required"]),
        ],
    ),
    (
        "google",
        "Google Workspace",
        ",",
        "utf-8",
        0,
        &[],
        "Employee ID",
        &[
            ("email", &["Email Address [Required]"]),
            ("primaryTeam", &["Org Unit Path [Required]"]),
            ("managerEmail", &["Manager Email"]),
            ("deactivate", &["Status [READ ONLY]"]),
        ],
    ),
    (
        "hibob",
        "HiBob",
        ",",
        "utf-8",
        0,
        &["%d/%m/%Y"],
        "Employee ID",
        &[
            ("location", &["Site"]),
            ("managerName", &["Reports to"]),
            ("leaveDate", &["Termination date"]),
            ("deactivate", &["Lifecycle status"]),
        ],
    ),
    (
        "workday",
        "Workday",
        ",",
        "utf-8",
        0,
        &["%m/%d/%Y"],
        "Employee ID",
        &[
            ("firstName", &["Preferred First Name", "Legal First Name"]),
            ("primaryTeam", &["Supervisory Organization"]),
            ("managerKey", &["Manager Employee ID"]),
            ("deactivate", &["Worker Status"]),
        ],
    ),
    (
        "peoplehr",
        "PeopleHR",
        ",",
        "utf-8",
        0,
        &["%d/%m/%Y"],
        "Employee Id",
        &[
            ("jobTitle", &["Job Role"]),
            ("managerName", &["Reports To"]),
            ("leaveDate", &["Leaving Date"]),
        ],
    ),
    (
        "personio",
        "Personio",
        ";",
        "windows-1252",
        0,
        &[],
        "ID",
        &[
            ("jobTitle", &["Position"]),
            ("location", &["Office"]),
            ("deactivate", &["Status"]),
        ],
    ),
    (
        "learnamp_sync",
        "Learn Amp sFTP sync format",
        ",",
        "utf-8",
        0,
        &[],
        "email",
        &[],
    ),
];

#[test]
fn each_system_gets_its_mapping() {
    for &(name, system, delimiter, encoding, skip_lines, forms, key, mapping) in CASES {
        let p = sample(name);
        assert_eq!(p.system.as_deref(), Some(system), "{name}");
        assert_eq!(
            (p.delimiter.as_str(), p.encoding.as_str(), p.skip_lines),
            (delimiter, encoding, skip_lines),
            "{name}"
        );
        assert_eq!(p.date_formats, forms.to_vec(), "{name}");
        assert_eq!(p.key.as_deref(), Some(key), "{name}");
        for (field, columns) in mapping {
            assert_eq!(p.mapped(field).cloned(), cols(columns), "{name}: {field}");
        }
        // Whatever the system, the text is TOML with the same choices.
        let toml: toml::Table = toml::from_str(&p.to_toml()).unwrap_or_else(|e| panic!("{name}: {e}\n{}", p.to_toml()));
        assert_eq!(toml["csv"]["key"].as_str(), Some(key), "{name}");
        assert_eq!(toml["csv"]["encoding"].as_str(), Some(encoding), "{name}");
        for m in &p.mapping {
            let written = &toml["mapping"][&m.field];
            match &m.source {
                Source::Columns(c) if c.len() == 1 => assert_eq!(written.as_str(), Some(c[0].as_str()), "{name}"),
                Source::Columns(c) => {
                    let list: Vec<&str> = written
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                        .unwrap_or_default();
                    assert_eq!(list, *c, "{name}");
                }
                Source::Off(_) => assert_eq!(written.as_bool(), Some(false), "{name}"),
            }
        }
    }
}

#[test]
fn values_skips_and_replaces_come_from_the_data() {
    let entra = sample("entra");
    assert_eq!(
        entra.values["deactivate"],
        [("FALSE", "yes"), ("TRUE", "no")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .into()
    );
    let skip = &entra.skip[0];
    assert_eq!(
        (skip.column.as_str(), skip.equals.clone(), skip.rows),
        ("userType", Some(vec!["Guest".to_owned()]), 1)
    );
    let rooms = &entra.skip[1];
    assert_eq!(
        (rooms.column.as_str(), rooms.equals.clone(), rooms.rows),
        ("givenName", Some(vec![String::new()]), 1)
    );
    let toml: toml::Table = toml::from_str(&entra.to_toml()).unwrap_or_default();
    assert_eq!(toml["skip"][0]["equals"][0].as_str(), Some("Guest"));

    let google = sample("google");
    assert_eq!(google.replace["primaryTeam"].pattern, "^.*/");
    assert_eq!(google.skip[0].equals, Some(vec!["/Service Accounts".to_owned()]));
    let toml: toml::Table = toml::from_str(&google.to_toml()).unwrap_or_default();
    assert_eq!(
        toml["mapping"]["replace"]["primaryTeam"]["pattern"].as_str(),
        Some("^.*/")
    );

    let workday = sample("workday");
    assert_eq!(workday.replace["primaryTeam"].pattern, r"\s*\([^()]*\)$");
    assert_eq!(workday.future_hires.as_deref(), Some("create"));
    assert!(workday.questions.iter().any(|q| q.setting == "policy.future_hires"));

    // PeopleHR's Title is Mr/Ms: never the job title.
    let peoplehr = sample("peoplehr");
    assert!(!peoplehr.unread_columns.contains(&"Title".to_owned()));
    assert!(
        peoplehr
            .note("mapping.jobTitle")
            .is_some_and(|n| n.contains("salutations"))
    );

    let okta = sample("okta");
    assert_eq!(okta.values["deactivate"]["DEPROVISIONED"], "yes");
    assert_eq!(okta.values["deactivate"]["PROVISIONED"], "no");
    assert!(okta.skip.is_empty() && okta.replace.is_empty());
}

#[test]
fn what_the_sample_cannot_decide_is_asked() {
    let ambiguous = b"Employee ID,First name,Last name,Email,Start date,Role\n\
        1,Ann,Lee,ann@x.io,03/01/2012,Employee\n\
        2,Bob,Ray,bob@x.io,04/05/2019,Wizard\n";
    let p = propose(ambiguous, today()).unwrap_or_else(|e| panic!("{e}"));
    let asked: Vec<&str> = p.questions.iter().map(|q| q.setting.as_str()).collect();
    assert_eq!(
        asked,
        [
            "system",
            "csv.date_formats",
            "mapping.deactivate",
            "mapping.values.role"
        ]
    );
    assert_eq!(p.date_formats, ["%d/%m/%Y"]);
    assert_eq!(p.questions[1].candidates, ["%d/%m/%Y", "%m/%d/%Y"]);
    assert_eq!(p.values["role"]["Employee"], "viewer");
    assert_eq!(p.questions[3].candidates, ["Wizard"]);
    let text = p.to_toml();
    assert!(
        text.contains("# QUESTION: no date in the sample has a day above 12"),
        "{text}"
    );

    let no_email = b"Name,Team\nAnn Lee,Sales\nBob Ray,Ops\n";
    let p = propose(no_email, today()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        p.questions
            .iter()
            .any(|q| q.setting == "mapping.email" && q.candidates == ["Name", "Team"])
    );
    assert!(p.to_toml().contains("# QUESTION: no column holds email addresses"));
}

#[test]
fn only_accounts_that_are_not_people_are_skipped() {
    use super::is_not_people;
    for (value, team, want) in [
        ("Guest", false, true),
        ("Service account", false, true),
        ("Shared Mailbox", false, true),
        ("Room", false, true),
        ("Member", false, false),
        ("Employee", false, false),
        ("/Service Accounts", true, true),
        ("/Meeting Rooms", true, true),
        ("Human Resources", true, false),
        ("Customer Service", true, false),
        ("/Sales/Showroom", true, false),
    ] {
        assert_eq!(is_not_people(value, team), want, "{value:?}");
    }
}
