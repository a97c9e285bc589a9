//! Every command's output as a whole: `--format json` of each command
//! parses as JSON (errors too, on stderr, with the exit status kept), and
//! the table and JSON output of the commands people read most are pinned
//! with `insta` snapshots on the example days, the clock pinned.


use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::common::sandbox::TestSandbox;
use crate::common::{Run, TestEnv, example};
use serde_json::{Value, json};

/// `ampsync ARGS --format json` in `env`: the exit status asserted, stdout
/// parsed as one JSON value.
fn json_run(env: &TestEnv, args: &[&str], code: i32) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = env.run(&all).expect_code(code);
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("`{}` stdout is not JSON ({e}):\n{}", args.join(" "), run.stdout))
}

/// A failing `ampsync ARGS --format json`: exit 1, nothing on stdout, and
/// stderr one JSON object with the error and its causes.
fn json_error(env: &TestEnv, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = env.run(&all).expect_code(1);
    assert_eq!(run.stdout, "", "`{}` printed on stdout", args.join(" "));
    let error: Value = serde_json::from_str(&run.stderr)
        .unwrap_or_else(|e| panic!("`{}` stderr is not JSON ({e}):\n{}", args.join(" "), run.stderr));
    assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()), "{error}");
    assert!(error["causes"].is_array(), "{error}");
    error
}

/// The drop folder a `[source] kind = "dir"` config reads, and a config
/// pushing to `sandbox`.
fn with_drop_folder(sandbox: &TestSandbox, env: &mut TestEnv, learnamp: &str) -> std::path::PathBuf {
    let drop = env.path().join("drop");
    std::fs::create_dir_all(&drop).expect("drop folder");
    sandbox.configure(
        env,
        &format!(
            "max_requests_per_second = 500\n{learnamp}\n[source]\nkind = \"dir\"\nremote_dir = \"{}\"\npattern = \"users_*.csv\"\nsettle_seconds = 30\n",
            drop.display()
        ),
    );
    drop
}

/// Puts `from` into the drop folder as `name`, last written an hour before
/// the pinned `now`: settled.
fn place(drop: &Path, name: &str, from: &Path, now: &str) {
    let path = drop.join(name);
    std::fs::copy(from, &path).expect("copy");
    let now = chrono::DateTime::parse_from_rfc3339(now).expect("time");
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(now.timestamp() as u64 - 3600);
    let file = std::fs::File::options().write(true).open(&path).expect("open");
    file.set_modified(mtime).expect("set mtime");
}

/// The first `rows` data rows of day 1: a truncated file the safeguards hold.
fn truncated(env: &TestEnv) -> std::path::PathBuf {
    let text = std::fs::read_to_string(example("day1.csv")).expect("day1");
    let cut: Vec<&str> = text.lines().take(18).collect();
    env.write("cut.csv", cut.join("\n") + "\n")
}

