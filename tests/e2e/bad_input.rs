//! The bad-input corpus: every file is refused with a message that names
//! the file, the line and the column, exit status 1, and the store exactly
//! as it was, byte for byte.


use crate::common::sandbox::TestSandbox;
use crate::common::{TestEnv, example, repo};

/// `(file, what stderr must say)`.
const CASES: &[(&str, &[&str])] = &[
    ("empty.csv", &["empty.csv: the file is empty (no header line)"]),
    (
        "header_only.csv",
        &["header_only.csv: the file has a header (line 1) but no rows"],
    ),
    (
        "missing_email_column.csv",
        &["missing_email_column.csv, line 1: no Email column; the header has: \"Employee ID\""],
    ),
    (
        "ragged_row.csv",
        &[
            "1 invalid row(s); nothing was imported",
            "line 4: 10 fields where the header has 12",
        ],
    ),
    (
        "invalid_utf8.csv",
        &[
            "line 3, column \"Last name\": not valid UTF-8 (byte 0xE9",
            "set csv.encoding = \"windows-1252\"",
        ],
    ),
    (
        "duplicate_key.csv",
        &["line 5, column \"Employee ID\": duplicate key \"E1007\" (also on line 3)"],
    ),
    (
        "duplicate_email.csv",
        &["line 4, column \"Email\": duplicate email \"ann.lee@northwind.example\" (also on line 2)"],
    ),
    (
        "bad_email.csv",
        &["line 3, column \"Email\": \"not-an-email\" is not an email address"],
    ),
    (
        "unknown_role.csv",
        &["line 4, column \"Role\": unknown role \"superuser\""],
    ),
    (
        "semicolon.csv",
        &[
            "semicolon.csv, line 1: no Email (or Employee ID) column",
            "set csv.delimiter = \";\"",
        ],
    ),
    (
        "huge_field.csv",
        &[
            "huge_field.csv, line 2, column \"Job title\": the line is longer than 1024 KiB (a field holds at most 4096 bytes); nothing was imported",
        ],
    ),
    (
        "binary_garbage.csv",
        &["binary_garbage.csv, line 1, column 1: the header is not valid UTF-8"],
    ),
    (
        "empty_required.csv",
        &["line 3, column \"First name\": firstName is empty"],
    ),
    (
        "unterminated_quote.csv",
        &["line 3, column \"Job title\": 5 fields where the header has 12: a quote opened on line 3 is never closed"],
    ),
    (
        "utf16.csv",
        &[
            "utf16.csv: the file is UTF-16 text",
            "save it from Excel as \"CSV UTF-8\"",
        ],
    ),
    (
        "encrypted.csv",
        &[
            "encrypted.csv: the file is a PGP-encrypted message, not CSV: decrypt it first",
            "ampsync sync",
        ],
    ),
    (
        "control_character.csv",
        &["line 4, column \"Job title\": contains the control character U+0000 (character 3 of the value)"],
    ),
];

#[test]
fn every_bad_file_is_refused_with_its_position_and_the_store_is_untouched() {
    let mut env = TestEnv::new();
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    let before = std::fs::read(env.store_path()).expect("read store");
    let events_before = env.json(&["events"]);

    let corpus = repo().join("tests/data/bad");
    let files = std::fs::read_dir(&corpus).expect("corpus").filter(|e| {
        e.as_ref()
            .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "csv"))
    });
    assert_eq!(files.count(), CASES.len(), "every corpus file has a case");

    for (file, expected) in CASES {
        let path = corpus.join(file);
        let run = env.run(&["import", path.to_str().expect("path")]);
        assert_eq!(run.code, 1, "{file}: exit status; stderr: {}", run.stderr);
        for want in *expected {
            assert!(
                run.stderr.contains(want),
                "{file}: stderr lacks {want:?}:\n{}",
                run.stderr
            );
        }
        assert!(run.stderr.starts_with("error: "), "{file}: {}", run.stderr);
        assert_eq!(
            std::fs::read(env.store_path()).expect("read store"),
            before,
            "{file} changed the store file"
        );
    }
    assert_eq!(env.json(&["events"]), events_before);
}

/// Regression (issue 11, break 12): a quote never closed made the rest of a
/// 1 GB file one record in memory (2 GB peak), and the message ("2 fields
/// where the header has 4") did not mention the quote.
#[test]
fn an_unclosed_quote_stops_at_the_record_cap_and_names_its_line() {
    let env = TestEnv::new();
    let mut text = String::from("Employee ID,First name,Last name,Email,Job title\n");
    text.push_str("E1,Ann,Lee,ann@acme.example,Dev\nE2,Bo,Chan,bo@acme.example,Ops\n");
    text.push_str("E3,Cy,Diaz,cy@acme.example,\"Head of Sales, EMEA\n");
    for i in 4..40_000 {
        text.push_str(&format!("E{i},Name,Surname,person{i}@acme.example,Engineer\n"));
    }
    assert!(text.len() > 2 << 20, "well past the cap");
    let path = env.write("big.csv", text);
    let run = env.run(&["import", path.to_str().expect("path")]).expect_code(1);
    assert_eq!(
        run.stderr.trim_end(),
        "error: big.csv, line 4, column \"Job title\": a quote opened here is never closed: the record runs on past 1024 KiB; nothing was imported"
    );
    assert!(!env.store_path().exists() || env.json(&["snapshots"]) == serde_json::json!([]));
}

