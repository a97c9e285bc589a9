//! Setting up a daily sync from nothing: `keygen ssh`, `keygen pgp` and
//! `check`, against a real sshd, gpg and the sandbox.


use std::time::{Duration, UNIX_EPOCH};

use crate::common::gpg::GpgHome;
use crate::common::sandbox::TestSandbox;
use crate::common::sshd::{Sshd, fingerprint};
use crate::common::{TestEnv, example};

/// The tests' pinned clock, 2026-11-24T06:30:00Z.
const NOW: u64 = 1_795_501_800;

#[test]
fn keys_made_by_ampsync_log_in_and_decrypt_and_check_reports_each_step() {
    let sshd = Sshd::start();
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();

    let run = env
        .run(&["keygen", "ssh", "--out", "keys/id_ed25519", "--comment", "ampsync@acme"])
        .expect_code(0);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("ssh-ed25519 "))
        .expect("the public key line")
        .to_owned();
    assert!(line.ends_with(" ampsync@acme"), "{line}");
    let key = env.path().join("keys/id_ed25519");
    assert_eq!(
        std::fs::read_to_string(env.path().join("keys/id_ed25519.pub"))
            .expect("pub")
            .trim(),
        line
    );
    let shown = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint "))
        .expect("fingerprint line")
        .to_owned();
    assert_eq!(
        shown,
        fingerprint(&env.path().join("keys/id_ed25519.pub")),
        "the same as ssh-keygen -lf"
    );
    sshd.authorize(&key);

    let run = env
        .run(&[
            "keygen",
            "pgp",
            "--dir",
            "keys",
            "--name",
            "tenant",
            "--user-id",
            "Acme <ampsync@acme.example>",
        ])
        .expect_code(0);
    assert!(run.stdout.contains("keys/tenant.pub.asc"), "{}", run.stdout);
    // The customer encrypts to the public key with their own gpg.
    let customer = GpgHome::new();
    customer.gpg(&[
        "--import",
        env.path().join("keys/tenant.pub.asc").to_str().expect("path"),
    ]);
    customer.encrypt(
        &example("day1.csv"),
        &sshd.path("users_1.csv.gpg"),
        "ampsync@acme.example",
        None,
        false,
    );
    sshd.set_mtime("users_1.csv.gpg", UNIX_EPOCH + Duration::from_secs(NOW - 3600));

    let config = |host_key: &str| {
        format!(
            "max_requests_per_second = 500\n[source]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nprivate_key = \"keys/id_ed25519\"\nknown_host_key = \"{host_key}\"\nremote_dir = \"{}\"\npattern = \"users_*.csv*\"\nsettle_seconds = 30\n[pgp]\nsecret_key = \"keys/tenant.sec.asc\"\n",
            sshd.port,
            sshd.user,
            sshd.root.display()
        )
    };
    sandbox.configure(&mut env, &config(&sshd.host_public_key_line));
    let run = env.run(&["check"]).expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    assert!(
        lines[1].starts_with("ok    sFTP 127.0.0.1: host key matches the pinned one, logged in as "),
        "{}",
        run.stdout
    );
    assert!(
        lines[2].starts_with("ok    would take ") && lines[2].contains("users_1.csv.gpg"),
        "{}",
        run.stdout
    );
    assert!(lines[3].starts_with("ok    PGP secret key"), "{}", run.stdout);
    assert!(
        lines[4].contains("credentials accepted; scopes asked: users:read users:create users:update users:deactivate teams:read; granted: "),
        "{}",
        run.stdout
    );
    assert!(!env.store_path().exists(), "check changes nothing, and makes no store");

    let run = env.run(&["sync"]).expect_code(0);
    assert!(
        run.stdout.contains("users_1.csv.gpg as snapshot 1: 50 created"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.users().len(), 50);

    // A wrong pin fails the check with the offered key's fingerprint.
    let other = Sshd::start();
    sandbox.configure(&mut env, &config(&other.host_public_key_line));
    let run = env.run(&["check"]).expect_code(1);
    let offered = fingerprint(&sshd.host_public_key);
    assert!(
        run.stdout.contains("FAIL  sFTP 127.0.0.1:") && run.stdout.contains(&offered),
        "{}",
        run.stdout
    );
}

/// `keygen pgp --passphrase-env` printed two "packet header mismatch"
/// warnings from rPGP (the protected packets kept their unprotected length
/// until written). It must say nothing on stderr, and the key it writes
/// opens with the passphrase only.
#[test]
fn keygen_pgp_with_a_passphrase_is_quiet_and_protects_the_key() {
    let mut env = TestEnv::new();
    env.env
        .push(("TENANT_PASSPHRASE".into(), "correct horse battery".into()));
    let run = env
        .run(&[
            "keygen",
            "pgp",
            "--user-id",
            "Acme <ampsync@acme.example>",
            "--passphrase-env",
            "TENANT_PASSPHRASE",
        ])
        .expect_code(0);
    assert_eq!(run.stderr, "", "keygen pgp wrote to stderr");
    assert!(run.stdout.contains("keys/tenant.sec.asc"), "{}", run.stdout);

    use ampsync_engine::pgp::{PgpError, PgpKeys};
    let secret = env.path().join("keys/tenant.sec.asc");
    let unlocked = PgpKeys::load(&secret, Some("correct horse battery".into()), None).expect("unlock");
    assert!(run.stdout.contains(unlocked.fingerprint()), "{}", run.stdout);
    let locked = PgpKeys::load(&secret, None, None);
    assert!(matches!(locked, Err(PgpError::PassphraseMissing { .. })), "{locked:?}");
}
