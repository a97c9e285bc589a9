//! The shape of a file, as real exports have it: lines before the header,
//! a delimiter other than a comma, a code page other than UTF-8, empty rows
//! under a spreadsheet's table; and messages that are plain text off a
//! terminal and said once.


use std::process::Command;

use crate::common::TestEnv;
use serde_json::{Value, json};

/// The record `ampsync show KEY` prints.
fn record(env: &TestEnv, key: &str) -> Value {
    env.json(&["show", key])["record"].clone()
}

/// Polish names as Excel saves them on a Polish Windows (windows-1250).
const POLISH: &str = "Employee ID,First name,Last name,Email,Job title\r\n\
    E1,Łukasz,Wiśniewski,lw@acme.example,Księgowy\r\n\
    E2,Małgorzata,Dąbrowska,md@acme.example,Kierownik\r\n\
    E3,Paweł,Żółkiewski,pz@acme.example,Inżynier\r\n\
    E4,Zofia,Wójcik,zw@acme.example,Analityk\r\n";

fn windows_1250(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1250.encode(text);
    assert!(!unmappable, "all of it is in windows-1250");
    bytes.into_owned()
}

/// Entra's export starts with `version:v1.0`; some tools add a title line
/// too. Both are skipped with `csv.skip_lines`, and every message still
/// names the file's own line.
#[test]
fn lines_before_the_header_are_skipped_and_line_numbers_stay_the_files() {
    let config = "[store]\npath = \"ampsync.redb\"\n\
        [csv]\nskip_lines = 2\n\
        [mapping]\nemail = \"User name [userPrincipalName] Required\"\n\
        firstName = \"First name [givenName]\"\nlastName = \"Last name [surname]\"\n\
        jobTitle = \"Job title [jobTitle]\"\n";
    let mut env = TestEnv::with_config(config);
    let header = "Name [displayName] Required,User name [userPrincipalName] Required,\
                  First name [givenName],Last name [surname],Job title [jobTitle]\n";
    let title = "Users exported from Contoso on 24/11/2026, 06:00\n";
    let bad = env.write(
        "entra_bad.csv",
        format!(
            "version:v1.0\n{title}{header}Ann Lee,ann@contoso.example,Ann,Lee,Dev\n\n\
             Bo Chan,not-an-email,Bo,Chan,Ops\n"
        ),
    );
    let run = env.run(&["import", bad.to_str().expect("utf-8 path")]).expect_code(1);
    assert!(
        run.stderr.contains("entra_bad.csv: 1 invalid row(s)")
            && run.stderr.contains(
                "line 6, column \"User name [userPrincipalName] Required\": \"not-an-email\" is not an email address"
            ),
        "{}",
        run.stderr
    );

    let good = env.write(
        "entra.csv",
        format!(
            "version:v1.0\n{title}{header}Ann Lee,ann@contoso.example,Ann,Lee,Dev\n\
             Bo Chan,bo@contoso.example,Bo,Chan,Ops\n"
        ),
    );
    let report = env.import_at("2026-11-24T06:30:00Z", &good);
    assert_eq!(
        (&report["rows"], &report["created"], &report["skipped"]),
        (&json!(2), &json!(2), &json!(0))
    );
    assert_eq!(record(&env, "ann@contoso.example")["jobTitle"], json!("Dev"));

    // Without the setting, `version:v1.0` is taken for the header.
    let env = TestEnv::new();
    let good = env.write(
        "entra.csv",
        format!("version:v1.0\n{header}Ann Lee,ann@contoso.example,Ann,Lee,Dev\n"),
    );
    let run = env.run(&["import", good.to_str().expect("utf-8 path")]).expect_code(1);
    assert!(
        run.stderr
            .contains("entra.csv, line 1: no Email (or Employee ID) column; the header has: \"version:v1.0\""),
        "{}",
        run.stderr
    );
}

