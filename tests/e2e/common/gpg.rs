//! A throwaway GnuPG home for tests: keys made and files encrypted by the
//! real `gpg` command line, as a customer's job would.

use std::path::Path;
use std::process::{Command, Output};

pub struct GpgHome {
    dir: tempfile::TempDir,
}

impl Default for GpgHome {
    fn default() -> Self {
        GpgHome::new()
    }
}

impl GpgHome {
    pub fn new() -> GpgHome {
        GpgHome {
            dir: tempfile::Builder::new()
                .prefix("gpg")
                .tempdir()
                .expect("temporary GNUPGHOME"),
        }
    }

    /// Runs gpg in batch mode; panics with gpg's words when it fails or is missing.
    pub fn gpg(&self, args: &[&str]) -> Output {
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
                "",
            ])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("these tests need `gpg` (install gnupg): {e}"));
        assert!(
            out.status.success(),
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// An unprotected Curve25519 key (ed25519 signing, cv25519 encryption).
    pub fn make_key(&self, user_id: &str) {
        self.gpg(&["--quick-gen-key", user_id, "ed25519", "sign,cert", "never"]);
        let listing = self.gpg(&["--with-colons", "--list-keys", user_id]);
        let text = String::from_utf8_lossy(&listing.stdout).into_owned();
        let fingerprint = text
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .unwrap_or_else(|| panic!("no fingerprint for {user_id}"))
            .to_owned();
        self.gpg(&["--quick-add-key", &fingerprint, "cv25519", "encr", "never"]);
    }

    /// Writes the armored secret key of `user_id` to `path`.
    pub fn export_secret(&self, user_id: &str, path: &Path) {
        let out = self.gpg(&["--armor", "--export-secret-keys", user_id]);
        std::fs::write(path, out.stdout).expect("write secret key");
    }

    /// Writes the armored public key of `user_id` to `path`.
    pub fn export_public(&self, user_id: &str, path: &Path) {
        let out = self.gpg(&["--armor", "--export", user_id]);
        std::fs::write(path, out.stdout).expect("write public key");
    }

    /// Encrypts `input` to `recipient` into `output`; signed by `signer` if given.
    pub fn encrypt(&self, input: &Path, output: &Path, recipient: &str, signer: Option<&str>, armor: bool) {
        let mut args = vec!["--trust-model", "always", "--yes", "--recipient", recipient, "--output"];
        let out = output.to_str().expect("utf-8 path");
        args.push(out);
        if armor {
            args.push("--armor");
        }
        if let Some(s) = signer {
            args.extend(["--local-user", s, "--sign"]);
        }
        args.push("--encrypt");
        args.push(input.to_str().expect("utf-8 path"));
        self.gpg(&args);
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        // Stop the agent gpg started for this home.
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.dir.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}
