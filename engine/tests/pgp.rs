//! PGP decryption against files made by the real `gpg` (GnuPG 2.2): RSA and
//! Curve25519 tenant keys, armored and binary messages, signed and unsigned,
//! a passphrase-protected key, tampering, and a key pair from
//! `generate_key_pair` that gpg encrypts to.
//!
//! The keys and messages are made once per test binary in a temporary
//! GNUPGHOME, held in memory, and written into each test's own directory.
//! gpg missing is a failure, never a skip.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use ampsync_engine::pgp::{self, KeyRole, PgpError, PgpKeys};
use tempfile::TempDir;

const PASSPHRASE: &str = "corr3ct h0rse battery";

/// A small user file with non-ASCII names, long enough that the middle of a
/// binary message lies inside the encrypted data, not in the session-key packet.
fn plaintext() -> Vec<u8> {
    let names = [
        "José Núñez",
        "Zoë Brontë",
        "Łukasz Żółć",
        "Björk Guðmundsdóttir",
        "Ærøskøbing Ø",
        "佐藤 花子",
    ];
    let mut csv = String::from("Employee ID,Name,Email,Primary team\r\n");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..400 {
        // Vary the rows so compression leaves some bulk.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let name = names[i % names.len()];
        csv.push_str(&format!("E{i:05},{name},u{x:016x}@example.com,Équipe {}\r\n", x % 97));
    }
    csv.into_bytes()
}

/// A gpg home directory; gpg's agent for it is stopped when dropped.
struct GpgHome {
    dir: TempDir,
}

impl GpgHome {
    fn new() -> GpgHome {
        let dir = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir()
            .expect("temporary GNUPGHOME");
        GpgHome { dir }
    }