#[test]
fn every_command_answers_json_and_errors_are_json_on_stderr() {
    let sandbox = TestSandbox::with_example_teams();

    // init and keygen, in a folder of their own.
    let fresh = TestEnv::new();
    std::fs::remove_file(fresh.path().join("ampsync.toml")).expect("remove config");
    let init = json_run(&fresh, &["init"], 0);
    assert!(init["store"].as_str().is_some_and(|s| s.ends_with(".redb")), "{init}");
    let ssh = json_run(&fresh, &["keygen", "ssh", "--out", "keys/id_ed25519"], 0);
    assert!(
        ssh["public_line"]
            .as_str()
            .is_some_and(|l| l.starts_with("ssh-ed25519 ")),
        "{ssh}"
    );
    let pgp = json_run(&fresh, &["keygen", "pgp", "--dir", "keys"], 0);
    assert_eq!(pgp["kind"], "pgp");
    json_error(&fresh, &["init"]); // the config exists now

    let mut env = TestEnv::new();
    let drop = with_drop_folder(&sandbox, &mut env, "");
    env.now = "2026-11-24T06:30:00Z".into();

    // sync: nothing in the folder yet, then day 1 (one JSON object each).
    let none = json_run(&env, &["sync"], 0);
    assert_eq!(none["steps"][0]["step"], "no_file", "{none}");
    place(&drop, "users_1.csv", &example("day1.csv"), &env.now);
    let synced = json_run(&env, &["sync"], 0);
    assert_eq!(synced["run"]["outcome"], "imported", "{synced}");
    assert_eq!(synced["steps"][0]["step"], "imported", "{synced}");
    assert_eq!(synced["steps"][0]["counts"]["created"], 50, "{synced}");
    assert_eq!(synced["push"]["sent"], 50, "{synced}");
    assert_eq!(synced["push"]["failed"], json!([]), "{synced}");

    // import, plan, push.
    env.now = "2026-11-25T06:30:00Z".into();
    let day2 = example("day2.csv");
    let imported = json_run(&env, &["import", day2.to_str().expect("path")], 0);
    assert_eq!(
        (&imported["outcome"], &imported["snapshot"]),
        (&json!("imported"), &json!(2))
    );
    let again = json_run(&env, &["import", day2.to_str().expect("path")], 0);
    assert_eq!(again["outcome"], "already_imported");
    let plan = json_run(&env, &["plan"], 0);
    assert!(plan.is_object(), "{plan}");
    let pushed = json_run(&env, &["push"], 0);
    assert_eq!(pushed["failed"], json!([]), "{pushed}");

    // A held import (exit 3), its would-be events, reject, held again, approve.
    env.now = "2026-11-26T06:30:00Z".into();
    let cut = truncated(&env);
    let held = json_run(&env, &["import", cut.to_str().expect("path")], 3);
    assert_eq!((&held["outcome"], &held["snapshot"]), (&json!("held"), &json!(3)));
    assert!(held["reason"].as_str().is_some_and(|r| !r.is_empty()), "{held}");
    let would = json_run(&env, &["events", "--snapshot", "3"], 0);
    assert!(would.as_array().is_some_and(|e| !e.is_empty()), "{would}");
    assert_eq!(json_run(&env, &["reject", "3"], 0)["status"], "rejected");
    json_run(&env, &["import", cut.to_str().expect("path")], 3);
    let approved = json_run(&env, &["approve", "4"], 0);
    assert_eq!(approved["snapshot"], 4, "{approved}");
    // approve pushes what it appended, through the same delivery as push.
    assert!(approved["push"]["sent"].as_u64().is_some_and(|n| n > 0), "{approved}");

    // rollback: a dry run, then for real (with its push in the same object).
    let dry = json_run(&env, &["rollback", "--to", "2", "--dry-run"], 0);
    assert_eq!((&dry["dry_run"], &dry["push"]), (&json!(true), &Value::Null));
    let rolled = json_run(&env, &["rollback", "--to", "2"], 0);
    assert_eq!(rolled["push"]["failed"], json!([]), "{rolled}");

    // The read commands.
    let snapshots = json_run(&env, &["snapshots"], 0);
    assert_eq!(snapshots.as_array().map(Vec::len), Some(4), "{snapshots}");
    assert!(json_run(&env, &["events"], 0).is_array());
    let history = json_run(&env, &["history", "E1020"], 0);
    assert_eq!(history["key"], "E1020");
    let shown = json_run(&env, &["show", "E1002"], 0);
    // A team list is an array of names, commas in a name kept.
    assert_eq!(
        shown["record"]["secondaryTeams"],
        json!(["Research, Development"]),
        "{shown}"
    );
    assert_eq!(json_run(&env, &["verify"], 0)["ok"], true);
    let backup = json_run(&env, &["backup", "copy.redb"], 0);
    assert_eq!(backup["snapshots"], 4, "{backup}");
    let exported = json_run(&env, &["export-snapshot", "1", "day1.csv"], 0);
    assert_eq!(
        exported["bytes"],
        std::fs::metadata(example("day1.csv")).expect("day1").len()
    );
    assert_eq!(json_run(&env, &["retry", "--failed"], 0)["retried"], json!([]));
    let drift = json_run(&env, &["reconcile"], 0);
    assert!(drift.is_object(), "{drift}");
    let check = json_run(&env, &["check"], 0);
    assert_eq!(check["ok"], true, "{check}");

    // Errors: JSON on stderr, exit 1.
    let missing = json_error(&env, &["show", "NOBODY"]);
    assert!(
        missing["error"].as_str().is_some_and(|e| e.contains("NOBODY")),
        "{missing}"
    );
    let unreadable = json_error(&env, &["import", "no-such-file.csv"]);
    assert!(
        !unreadable["causes"].as_array().is_some_and(Vec::is_empty),
        "{unreadable}"
    );

    // The demo: one object for the three days.
    let demo = json_run(&fresh, &["demo"], 0);
    assert_eq!(demo["days"].as_array().map(Vec::len), Some(3), "{demo}");
}

