//! Encryption at rest (`store.encryption_key_env`, `ampsync rekey`): with a
//! key no personal value is in the store file; without it the values are
//! refused and `verify` checks the chain by its links; a wrong key changes
//! nothing; `rekey` encrypts a plain store and moves an encrypted one to a
//! new key; a killed encrypted import leaves a store that opens and
//! verifies; `forget` on an encrypted store leaves no ciphertext behind.

use std::process::Stdio;

use crate::common::sandbox::TestSandbox;
use crate::common::{Lines, TestEnv, example};
use ampsync_sandbox::{SandboxOptions, TeamSeed};
use serde_json::{Value, json};

const VAR: &str = "AMPSYNC_STORE_KEY";
const KEY: &str = "8d5b3c0e6f1a2b4c9d7e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e";
/// Another key, in base64.
const OTHER_KEY: &str = "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=";
const POLICY: &str = "[policy]\nmax_deactivate_percent = 100\nmax_change_percent = 100\n";

/// A test directory whose config names `AMPSYNC_STORE_KEY` as the store's
/// key, set to `key` when given.
fn env_with_key(key: Option<&str>) -> TestEnv {
    let mut env = TestEnv::with_config(&format!(
        "[store]\npath = \"ampsync.redb\"\nencryption_key_env = \"{VAR}\"\n{POLICY}"
    ));
    if let Some(key) = key {
        env.env.push((VAR.into(), key.into()));
    }
    env
}

fn plain_env() -> TestEnv {
    TestEnv::with_config(&format!("[store]\npath = \"ampsync.redb\"\n{POLICY}"))
}

fn without_key(env: &mut TestEnv) {
    env.env.retain(|(k, _)| k != VAR);
}

fn with_key(env: &mut TestEnv, key: &str) {
    without_key(env);
    env.env.push((VAR.into(), key.into()));
}

/// The three example days, imported a day apart.
fn import_examples(env: &mut TestEnv) {
    for (n, day) in ["day1.csv", "day2.csv", "day3.csv"].iter().enumerate() {
        env.import_at(&format!("2026-11-0{}T06:30:00Z", n + 2), &example(day));
    }
}

