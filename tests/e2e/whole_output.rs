//! Every command's whole output, pinned: on the example days with the
//! clock pinned, each command's table output and its `--format json`
//! output are insta snapshots holding the exit status, stdout and stderr.
//! Each JSON run is also checked as it is made: stdout parses as JSON (JSON
//! lines for the daemon, the sandbox and the console), lists are arrays and
//! not strings, and an error is one JSON object on stderr with the exit
//! status a table run has.
//!
//! What differs from run to run or machine to machine is replaced by insta
//! filters: the test's folder, ports, timings, generated keys and tokens,
//! and the ids the sandbox gave people (in the order concurrent requests
//! reached it).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, SystemTime};

use crate::common::sandbox::{EXAMPLE_TEAMS, TestSandbox};
use crate::common::{Run, TestEnv, example};
use ampsync_sandbox::{SandboxOptions, TeamSeed};
use serde_json::Value;

/// The two outputs every command has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Json,
}

impl Format {
    /// The snapshot's name for this format: `name` or `name.json`.
    fn name(self, name: &str) -> String {
        match self {
            Format::Table => name.to_owned(),
            Format::Json => format!("{name}.json"),
        }
    }

    /// `args` with `--format json` added for JSON.
    fn args<'a>(self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        if self == Format::Json {
            all.extend(["--format", "json"]);
        }
        all
    }
}

/// The filters for what varies between runs: ports, timings, the ids the
/// sandbox gives, generated keys and tokens, log timestamps.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    for (pattern, replacement) in [
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"Learn Amp id \d+", "Learn Amp id [id]"),
        (r"/v1/users/\d+", "/v1/users/[id]"),
        (r#""remote_id": \d+"#, r#""remote_id": "[id]""#),
        (r#""elapsed_ms": \d+"#, r#""elapsed_ms": "[ms]""#),
        // The push table's elapsed time and rate (the last two columns).
        (r"\d+\.\d+ s +\d+(\.\d+)?\n", "[secs]   [rate]\n"),
        // An import's time: `… in 0.05 s`.
        (r" in \d+\.\d+ s\n", " in [secs]\n"),
        (r"SHA256:[A-Za-z0-9+/]{43}", "SHA256:[fingerprint]"),
        (r"\b[0-9A-F]{40}\b", "[fingerprint]"),
        (r"ssh-ed25519 AAAA[A-Za-z0-9+/=]+", "ssh-ed25519 [public key]"),
        (r"token=[0-9A-Za-z_-]+", "token=[token]"),
        (r"ampsync-demo-\d+", "ampsync-demo-[pid]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ", "[log time] "),
    ] {
        s.add_filter(pattern, replacement);
    }
    s
}

/// A command line as a shell takes it: arguments with spaces quoted.
fn command_line(args: &[&str]) -> String {
    let quoted: Vec<String> = args
        .iter()
        .map(|a| {
            if a.contains(' ') {
                format!("{a:?}")
            } else {
                (*a).to_owned()
            }
        })
        .collect();
    format!("ampsync {}", quoted.join(" "))
}

