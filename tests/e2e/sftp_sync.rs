//! `sync` over sFTP end to end: the file is uploaded with the real OpenSSH
//! `sftp` client to a real sshd, fetched with the pinned host key, imported,
//! pushed to the sandbox, and moved aside; a wrong host key is refused
//! before anything is downloaded.


use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::sandbox::TestSandbox;
use crate::common::sshd::{Sshd, fingerprint};
use crate::common::{TestEnv, example};

/// The tests' pinned clock (`TestEnv::now`), 2026-11-24T06:30:00Z.
const NOW: u64 = 1_795_501_800;

fn pinned_minus(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW - secs)
}

fn configure(env: &mut TestEnv, sandbox: &TestSandbox, sshd: &Sshd, host_key: &str) {
    let extra = format!(
        "max_requests_per_second = 500\n[source]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nprivate_key = \"{}\"\nknown_host_key = \"{}\"\nremote_dir = \"{}\"\npattern = \"users_*.csv\"\nsettle_seconds = 30\nafter_import = \"move:{}/done\"\n",
        sshd.port,
        sshd.user,
        sshd.user_key.display(),
        host_key,
        sshd.root.display(),
        sshd.root.display()
    );
    sandbox.configure(env, &extra);
}

#[test]
fn sync_fetches_over_sftp_imports_pushes_and_moves_the_file_aside() {
    let sshd = Sshd::start();
    std::fs::create_dir_all(sshd.root.join("done")).expect("done folder");
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    configure(&mut env, &sandbox, &sshd, &sshd.host_public_key_line);

    sshd.upload(&example("day1.csv"), "users_1.csv");
    sshd.set_mtime("users_1.csv", pinned_minus(3600));
    let run = env.run(&["sync"]).expect_code(0);
    let name = format!("sftp://127.0.0.1{}/users_1.csv", sshd.root.display());
    assert!(
        run.stdout
            .contains(&format!("imported {name} as snapshot 1: 50 created")),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.users().len(), 50);
    assert!(
        sshd.root.join("done/users_1.csv").exists() && !sshd.root.join("users_1.csv").exists(),
        "moved aside"
    );
    assert_eq!(env.json(&["snapshots"])[0]["source"], serde_json::json!(name));

    // Still being uploaded: taken only once it has settled.
    sshd.upload(&example("day2.csv"), "users_2.csv");
    sshd.set_mtime("users_2.csv", pinned_minus(5));
    let run = env.run(&["sync"]).expect_code(0);
    assert!(
        run.stdout
            .contains("users_2.csv changed less than 30 s ago: still being written, not taken"),
        "{}",
        run.stdout
    );
    sshd.append("users_2.csv", b"");
    sshd.set_mtime("users_2.csv", pinned_minus(300));
    let run = env.run(&["sync"]).expect_code(0);
    assert!(
        run.stdout
            .contains("users_2.csv as snapshot 2: 2 created, 3 updated, 2 deactivated"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.users().len(), 52);

    // Nothing was left behind next to the store.
    let leftovers: Vec<String> = std::fs::read_dir(env.path())
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with(".ampsync-download"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
}

#[test]
fn a_wrong_host_key_is_refused_with_its_fingerprint_and_nothing_is_downloaded() {
    let sshd = Sshd::start();
    let impostor = Sshd::start();
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    // Pinned: some other server's key.
    configure(&mut env, &sandbox, &sshd, &impostor.host_public_key_line);
    sshd.upload(&example("day1.csv"), "users_1.csv");
    sshd.set_mtime("users_1.csv", pinned_minus(3600));

    let run = env.run(&["sync"]);
    assert_eq!(run.code, 1, "{run:?}");
    let offered = fingerprint(&sshd.host_public_key);
    assert!(
        run.stdout.contains(&offered),
        "the message shows the offered key {offered}: {}",
        run.stdout
    );
    assert!(!env.store_path().exists() || env.json(&["snapshots"]) == serde_json::json!([]));
    assert!(sshd.root.join("users_1.csv").exists(), "the file stays on the server");
    assert_eq!(sandbox.users().len(), 0);
}

#[test]
fn a_kept_file_already_imported_is_not_downloaded_again() {
    let sshd = Sshd::start();
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    configure(&mut env, &sandbox, &sshd, &sshd.host_public_key_line);
    // Keep the file on the server this time.
    let config = std::fs::read_to_string(env.path().join("ampsync.toml")).expect("config");
    let keep = config
        .lines()
        .map(|l| {
            if l.starts_with("after_import") {
                "after_import = \"keep\""
            } else {
                l
            }
        })
        .collect::<Vec<_>>();
    env.write("ampsync.toml", keep.join("\n") + "\n");

    sshd.upload(&example("day1.csv"), "users_1.csv");
    sshd.set_mtime("users_1.csv", pinned_minus(3600));
    env.run(&["sync"]).expect_code(0);
    let run = env.run(&["sync"]).expect_code(0);
    let name = format!("sftp://127.0.0.1{}/users_1.csv", sshd.root.display());
    assert!(
        run.stdout.contains(&format!(
            "{name} was already imported as snapshot 1: not downloaded again"
        )),
        "{}",
        run.stdout
    );
    assert!(sshd.root.join("users_1.csv").exists(), "kept on the server");
    assert_eq!(env.json(&["snapshots"]).as_array().map(Vec::len), Some(1));
}