/// A `;` file from a French or German Excel, with the `;;;;` rows Excel
/// leaves under a table: `delimiter = "auto"` reads it, the empty rows are
/// counted apart and never make the file invalid.
#[test]
fn a_semicolon_file_reads_with_delimiter_auto_and_its_empty_rows_are_ignored() {
    let text = "Employee ID;First name;Last name;Email;Job title\r\n\
                E1;Anne;Dubois;ad@acme.example;Responsable, ventes\r\n\
                E2;Jean;Martin;jm@acme.example;Comptable\r\n\
                ;;;;\r\n;;;;\r\n\r\n;;;;\r\n";
    let mut env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[csv]\ndelimiter = \"auto\"\n");
    let file = env.write("fr.csv", text);
    let report = env.import_at("2026-11-24T06:30:00Z", &file);
    assert_eq!(
        (
            &report["rows"],
            &report["created"],
            &report["skipped"],
            &report["empty_rows"]
        ),
        (&json!(2), &json!(2), &json!(0), &json!(4))
    );
    assert_eq!(record(&env, "E1")["jobTitle"], json!("Responsable, ventes"));
    let human = env.run(&["import", file.to_str().expect("utf-8 path")]).expect_code(0);
    assert!(human.stdout.contains("already imported"), "{}", human.stdout);

    // Under a comma, the header says what to set.
    let env = TestEnv::new();
    let file = env.write("fr.csv", text);
    let run = env.run(&["import", file.to_str().expect("utf-8 path")]).expect_code(1);
    assert!(
        run.stderr
            .contains("the header looks \";\"-separated: set csv.delimiter = \";\" (or \"auto\")"),
        "{}",
        run.stderr
    );

    // The human summary says how many empty rows were ignored.
    let env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[csv]\ndelimiter = \";\"\n");
    let file = env.write("fr.csv", text);
    let run = env.run(&["import", file.to_str().expect("utf-8 path")]).expect_code(0);
    assert!(
        run.stdout
            .contains("ignored 4 empty row(s) (blank lines, or only delimiters)"),
        "{}",
        run.stdout
    );
}

/// Polish Excel saves windows-1250. Configured so, or with `"auto"`, the
/// names come out right; under windows-1252 the import warns, naming the
/// likely code page; under UTF-8 the refusal names it too.
#[test]
fn a_windows_1250_file_reads_right_with_its_code_page_or_auto_and_is_warned_of_under_another() {
    let bytes = windows_1250(POLISH);
    for encoding in ["windows-1250", "auto", "cp1250"] {
        let mut env = TestEnv::with_config(&format!(
            "[store]\npath = \"ampsync.redb\"\n[csv]\nencoding = \"{encoding}\"\n"
        ));
        let file = env.write("pl.csv", &bytes);
        let report = env.import_at("2026-11-24T06:30:00Z", &file);
        assert_eq!(
            (&report["created"], &report["warnings"]),
            (&json!(4), &json!([])),
            "{encoding}"
        );
        let lukasz = record(&env, "E1");
        assert_eq!(
            (&lukasz["firstName"], &lukasz["lastName"], &lukasz["jobTitle"]),
            (&json!("Łukasz"), &json!("Wiśniewski"), &json!("Księgowy")),
            "{encoding}"
        );
        assert_eq!(record(&env, "E3")["lastName"], json!("Żółkiewski"), "{encoding}");
    }

    let mut env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[csv]\nencoding = \"windows-1252\"\n");
    let file = env.write("pl.csv", &bytes);
    let report = env.import_at("2026-11-24T06:30:00Z", &file);
    assert_eq!(
        report["warnings"],
        json!([
            "pl.csv: read as csv.encoding = \"windows-1252\", but the text looks like windows-1250 (\"£ukasz\" would read \"Łukasz\"): if names look garbled, set csv.encoding = \"windows-1250\" (or \"auto\")"
        ])
    );
    assert_eq!(record(&env, "E1")["firstName"], json!("£ukasz"), "read as configured");

    let env = TestEnv::new();
    let file = env.write("pl.csv", &bytes);
    let run = env.run(&["import", file.to_str().expect("utf-8 path")]).expect_code(1);
    assert!(
        run.stderr.contains(
            "line 2, column \"First name\": not valid UTF-8 (byte 0xA3 at position 1 of the value); it looks like windows-1250 text: set csv.encoding = \"windows-1250\" (or \"auto\")"
        ),
        "{}",
        run.stderr
    );

    let env = TestEnv::with_config("[csv]\nencoding = \"polish\"\n");
    let run = env.run(&["check"]);
    assert!(
        run.stderr
            .contains("invalid setting `csv.encoding`: \"polish\" is not an encoding label"),
        "{}",
        run.stderr
    );
}