/// `text` with the number after each `prefix` replaced by `[id]`.
fn hide_numbers_after(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let (before, after) = rest.split_at(at + prefix.len());
        out.push_str(before);
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str("[id]");
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Output with what differs from run to run or machine to machine
/// replaced: the test's folder, the sandbox's port, timings, and the ids
/// the sandbox gave people (in the order concurrent requests reached it).
fn normalise_text(text: &str, env: &TestEnv, sandbox: &TestSandbox) -> String {
    let text = text
        .replace(&env.path().display().to_string(), "[DIR]")
        .replace(&sandbox.sandbox.url().to_string(), "[SANDBOX]");
    let text = hide_numbers_after(&hide_numbers_after(&text, "/v1/users/"), "Learn Amp id ");
    // Table columns are aligned to the widest cell, a path among them:
    // runs of spaces become two, so the snapshot does not depend on it.
    text.lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            // The push table: its elapsed time and rate vary, and its
            // alignment with them.
            if words.first() == Some(&"events") && words.last() == Some(&"requests/s") {
                words.join(" ")
            } else if words.len() == 9 && words[7] == "s" {
                let mut words = words;
                words[6] = "[secs]";
                words[8] = "[rate]";
                words.join(" ")
            } else {
                collapse_spaces(line)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `line` with every run of two or more spaces made two.
fn collapse_spaces(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut spaces = 0;
    for c in line.chars() {
        if c == ' ' {
            spaces += 1;
            continue;
        }
        out.push_str(if spaces >= 2 {
            "  "
        } else if spaces == 1 {
            " "
        } else {
            ""
        });
        spaces = 0;
        out.push(c);
    }
    out.trim_end().to_owned()
}

fn normalise_json(value: &mut Value, env: &TestEnv, sandbox: &TestSandbox) {
    match value {
        Value::String(s) => *s = normalise_text(s, env, sandbox),
        Value::Array(items) => items.iter_mut().for_each(|v| normalise_json(v, env, sandbox)),
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "elapsed_ms" {
                    *v = json!("[timing]");
                } else if key == "remote_id" && !v.is_null() {
                    *v = json!("[id]");
                } else {
                    normalise_json(v, env, sandbox);
                }
            }
        }
        _ => {}
    }
}

/// The table and the JSON of `args`, each with its exit status, as insta
/// snapshots named `name` and `name.json`.
fn snapshot(env: &TestEnv, sandbox: &TestSandbox, name: &str, args: &[&str]) {
    let table: Run = env.run(args);
    let text = normalise_text(&table.stdout, env, sandbox);
    insta::assert_snapshot!(
        name,
        format!("$ ampsync {}\nexit {}\n{text}", args.join(" "), table.code)
    );
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = env.run(&all);
    let mut value: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("`{}` stdout is not JSON ({e}):\n{}", args.join(" "), run.stdout));
    normalise_json(&mut value, env, sandbox);
    insta::assert_json_snapshot!(format!("{name}.json"), json!({"exit": run.code, "stdout": value}));
}

#[test]
fn example_days_output_is_pinned() {
    // Two sandboxes, so that `sync` runs once in each format on the same day.
    for format in ["table", "json"] {
        let sandbox = TestSandbox::with_example_teams();
        let mut env = TestEnv::new();
        let drop = with_drop_folder(&sandbox, &mut env, "");
        env.now = "2026-11-24T06:30:00Z".into();
        place(&drop, "users_1.csv", &example("day1.csv"), &env.now);
        let run = env.run(&["sync", "--format", format]);
        let name = if format == "json" { "sync.json" } else { "sync" };
        if format == "json" {
            let mut value: Value = serde_json::from_str(&run.stdout).expect("sync JSON");
            normalise_json(&mut value, &env, &sandbox);
            insta::assert_json_snapshot!(name, json!({"exit": run.code, "stdout": value}));
            continue;
        }
        let text = normalise_text(&run.stdout, &env, &sandbox);
        insta::assert_snapshot!(name, format!("$ ampsync sync\nexit {}\n{text}", run.code));

        for (now, day) in [
            ("2026-11-25T06:30:00Z", "day2.csv"),
            ("2026-11-26T06:30:00Z", "day3.csv"),
        ] {
            env.now = now.into();
            // A copy in the test's folder: the source a snapshot names is then [DIR]/….
            let file = env.write(day, std::fs::read(example(day)).expect("example day"));
            env.run(&["import", file.to_str().expect("path")]).expect_code(0);
        }
        snapshot(&env, &sandbox, "plan", &["plan"]);
        env.run(&["push"]).expect_code(0);
        snapshot(&env, &sandbox, "snapshots", &["snapshots"]);
        snapshot(&env, &sandbox, "events_snapshot_2", &["events", "--snapshot", "2"]);
        snapshot(&env, &sandbox, "history_E1020", &["history", "E1020"]);
        snapshot(&env, &sandbox, "show_E1014", &["show", "E1014"]);
    }
}
