//! Upgrades never lose history. Each folder under `tests/data/stores/` holds
//! a store an earlier release wrote, the files it imported, and what that
//! release printed (`outputs/`) for the commands in its `cases.json`. This
//! binary must open a copy of that store and print the same: `verify`,
//! `snapshots`, `events`, `history`, `show --as-of`; then import the next
//! day's file as that release did, and `verify` after.
//!
//! A later release may add fields to its JSON; it may not change or drop one
//! the old output had (see [`differences`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::TestEnv;
use ampsync_store::SCHEMA_VERSION;

/// One command of a fixture's `cases.json`, and the file holding what the
/// release printed for it (`outputs/NAME.json`).
#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    /// `AMPSYNC_NOW` for the command.
    now: String,
    /// The arguments, without `--config` and `--format json`.
    args: Vec<String>,
    /// Keys whose values vary from run to run (`elapsed_ms`).
    #[serde(default)]
    ignore: Vec<String>,
}

/// A fixture's `cases.json`: commands on the store as committed, the import
/// of the next day, and commands after it.
#[derive(Debug, Deserialize)]
struct Cases {
    read: Vec<Case>,
    import: Case,
    after_import: Vec<Case>,
}

fn fixtures() -> Vec<PathBuf> {
    let root = crate::common::repo().join("tests/data/stores");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|entry| entry.expect("fixture folder entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Where `new` differs from `old` in a way a later release may not: a key
/// of `old` missing from `new`, a different value, an array of another
/// length. Keys `new` adds are allowed; keys named in `ignore` are skipped
/// at any depth. One change of shape is allowed on purpose (issue #13): a
/// team list printed as its escaped text (`"a\\, b, c"`) may become the
/// array of its items (`["a, b", "c"]`), the same items in the same order.
fn differences(old: &Value, new: &Value, ignore: &[String]) -> Vec<String> {
    fn walk(old: &Value, new: &Value, at: &str, ignore: &[String], found: &mut Vec<String>) {
        match (old, new) {
            (Value::Object(old), Value::Object(new)) => {
                for (key, old_value) in old {
                    if ignore.contains(key) {
                        continue;
                    }
                    let here = format!("{at}.{key}");
                    match new.get(key) {
                        Some(new_value) => walk(old_value, new_value, &here, ignore, found),
                        None => found.push(format!("{here}: gone (was {old_value})")),
                    }
                }
            }
            (Value::Array(old), Value::Array(new)) => {
                if old.len() != new.len() {
                    found.push(format!("{at}: {} items, was {}", new.len(), old.len()));
                }
                for (n, (o, v)) in old.iter().zip(new).enumerate() {
                    walk(o, v, &format!("{at}[{n}]"), ignore, found);
                }
            }
            (Value::String(text), Value::Array(items)) if list_items(text) == *items => {}
            _ if old == new => {}
            _ => found.push(format!("{at}: {new}, was {old}")),
        }
    }
    let mut found = Vec::new();
    walk(old, new, "$", ignore, &mut found);
    found
}

/// The items of a list as the log writes it: `, `-separated, `\,` a comma
/// inside an item.
fn list_items(text: &str) -> Vec<Value> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut items = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    items.into_iter().map(|i| Value::String(i.trim().to_owned())).collect()
}

/// Runs `case` in `env` and returns how its output differs from what the
/// release printed.
fn check(env: &mut TestEnv, fixture: &Path, case: &Case) -> Vec<String> {
    let expected_path = fixture.join("outputs").join(format!("{}.json", case.name));
    let text = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    let expected: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    env.now = case.now.clone();
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let actual = env.json(&args);
    differences(&expected, &actual, &case.ignore)
        .into_iter()
        .map(|d| format!("{} (ampsync {}): {d}", case.name, case.args.join(" ")))
        .collect()
}

/// A copy of the fixture's store, config and next day's file in a test
/// directory of its own (the fixture itself is never opened).
fn copy_of(fixture: &Path) -> TestEnv {
    let config = std::fs::read_to_string(fixture.join("ampsync.toml")).expect("fixture config");
    let env = TestEnv::with_config(&config);
    for name in ["ampsync.redb", "day4.csv"] {
        std::fs::copy(fixture.join(name), env.path().join(name))
            .unwrap_or_else(|e| panic!("{}/{name}: {e}", fixture.display()));
    }
    env
}

/// Checks one fixture folder (by name under `tests/data/stores/`): its
/// store read, imported on and verified as its release did.
fn reads_and_imports_as_its_release_did(name: &str) {
    let fixture = crate::common::repo().join("tests/data/stores").join(name);
    let cases_path = fixture.join("cases.json");
    let text = std::fs::read_to_string(&cases_path).unwrap_or_else(|e| panic!("{}: {e}", cases_path.display()));
    let cases: Cases = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", cases_path.display()));
    let mut env = copy_of(&fixture);

    let mut found = Vec::new();
    for case in &cases.read {
        found.extend(check(&mut env, &fixture, case));
    }
    found.extend(check(&mut env, &fixture, &cases.import));
    for case in &cases.after_import {
        found.extend(check(&mut env, &fixture, case));
    }
    assert!(
        found.is_empty(),
        "{}: this binary differs from the release that made the store:\n{}",
        fixture.display(),
        found.join("\n")
    );
    // The checks above compare with the release; this one stands alone.
    env.now = "2026-11-06T00:00:00Z".into();
    let verify = env.json(&["verify"]);
    assert_eq!(verify["ok"], json!(true), "{verify}");
    assert_eq!(verify["events"], json!(625 + 23), "{verify}");
}

/// Every fixture folder, each with a test below: a new folder without a
/// test fails here.
const FIXTURES: [&str; 3] = ["v0.1.0", "v0.2.0-pre", "v0.3.0-pre"];

/// The schema each fixture's store records (v0.1.0 and v0.2.0-pre had no
/// version, read as 1).
const FIXTURE_SCHEMAS: [u32; 3] = [1, 1, 2];

#[test]
fn every_fixture_folder_has_a_test() {
    let names: Vec<String> = fixtures()
        .iter()
        .filter_map(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, FIXTURES, "add a test for each folder under tests/data/stores");
}

/// ampsync 0.1.0 (8a3555a).
#[test]
fn the_v0_1_0_store_reads_and_imports_as_its_release_did() {
    reads_and_imports_as_its_release_did(FIXTURES[0]);
}

/// The release before issue #14's schema changes (622a579): team lists as
/// arrays, deliveries against a sandbox that checks custom fields.
#[test]
fn the_v0_2_0_pre_store_reads_and_imports_as_its_release_did() {
    reads_and_imports_as_its_release_did(FIXTURES[1]);
}

/// The release before encryption at rest (cc34f47): schema 2, with
/// erasure records and the explicit schema version.
#[test]
fn the_v0_3_0_pre_store_reads_and_imports_as_its_release_did() {
    reads_and_imports_as_its_release_did(FIXTURES[2]);
}

/// Sets the schema version a store records, as a newer release would.
fn set_schema(path: &Path, version: u32) {
    const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    let db = redb::Database::create(path).expect("redb");
    let txn = db.begin_write().expect("txn");
    txn.open_table(META)
        .expect("meta")
        .insert("schema", version.to_le_bytes().as_slice())
        .expect("insert");
    txn.commit().expect("commit");
}

#[test]
fn an_old_store_is_upgraded_once_with_a_copy_beside_it_and_a_newer_one_is_refused() {
    for (name, from) in FIXTURES.into_iter().zip(FIXTURE_SCHEMAS) {
        let fixture = crate::common::repo().join("tests/data/stores").join(name);
        let mut env = copy_of(&fixture);
        env.now = "2026-11-04T12:00:00Z".into();
        let backup = env.path().join(format!("ampsync.redb.bak-v{from}"));

        let first = env.run(&["snapshots", "--format", "json"]).expect_code(0);
        let said = format!(
            "upgraded the store {} from schema {from} to {SCHEMA_VERSION}; the store as it was is kept as {}",
            env.store_path().display(),
            backup.display()
        );
        assert_eq!(first.stderr.matches(&said).count(), 1, "{name}: {}", first.stderr);
        assert_eq!(first.json().as_array().map(Vec::len), Some(4), "{name}");
        let second = env.run(&["snapshots", "--format", "json"]).expect_code(0);
        assert!(
            !second.stderr.contains("upgraded"),
            "{name}: said twice: {}",
            second.stderr
        );

        // The copy beside it is the whole old store: it verifies (and
        // upgrades in its turn, being of the old schema).
        let old = copy_of(&fixture);
        std::fs::copy(&backup, old.store_path()).expect("copy the backup");
        let verify = old.run(&["verify", "--format", "json"]).expect_code(0);
        assert!(
            verify
                .stderr
                .contains(&format!("from schema {from} to {SCHEMA_VERSION}")),
            "{name}: {}",
            verify.stderr
        );
        assert_eq!(verify.json()["events"], json!(625), "{name}");
        assert_eq!(verify.json()["ok"], json!(true), "{name}");

        // A store a newer release wrote is refused, and left as it was.
        set_schema(&env.store_path(), 99);
        let before = std::fs::read(env.store_path()).expect("read store");
        let refused = env.run(&["snapshots"]);
        assert_ne!(refused.code, 0, "{name}");
        assert!(
            refused.stderr.contains(&format!(
                "was written by a newer ampsync (store schema 99; this build reads schema {SCHEMA_VERSION} and older)"
            )),
            "{name}: {}",
            refused.stderr
        );
        assert!(
            std::fs::read(env.store_path()).expect("read store") == before,
            "{name}: changed"
        );
    }
}

#[test]
fn added_keys_are_allowed_but_nothing_old_changes_or_disappears() {
    let old = json!({"id": 1, "counts": {"created": 2}, "events": [{"seq": 1}, {"seq": 2}], "elapsed_ms": 5});
    let ignore = ["elapsed_ms".to_owned()];
    let same_plus = json!({"id": 1, "counts": {"created": 2, "erased": 0}, "events": [{"seq": 1, "x": true}, {"seq": 2}], "elapsed_ms": 9, "new": null});
    assert_eq!(differences(&old, &same_plus, &ignore), Vec::<String>::new());

    let changed = json!({"id": 2, "counts": {}, "events": [{"seq": 1}], "elapsed_ms": 5});
    assert_eq!(
        differences(&old, &changed, &ignore),
        vec![
            "$.counts.created: gone (was 2)",
            "$.events: 1 items, was 2",
            "$.id: 2, was 1",
        ]
    );
    // A team list may become the array of its items, and only that.
    let teams = json!({"new": "Diversity\\, Equity & Inclusion, Mentors"});
    let array = json!({"new": ["Diversity, Equity & Inclusion", "Mentors"]});
    assert_eq!(differences(&teams, &array, &[]), Vec::<String>::new());
    let other = json!({"new": ["Mentors"]});
    assert_eq!(differences(&teams, &other, &[]).len(), 1);
    // A value that became another type is a change too.
    assert_eq!(
        differences(&json!({"a": [1]}), &json!({"a": {"0": 1}}), &[]),
        vec![r#"$.a: {"0":1}, was [1]"#]
    );
}