/// A warning is said once: on stdout, in the summary, and not again as a
/// log line on stderr at the default level.
#[test]
fn a_warning_is_printed_once() {
    let env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[csv]\nencoding = \"windows-1252\"\n");
    let file = env.write("pl.csv", windows_1250(POLISH));
    let run = env.run(&["import", file.to_str().expect("utf-8 path")]).expect_code(0);
    assert_eq!(
        run.stdout.matches("looks like windows-1250").count(),
        1,
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr, "", "nothing logged at the default level");
}

/// `ampsync` run under a terminal (`script` gives it one), with `extra`
/// environment; what the terminal showed.
fn on_a_terminal(env: &TestEnv, args: &str, extra: &[(&str, &str)]) -> String {
    let binary = env!("CARGO_BIN_EXE_ampsync");
    let config = env.path().join("ampsync.toml");
    let line = format!("{binary} --config {} {args}", config.display());
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AMPSYNC_NOW", &env.now)
        .env("AMPSYNC_LOG", "info")
        .envs(extra.iter().copied())
        .current_dir(env.path())
        .output()
        .expect("run script");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Log lines are coloured on a terminal only, and not with `NO_COLOR`.
#[test]
fn no_colour_codes_off_a_terminal_or_with_no_color() {
    let mut env = TestEnv::new();
    env.env.push(("AMPSYNC_LOG".into(), "info".into()));
    let file = env.write("d.csv", "Email,First name,Last name\na@x.io,Ann,Lee\n");
    let piped = env.run(&["import", file.to_str().expect("utf-8 path")]).expect_code(0);
    assert!(
        piped.stderr.contains("INFO imported"),
        "logged at info: {}",
        piped.stderr
    );
    assert!(
        !piped.stderr.contains('\u{1b}') && !piped.stdout.contains('\u{1b}'),
        "{piped:?}"
    );

    // Importing a known file again logs that it was (at info).
    let args = format!("import {}", file.display());
    let coloured = on_a_terminal(&env, &args, &[]);
    assert!(
        coloured.contains("was already imported") && coloured.contains("\u{1b}["),
        "{coloured:?}"
    );
    let plain = on_a_terminal(&env, &args, &[("NO_COLOR", "1")]);
    assert!(
        plain.contains("was already imported") && !plain.contains('\u{1b}'),
        "{plain:?}"
    );
}

/// `sync` says an import's warning in its steps (and its JSON), once, and
/// does not log it again.
#[test]
fn sync_says_an_imports_warning_once() {
    let sandbox = crate::common::sandbox::TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    let drop = env.path().join("drop");
    std::fs::create_dir_all(&drop).expect("drop folder");
    sandbox.configure(
        &mut env,
        "[source]\nkind = \"dir\"\ndir = \"drop\"\npattern = \"users_*.csv\"\nsettle_seconds = 0\n",
    );
    let config = std::fs::read_to_string(env.path().join("ampsync.toml")).expect("config");
    env.write(
        "ampsync.toml",
        config.replace("[csv]\n", "[csv]\nencoding = \"windows-1252\"\n"),
    );
    std::fs::write(drop.join("users_1.csv"), windows_1250(POLISH)).expect("write");
    let run = env.run(&["sync"]).expect_code(0);
    assert!(
        run.stdout.contains(
            "\nwarning: users_1.csv: read as csv.encoding = \"windows-1252\", but the text looks like windows-1250"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("looks like windows-1250").count(),
        1,
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("windows-1250"), "{}", run.stderr);

    std::fs::write(
        drop.join("users_2.csv"),
        windows_1250(&POLISH.replace("Analityk", "Analityczka")),
    )
    .expect("write");
    let steps = env.json(&["sync"])["steps"].clone();
    let imported = steps
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == json!("imported")))
        .unwrap_or_else(|| panic!("an imported step: {steps}"));
    assert!(
        imported["warnings"][0]
            .as_str()
            .is_some_and(|w| w.starts_with("users_2.csv: read as csv.encoding = \"windows-1252\"")),
        "{imported}"
    );
}