/// stderr as a snapshot shows it: log lines (each starting with its time)
/// sorted, since concurrent requests log in the order they end.
fn stderr_lines(stderr: &str) -> String {
    let mut lines: Vec<&str> = stderr.lines().collect();
    if lines.iter().all(|l| l.starts_with(|c: char| c.is_ascii_digit())) {
        // Sorted by what follows the time: the times differ run to run.
        lines.sort_by_key(|l| l.split_once(' ').map_or(*l, |(_, rest)| rest));
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// A command's whole output as a snapshot shows it.
fn block(args: &[&str], run: &Run, dir: &Path) -> String {
    let text = format!(
        "$ {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        command_line(args),
        run.code,
        run.stdout,
        stderr_lines(&run.stderr)
    );
    text.replace(&dir.display().to_string(), "[DIR]")
}

/// Panics unless `value` has no list written as a string: no escaped
/// separator (`Sales, Tech\, London`) and no JSON inside a string.
fn assert_no_lists_in_strings(value: &Value, context: &str) {
    match value {
        Value::String(s) => {
            assert!(!s.contains("\\,"), "{context}: a list as an escaped string: {s:?}");
            let nested = serde_json::from_str::<Value>(s).is_ok_and(|v| v.is_array() || v.is_object());
            assert!(!nested, "{context}: JSON inside a string: {s:?}");
        }
        Value::Array(items) => items.iter().for_each(|v| assert_no_lists_in_strings(v, context)),
        Value::Object(map) => map.values().for_each(|v| assert_no_lists_in_strings(v, context)),
        _ => {}
    }
}

/// Checks a `--format json` run: stdout is one JSON value (or nothing,
/// for an error), and a failure (exit 1 or 2) is one JSON object on
/// stderr with the error and its causes. Returns stdout's value.
fn check_json(args: &[&str], run: &Run) -> Option<Value> {
    let context = format!("`ampsync {}`", args.join(" "));
    let value = (!run.stdout.is_empty()).then(|| {
        let value: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{context} stdout is not JSON ({e}):\n{}", run.stdout));
        assert_no_lists_in_strings(&value, &context);
        value
    });
    if matches!(run.code, 1 | 2) && value.is_none() {
        let error: Value = serde_json::from_str(&run.stderr)
            .unwrap_or_else(|e| panic!("{context} stderr is not JSON ({e}):\n{}", run.stderr));
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{context}: {error}"
        );
        assert!(error["causes"].is_array(), "{context}: {error}");
    }
    value
}

/// One world (a folder, a store, a sandbox) driven in one format, each
/// command's output pinned as it goes.
struct Story {
    env: TestEnv,
    format: Format,
    settings: insta::Settings,
}

impl Story {
    fn new(env: TestEnv, format: Format) -> Story {
        Story {
            env,
            format,
            settings: settings(),
        }
    }

    /// Runs `ampsync ARGS` in this story's format, checks its JSON, pins
    /// its whole output as snapshot `name`, and asserts its exit status.
    fn pin(&self, name: &str, args: &[&str], code: i32) -> Option<Value> {
        let all = self.format.args(args);
        let run = self.env.run(&all);
        let value = match self.format {
            Format::Json => check_json(args, &run),
            Format::Table => None,
        };
        let text = block(&all, &run, self.env.path());
        self.settings
            .bind(|| insta::assert_snapshot!(self.format.name(name), text));
        assert_eq!(run.code, code, "`{}`: {run:?}", all.join(" "));
        value
    }

    /// The same, stdout expected to be a JSON array (a list).
    fn pin_list(&self, name: &str, args: &[&str]) {
        if let Some(value) = self.pin(name, args, 0) {
            assert!(value.is_array(), "`{}` is a list: {value}", args.join(" "));
        }
    }
}

/// Copies `from` into `dir` as `name`, last written an hour before the
/// pinned `now`: settled.
fn place(dir: &Path, name: &str, from: &Path, now: &str) {
    let path = dir.join(name);
    std::fs::copy(from, &path).expect("copy");
    let now = chrono::DateTime::parse_from_rfc3339(now).expect("time");
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(now.timestamp() as u64 - 3600);
    let file = std::fs::File::options().write(true).open(&path).expect("open");
    file.set_modified(mtime).expect("set mtime");
}

/// A config pushing to `sandbox`, reading `users_*.csv` from `drop/`
/// beside it (named relatively, so outputs name `drop/users_1.csv`).
fn configure(sandbox: &TestSandbox, env: &mut TestEnv, extra: &str) {
    std::fs::create_dir_all(env.path().join("drop")).expect("drop folder");
    sandbox.configure(
        env,
        &format!(
            "max_requests_per_second = 500\n[source]\nkind = \"dir\"\nremote_dir = \"drop\"\npattern = \"users_*.csv\"\nsettle_seconds = 30\n{extra}"
        ),
    );
}

/// The example days in one format, command by command: sync, import,
/// plan, push, a held import rejected and then approved, rollback (a dry
/// run, then real), every read command, reimport, reconcile, export,
/// verify, backup, retry and forget.
fn example_days(format: Format) {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    configure(&sandbox, &mut env, "");
    for day in ["day1.csv", "day2.csv", "day3.csv"] {
        std::fs::copy(example(day), env.path().join(day)).expect("example day");
    }
    let text = std::fs::read_to_string(example("day1.csv")).expect("day1");
    let cut: Vec<&str> = text.lines().take(18).collect();
    env.write("cut.csv", cut.join("\n") + "\n");
    let mut story = Story::new(env, format);

    // Day 1: a look at the file, then import and push. (Files are named
    // relatively here, so that no table has a column as wide as the
    // test's folder; `sync`, which names them by the folder, is below.)
    story.env.now = "2026-11-24T06:30:00Z".into();
    story.pin("preview_day1", &["preview", "day1.csv", "--rows", "3"], 0);
    story.pin("import_day1", &["import", "day1.csv"], 0);
    story.pin("push_day1", &["push"], 0);

    // Day 2 by hand: import (twice), plan, push.
    story.env.now = "2026-11-25T06:30:00Z".into();
    story.pin("import_day2", &["import", "day2.csv"], 0);
    story.pin("import_day2_again", &["import", "day2.csv"], 0);
    story.pin("plan_day2", &["plan"], 0);
    story.pin("push_day2", &["push"], 0);
    story.pin("push_nothing", &["push"], 0);

    story.env.now = "2026-11-26T06:30:00Z".into();
    story.pin("import_day3", &["import", "day3.csv"], 0);
    story.pin("push_day3", &["push"], 0);

    // A truncated file is held (exit 3); its would-be events; rejected.
    story.env.now = "2026-11-27T06:30:00Z".into();
    story.pin("import_truncated_held", &["import", "cut.csv"], 3);
    story.pin_list("events_held_4", &["events", "--snapshot", "4"]);
    story.pin("reject_4", &["reject", "4", "--by", "Ann Lee"], 0);
    story.pin("reject_4_again", &["reject", "4"], 1);

    // Held again the next day, and approved (which pushes).
    story.env.now = "2026-11-28T06:30:00Z".into();
    story.pin("import_truncated_held_again", &["import", "cut.csv"], 3);
    story.pin("approve_5", &["approve", "5", "--by", "Ann Lee"], 0);

    // Rollback to day 3: a dry run, then for real (with its push).
    story.env.now = "2026-11-28T09:00:00Z".into();
    story.pin("rollback_dry_run", &["rollback", "--to", "3", "--dry-run"], 0);
    story.pin("rollback", &["rollback", "--to", "3"], 0);

    // The read commands.
    story.pin_list("snapshots", &["snapshots"]);
    story.pin_list("events_snapshot_2", &["events", "--snapshot", "2"]);
    let (since, until) = ("2026-11-25T00:00:00Z", "2026-11-27T00:00:00Z");
    story.pin_list(
        "events_deactivated",
        &["events", "--kind", "deactivated", "--since", since, "--until", until],
    );
    story.pin_list(
        "events_field_jobTitle",
        &["events", "--field", "jobTitle", "--since", since],
    );
    story.pin("history_E1014", &["history", "E1014"], 0);
    story.pin("history_E1020", &["history", "E1020"], 0);
    story.pin("show_E1002", &["show", "E1002"], 0);
    story.pin("show_E1014", &["show", "E1014"], 0);
    story.pin(
        "show_E1014_as_of",
        &["show", "E1014", "--as-of", "2026-11-25T12:00:00Z"],
        0,
    );
    story.pin("show_E1014_snapshot_1", &["show", "E1014", "--snapshot", "1"], 0);
    story.pin("plan_nothing", &["plan"], 0);

    // Maintenance.
    story.pin("reimport_1", &["reimport", "1"], 0);
    story.pin("reconcile", &["reconcile"], 0);
    story.pin("retry_failed", &["retry", "--failed"], 0);
    story.pin("retry_delivered", &["retry", "3"], 1);
    story.pin("export_snapshot_1", &["export-snapshot", "1", "copy.csv"], 0);
    assert_eq!(
        std::fs::read(story.env.path().join("copy.csv")).expect("copy"),
        std::fs::read(example("day1.csv")).expect("day1"),
        "the exact bytes"
    );
    story.pin("verify", &["verify"], 0);
    story.pin("backup", &["backup", "backup.redb"], 0);
    story.pin("verify_backup", &["verify", "--store", "backup.redb"], 0);

    // Forget: refused for an active person, done for a leaver.
    story.env.now = "2026-11-28T10:00:00Z".into();
    story.pin("forget_active", &["forget", "E1001", "--reason", "asked"], 1);
    story.pin(
        "forget_E1039",
        &["forget", "E1039", "--reason", "GDPR article 17", "--by", "Ann Lee"],
        0,
    );
    story.pin("history_E1039_forgotten", &["history", "E1039"], 0);
    story.pin("verify_after_forget", &["verify"], 0);
}

/// `sync`, the scheduled job: nothing in the folder yet, day 1 arrives,
/// then day 2.
fn sync(format: Format) {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    configure(&sandbox, &mut env, "");
    let drop = env.path().join("drop");
    let mut story = Story::new(env, format);
    story.pin("sync_no_file", &["sync"], 0);
    place(&drop, "users_1.csv", &example("day1.csv"), &story.env.now);
    story.pin("sync_day1", &["sync"], 0);
    story.pin("sync_day1_again", &["sync"], 0);
    story.env.now = "2026-11-25T06:30:00Z".into();
    place(&drop, "users_2.csv", &example("day2.csv"), &story.env.now);
    story.pin("sync_day2", &["sync"], 0);
    assert_eq!(sandbox.users().len(), 52);
}

#[test]
fn sync_output_is_pinned() {
    sync(Format::Table);
    sync(Format::Json);
}

/// Events Learn Amp refuses: push fails (exit 1), plan lists them, and
/// once the cause is fixed (the HR-role package bought), `retry --failed`
/// and push send them.
fn refused(format: Format) {
    let sandbox = TestSandbox::start(SandboxOptions {
        teams: EXAMPLE_TEAMS.iter().map(|t| TeamSeed::from(*t)).collect(),
        hr_package: false,
        ..SandboxOptions::default()
    });
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 500");
    env.write("day1.csv", std::fs::read(example("day1.csv")).expect("day1"));
    env.run(&["import", "day1.csv"]).expect_code(0);
    let story = Story::new(env, format);
    story.pin("push_refused", &["push"], 1);
    story.pin("plan_refused", &["plan"], 0);
    sandbox.sandbox.set_hr_package(true);
    story.pin("retry_refused", &["retry", "--failed"], 0);
    story.pin("push_after_retry", &["push"], 0);
    assert_eq!(sandbox.users().len(), 50);
}

#[test]
fn refused_events_output_is_pinned() {
    refused(Format::Table);
    refused(Format::Json);
}

#[test]
fn example_days_table_output_is_pinned() {
    example_days(Format::Table);
}

#[test]
fn example_days_json_output_is_pinned() {
    example_days(Format::Json);
}

/// init (plain and `--from`), keygen, check: the setup commands.
fn setup(format: Format) {
    let env = TestEnv::new();
    std::fs::remove_file(env.path().join("ampsync.toml")).expect("remove config");
    let mut story = Story::new(env, format);
    story.pin("init", &["init"], 0);
    let written = std::fs::read_to_string(story.env.path().join("ampsync.toml")).expect("config");
    if format == Format::Table {
        // The config `init` writes: its [alerts] and [console] sections among it.
        insta::assert_snapshot!("init_ampsync_toml", written);
    }
    story.pin("init_again", &["init"], 1);
    story.pin("keygen_ssh", &["keygen", "ssh", "--out", "keys/id_ed25519"], 0);
    story.pin("keygen_pgp", &["keygen", "pgp", "--dir", "keys"], 0);
    story.pin("keygen_ssh_exists", &["keygen", "ssh", "--out", "keys/id_ed25519"], 1);
    std::fs::copy(example("day1.csv"), story.env.path().join("day1.csv")).expect("day1");
    story.pin("init_from_day1", &["init", "--force", "--from", "day1.csv"], 0);
    story.pin(
        "preview_day1_after_init_from",
        &["preview", "day1.csv", "--rows", "2"],
        0,
    );

    let sandbox = TestSandbox::with_example_teams();
    configure(&sandbox, &mut story.env, "");
    story.pin("check", &["check"], 0);

    // The test alert, to a webhook that refuses it (the sandbox has no such
    // page): check fails, and the URL (a secret) appears nowhere.
    configure(
        &sandbox,
        &mut story.env,
        "[alerts]\nwebhook_url_env = \"AMPSYNC_WEBHOOK_URL\"\nformat = \"json\"\n",
    );
    let hook = format!("{}/hooks/s3cr3t-part", sandbox.sandbox.url());
    story.env.env.push(("AMPSYNC_WEBHOOK_URL".into(), hook));
    story.pin("check_alert_refused", &["check"], 1);
    let run = story.env.run(&format.args(&["check"]));
    assert!(
        !(run.stdout.contains("s3cr3t") || run.stderr.contains("s3cr3t")),
        "the webhook URL is a secret: {run:?}"
    );
}

#[test]
fn setup_commands_output_is_pinned() {
    setup(Format::Table);
    setup(Format::Json);
}

/// Errors keep their exit status and, with `--format json`, are one JSON
/// object on stderr: a missing or bad config, a config key that does not
/// exist, a missing store, a missing file, an unknown person, a usage
/// error, and a late export (exit 4).
fn errors(format: Format) {
    let sandbox = TestSandbox::with_example_teams();

    let story = Story::new(TestEnv::new(), format);
    story.pin("error_no_store", &["snapshots"], 1);
    story.pin("error_missing_file", &["import", "no-such-file.csv"], 1);
    story
        .env
        .write("day1.csv", std::fs::read(example("day1.csv")).expect("day1"));
    story.env.run(&["import", "day1.csv"]).expect_code(0);
    story.pin("error_unknown_person", &["show", "NOBODY"], 1);
    story.pin("error_unknown_snapshot", &["export-snapshot", "9", "x.csv"], 1);
    story.pin("error_usage_missing_argument", &["show"], 2);
    story.pin("error_usage_unknown_command", &["bogus"], 2);

    story.env.write(
        "ampsync.toml",
        "[store]\npath = \"ampsync.redb\"\n[csv]\nkee = \"Employee ID\"\n",
    );
    story.pin("error_unknown_config_key", &["snapshots"], 1);
    story.env.write("ampsync.toml", "[store\npath = \"ampsync.redb\"\n");
    story.pin("error_bad_config", &["snapshots"], 1);
    std::fs::remove_file(story.env.path().join("ampsync.toml")).expect("remove config");
    story.pin("error_no_config", &["snapshots"], 1);

    // No new file by schedule.expect_file_by: exit 4.
    let mut story = Story::new(TestEnv::new(), format);
    configure(
        &sandbox,
        &mut story.env,
        "[schedule]\ncron = \"0 30 6 * * *\"\ntimezone = \"UTC\"\nexpect_file_by = \"06:00\"\n",
    );
    story.pin("sync_missing_file", &["sync"], 4);
}

#[test]
fn errors_output_is_pinned() {
    errors(Format::Table);
    errors(Format::Json);
}

/// The demo: the three example days against its own sandbox.
#[test]
fn demo_output_is_pinned() {
    for format in [Format::Table, Format::Json] {
        let mut env = TestEnv::new();
        std::fs::remove_file(env.path().join("ampsync.toml")).expect("remove config");
        // The demo keeps its store in the temporary folder: this test's.
        env.env.push(("TMPDIR".into(), env.path().display().to_string()));
        // Unpinned, the demo pins its own three days (a pinned clock wins).
        env.env.push(("AMPSYNC_NOW".into(), String::new()));
        Story::new(env, format).pin("demo", &["demo"], 0);
    }
}

/// A long-running command's stdout, read as it comes.
struct Server {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    stderr: std::thread::JoinHandle<String>,
}

impl Server {
    fn start(env: &TestEnv, args: &[&str]) -> Server {
        let mut child = env
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ampsync");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
            text
        });
        Server { child, lines, stderr }
    }

    /// The lines up to and including the first that contains `needle`.
    fn read_until(&mut self, needle: &str) -> Vec<String> {
        let mut read = Vec::new();
        for line in self.lines.by_ref() {
            let line = line.expect("child output");
            let done = line.contains(needle);
            read.push(line);
            if done {
                return read;
            }
        }
        panic!("the process ended before printing {needle:?}; it printed {read:#?}");
    }

    /// Sends `signal`, reads the rest, and returns it with the exit status
    /// and stderr.
    fn stop(mut self, signal: &str) -> (Vec<String>, i32, String) {
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(killed.success());
        let rest: Vec<String> = self.lines.by_ref().map(|l| l.expect("child output")).collect();
        let status = self.child.wait().expect("the process ends");
        let stderr = self.stderr.join().expect("stderr reader");
        (rest, status.code().unwrap_or(-1), stderr)
    }
}