/// Regression (issue 11, break 10): a file with old-Mac line ends (CR
/// only) read as a header and no rows.
#[test]
fn a_file_with_cr_line_ends_is_read_with_its_line_numbers() {
    let env = TestEnv::new();
    let path = env.write(
        "mac.csv",
        "Employee ID,First name,Last name,Email\rE1,Ann,Lee,ann@acme.example\rE2,Bo,,bo@acme.example\r",
    );
    let run = env.run(&["import", path.to_str().expect("path")]).expect_code(1);
    assert!(
        run.stderr.contains("mac.csv: 1 invalid row(s)")
            && run.stderr.contains("line 3, column \"Last name\": lastName is empty"),
        "{}",
        run.stderr
    );
    let fixed = env.write(
        "mac2.csv",
        "Employee ID,First name,Last name,Email\rE1,Ann,Lee,ann@acme.example\rE2,Bo,Chan,bo@acme.example\r",
    );
    let report = env.json(&["import", fixed.to_str().expect("path")]);
    assert_eq!(
        (&report["rows"], &report["created"]),
        (&serde_json::json!(2), &serde_json::json!(2))
    );
}

#[test]
fn row_errors_are_all_listed_then_capped() {
    let env = TestEnv::new();
    let mut text = String::from("Employee ID,First name,Last name,Email\n");
    for i in 0..30 {
        text.push_str(&format!("E{i},A,B,bad{i}\n"));
    }
    let path = env.write("many.csv", text);
    let run = env.run(&["import", path.to_str().expect("path")]).expect_code(1);
    assert!(run.stderr.contains("many.csv: 30 invalid row(s)"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("line 2, column \"Email\": \"bad0\" is not an email address"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("line 21, column \"Email\""), "{}", run.stderr);
    assert!(!run.stderr.contains("line 22, column"), "{}", run.stderr);
    assert!(run.stderr.contains("… and 10 more"), "{}", run.stderr);
}

#[test]
fn a_file_that_is_not_a_store_is_refused() {
    let env = TestEnv::new();
    std::fs::write(env.store_path(), b"name,email\nthis is a csv, not a store\n").expect("write");
    let run = env.run(&["snapshots"]).expect_code(1);
    assert!(
        run.stderr.contains("ampsync.redb is not an ampsync store"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_config_error_names_the_setting() {
    let env = TestEnv::with_config("[csv]\ndelimiter = \"||\"\n");
    let run = env.run(&["snapshots"]).expect_code(1);
    assert!(run.stderr.contains("invalid setting `csv.delimiter`"), "{}", run.stderr);
    let env = TestEnv::with_config("[learnamp]\nclient_secret = \"hunter2\"\n");
    let run = env.run(&["snapshots"]).expect_code(1);
    assert!(run.stderr.contains("unknown field `client_secret`"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("hunter2"),
        "a secret put in the config is never echoed: {}",
        run.stderr
    );
}

/// Regression (issue 11, break 10): a file `sync` refused for its rows was
/// recorded as "1 invalid row(s)" with `file: null`: no line, column or
/// reason in the run log or the output.
#[test]
fn a_file_sync_refuses_is_named_with_its_rows_in_the_run_log() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    let drop = env.path().join("drop");
    std::fs::create_dir_all(&drop).expect("drop folder");
    sandbox.configure(
        &mut env,
        &format!(
            "[source]\nkind = \"dir\"\nremote_dir = \"{}\"\npattern = \"users_*.csv\"\nsettle_seconds = 0\n",
            drop.display()
        ),
    );
    let file = drop.join("users_1.csv");
    std::fs::write(
        &file,
        "Employee ID,First name,Last name,Email\nE1,Ann,Lee,ann@acme.example\nE2,Bo,Chan,not-an-email\n",
    )
    .expect("write");
    let run = env.run(&["sync"]).expect_code(1);
    let message = format!(
        "error: {}: 1 invalid row(s); nothing was imported (policy.on_invalid_row = \"reject_file\"): line 3, column \"Email\": \"not-an-email\" is not an email address",
        "users_1.csv"
    );
    assert!(run.stdout.contains(&message), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("\n  line 3, column \"Email\": \"not-an-email\" is not an email address\n"),
        "{}",
        run.stdout
    );
    let log = std::fs::read_to_string(env.path().join("runs.jsonl")).expect("run log");
    let record: serde_json::Value = serde_json::from_str(log.lines().last().expect("a record")).expect("json");
    assert_eq!(
        (&record["outcome"], &record["file"], &record["row_errors"]),
        (
            &serde_json::json!("failed"),
            &serde_json::json!(file.display().to_string()),
            &serde_json::json!([{"line": 3, "column": "Email", "message": "\"not-an-email\" is not an email address"}])
        )
    );
    assert!(
        record["error"]
            .as_str()
            .is_some_and(|e| e.ends_with("line 3, column \"Email\": \"not-an-email\" is not an email address")),
        "{record}"
    );
}
