//! PGP-encrypted daily files through `sync`: made by the real gpg command
//! line, decrypted in memory, signature required; a tampered file, one for
//! another key and an unsigned one are refused with the store unchanged.


use crate::common::gpg::GpgHome;
use crate::common::sandbox::TestSandbox;
use crate::common::{TestEnv, example};
use serde_json::json;

struct World {
    sandbox: TestSandbox,
    env: TestEnv,
    gpg: GpgHome,
}

fn world() -> World {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    let gpg = GpgHome::new();
    gpg.make_key("Tenant <tenant@ampsync.example>");
    gpg.make_key("Customer <hr@northwind.example>");
    gpg.make_key("Stranger <x@elsewhere.example>");
    std::fs::create_dir_all(env.path().join("keys")).expect("keys dir");
    std::fs::create_dir_all(env.path().join("drop")).expect("drop dir");
    gpg.export_secret("tenant@ampsync.example", &env.path().join("keys/tenant.sec.asc"));
    gpg.export_public("hr@northwind.example", &env.path().join("keys/customer.pub.asc"));
    let extra = format!(
        "max_requests_per_second = 500\n[source]\nkind = \"dir\"\nremote_dir = \"{}\"\npattern = \"users_*.csv*\"\nsettle_seconds = 0\n[pgp]\nsecret_key = \"keys/tenant.sec.asc\"\nrequire_signature_from = \"keys/customer.pub.asc\"\n",
        env.path().join("drop").display()
    );
    sandbox.configure(&mut env, &extra);
    World { sandbox, env, gpg }
}

impl World {
    /// Encrypts an example day into the drop folder, newer than what is there.
    fn drop_file(
        &self,
        day: &str,
        name: &str,
        recipient: &str,
        signer: Option<&str>,
        armor: bool,
        age: u64,
    ) -> std::path::PathBuf {
        let path = self.env.path().join("drop").join(name);
        self.gpg.encrypt(&example(day), &path, recipient, signer, armor);
        let mtime = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(mtime))
            .expect("mtime");
        path
    }
}

#[test]
fn signed_encrypted_files_are_decrypted_and_bad_ones_refused_with_the_store_unchanged() {
    let w = world();
    w.drop_file(
        "day1.csv",
        "users_1.csv.asc",
        "tenant@ampsync.example",
        Some("hr@northwind.example"),
        true,
        3000,
    );
    let run = w.env.run(&["sync"]).expect_code(0);
    assert!(
        run.stdout.contains("users_1.csv.asc as snapshot 1: 50 created"),
        "{}",
        run.stdout
    );
    assert_eq!(w.sandbox.users().len(), 50);
    // The snapshot's hash is the plaintext's: the same file as the example.
    let day1_hash = blake3::hash(&std::fs::read(example("day1.csv")).expect("day1"))
        .to_hex()
        .to_string();
    assert_eq!(w.env.json(&["snapshots"])[0]["file_hash"], json!(day1_hash));

    let store_before = std::fs::read(w.env.store_path()).expect("store");
    let refused = |name: &str, expected: &str| {
        let run = w.env.run(&["sync"]);
        assert_eq!(run.code, 1, "{name}: {run:?}");
        assert!(
            run.stdout.contains(expected),
            "{name}: stdout lacks {expected:?}:\n{}",
            run.stdout
        );
        assert_eq!(
            std::fs::read(w.env.store_path()).expect("store"),
            store_before,
            "{name} changed the store"
        );
        std::fs::remove_file(w.env.path().join("drop").join(name)).expect("remove");
    };

    // Tampered ciphertext.
    let path = w.drop_file(
        "day2.csv",
        "users_2.csv.gpg",
        "tenant@ampsync.example",
        Some("hr@northwind.example"),
        false,
        2000,
    );
    let mut bytes = std::fs::read(&path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&path, bytes).expect("tamper");
    let mtime = std::time::SystemTime::now() - std::time::Duration::from_secs(2000);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(mtime))
        .expect("mtime");
    refused("users_2.csv.gpg", "users_2.csv.gpg");

    // Encrypted to someone else's key.
    w.drop_file(
        "day2.csv",
        "users_3.csv.gpg",
        "x@elsewhere.example",
        Some("hr@northwind.example"),
        false,
        1000,
    );
    refused("users_3.csv.gpg", "not encrypted to");

    // Not signed, though a signature is required.
    w.drop_file("day2.csv", "users_4.csv.asc", "tenant@ampsync.example", None, true, 500);
    refused("users_4.csv.asc", "not signed");

    // A good file goes through after all that.
    w.drop_file(
        "day2.csv",
        "users_5.csv.gpg",
        "tenant@ampsync.example",
        Some("hr@northwind.example"),
        false,
        100,
    );
    let run = w.env.run(&["sync"]).expect_code(0);
    assert!(
        run.stdout
            .contains("users_5.csv.gpg as snapshot 2: 2 created, 3 updated, 2 deactivated"),
        "{}",
        run.stdout
    );
    assert_eq!(w.sandbox.users().len(), 52);
}