/// Pins a long-running command's first lines (each a JSON line with
/// `--format json`) and its exit status after `signal`.
fn pin_server(env: &TestEnv, format: Format, name: &str, args: &[&str], until: &str, signal: &str) -> Vec<String> {
    let all = format.args(args);
    let mut server = Server::start(env, &all);
    let first = server.read_until(until);
    let (rest, code, stderr) = server.stop(signal);
    if format == Format::Json {
        for line in first.iter().chain(&rest) {
            let value: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("`{name}` line is not JSON ({e}): {line}"));
            assert!(value.is_object(), "{line}");
            assert_no_lists_in_strings(&value, name);
        }
    }
    let shown: Vec<String> = first
        .iter()
        .map(|line| match format {
            // A run line is long: pretty-printed, it reads.
            Format::Json => serde_json::from_str::<Value>(line)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| line.clone()),
            Format::Table => line.clone(),
        })
        .collect();
    let text = format!(
        "$ {} (then kill {signal})\nexit: {code}\n--- stdout, the first {} line(s){}\n{}\n--- stderr\n{stderr}",
        command_line(&all),
        shown.len(),
        if format == Format::Json { ", pretty-printed" } else { "" },
        shown.join("\n"),
    )
    .replace(&env.path().display().to_string(), "[DIR]");
    settings().bind(|| insta::assert_snapshot!(format.name(name), text));
    assert_eq!(code, 0, "`{name}` stops cleanly:\n{text}");
    rest
}