    /// Runs gpg in batch mode, the passphrase given by loopback; panics with
    /// gpg's own words when it fails or is missing.
    fn gpg(&self, passphrase: &str, args: &[&str]) -> Output {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(self.dir.path())
            .args([
                "--batch",
                "--quiet",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                passphrase,
            ])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("these tests need `gpg` (GnuPG 2.2+) on PATH: {e}"));
        assert!(
            out.status.success(),
            "gpg {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Makes a signing primary key with an encryption subkey; returns its
    /// fingerprint and the encryption subkey's key id.
    fn make_key(&self, user_id: &str, primary: &str, sub: &str, passphrase: &str) -> KeyIds {
        self.gpg(passphrase, &["--quick-gen-key", user_id, primary, "sign,cert", "never"]);
        let fingerprint = self.colon_field(user_id, "fpr", 9);
        self.gpg(passphrase, &["--quick-add-key", &fingerprint, sub, "encr", "never"]);
        let encryption_key_id = self.colon_field(user_id, "sub", 4);
        KeyIds {
            fingerprint,
            encryption_key_id,
        }
    }

    /// The first `record` line's field `index` in `gpg --with-colons --list-keys`.
    fn colon_field(&self, user_id: &str, record: &str, index: usize) -> String {
        let out = self.gpg("", &["--with-colons", "--list-keys", user_id]);
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        listing
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f[0] == record)
            .and_then(|f| f.get(index).map(|s| s.to_string()))
            .unwrap_or_else(|| panic!("no {record} record for {user_id} in:\n{listing}"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.dir.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

#[derive(Debug, Clone)]
struct KeyIds {
    /// Primary key fingerprint, upper-case hex.
    fingerprint: String,
    /// Encryption subkey's key id, upper-case hex.
    encryption_key_id: String,
}

/// Everything gpg made, in memory.
struct Fixture {
    plaintext: Vec<u8>,
    files: HashMap<&'static str, Vec<u8>>,
    rsa: KeyIds,
    cv: KeyIds,
    customer: KeyIds,
    unrelated: KeyIds,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(make_fixture)
}

fn make_fixture() -> Fixture {
    let home = GpgHome::new();
    let rsa = home.make_key("Tenant RSA <rsa@tenant.example>", "rsa3072", "rsa3072", "");
    let cv = home.make_key("Tenant CV <cv@tenant.example>", "ed25519", "cv25519", "");
    home.make_key(
        "Tenant Protected <prot@tenant.example>",
        "ed25519",
        "cv25519",
        PASSPHRASE,
    );
    let customer = home.make_key("Customer <hr@customer.example>", "ed25519", "cv25519", "");
    // RSA, unlike the customer's key: a signature by it meets rPGP's
    // algorithm-mismatch assertion.
    let unrelated = home.make_key("Unrelated <x@elsewhere.example>", "rsa2048", "rsa2048", "");

    let plaintext = plaintext();
    let plain_path = home.path("users.csv");
    std::fs::write(&plain_path, &plaintext).expect("write plaintext");
    let plain = plain_path.to_str().expect("utf-8 temp path");

    let mut files = HashMap::new();
    let mut export = |name: &'static str, passphrase: &str, args: &[&str]| {
        files.insert(name, home.gpg(passphrase, args).stdout);
    };
    export(
        "rsa.sec.asc",
        "",
        &["--armor", "--export-secret-keys", "rsa@tenant.example"],
    );
    export("rsa.sec.gpg", "", &["--export-secret-keys", "rsa@tenant.example"]);
    export("rsa.pub.asc", "", &["--armor", "--export", "rsa@tenant.example"]);
    export(
        "cv.sec.asc",
        "",
        &["--armor", "--export-secret-keys", "cv@tenant.example"],
    );
    export(
        "prot.sec.asc",
        PASSPHRASE,
        &["--armor", "--export-secret-keys", "prot@tenant.example"],
    );
    export("customer.pub.asc", "", &["--armor", "--export", "hr@customer.example"]);
    export("unrelated.pub.asc", "", &["--armor", "--export", "x@elsewhere.example"]);

    let encrypt = |to: &str, extra: &[&str]| -> Vec<u8> {
        let mut args = vec!["--trust-model", "always", "--output", "-", "--recipient", to];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--encrypt", plain]);
        home.gpg("", &args).stdout
    };
    let signed_by = |who| ["--sign", "--local-user", who];
    let messages: [(&'static str, Vec<u8>); 8] = [
        ("rsa-unsigned.csv.asc", encrypt("rsa@tenant.example", &["--armor"])),
        ("rsa-unsigned.csv.gpg", encrypt("rsa@tenant.example", &[])),
        (
            "rsa-signed.csv.gpg",
            encrypt("rsa@tenant.example", &signed_by("hr@customer.example")),
        ),
        (
            "rsa-signed-by-unrelated.csv.gpg",
            encrypt("rsa@tenant.example", &signed_by("x@elsewhere.example")),
        ),
        (
            "cv-signed.csv.asc",
            encrypt(
                "cv@tenant.example",
                &[&["--armor"][..], &signed_by("hr@customer.example")].concat(),
            ),
        ),
        ("cv-unsigned.csv.gpg", encrypt("cv@tenant.example", &[])),
        ("prot.csv.gpg", encrypt("prot@tenant.example", &[])),
        ("unrelated.csv.gpg", encrypt("x@elsewhere.example", &[])),
    ];
    files.extend(messages);

    Fixture {
        plaintext,
        files,
        rsa,
        cv,
        customer,
        unrelated,
    }
}

impl Fixture {
    fn bytes(&self, name: &str) -> &[u8] {
        self.files.get(name).unwrap_or_else(|| panic!("no fixture file {name}"))
    }

    /// Writes a fixture file into `dir` and returns its path.
    fn write(&self, dir: &TempDir, name: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, self.bytes(name)).expect("write fixture file");
        path
    }

    fn keys(&self, dir: &TempDir, secret: &str, signer: Option<&str>) -> PgpKeys {
        let secret = self.write(dir, secret);
        let signer = signer.map(|s| self.write(dir, s));
        PgpKeys::load(&secret, None, signer.as_deref()).expect("load keys")
    }
}

fn tempdir() -> TempDir {
    TempDir::new().expect("temporary directory")
}

#[test]
fn rsa_armored_unsigned_decrypts_to_the_original_bytes() {
    let f = fixture();
    let dir = tempdir();
    let keys = f.keys(&dir, "rsa.sec.asc", None);
    assert_eq!(keys.fingerprint(), f.rsa.fingerprint);
    let out = pgp::decrypt(&keys, "rsa-unsigned.csv.asc", f.bytes("rsa-unsigned.csv.asc")).expect("decrypt");
    assert_eq!(out, f.plaintext);
}

#[test]
fn rsa_binary_signed_by_the_required_signer_with_a_binary_secret_key() {
    let f = fixture();
    let dir = tempdir();
    let keys = f.keys(&dir, "rsa.sec.gpg", Some("customer.pub.asc"));
    assert_eq!(keys.signer_fingerprint(), Some(f.customer.fingerprint.as_str()));
    let out = pgp::decrypt(&keys, "rsa-signed.csv.gpg", f.bytes("rsa-signed.csv.gpg")).expect("decrypt");
    assert_eq!(out, f.plaintext);
}

#[test]
fn curve25519_armored_signed_and_binary_unsigned() {
    let f = fixture();
    let dir = tempdir();
    let signed = f.keys(&dir, "cv.sec.asc", Some("customer.pub.asc"));
    assert_eq!(signed.fingerprint(), f.cv.fingerprint);
    let out = pgp::decrypt(&signed, "cv-signed.csv.asc", f.bytes("cv-signed.csv.asc")).expect("armored, signed");
    assert_eq!(out, f.plaintext);

    let unsigned = f.keys(&dir, "cv.sec.asc", None);
    let out = pgp::decrypt(&unsigned, "cv-unsigned.csv.gpg", f.bytes("cv-unsigned.csv.gpg")).expect("binary");
    assert_eq!(out, f.plaintext);
    // A signed message decrypts without a signer configured, too.
    let out = pgp::decrypt(&unsigned, "cv-signed.csv.asc", f.bytes("cv-signed.csv.asc")).expect("signed, unchecked");
    assert_eq!(out, f.plaintext);
}

#[test]
fn protected_key_opens_with_its_passphrase_only() {
    let f = fixture();
    let dir = tempdir();
    let path = f.write(&dir, "prot.sec.asc");

    let started = Instant::now();
    let keys = PgpKeys::load(&path, Some(PASSPHRASE.to_owned()), None).expect("right passphrase");
    eprintln!("unlocking the gpg-protected key took {:?}", started.elapsed());
    let out = pgp::decrypt(&keys, "prot.csv.gpg", f.bytes("prot.csv.gpg")).expect("decrypt");
    assert_eq!(out, f.plaintext);

    let wrong = "Tr0ub4dor&3-wrong";
    let err = PgpKeys::load(&path, Some(wrong.to_owned()), None).expect_err("wrong passphrase");
    assert!(
        matches!(&err, PgpError::WrongPassphrase { path: p } if *p == path),
        "{err:?}"
    );
    let shown = full_message(&err);
    assert!(shown.contains(path.to_str().expect("utf-8")), "{shown}");
    assert!(!shown.contains(wrong) && !format!("{err:?}").contains(wrong), "{shown}");

    let err = PgpKeys::load(&path, None, None).expect_err("no passphrase");
    assert!(
        matches!(&err, PgpError::PassphraseMissing { path: p } if *p == path),
        "{err:?}"
    );
}

#[test]
fn message_for_another_key_names_its_recipient_and_our_key() {
    let f = fixture();
    let dir = tempdir();
    let keys = f.keys(&dir, "rsa.sec.asc", None);
    let err = pgp::decrypt(&keys, "unrelated.csv.gpg", f.bytes("unrelated.csv.gpg")).expect_err("not ours");
    match &err {
        PgpError::NotForThisKey {
            file,
            recipients,
            our_key,
        } => {
            assert_eq!(file, "unrelated.csv.gpg");
            assert_eq!(recipients, &vec![f.unrelated.encryption_key_id.clone()]);
            assert_eq!(our_key, &f.rsa.fingerprint);
        }
        other => panic!("expected NotForThisKey, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "unrelated.csv.gpg is not encrypted to our PGP key {} (`pgp.secret_key`): it is for the key id {} \
             (ask the sender to encrypt to our public key)",
            f.rsa.fingerprint, f.unrelated.encryption_key_id
        )
    );
}

#[test]
fn tampered_or_truncated_ciphertext_fails_the_integrity_check() {
    let f = fixture();
    let dir = tempdir();
    let keys = f.keys(&dir, "cv.sec.asc", None);
    let original = f.bytes("cv-unsigned.csv.gpg");

    let mut tampered = original.to_vec();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    let err = pgp::decrypt(&keys, "tampered.csv.gpg", &tampered).expect_err("tampered");
    assert!(
        matches!(&err, PgpError::IntegrityCheckFailed { file, .. } if file == "tampered.csv.gpg"),
        "{err:?}"
    );

    for cut in [1, 100, original.len() / 2] {
        let truncated = &original[..original.len() - cut];
        let err = pgp::decrypt(&keys, "truncated.csv.gpg", truncated).expect_err("truncated");
        assert!(
            matches!(&err, PgpError::IntegrityCheckFailed { file, .. } if file == "truncated.csv.gpg"),
            "cut {cut}: {}",
            full_message(&err)
        );
    }
    let armored = fixture().bytes("cv-signed.csv.asc");
    let armored = &armored[..armored.len() * 2 / 3];
    let err = pgp::decrypt(&keys, "truncated.csv.asc", armored).expect_err("truncated armor");
    assert!(
        matches!(&err, PgpError::IntegrityCheckFailed { file, .. } if file == "truncated.csv.asc"),
        "{err:?}"
    );
}

#[test]
fn required_signature_missing_or_by_another_key() {
    let f = fixture();
    let dir = tempdir();
    let keys = f.keys(&dir, "rsa.sec.asc", Some("customer.pub.asc"));
    let signer_path = dir.path().join("customer.pub.asc");

    let err = pgp::decrypt(&keys, "rsa-unsigned.csv.asc", f.bytes("rsa-unsigned.csv.asc")).expect_err("unsigned");
    match &err {
        PgpError::Unsigned {
            file,
            signer_path: p,
            signer,
        } => {
            assert_eq!(file, "rsa-unsigned.csv.asc");
            assert_eq!(p, &signer_path);
            assert_eq!(signer, &f.customer.fingerprint);
        }
        other => panic!("expected Unsigned, got {other:?}"),
    }

    let name = "rsa-signed-by-unrelated.csv.gpg";
    let err = pgp::decrypt(&keys, name, f.bytes(name)).expect_err("wrong signer");
    match &err {
        PgpError::WrongSigner {
            file,
            signed_by,
            signer_path: p,
            signer,
        } => {
            assert_eq!(file, name);
            // gpg 2.2 names the issuer by fingerprint.
            assert_eq!(signed_by, &vec![f.unrelated.fingerprint.clone()]);
            assert_eq!(p, &signer_path);
            assert_eq!(signer, &f.customer.fingerprint);
        }
        other => panic!("expected WrongSigner, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "{name} is signed by the key id {}, not by the required key {} ({})",
            f.unrelated.fingerprint,
            f.customer.fingerprint,
            signer_path.display()
        )
    );
}

#[test]
fn looks_encrypted_tells_messages_from_csv() {
    let f = fixture();
    // Names that say nothing, so only the content decides.
    assert!(pgp::looks_encrypted("users.csv", f.bytes("rsa-unsigned.csv.asc")));
    assert!(pgp::looks_encrypted("users.csv", f.bytes("rsa-unsigned.csv.gpg")));
    assert!(pgp::looks_encrypted("users.csv", f.bytes("cv-unsigned.csv.gpg")));
    assert!(pgp::looks_encrypted("users.csv", &f.bytes("rsa-signed.csv.gpg")[..16]));
    assert!(!pgp::looks_encrypted("users.csv", &f.plaintext));
    assert!(!pgp::looks_encrypted("users.csv", f.bytes("rsa.sec.gpg")));
    assert!(pgp::looks_encrypted("users_2026-11-25.csv.pgp", &f.plaintext));
}

#[test]
fn generated_key_pair_is_usable_by_gpg() {
    let f = fixture();
    let dir = tempdir();
    let key = pgp::generate_key_pair(
        "Acme Tenant <pgp@acme.example>",
        &dir.path().join("keys"),
        "tenant",
        None,
    )
    .expect("generate");
    assert_eq!(key.public_path, dir.path().join("keys/tenant.pub.asc"));
    assert_eq!(key.secret_path, dir.path().join("keys/tenant.sec.asc"));
    assert_eq!(key.fingerprint.len(), 40);
    assert!(
        key.fingerprint
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key.secret_path)
        .expect("secret key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // The customer's side: gpg imports the public key and encrypts to it.
    let customer = GpgHome::new();
    customer.gpg("", &["--import", key.public_path.to_str().expect("utf-8")]);
    assert_eq!(customer.colon_field(&key.fingerprint, "fpr", 9), key.fingerprint);
    let plain = customer.path("users.csv");
    std::fs::write(&plain, &f.plaintext).expect("write plaintext");
    let message = customer
        .gpg(
            "",
            &[
                "--trust-model",
                "always",
                "--recipient",
                &key.fingerprint,
                "--output",
                "-",
                "--encrypt",
            ]
            .iter()
            .copied()
            .chain([plain.to_str().expect("utf-8")])
            .collect::<Vec<_>>(),
        )
        .stdout;

    let keys = PgpKeys::load(&key.secret_path, None, None).expect("load the generated key");
    assert_eq!(keys.fingerprint(), key.fingerprint);
    assert_eq!(
        pgp::decrypt(&keys, "users.csv.gpg", &message).expect("decrypt"),
        f.plaintext
    );

    // Never overwrites a key.
    let err = pgp::generate_key_pair("Again <a@acme.example>", &dir.path().join("keys"), "tenant", None)
        .expect_err("files exist");
    assert!(
        matches!(&err, PgpError::Io { path, .. } if *path == key.public_path),
        "{err:?}"
    );
}

#[test]
fn generated_protected_key_is_read_by_gpg_and_by_load() {
    let f = fixture();
    let dir = tempdir();
    let key = pgp::generate_key_pair("Acme Tenant <pgp@acme.example>", dir.path(), "tenant", Some(PASSPHRASE))
        .expect("generate");
    let err = PgpKeys::load(&key.secret_path, Some("nope".to_owned()), None).expect_err("wrong passphrase");
    assert!(matches!(err, PgpError::WrongPassphrase { .. }), "{err:?}");
    let keys = PgpKeys::load(&key.secret_path, Some(PASSPHRASE.to_owned()), None).expect("right passphrase");

    // gpg accepts the protection too: it imports the secret key and decrypts with it.
    let tenant = GpgHome::new();
    tenant.gpg(PASSPHRASE, &["--import", key.secret_path.to_str().expect("utf-8")]);
    let plain = tenant.path("users.csv");
    std::fs::write(&plain, &f.plaintext).expect("write plaintext");
    let plain = plain.to_str().expect("utf-8");
    let message = tenant
        .gpg(
            "",
            &[
                "--trust-model",
                "always",
                "--recipient",
                &key.fingerprint,
                "--output",
                "-",
                "--encrypt",
                plain,
            ],
        )
        .stdout;
    let message_path = tenant.path("users.csv.gpg");
    std::fs::write(&message_path, &message).expect("write message");
    let by_gpg = tenant
        .gpg(
            PASSPHRASE,
            &["--output", "-", "--decrypt", message_path.to_str().expect("utf-8")],
        )
        .stdout;
    assert_eq!(by_gpg, f.plaintext);
    assert_eq!(
        pgp::decrypt(&keys, "users.csv.gpg", &message).expect("decrypt"),
        f.plaintext
    );
}

#[test]
fn key_files_that_are_missing_or_not_secret_keys() {
    let f = fixture();
    let dir = tempdir();
    let missing = dir.path().join("nope.sec.asc");
    let err = PgpKeys::load(&missing, None, None).expect_err("missing");
    assert!(
        matches!(&err, PgpError::KeyFileUnreadable { role: KeyRole::SecretKey, path, .. } if *path == missing),
        "{err:?}"
    );

    let public = f.write(&dir, "rsa.pub.asc");
    let err = PgpKeys::load(&public, None, None).expect_err("public key as secret key");
    assert!(
        matches!(&err, PgpError::NotAKey { role: KeyRole::SecretKey, path, problem, .. }
            if *path == public && problem.starts_with("it holds a public key")),
        "{err:?}"
    );

    let secret = f.write(&dir, "cv.sec.asc");
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, &f.plaintext).expect("write csv");
    let err = PgpKeys::load(&secret, None, Some(&csv)).expect_err("csv as signer key");
    assert!(
        matches!(&err, PgpError::NotAKey { role: KeyRole::Signer, path, .. } if *path == csv),
        "{err:?}"
    );
}

#[test]
fn a_plain_csv_is_not_a_pgp_message() {
    let f = fixture();
    let dir = tempdir();
    let keys = f.keys(&dir, "cv.sec.asc", None);
    let err = pgp::decrypt(&keys, "users.csv.pgp", &f.plaintext).expect_err("plain csv");
    assert!(
        matches!(&err, PgpError::Malformed { file, .. } if file == "users.csv.pgp"),
        "{err:?}"
    );
    let err = pgp::decrypt(&keys, "empty.pgp", b"").expect_err("empty");
    assert!(
        matches!(
            &err,
            PgpError::Malformed {
                problem: "the file is empty",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn errors_cross_threads() {
    fn is_send_sync<T: Send + Sync + 'static>() {}
    is_send_sync::<PgpError>();
    is_send_sync::<PgpKeys>();
}

/// The message with its causes, as the binary prints them.
fn full_message(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        out.push_str(&format!("\n  caused by: {c}"));
        cause = c.source();
    }
    out
}
