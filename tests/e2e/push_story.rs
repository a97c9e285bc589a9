//! Delivery end to end: the real binary pushes the example days to the
//! Learn Amp sandbox over HTTP, with and without injected faults, through a
//! crash, a token expiry and a rejected event.


use std::collections::BTreeMap;
use std::process::Stdio;

use ampsync_sandbox::{Faults, SandboxOptions, TeamSeed};
use crate::common::sandbox::{EXAMPLE_TEAMS, TestSandbox};
use crate::common::{Lines, TestEnv, example};
use serde_json::{Value, json};

/// Fields compared between the store and Learn Amp.
const FIELDS: &[&str] = &[
    "email",
    "firstName",
    "lastName",
    "jobTitle",
    "role",
    "language",
    "location",
    "hireDate",
    "integrationExternalId",
];

/// What the store says each person should be in Learn Amp.
fn expected(env: &TestEnv) -> BTreeMap<String, Value> {
    let created = env.json(&["events", "--kind", "created"]);
    let mut out = BTreeMap::new();
    for event in created.as_array().expect("events") {
        let key = event["key"].as_str().expect("key");
        let shown = env.json(&["show", key]);
        let record = &shown["record"];
        let mut person = serde_json::Map::new();
        for f in FIELDS {
            person.insert(f.to_string(), record[*f].clone());
        }
        person.insert("managerEmail".into(), record["managerEmail"].clone());
        person.insert("primaryTeam".into(), record["primaryTeam"].clone());
        person.insert("secondaryTeams".into(), record["secondaryTeams"].clone());
        person.insert("active".into(), shown["active"].clone());
        // No language or role in the file: Learn Amp's defaults apply.
        if person["language"].is_null() {
            person.insert("language".into(), json!("en"));
        }
        if person["role"].is_null() {
            person.insert("role".into(), json!("viewer"));
        }
        out.insert(key.to_owned(), Value::Object(person));
    }
    out
}

/// What Learn Amp (the sandbox) has, in the same shape, by external id.
fn actual(sandbox: &TestSandbox) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for user in sandbox.users() {
        let mut person = serde_json::Map::new();
        for f in FIELDS {
            let v = &user[*f];
            person.insert(f.to_string(), if v == "" { Value::Null } else { v.clone() });
        }
        person.insert("managerEmail".into(), user["manager"]["email"].clone());
        person.insert("primaryTeam".into(), user["primaryTeam"]["name"].clone());
        // As `show --format json` gives a list: an array of names, sorted.
        let mut secondary: Vec<String> = user["secondaryTeams"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t["name"].as_str())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        secondary.sort();
        let secondary = if secondary.is_empty() {
            Value::Null
        } else {
            json!(secondary)
        };
        person.insert("secondaryTeams".into(), secondary);
        let status = user["status"]["status"].as_str().unwrap_or_default().to_lowercase();
        person.insert("active".into(), json!(status != "deactivated"));
        let key = user["integrationExternalId"]
            .as_str()
            .expect("every user has an external id")
            .to_owned();
        assert!(
            out.insert(key.clone(), Value::Object(person)).is_none(),
            "two users with external id {key}"
        );
    }
    out
}

/// Asserts Learn Amp holds exactly what the store says, naming each difference.
fn assert_in_step(sandbox: &TestSandbox, env: &TestEnv) {
    let (actual, expected) = (actual(sandbox), expected(env));
    let mut differences = Vec::new();
    for key in actual
        .keys()
        .chain(expected.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        match (actual.get(key), expected.get(key)) {
            (Some(a), Some(e)) if a != e => {
                for field in e
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    if a[&field] != e[&field] {
                        differences.push(format!(
                            "{key}.{field}: Learn Amp has {}, the store says {}",
                            a[&field], e[&field]
                        ));
                    }
                }
            }
            (Some(_), None) => differences.push(format!("{key}: in Learn Amp only")),
            (None, Some(_)) => differences.push(format!("{key}: missing from Learn Amp")),
            _ => {}
        }
    }
    assert!(
        differences.is_empty(),
        "{} difference(s):\n{}",
        differences.len(),
        differences.join("\n")
    );
}

fn push(env: &TestEnv) -> Value {
    env.json(&["push"])
}

fn writes(sandbox: &TestSandbox) -> (u64, u64, u64, u64) {
    let s = sandbox.sandbox.stats();
    (s.creates, s.updates, s.deactivations, s.reactivations)
}

