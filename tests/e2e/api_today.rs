//! Learn Amp as documented today, end to end: the real binary against the
//! sandbox over HTTP, with credentials provisioned with scopes, refusals,
//! faults, people deleted by hand, and the documented languages and roles.


use std::collections::BTreeMap;

use ampsync_sandbox::{Faults, LoggedRequest, SandboxOptions, TeamSeed};
use crate::common::sandbox::{EXAMPLE_TEAMS, TestSandbox};
use crate::common::{TestEnv, example};
use serde_json::{Value, json};

/// Exactly the scopes ampsync asks for by default.
const NEEDED: [&str; 5] = [
    "users:read",
    "users:create",
    "users:update",
    "users:deactivate",
    "teams:read",
];

fn scoped(scopes: &[&str], hr_package: bool) -> SandboxOptions {
    SandboxOptions {
        scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
        teams: EXAMPLE_TEAMS.iter().map(|t| TeamSeed::from(*t)).collect(),
        hr_package,
        ..SandboxOptions::default()
    }
}

fn push(env: &TestEnv) -> Value {
    env.json(&["push"])
}

/// Each sandbox user by external id: the fields ampsync sets.
fn people(sandbox: &TestSandbox) -> BTreeMap<String, Value> {
    sandbox
        .users()
        .into_iter()
        .filter_map(|u| {
            let key = u["integrationExternalId"].as_str()?.to_owned();
            let status = u["status"]["status"].as_str().unwrap_or_default().to_lowercase();
            Some((
                key,
                json!({
                    "email": u["email"], "role": u["role"], "language": u["language"],
                    "jobTitle": u["jobTitle"], "active": status != "deactivated",
                }),
            ))
        })
        .collect()
}

fn writes(requests: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    requests
        .iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/v1/"))
        .collect()
}