/// Every email, first and last name in the example days, as the store
/// would hold it in clear: postcard's length byte, then the UTF-8 bytes.
/// (The length byte also keeps the shortest names, three bytes, from
/// matching random ciphertext by chance.)
fn personal_values() -> Vec<Vec<u8>> {
    let mut values = std::collections::BTreeSet::new();
    for day in ["day1.csv", "day2.csv", "day3.csv"] {
        let text = std::fs::read_to_string(example(day)).expect("example day");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let column = |name: &str| header.iter().position(|h| *h == name).expect("column");
        let (first, last, email) = (column("First name"), column("Last name"), column("Email"));
        for line in lines {
            // The name and email columns come before any quoted one.
            let cells: Vec<&str> = line.split(',').collect();
            for i in [first, last, email] {
                let value = cells[i].as_bytes();
                assert!(value.len() < 128, "one length byte");
                let mut needle = vec![value.len() as u8];
                needle.extend_from_slice(value);
                values.insert(needle);
            }
        }
    }
    values.into_iter().collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The personal values found in the store file.
fn found_in(env: &TestEnv, values: &[Vec<u8>]) -> Vec<String> {
    let bytes = std::fs::read(env.store_path()).expect("store");
    values
        .iter()
        .filter(|v| contains(&bytes, v))
        .map(|v| String::from_utf8_lossy(&v[1..]).into_owned())
        .collect()
}

#[test]
fn with_a_key_no_email_or_name_is_in_the_store_file() {
    let values = personal_values();
    assert!(values.len() > 100, "{}", values.len());

    // Without a key every value is there: the search finds what it seeks.
    let mut plain = plain_env();
    import_examples(&mut plain);
    assert_eq!(found_in(&plain, &values).len(), values.len());

    let mut env = env_with_key(Some(KEY));
    import_examples(&mut env);
    assert_eq!(found_in(&env, &values), Vec::<String>::new());

    // With the key everything reads and verifies as in the plain store.
    env.now = "2026-11-05T12:00:00Z".into();
    plain.now = env.now.clone();
    for args in [
        &["history", "E1002"][..],
        &["show", "E1002"],
        &["events", "--snapshot", "2"],
    ] {
        assert_eq!(env.json(args), plain.json(args), "{args:?}");
    }
    let verify = env.json(&["verify"]);
    assert_eq!(verify["ok"], json!(true), "{verify}");
    assert_eq!(verify["raw_files_checked"], json!(3), "{verify}");
    assert_eq!(verify["links_only_events"], json!(0), "{verify}");
    assert_eq!(verify["encrypted"], json!(true), "{verify}");
}

#[test]
fn without_the_key_values_are_refused_and_verify_checks_the_links() {
    let mut env = env_with_key(Some(KEY));
    import_examples(&mut env);
    let events = env.json(&["verify"])["events"].clone();
    without_key(&mut env);
    let before = std::fs::read(env.store_path()).expect("store");

    let said = format!("the store is encrypted: set the key in ${VAR} (store.encryption_key_env)");
    let day4 = std::fs::read_to_string(example("day3.csv")).expect("day 3");
    let day4 = env.write("day4.csv", day4.replace("E1002,", "E9002,"));
    for args in [
        &["history", "E1002"][..],
        &["show", "E1002"],
        &["events"],
        &["import", day4.to_str().expect("path")],
    ] {
        let refused = env.run(args);
        assert_ne!(refused.code, 0, "{args:?}: {refused:?}");
        assert!(refused.stderr.contains(&said), "{args:?}: {}", refused.stderr);
    }

    let verify = env.run(&["verify", "--format", "json"]).expect_code(0).json();
    assert_eq!(verify["ok"], json!(true), "{verify}");
    assert_eq!(verify["events"], events, "{verify}");
    assert_eq!(verify["links_only_events"], events, "every event is sealed: {verify}");
    let text = env.run(&["verify"]).expect_code(0).stdout;
    assert!(
        text.contains(&format!("{events} sealed events checked by their links only")),
        "{text}"
    );
    // What needs no key still works.
    assert_eq!(env.json(&["snapshots"]).as_array().map(Vec::len), Some(3));
    assert!(
        std::fs::read(env.store_path()).expect("store") == before,
        "a command without the key changed the store"
    );

    // A link changed is found without the key too: event 2 made to point
    // at a predecessor that is not event 1.
    {
        use redb::ReadableTable;
        const EVENTS: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("events");
        let db = redb::Database::create(env.store_path()).expect("redb");
        let txn = db.begin_write().expect("txn");
        {
            let mut table = txn.open_table(EVENTS).expect("events");
            let mut bytes = table.get(2).expect("get").expect("event 2").value().to_vec();
            bytes[1] ^= 1;
            table.insert(2, bytes.as_slice()).expect("insert");
        }
        txn.commit().expect("commit");
    }
    let broken = env.run(&["verify", "--format", "json"]);
    assert_eq!(broken.code, 1, "{broken:?}");
    assert_eq!(broken.json()["chain_broken_at"], json!(2));
}

#[test]
fn a_wrong_key_is_refused_by_every_command_and_changes_nothing() {
    let mut env = env_with_key(Some(KEY));
    import_examples(&mut env);
    with_key(&mut env, OTHER_KEY);
    env.env.push(("AMPSYNC_OTHER".into(), KEY.into()));
    env.now = "2026-11-06T06:30:00Z".into();
    let before = std::fs::read(env.store_path()).expect("store");
    let day = example("day1.csv");
    let day = day.to_str().expect("path");
    for args in [
        &["verify"][..],
        &["snapshots"],
        &["events"],
        &["history", "E1002"],
        &["show", "E1002"],
        &["import", day],
        &["forget", "E1002", "--reason", "asked"],
        &["rekey", "--new-key-env", "AMPSYNC_OTHER"],
        &["backup", "copy.redb"],
    ] {
        let refused = env.run(args);
        assert_ne!(refused.code, 0, "{args:?}: {refused:?}");
        assert!(
            refused.stderr.contains(&format!(
                "the key in {VAR} (store.encryption_key_env) does not open the store"
            )),
            "{args:?}: {}",
            refused.stderr
        );
        assert!(!refused.stderr.contains(OTHER_KEY), "{args:?} shows the key");
        assert!(
            std::fs::read(env.store_path()).expect("store") == before,
            "{args:?} changed the store"
        );
    }
    assert!(!env.path().join("copy.redb").exists());

    // A value that is no key at all is refused by name, never shown.
    with_key(&mut env, "not-a-key-0123");
    let malformed = env.run(&["snapshots"]);
    assert_ne!(malformed.code, 0);
    assert!(malformed.stderr.contains(VAR), "{}", malformed.stderr);
    assert!(!malformed.stderr.contains("not-a-key-0123"), "{}", malformed.stderr);
}

#[test]
fn rekey_encrypts_a_plain_store_and_moves_it_to_a_new_key() {
    let values = personal_values();
    let mut env = plain_env();
    import_examples(&mut env);
    env.now = "2026-11-05T12:00:00Z".into();
    let history: Value = env.json(&["history", "E1002"]);
    let events: Value = env.json(&["events"]);
    assert!(!found_in(&env, &values).is_empty());

    // A key for a plain store: refused, pointing at rekey.
    let config = std::fs::read_to_string(env.path().join("ampsync.toml")).expect("config");
    let keyed = config.replace("[store]\n", &format!("[store]\nencryption_key_env = \"{VAR}\"\n"));
    std::fs::write(env.path().join("ampsync.toml"), &keyed).expect("config");
    with_key(&mut env, KEY);
    let refused = env.run(&["history", "E1002"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("is not encrypted") && refused.stderr.contains("ampsync rekey"),
        "{}",
        refused.stderr
    );

    // Plain → KEY: every value sealed, and no page keeps the plaintext.
    let rekeyed = env.run(&["rekey", "--new-key-env", VAR]).expect_code(0);
    assert!(rekeyed.stdout.contains("encrypted the store"), "{}", rekeyed.stdout);
    assert_eq!(found_in(&env, &values), Vec::<String>::new());
    assert_eq!(env.json(&["history", "E1002"]), history);
    assert_eq!(env.json(&["events"]), events);

    // KEY → OTHER_KEY (given in another variable): the old key no longer
    // opens it, the new one does, and the history is the same.
    env.env.push(("AMPSYNC_NEW_KEY".into(), OTHER_KEY.into()));
    let moved = env.run(&["rekey", "--new-key-env", "AMPSYNC_NEW_KEY"]).expect_code(0);
    assert!(
        moved.stdout.contains("encryption_key_env = \"AMPSYNC_NEW_KEY\""),
        "says what to change: {}",
        moved.stdout
    );
    let old = env.run(&["history", "E1002"]);
    assert_ne!(old.code, 0);
    assert!(old.stderr.contains("does not open the store"), "{}", old.stderr);
    with_key(&mut env, OTHER_KEY);
    assert_eq!(env.json(&["history", "E1002"]), history);
    assert_eq!(env.json(&["events"]), events);
    let verify = env.json(&["verify"]);
    assert_eq!((&verify["ok"], &verify["raw_files_checked"]), (&json!(true), &json!(3)));
    // And imports go on under the new key.
    env.import_at("2026-11-06T06:30:00Z", &example("day1.csv"));
    assert_eq!(found_in(&env, &values), Vec::<String>::new());
}

#[test]
fn killing_an_encrypted_import_mid_write_leaves_a_store_that_opens_and_verifies() {
    const ROWS: usize = 40_000;
    let mut env = env_with_key(Some(KEY));
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    let events_before = env.json(&["events"]);
    let mut text = String::with_capacity(ROWS * 80);
    text.push_str("Employee ID,First name,Last name,Email,Job title,Primary team,Secondary teams,Role,Language,Location,Hire date,Manager email\n");
    for i in 0..ROWS {
        text.push_str(&format!(
            "X{i:07},Zoë,Müller {i},person{i}@big.example,Engineer,Engineering,,viewer,de,Berlin,2024-01-01,\n"
        ));
    }
    let big = env.write("big.csv", text);

    env.now = "2026-11-25T06:30:00Z".into();
    let mut child = env
        .command(&["import", big.to_str().expect("path")])
        .env("AMPSYNC_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ampsync");
    Lines::of(child.stderr.take().expect("stderr")).wait_for("writing the snapshot and its events");
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the import was killed, not finished");

    assert_eq!(env.json(&["snapshots"]).as_array().map(Vec::len), Some(1));
    assert_eq!(env.json(&["events"]), events_before);
    let verify = env.json(&["verify"]);
    assert_eq!(verify["ok"], json!(true), "{verify}");

    let rerun = env.import_at("2026-11-25T07:00:00Z", &big);
    assert_eq!(
        (&rerun["outcome"], &rerun["created"]),
        (&json!("imported"), &json!(ROWS))
    );
    assert_eq!(env.json(&["verify"])["ok"], json!(true));
}

/// The stored bytes of `key`'s events and state, read with redb itself.
fn stored_values_of(env: &TestEnv, key: &str) -> Vec<Vec<u8>> {
    const EVENTS: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("events");
    const STATE: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("state");
    const USER_EVENTS: redb::MultimapTableDefinition<&str, u64> = redb::MultimapTableDefinition::new("user_events");
    use redb::ReadableDatabase;
    let db = redb::ReadOnlyDatabase::open(env.store_path()).expect("redb");
    let txn = db.begin_read().expect("read");
    let events = txn.open_table(EVENTS).expect("events");
    let mut out = Vec::new();
    for seq in txn
        .open_multimap_table(USER_EVENTS)
        .expect("index")
        .get(key)
        .expect("get")
    {
        let seq = seq.expect("seq").value();
        out.push(events.get(seq).expect("get").expect("event").value().to_vec());
    }
    out.push(
        txn.open_table(STATE)
            .expect("state")
            .get(key)
            .expect("get")
            .expect("state")
            .value()
            .to_vec(),
    );
    out
}

#[test]
fn forget_on_an_encrypted_store_leaves_no_ciphertext_of_the_person() {
    const HEADER: &str = "Employee ID,First name,Last name,Email,Job title,Primary team\n";
    const ANN: &str = "E1001,Annelise,Lindqvist,annelise.lindqvist@acme.example,Engineer,Sales\n";
    const BART: &str = "E1002,Bartholomew,Quincey-Hartwell,bartholomew.quincey@acme.example,Analyst,Sales\n";
    let sandbox = TestSandbox::start(SandboxOptions {
        teams: vec![TeamSeed::from("Sales")],
        ..SandboxOptions::default()
    });
    let mut env = env_with_key(Some(KEY));
    sandbox.configure(&mut env, &format!("max_requests_per_second = 500\n{POLICY}"));
    let config = std::fs::read_to_string(env.path().join("ampsync.toml")).expect("config");
    env.write(
        "ampsync.toml",
        config.replace("[store]\n", &format!("[store]\nencryption_key_env = \"{VAR}\"\n")),
    );
    let day1 = env.write("day1.csv", format!("{HEADER}{ANN}{BART}"));
    let day2 = env.write("day2.csv", format!("{HEADER}{ANN}"));
    env.import_at("2026-11-02T06:30:00Z", &day1);
    env.now = "2026-11-02T06:35:00Z".into();
    env.run(&["push"]).expect_code(0);
    env.import_at("2026-11-03T06:30:00Z", &day2);
    env.now = "2026-11-03T06:35:00Z".into();
    env.run(&["push"]).expect_code(0);

    let sealed = stored_values_of(&env, "E1002");
    assert_eq!(sealed.len(), 3, "created, deactivated, state");
    let before = std::fs::read(env.store_path()).expect("store");
    // The sealed tails (nonce, ciphertext, tag): 40 bytes and more each.
    let tails: Vec<&[u8]> = sealed.iter().map(|v| &v[v.len() - 40..]).collect();
    assert!(tails.iter().all(|t| contains(&before, t)));
    for value in ["Bartholomew", "Quincey-Hartwell", "bartholomew.quincey@acme.example"] {
        assert!(!contains(&before, value.as_bytes()), "{value} in clear");
    }

    env.now = "2026-11-04T09:00:00Z".into();
    let forgot = env.json(&["forget", "E1002", "--reason", "asked"]);
    assert_eq!(forgot["events"].as_array().map(Vec::len), Some(2), "{forgot}");
    let after = std::fs::read(env.store_path()).expect("store");
    for (n, tail) in tails.iter().enumerate() {
        assert!(!contains(&after, tail), "sealed value {n} of E1002 survives");
    }
    let verify = env.json(&["verify"]);
    assert_eq!(
        (&verify["ok"], &verify["erased_events"]),
        (&json!(true), &json!(2)),
        "{verify}"
    );
    let history = env.json(&["history", "E1002"]);
    assert_eq!(history["erasures"][0]["reason"], json!("asked"), "{history}");
    // Annelise is untouched and still reads.
    assert_eq!(
        env.json(&["show", "E1001"])["record"]["email"],
        json!("annelise.lindqvist@acme.example")
    );
}