#[test]
fn the_example_days_reach_learn_amp_exactly_and_a_second_push_sends_nothing() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 500");

    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    let report = push(&env);
    assert_eq!(
        (
            &report["events"],
            &report["sent"],
            &report["failed"],
            &report["waiting"]
        ),
        (&json!(50), &json!(50), &json!([]), &json!([]))
    );
    assert_in_step(&sandbox, &env);
    assert_eq!(
        actual(&sandbox)["E1002"]["secondaryTeams"],
        json!(["Research, Development"])
    );

    env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
    let report = push(&env);
    assert_eq!((&report["events"], &report["sent"]), (&json!(7), &json!(7)));
    assert_in_step(&sandbox, &env);
    let people = actual(&sandbox);
    assert_eq!(people.len(), 52, "leavers are deactivated, not deleted");
    assert_eq!(
        (&people["E1020"]["active"], &people["E1039"]["active"]),
        (&json!(false), &json!(false))
    );
    assert_eq!(people["E1026"]["email"], json!("agnieszka.kowalska@northwind.example"));

    // Every delivery is in the log, with Learn Amp's id.
    let history = env.json(&["history", "E1014"]);
    for event in history["events"].as_array().expect("events") {
        assert_eq!(event["delivery"]["status"], json!("delivered"), "{event}");
        assert!(event["delivery"]["remote_id"].as_u64().is_some(), "{event}");
    }

    let before = writes(&sandbox);
    let again = push(&env);
    assert_eq!(
        (&again["events"], &again["sent"], &again["requests"]),
        (&json!(0), &json!(0), &json!(0))
    );
    assert_eq!(writes(&sandbox), before, "a second push writes nothing");
}

#[test]
fn faults_change_nothing_in_the_end_state() {
    let sandbox = TestSandbox::with_example_teams();
    sandbox.set_faults(Faults {
        rate_limit_per_second: Some(20),
        error_rate: 0.2,
        latency_ms: 0,
        drop_after_write_rate: 0.05,
        seed: 7,
        ..Faults::default()
    });
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 40\nmax_attempts = 20");

    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    let report = push(&env);
    assert_eq!(
        (&report["sent"], &report["failed"], &report["waiting"]),
        (&json!(50), &json!([]), &json!([])),
        "{report}"
    );
    env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
    let report = push(&env);
    assert_eq!(
        (&report["sent"], &report["failed"], &report["waiting"]),
        (&json!(7), &json!([]), &json!([])),
        "{report}"
    );

    assert_in_step(&sandbox, &env);
    let stats = sandbox.sandbox.stats();
    assert_eq!(stats.creates, 52, "no one was created twice: {stats:?}");
    assert!(
        stats.server_errors > 0 && stats.dropped > 0 && stats.rate_limited > 0,
        "faults were injected: {stats:?}"
    );
    assert!(report["retried"].as_u64().is_some());
}

#[test]
fn a_push_killed_midway_resumes_to_the_same_state() {
    let sandbox = TestSandbox::with_example_teams();
    sandbox.set_faults(Faults {
        latency_ms: 20,
        ..Faults::default()
    });
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "concurrency = 1\nmax_requests_per_second = 500");
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));

    let mut child = env
        .command(&["push"])
        .env("AMPSYNC_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn push");
    Lines::of(child.stderr.take().expect("stderr")).wait_for("pushed 20/50 events");
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    let partial = sandbox.sandbox.stats().creates;
    assert!((20..50).contains(&partial), "killed midway: {partial} created");

    sandbox.set_faults(Faults::default());
    let report = push(&env);
    assert_eq!(
        (&report["failed"], &report["waiting"]),
        (&json!([]), &json!([])),
        "{report}"
    );
    assert_in_step(&sandbox, &env);
    assert_eq!(sandbox.sandbox.stats().creates, 50, "no one was created twice");
}

#[test]
fn an_expired_token_is_renewed_without_failing_events() {
    let sandbox = TestSandbox::with_example_teams();
    sandbox.set_faults(Faults {
        latency_ms: 10,
        ..Faults::default()
    });
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "concurrency = 2\nmax_requests_per_second = 500");
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));

    let mut child = env
        .command(&["push", "--format", "json"])
        .env("AMPSYNC_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn push");
    let mut err = Lines::of(child.stderr.take().expect("stderr"));
    err.wait_for("pushed 10/50 events");
    sandbox.sandbox.expire_tokens();
    err.drain();
    let output = child.wait_with_output().expect("push finishes");
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).expect("json report");
    assert_eq!(
        (&report["sent"], &report["failed"], &report["waiting"]),
        (&json!(50), &json!([]), &json!([])),
        "{report}"
    );
    assert_in_step(&sandbox, &env);
}

