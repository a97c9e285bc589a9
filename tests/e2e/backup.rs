//! `ampsync backup FILE` while another process imports: every copy is a
//! whole store (`verify --store` passes) holding either the state before
//! the import or the state after it, never a mix; and the file rules
//! (no overwrite without `--force`, never through a symlink).


use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{Lines, TestEnv, example};
use serde_json::{Value, json};

const ROWS: usize = 100_000;

fn big_file(env: &TestEnv) -> std::path::PathBuf {
    let mut text = String::with_capacity(ROWS * 80);
    text.push_str("Employee ID,First name,Last name,Email,Job title,Primary team,Secondary teams,Role,Language,Location,Hire date,Manager email\n");
    for i in 0..ROWS {
        text.push_str(&format!(
            "B{i:07},Ana,Lima {i},person{i}@backup.example,Engineer,Engineering,,viewer,pt-BR,Lisbon,2024-01-01,\n"
        ));
    }
    env.write("big.csv", text)
}

/// `ampsync snapshots --format json` of the store at `store`, through a
/// config of its own (so nothing reads the live store by mistake).
fn snapshots_of(env: &TestEnv, store: &Path) -> Value {
    let config = env.write(
        &format!("{}.toml", store.file_name().and_then(|n| n.to_str()).expect("name")),
        format!("[store]\npath = \"{}\"\n", store.display()),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ampsync"))
        .env_clear()
        .env("AMPSYNC_NOW", &env.now)
        .args([
            "--config",
            config.to_str().expect("path"),
            "snapshots",
            "--format",
            "json",
        ])
        .output()
        .expect("run ampsync");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// What a backup holds: (snapshots, events in its verified chain).
fn backup_and_verify(env: &TestEnv, name: &str) -> (usize, u64) {
    let file = env.path().join(name);
    let taken = env.run(&["backup", name, "--format", "json"]).expect_code(0).json();
    let verified = env
        .run(&["verify", "--store", file.to_str().expect("path"), "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(verified["ok"], json!(true), "{name}: {verified}");
    assert_eq!(taken["events"], verified["events"], "{name}");
    let snapshots = snapshots_of(env, &file).as_array().map_or(0, Vec::len);
    assert_eq!(taken["snapshots"], json!(snapshots), "{name}");
    (snapshots, verified["events"].as_u64().expect("events"))
}

#[test]
fn backups_taken_while_a_large_import_writes_hold_the_old_or_the_new_state() {
    let mut env = TestEnv::with_config(
        "[store]\npath = \"ampsync.redb\"\n[policy]\nmax_deactivate_percent = 100\nmax_change_percent = 100\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    let old = (1, env.json(&["verify"])["events"].as_u64().expect("events"));
    let big = big_file(&env);

    env.now = "2026-11-25T06:30:00Z".into();
    let mut child = env
        .command(&["import", big.to_str().expect("path")])
        .env("AMPSYNC_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ampsync");
    // From here the import holds the store open for writing until it ends.
    let mut stderr = Lines::of(child.stderr.take().expect("stderr"));
    stderr.wait_for("writing the snapshot and its events");
    let drain = std::thread::spawn(move || stderr.drain());

    let mut seen = Vec::new();
    let status = loop {
        let finished = child.try_wait().expect("wait");
        seen.push(backup_and_verify(&env, &format!("during-{}.redb", seen.len())));
        if let Some(status) = finished {
            break status;
        }
    };
    drain.join().expect("stderr reader");
    assert!(status.success(), "the import failed: {status}");

    let new = (2, old.1 + ROWS as u64 + 50);
    assert_eq!(backup_and_verify(&env, "after.redb"), new);
    assert!(
        seen.iter().all(|s| *s == old || *s == new),
        "a backup held neither the old {old:?} nor the new {new:?} state: {seen:?}"
    );
    assert!(
        seen.contains(&old),
        "no backup was taken while the import was writing: {seen:?}"
    );
}

#[test]
fn a_backup_never_replaces_a_file_unasked_nor_writes_through_a_symlink() {
    let mut env = TestEnv::new();
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    env.write("old.redb", "last week's backup");

    let refused = env.run(&["backup", "old.redb"]).expect_code(1);
    assert!(refused.stderr.contains("old.redb already exists"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read(env.path().join("old.redb")).expect("read"),
        b"last week's backup"
    );
    env.run(&["backup", "old.redb", "--force"]).expect_code(0);
    let verified = env.run(&["verify", "--store", "old.redb", "--format", "json"]);
    assert_eq!(verified.expect_code(0).json()["events"], json!(50));

    #[cfg(unix)]
    {
        env.write("target", "someone else's file");
        std::os::unix::fs::symlink(env.path().join("target"), env.path().join("link.redb")).expect("symlink");
        let refused = env.run(&["backup", "link.redb", "--force"]).expect_code(1);
        assert!(refused.stderr.contains("is a symbolic link"), "{}", refused.stderr);
        assert_eq!(
            std::fs::read(env.path().join("target")).expect("read"),
            b"someone else's file"
        );
    }

    // No temporary file is left behind.
    let leftovers: Vec<String> = std::fs::read_dir(env.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());

    // `verify --store` of a file that is not there says so and creates nothing.
    let missing = env.run(&["verify", "--store", "typo.redb"]).expect_code(1);
    assert!(missing.stderr.contains("no store at"), "{}", missing.stderr);
    assert!(!env.path().join("typo.redb").exists());
}
