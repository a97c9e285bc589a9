//! The bad-input corpus: every file is refused with a message that names
//! the file, the line and the column, exit status 1, and the store exactly
//! as it was, byte for byte.

mod common;

use common::{TestEnv, example, repo};

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
        &["line 2, column \"Job title\": the value is 10000000 bytes long; a field holds at most 4096"],
    ),
    (
        "binary_garbage.csv",
        &["binary_garbage.csv, line 1, column 1: the header is not valid UTF-8"],
    ),
    (
        "empty_required.csv",
        &["line 3, column \"First name\": firstName is empty"],
    ),
    ("unterminated_quote.csv", &["line 3: 5 fields where the header has 12"]),
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