#[test]
fn a_rejected_event_fails_with_the_api_message_and_the_rest_go_through() {
    // No HR-role package: E2's `hr` role is refused (422), as Learn Amp does.
    let sandbox = TestSandbox::start(SandboxOptions {
        teams: EXAMPLE_TEAMS.iter().map(|t| TeamSeed::from(*t)).collect(),
        ..SandboxOptions::default()
    });
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 500");
    let file = env.write(
        "small.csv",
        "Employee ID,First name,Last name,Email,Role,Primary team\n\
         E1,Ann,Lee,ann@acme.example,viewer,Sales\n\
         E2,Bo,Chan,bo@acme.example,hr,Sales\n\
         E3,Cy,Diaz,cy@acme.example,admin,Nowhere\n\
         E4,Di,Eve,di@acme.example,reporter,Finance\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &file);

    let plan = env.json(&["plan"]);
    let requests: Vec<(u64, &str, &str)> = plan["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap_or(0),
                e["key"].as_str().unwrap_or(""),
                e["request"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        requests,
        vec![
            (1, "E1", "POST /v1/users"),
            (2, "E2", "POST /v1/users"),
            (3, "E3", "POST /v1/users"),
            (4, "E4", "POST /v1/users")
        ]
    );
    assert_eq!(
        plan["events"][0]["fields"],
        json!([
            ["email", "ann@acme.example"],
            ["firstName", "Ann"],
            ["integrationExternalId", "E1"],
            ["lastName", "Lee"],
            ["primaryTeamId", "<id of team \"Sales\">"],
            ["role", "viewer"],
            ["skipInvitation", "false"]
        ])
    );
    assert_eq!(sandbox.sandbox.stats().requests, 0, "plan sends nothing");

    let run = env.run(&["push", "--format", "json"]).expect_code(1);
    let report = run.json();
    assert_eq!(report["sent"], json!(2));
    let failed = report["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 2, "{report}");
    assert_eq!(failed[0]["key"], json!("E2"));
    assert!(
        failed[0]["error"].as_str().unwrap_or("").contains("role"),
        "the API's message: {report}"
    );
    assert_eq!(failed[1]["key"], json!("E3"));
    assert_eq!(
        failed[1]["error"],
        json!("team \"Nowhere\" does not exist in Learn Amp (set learnamp.create_missing_teams = true to create it)")
    );
    let people = actual(&sandbox);
    assert_eq!(people.keys().collect::<Vec<_>>(), vec!["E1", "E4"]);
    assert_eq!(people["E4"]["primaryTeam"], json!("Finance"));
    assert_eq!(
        env.json(&["history", "E2"])["events"][0]["delivery"]["status"],
        json!("failed")
    );
    // Refused events are not planned again: they wait for a person (or
    // the person's next change), and the plan lists them as such.
    let replan = env.json(&["plan"]);
    assert_eq!(replan["events"], json!([]));
    let keys: Vec<&str> = replan["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .map(|e| e["key"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(keys, vec!["E2", "E3"]);
}

#[test]
fn managers_are_created_first_cycles_are_closed_and_a_departed_manager_is_reported() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    sandbox.configure(
        &mut env,
        "max_requests_per_second = 500\nconcurrency = 8\n[policy]\nmax_deactivate_percent = 100",
    );
    // Rows are in an order where each report comes before their manager;
    // C and D manage each other; G's manager left with this very file.
    let day1 = env.write(
        "m1.csv",
        "Employee ID,First name,Last name,Email,Manager email\n\
         A,Ann,A,a@acme.example,b@acme.example\n\
         B,Bo,B,b@acme.example,z@acme.example\n\
         Z,Zed,Z,z@acme.example,\n\
         C,Cy,C,c@acme.example,d@acme.example\n\
         D,Di,D,d@acme.example,c@acme.example\n\
         Q,Quinn,Q,q@acme.example,\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &day1);
    let report = push(&env);
    assert_eq!(
        (&report["sent"], &report["failed"], &report["warnings"]),
        (&json!(6), &json!([]), &json!([])),
        "{report}"
    );
    assert_in_step(&sandbox, &env);

    let day2 = env.write(
        "m2.csv",
        "Employee ID,First name,Last name,Email,Manager email\n\
         A,Ann,A,a@acme.example,b@acme.example\n\
         B,Bo,B,b@acme.example,z@acme.example\n\
         Z,Zed,Z,z@acme.example,\n\
         C,Cy,C,c@acme.example,d@acme.example\n\
         D,Di,D,d@acme.example,c@acme.example\n\
         G,Gil,G,g@acme.example,q@acme.example\n",
    );
    env.import_at("2026-11-25T06:30:00Z", &day2);
    let report = push(&env);
    assert_eq!(report["failed"], json!([]), "{report}");
    assert_eq!(
        report["warnings"],
        json!(["G names q@acme.example as manager, who is not an active person in the file: sent without the manager"])
    );
    let people = actual(&sandbox);
    assert_eq!(people["G"]["managerEmail"], Value::Null);
    assert_eq!(people["Q"]["active"], json!(false));
    assert_eq!(
        (&people["C"]["managerEmail"], &people["D"]["managerEmail"]),
        (&json!("d@acme.example"), &json!("c@acme.example"))
    );
}

#[test]
fn sync_takes_the_newest_settled_file_from_a_folder_then_pushes() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    let drop = env.path().join("drop");
    std::fs::create_dir_all(&drop).expect("drop folder");
    sandbox.configure(
        &mut env,
        &format!("max_requests_per_second = 500\n[source]\nkind = \"dir\"\nremote_dir = \"{}\"\npattern = \"users_*.csv\"\nsettle_seconds = 30\n", drop.display()),
    );
    env.now = "2026-11-24T06:30:00Z".into();
    let pinned = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_502_600); // 2026-11-24T06:43:20Z
    let place = |name: &str, from: &std::path::Path, age_secs: u64| {
        let path = drop.join(name);
        std::fs::copy(from, &path).expect("copy");
        let file = std::fs::File::options().write(true).open(&path).expect("open");
        file.set_modified(pinned - std::time::Duration::from_secs(age_secs))
            .expect("set mtime");
    };
    env.now = "2026-11-24T06:43:20Z".into();
    place("users_1.csv", &example("day1.csv"), 3600);
    place("other.csv", &example("day2.csv"), 60);
    let run = env.run(&["sync"]).expect_code(0);
    assert!(run.stdout.contains("users_1.csv as snapshot 1"), "{}", run.stdout);
    assert_in_step(&sandbox, &env);
    assert_eq!(actual(&sandbox).len(), 50);

    // A newer file still being written is not taken; once settled, it is.
    place("users_2.csv", &example("day2.csv"), 5);
    let run = env.run(&["sync"]).expect_code(0);
    assert!(
        run.stdout
            .contains("users_2.csv changed less than 30 s ago: still being written, not taken"),
        "{}",
        run.stdout
    );
    assert_eq!(actual(&sandbox).len(), 50);
    place("users_2.csv", &example("day2.csv"), 120);
    let run = env.run(&["sync"]).expect_code(0);
    assert!(run.stdout.contains("users_2.csv as snapshot 2"), "{}", run.stdout);
    assert_in_step(&sandbox, &env);
    assert_eq!(actual(&sandbox).len(), 52);
}

#[test]
fn a_rollback_restores_the_earlier_state_in_the_store_and_in_learn_amp() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 500");
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    push(&env);
    let day1 = expected(&env);
    env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
    push(&env);

    env.now = "2026-11-25T09:00:00Z".into();
    let dry = env.json(&["rollback", "--to", "1", "--dry-run"]);
    assert_eq!(dry["appended"], Value::Null);
    let kinds = |v: &Value| -> Vec<(String, String)> {
        v["events"]
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
    };
    let want: Vec<(String, String)> = [
        ("E1014", "updated"),
        ("E1020", "reactivated"),
        ("E1026", "updated"),
        ("E1027", "updated"),
        ("E1039", "reactivated"),
        ("E1051", "deactivated"),
        ("E1052", "deactivated"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(kinds(&dry), want);
    assert_eq!(
        env.json(&["events", "--since", "2026-11-25T08:00:00Z"]),
        json!([]),
        "a dry run appends nothing"
    );

    let done = env.json(&["rollback", "--to", "1"]);
    assert_eq!(kinds(&done), want);
    assert_eq!(done["appended"], json!([58, 64]));

    // The store is back at day 1 for everyone day 1 knew, and the joiners are gone.
    let now = expected(&env);
    for (key, person) in &day1 {
        assert_eq!(&now[key], person, "{key} is as it was after snapshot 1");
    }
    assert_eq!(
        (&now["E1051"]["active"], &now["E1052"]["active"]),
        (&json!(false), &json!(false))
    );
    // And so is Learn Amp.
    assert_in_step(&sandbox, &env);
    let statuses: Vec<Value> = env
        .json(&["snapshots"])
        .as_array()
        .expect("snapshots")
        .iter()
        .map(|s| s["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("applied"), json!("rolled_back")]);
    let history = env.json(&["history", "E1014"]);
    let causes: Vec<&Value> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| &e["cause"])
        .collect();
    assert_eq!(
        causes,
        vec![
            &json!({"type": "import", "snapshot": 1}),
            &json!({"type": "import", "snapshot": 2}),
            &json!({"type": "rollback", "to": 1})
        ]
    );
    assert_eq!(
        env.json(&["rollback", "--to", "1"])["events"],
        json!([]),
        "nothing left to undo"
    );
    assert_eq!(env.json(&["verify"])["ok"], json!(true));
}

/// Day 2 cut to its first `keep` people (a truncated export).
fn truncated(env: &TestEnv, keep: usize) -> std::path::PathBuf {
    let text = std::fs::read_to_string(example("day2.csv")).expect("day2");
    let lines: Vec<&str> = text.lines().take(keep + 1).collect();
    env.write("day2-truncated.csv", lines.join("\n") + "\n")
}

/// Day 1 with 40 people's job titles changed (a wrong export).
fn wrong_titles(env: &TestEnv) -> std::path::PathBuf {
    let text = std::fs::read_to_string(example("day1.csv")).expect("day1");
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
        if (1..=40).contains(&i) && !line.contains('"') {
            fields[4] = "Intern".into();
        }
        out.push(fields.join(","));
    }
    env.write("day2-wrong-titles.csv", out.join("\n") + "\n")
}

#[test]
fn safeguards_hold_a_truncated_file_and_approve_reject_and_rollback_put_things_right() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 500");
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    push(&env);
    let day1 = expected(&env);
    let writes_before = writes(&sandbox);

    // A third of the file: held, exit 3, nothing applied or sent.
    env.now = "2026-11-25T06:30:00Z".into();
    let cut = truncated(&env, 17);
    let run = env
        .run(&["import", cut.to_str().expect("path"), "--format", "json"])
        .expect_code(3);
    let held = run.json();
    assert_eq!((&held["outcome"], &held["snapshot"]), (&json!("held"), &json!(2)));
    assert!(
        held["reason"]
            .as_str()
            .unwrap_or("")
            .contains("above policy.max_deactivate_percent = 10"),
        "{held}"
    );
    let would = env.json(&["events", "--snapshot", "2"]);
    let would = would.as_array().expect("held events");
    assert!(
        would.len() >= 30 && would.iter().all(|e| e["delivery"]["status"] == "held"),
        "{would:?}"
    );
    assert_eq!(
        env.json(&["plan"])["held"],
        json!([{"snapshot": 2, "reason": held["reason"], "events": would.len()}])
    );
    assert_eq!(push(&env)["events"], json!(0));
    assert_eq!(writes(&sandbox), writes_before, "nothing reached Learn Amp");
    assert_eq!(expected(&env), day1, "nothing changed in the state");

    // Later imports wait behind it.
    let run = env
        .run(&["import", example("day3.csv").to_str().expect("path")])
        .expect_code(3);
    assert!(run.stdout.contains("snapshot 2 is held"), "{}", run.stdout);
    env.json(&["reject", "3"]);
    env.json(&["reject", "2"]);
    let statuses: Vec<Value> = env
        .json(&["snapshots"])
        .as_array()
        .expect("s")
        .iter()
        .map(|s| s["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("applied"), json!("rejected"), json!("rejected")]);

    // 40 wrong job titles: held for too many changes; approved anyway, pushed.
    env.now = "2026-11-26T06:30:00Z".into();
    let wrong = wrong_titles(&env);
    let run = env.run(&["import", wrong.to_str().expect("path")]).expect_code(3);
    assert!(
        run.stdout.contains("above policy.max_change_percent = 50"),
        "{}",
        run.stdout
    );
    let approved = env.json(&["approve", "4"]);
    assert_eq!(approved["status"], json!("applied"));
    let report = push(&env);
    assert_eq!(report["failed"], json!([]));
    let intern = actual(&sandbox).values().filter(|p| p["jobTitle"] == "Intern").count();
    assert!(intern >= 30, "the wrong titles went out: {intern}");
    let history = env.json(&["history", "E1014"]);
    assert_eq!(
        history["events"][1]["cause"],
        json!({"type": "approval", "snapshot": 4})
    );

    // Rollback to snapshot 1 puts Learn Amp back field for field.
    env.now = "2026-11-26T09:00:00Z".into();
    env.json(&["rollback", "--to", "1"]);
    assert_eq!(expected(&env), day1);
    assert_in_step(&sandbox, &env);
    assert_eq!(
        env.json(&["show", "E1014", "--as-of", "2026-11-26T07:00:00Z"])["record"]["jobTitle"],
        json!("Intern")
    );
    assert_eq!(
        env.json(&["show", "E1014", "--as-of", "2026-11-25T07:00:00Z"])["record"]["jobTitle"],
        json!("Software Engineer")
    );
    assert_eq!(env.json(&["verify"])["ok"], json!(true));
}

#[test]
fn reconcile_finds_hand_made_changes_and_repair_sets_them_back() {
    use ampsync_engine::learnamp::{ApiRequest, ClientOptions, Credentials, LearnAmpClient, Method};
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 500");
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    push(&env);
    assert_eq!(env.json(&["reconcile"])["in_step"], json!(true));

    // Three changes made by hand in Learn Amp, and a user nobody's file knows.
    let id_of = |key: &str| {
        sandbox
            .users()
            .iter()
            .find(|u| u["integrationExternalId"] == key)
            .and_then(|u| u["id"].as_u64())
            .expect("user id")
    };
    let defaults = SandboxOptions::default();
    let client = LearnAmpClient::new(
        &ClientOptions {
            base_url: sandbox.sandbox.url(),
            scopes: String::new(),
            max_requests_per_second: 100.0,
        },
        Credentials::new(defaults.client_id, defaults.client_secret),
    )
    .expect("client");
    let by_hand = [
        ApiRequest::new(Method::Put, format!("/v1/users/{}", id_of("E1014"))).field("jobTitle", "Hacked"),
        ApiRequest::new(Method::Put, format!("/v1/users/{}", id_of("E1026"))).field("lastName", "Smith"),
        ApiRequest::new(Method::Put, format!("/v1/users/{}/deactivate", id_of("E1020"))),
        ApiRequest::new(Method::Post, "/v1/users")
            .field("email", "stray@acme.example")
            .field("firstName", "S")
            .field("lastName", "T"),
    ];
    for request in &by_hand {
        sandbox.block_on(client.send(request)).expect("a change by hand");
    }

    let run = env.run(&["reconcile", "--format", "json"]).expect_code(1);
    let drift = run.json();
    assert_eq!(
        drift["changed"],
        json!([
            {"key": "E1014", "id": id_of("E1014"), "fields": [{"field": "jobTitle", "expected": "Software Engineer", "actual": "Hacked"}]},
            {"key": "E1026", "id": id_of("E1026"), "fields": [{"field": "lastName", "expected": "Nowak", "actual": "Smith"}]},
        ])
    );
    assert_eq!(
        drift["deactivated_there"],
        json!([{"key": "E1020", "id": id_of("E1020")}])
    );
    assert_eq!(drift["missing"], json!([]));
    assert_eq!(drift["unknown"].as_array().map(|u| u.len()), Some(1));
    assert_eq!(drift["repaired"], Value::Null, "read-only without --repair");

    let repaired = env
        .run(&["reconcile", "--repair", "--format", "json"])
        .expect_code(1)
        .json();
    assert_eq!(repaired["repaired"], json!([51, 53]));
    let report = push(&env);
    assert_eq!((&report["sent"], &report["failed"]), (&json!(3), &json!([])));
    let after = env.run(&["reconcile", "--format", "json"]).expect_code(1).json();
    assert_eq!(
        (&after["changed"], &after["deactivated_there"], &after["missing"]),
        (&json!([]), &json!([]), &json!([]))
    );
    assert_eq!(
        after["unknown"][0]["email"],
        json!("stray@acme.example"),
        "a stranger is reported, never touched"
    );
    assert_eq!(
        env.json(&["history", "E1014"])["events"][1]["cause"],
        json!({"type": "repair"})
    );
}