#[test]
fn credentials_provisioned_with_scopes_deliver_the_example_days() {
    let sandbox = TestSandbox::start(scoped(&NEEDED, true));
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 500");
    for (day, now) in [
        ("day1.csv", "2026-11-24T06:30:00Z"),
        ("day2.csv", "2026-11-25T06:30:00Z"),
        ("day3.csv", "2026-11-26T06:30:00Z"),
    ] {
        env.import_at(now, &example(day));
        let report = push(&env);
        assert_eq!(
            (&report["failed"], &report["waiting"]),
            (&json!([]), &json!([])),
            "{report}"
        );
    }
    let users = people(&sandbox);
    assert_eq!(users.len(), 52);
    assert_eq!(users.values().filter(|u| u["active"] == json!(true)).count(), 50);
    // Every token request named exactly the scopes the config needs.
    let tokens: Vec<String> = sandbox
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .map(|r| {
            r.form
                .iter()
                .find(|(n, _)| n == "scope")
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect();
    assert!(!tokens.is_empty());
    assert!(tokens.iter().all(|s| s == &NEEDED.join(" ")), "{tokens:?}");
    // `check` shows what was granted.
    let check = env.run(&["check"]).expect_code(0);
    assert!(
        check.stdout.contains(&format!("granted: {}", NEEDED.join(" "))),
        "{}",
        check.stdout
    );
}

#[test]
fn credentials_lacking_a_scope_are_told_which() {
    // Provisioned without users:deactivate: asking for it is refused.
    let without_deactivate = ["users:read", "users:create", "users:update", "teams:read"];
    let sandbox = TestSandbox::start(scoped(&without_deactivate, true));
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "");
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    let run = env.run(&["push"]).expect_code(1);
    assert!(
        run.stderr.contains("invalid_scope")
            && run.stderr.contains(&format!("scope \"{}\"", NEEDED.join(" ")))
            && run.stderr.contains("learnamp.scopes"),
        "{}",
        run.stderr
    );
    // Asking only for what was provisioned: a deactivation is then refused
    // with a 403 that names the scope it needs.
    sandbox.configure(&mut env, &format!("scopes = \"{}\"", without_deactivate.join(" ")));
    let report = env.run(&["push", "--format", "json"]).expect_code(0).json();
    assert_eq!(report["sent"], json!(50), "{report}");
    env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
    let report = env.run(&["push", "--format", "json"]).expect_code(1).json();
    let failed = report["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 2, "the two leavers: {report}");
    assert!(
        failed.iter().all(
            |f| f["status"] == json!(403) && f["error"].as_str().unwrap_or_default().contains("`users:deactivate`")
        )
    );
}

#[test]
fn a_refused_role_is_failed_once_and_delivered_when_the_file_fixes_it() {
    let sandbox = TestSandbox::start(scoped(&NEEDED, false));
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 500");
    let day1 = env.write(
        "day1.csv",
        "Employee ID,First name,Last name,Email,Role,Primary team\n\
         E1,Ann,Lee,ann@acme.example,viewer,Sales\n\
         E2,Bo,Chan,bo@acme.example,hr,Sales\n\
         E3,Cy,Diaz,cy@acme.example,admin,Nowhere\n\
         E4,Di,Eve,di@acme.example,learning_designer,Finance\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &day1);
    let report = env.run(&["push", "--format", "json"]).expect_code(1).json();
    assert_eq!(report["sent"], json!(2), "{report}");
    let failed: Vec<(&str, Value)> = report["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .map(|f| (f["key"].as_str().unwrap_or_default(), f["status"].clone()))
        .collect();
    assert_eq!(failed, vec![("E2", json!(422)), ("E3", Value::Null)]);
    assert_eq!(people(&sandbox).keys().collect::<Vec<_>>(), vec!["E1", "E4"]);
    let history = env.json(&["history", "E2"]);
    let delivery = &history["events"][0]["delivery"];
    assert_eq!(delivery["status"], json!("failed"));
    assert_eq!(delivery["http_status"], json!(422));
    assert!(
        delivery["error"]
            .as_str()
            .unwrap_or_default()
            .contains("HR-role package"),
        "{history}"
    );

    // A second push sends nothing for them, and says they wait.
    let before = sandbox.sandbox.requests().len();
    let again = env.json(&["push"]);
    assert_eq!((&again["events"], &again["sent"]), (&json!(0), &json!(0)));
    assert_eq!(sandbox.sandbox.requests().len(), before, "nothing re-sent");
    let plan = env.json(&["plan"]);
    let waiting: Vec<u64> = plan["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .filter_map(|f| f["seq"].as_u64())
        .collect();
    assert_eq!(waiting, vec![2, 3]);

    // The next file fixes E2's role: delivered with no command typed.
    let day2 = env.write(
        "day2.csv",
        "Employee ID,First name,Last name,Email,Role,Primary team\n\
         E1,Ann,Lee,ann@acme.example,viewer,Sales\n\
         E2,Bo,Chan,bo@acme.example,viewer,Sales\n\
         E3,Cy,Diaz,cy@acme.example,admin,Nowhere\n\
         E4,Di,Eve,di@acme.example,learning_designer,Finance\n",
    );
    env.import_at("2026-11-25T06:30:00Z", &day2);
    let report = env.json(&["push"]);
    assert_eq!(
        report["sent"],
        json!(2),
        "the fix carries the refused creation: {report}"
    );
    assert_eq!(people(&sandbox)["E2"]["role"], json!("viewer"));
    let history = env.json(&["history", "E2"]);
    assert_eq!(history["events"][0]["delivery"]["status"], json!("superseded"));
    assert_eq!(history["events"][1]["delivery"]["status"], json!("delivered"));
}

#[test]
fn a_person_deleted_by_hand_comes_back_with_their_next_change() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 500");
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    push(&env);
    // E1014 is promoted on day 2; someone deletes them in Learn Amp first.
    let id = sandbox
        .users()
        .iter()
        .find(|u| u["integrationExternalId"] == "E1014")
        .and_then(|u| u["id"].as_u64())
        .expect("E1014");
    assert!(sandbox.sandbox.delete_user(id));
    env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
    let report = push(&env);
    assert_eq!(report["recreated"], json!(["E1014"]), "{report}");
    assert_eq!(report["failed"], json!([]));
    let e1014 = &people(&sandbox)["E1014"];
    assert_eq!(e1014["jobTitle"], json!("Engineering Team Lead"));
    assert_eq!(e1014["active"], json!(true));
}

#[test]
fn documented_languages_and_roles_deliver_with_no_time_zone_and_no_blank_enum() {
    let sandbox = TestSandbox::start(scoped(&NEEDED, false));
    let mut env = TestEnv::new();
    sandbox.configure(
        &mut env,
        "max_requests_per_second = 500\n[policy]\nmax_change_percent = 100",
    );
    let day1 = env.write(
        "day1.csv",
        "Employee ID,First name,Last name,Email,Role,Language,Time zone,Primary team\n\
         S1,Sara,Lind,sara@acme.example,learning_designer,sv,Europe/Stockholm,Sales\n\
         S2,Élise,Roy,elise@acme.example,viewer,fr-CA,America/Toronto,Sales\n\
         S3,Rhys,Evans,rhys@acme.example,curator,cy,Europe/London,Sales\n\
         S4,João,Lima,joao@acme.example,reporter,pt-PT,Europe/Lisbon,Sales\n\
         S5,Elif,Kaya,elif@acme.example,viewer,tr,Europe/Istanbul,Sales\n",
    );
    assert_eq!(env.import_at("2026-11-24T06:30:00Z", &day1)["created"], json!(5));
    let report = push(&env);
    assert_eq!(report["sent"], json!(5), "{report}");
    let users = people(&sandbox);
    assert_eq!(
        (
            users["S1"]["role"].clone(),
            users["S2"]["language"].clone(),
            users["S4"]["language"].clone()
        ),
        (json!("learning_designer"), json!("fr-CA"), json!("pt-PT"))
    );
    // Day 2: S1's role and S2's language are gone from the file, S3 moves
    // time zone: Learn Amp keeps what it has, and nothing is sent for S3.
    let day2 = env.write(
        "day2.csv",
        "Employee ID,First name,Last name,Email,Role,Language,Time zone,Primary team\n\
         S1,Sara,Lind,sara@acme.example,,sv,Europe/Stockholm,Sales\n\
         S2,Élise,Roy,elise@acme.example,viewer,,America/Toronto,Sales\n\
         S3,Rhys,Evans,rhys@acme.example,curator,cy,Europe/Dublin,Sales\n\
         S4,João,Lima,joao@acme.example,reporter,pt-PT,Europe/Lisbon,Sales\n\
         S5,Elif,Kaya,elif@acme.example,viewer,tr,Europe/Istanbul,Sales\n",
    );
    env.import_at("2026-11-25T06:30:00Z", &day2);
    let plan = env.run(&["plan"]).expect_code(0);
    assert!(
        plan.stdout.contains("role: not in the file, Learn Amp keeps its value")
            && plan
                .stdout
                .contains("language: not in the file, Learn Amp keeps its value"),
        "{}",
        plan.stdout
    );
    let report = push(&env);
    assert_eq!(report["failed"], json!([]), "{report}");
    let users = people(&sandbox);
    assert_eq!(
        (users["S1"]["role"].clone(), users["S2"]["language"].clone()),
        (json!("learning_designer"), json!("fr-CA"))
    );
    let log = sandbox.sandbox.requests();
    for request in writes(&log) {
        for (name, value) in &request.form {
            assert_ne!(name, "timeZone", "{request:?}");
            if name == "role" || name == "language" {
                assert!(!value.is_empty(), "a blank enum: {request:?}");
            }
        }
    }
    // Only S1 and S2 changed in a way Learn Amp could see... and were sent
    // nothing at all, as nothing sendable changed; S3's time zone neither.
    assert_eq!(writes(&log).len(), 5, "only day 1's creates: {:?}", writes(&log));
}

/// 10% 5xx, 5% connections dropped after the write, a rate limit, 429s
/// without Retry-After: after at most two pushes Learn Amp holds exactly the
/// file's people, and nothing is ever given up.
#[test]
fn transient_faults_never_cost_a_person() {
    let mut csv = String::from("Employee ID,First name,Last name,Email,Primary team\n");
    for i in 0..150 {
        csv.push_str(&format!("F{i:03},Fa{i},Lt{i},f{i}@acme.example,Sales\n"));
    }
    for seed in [1u64, 7, 42] {
        let sandbox = TestSandbox::with_example_teams();
        let mut env = TestEnv::new();
        sandbox.configure(&mut env, "max_requests_per_second = 400\nretry_for = \"60s\"");
        let file = env.write("people.csv", &csv);
        env.import_at("2026-11-24T06:30:00Z", &file);
        sandbox.set_faults(Faults {
            error_rate: 0.10,
            drop_after_write_rate: 0.05,
            rate_limit_per_second: Some(150),
            omit_retry_after: true,
            seed,
            ..Faults::default()
        });
        let first = env.run(&["push", "--format", "json"]).expect_code(0).json();
        assert_eq!(first["failed"], json!([]), "seed {seed}: {first}");
        if first["waiting"] != json!([]) {
            let second = env.run(&["push", "--format", "json"]).expect_code(0).json();
            assert_eq!(
                (&second["failed"], &second["waiting"]),
                (&json!([]), &json!([])),
                "seed {seed}"
            );
        }
        let users = people(&sandbox);
        assert_eq!(users.len(), 150, "seed {seed}: exactly the file's people, none twice");
        assert_eq!(sandbox.users().len(), 150, "seed {seed}: no duplicates");
        let statuses = env.json(&["events"]);
        let undelivered: Vec<&Value> = statuses
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["delivery"]["status"] != json!("delivered"))
            .collect();
        assert!(undelivered.is_empty(), "seed {seed}: {undelivered:?}");
    }
}

/// An API that answers only 503: push exits 0 with everything waiting, the
/// next push sends it all, and meanwhile `plan` shows how old it is.
#[test]
fn an_api_down_only_makes_events_wait_and_plan_shows_their_age() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 500\nretry_for = \"1s\"");
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    sandbox.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let report = env.run(&["push", "--format", "json"]).expect_code(0).json();
    assert_eq!(report["sent"], json!(0));
    assert_eq!(report["failed"], json!([]));
    assert!(!report["waiting"].as_array().expect("waiting").is_empty(), "{report}");
    env.now = "2026-11-26T06:30:00Z".into();
    let plan = env.json(&["plan"]);
    assert_eq!(
        plan["oldest_waiting"]["age_seconds"],
        json!(2 * 86_400),
        "{}",
        plan["oldest_waiting"]
    );
    let history = env.json(&["history", "E1001"]);
    assert_eq!(history["events"][0]["delivery"]["status"], json!("waiting"));
    sandbox.set_faults(Faults::default());
    let report = env.run(&["push", "--format", "json"]).expect_code(0).json();
    assert_eq!(
        (&report["sent"], &report["waiting"]),
        (&json!(50), &json!([])),
        "{report}"
    );
    assert_eq!(env.json(&["plan"])["oldest_waiting"], Value::Null);
}