/// The daemon's health address and first run on a per-second schedule
/// (JSON lines with `--format json`), stopped by SIGTERM.
#[test]
fn daemon_output_is_pinned_and_its_json_is_json_lines() {
    for format in [Format::Table, Format::Json] {
        let sandbox = TestSandbox::with_example_teams();
        let mut env = TestEnv::new();
        configure(
            &sandbox,
            &mut env,
            "[schedule]\ncron = \"* * * * * *\"\ntimezone = \"UTC\"\n",
        );
        place(&env.path().join("drop"), "users_1.csv", &example("day1.csv"), &env.now);
        let until = match format {
            Format::Table => "→ imported",
            Format::Json => "\"outcome\":\"imported\"",
        };
        let args = ["daemon", "--health-addr", "127.0.0.1:0"];
        let rest = pin_server(&env, format, "daemon", &args, until, "-TERM");
        if format == Format::Table {
            assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
        }
        let snapshots = env.json(&["snapshots"]);
        assert_eq!(snapshots.as_array().map(Vec::len), Some(1), "{snapshots}");
        assert_eq!(sandbox.users().len(), 50);
    }
}

/// `serve` and `sandbox` announce where they listen, then serve until
/// Ctrl-C.
#[test]
fn serve_and_sandbox_output_is_pinned() {
    for format in [Format::Table, Format::Json] {
        let env = TestEnv::new();
        env.write("day1.csv", std::fs::read(example("day1.csv")).expect("day1"));
        env.run(&["import", "day1.csv"]).expect_code(0);
        let until = match format {
            Format::Table => "log in",
            Format::Json => "\"login\"",
        };
        pin_server(
            &env,
            format,
            "serve",
            &["serve", "--addr", "127.0.0.1:0"],
            until,
            "-INT",
        );
        let until = match format {
            Format::Table => "controls:",
            Format::Json => "\"url\"",
        };
        pin_server(&env, format, "sandbox", &["sandbox", "--port", "0"], until, "-INT");
    }
}
