//! The pinned server key (`source.known_host_key`) and the check russh runs
//! against it during the handshake. Trust-on-first-use is never done: a key
//! other than the pinned one ends the connection before authentication.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, PoisonError};

use russh::client;
use russh::keys::{Algorithm, HashAlg, PublicKey, PublicKeyOrCertificate};

/// The one server key ampsync trusts.
#[derive(Debug, Clone)]
pub(super) struct PinnedKey {
    key: PublicKey,
}

/// A key the server offered that is not the pinned one.
#[derive(Debug, Clone)]
pub(super) struct Offered {
    pub fingerprint: String,
    pub algorithm: String,
}

impl PinnedKey {
    /// Reads a public key line (`ssh-ed25519 AAAA… [comment]`) or an OpenSSH
    /// known_hosts line (`host[,host2] ssh-ed25519 AAAA…`, `[host]:port …`,
    /// hashed `|1|…` hosts). The host field is not checked: the pin is for
    /// this one configured server.
    pub fn parse(text: &str) -> Result<PinnedKey, String> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| "it is empty; expected `ssh-ed25519 AAAA…` or a known_hosts line".to_owned())?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields[0].starts_with('@') {
            return Err(format!(
                "known_hosts markers such as `{}` are not supported; pin the server's own key",
                fields[0]
            ));
        }
        // A bare public key starts with its algorithm; a known_hosts line has
        // the host field first.
        for start in 0..2 {
            if let [algorithm, base64, ..] = fields.get(start..).unwrap_or_default()
                && let Ok(key) = PublicKey::from_openssh(&format!("{algorithm} {base64}"))
            {
                return Ok(PinnedKey { key });
            }
        }
        Err(format!(
            "`{}` is neither a public key (`ssh-ed25519 AAAA…`) nor a known_hosts line (`host ssh-ed25519 AAAA…`)",
            abbreviate(line)
        ))
    }

    /// The `SHA256:…` fingerprint, as `ssh-keygen -lf` prints it.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }

    fn matches(&self, offered: &PublicKey) -> bool {
        offered.key_data() == self.key.key_data()
    }

    /// The host key algorithms to ask the server for: only the pinned key's
    /// family, so a server with several host keys proves the pinned one
    /// (OpenSSH does the same with a known_hosts entry).
    pub fn host_key_algorithms(&self, defaults: &[Algorithm]) -> Cow<'static, [Algorithm]> {
        let pinned = self.key.algorithm();
        let same: Vec<Algorithm> = defaults
            .iter()
            .filter(|a| match (a, &pinned) {
                (Algorithm::Rsa { .. }, Algorithm::Rsa { .. }) => true,
                (a, p) => *a == p,
            })
            .cloned()
            .collect();
        if same.is_empty() {
            // russh does not speak this algorithm: let the check refuse
            // whatever the server offers, with its fingerprint.
            Cow::Owned(defaults.to_vec())
        } else {
            Cow::Owned(same)
        }
    }
}

/// A long line cut down for an error message.
fn abbreviate(line: &str) -> String {
    match line.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

/// The russh client handler: accepts the pinned key only, and remembers
/// what was offered otherwise (russh reports a refusal only as
/// `Error::UnknownKey`).
pub(super) struct HostKeyCheck {
    pub pinned: PinnedKey,
    pub refused: Arc<Mutex<Option<Offered>>>,
}

impl HostKeyCheck {
    fn refuse(&self, key_fingerprint: String, algorithm: String) {
        *self.refused.lock().unwrap_or_else(PoisonError::into_inner) = Some(Offered {
            fingerprint: key_fingerprint,
            algorithm,
        });
    }
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(&mut self, offered: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                if self.pinned.matches(key) {
                    return Ok(true);
                }
                self.refuse(
                    key.fingerprint(HashAlg::Sha256).to_string(),
                    key.algorithm().to_string(),
                );
            }
            // Never asked for; refused like any other unpinned key.
            PublicKeyOrCertificate::Certificate(cert) => {
                self.refuse(
                    cert.public_key().fingerprint(HashAlg::Sha256).to_string(),
                    cert.algorithm().to_certificate_type().to_string(),
                );
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::PinnedKey;

    const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    // As `ssh-keygen -lf` prints it for that key.
    const FINGERPRINT: &str = "SHA256:T7SvZ2cslqpPj6nKzitCBHHlpVF3r3MvLwmFL0fk0IE";

    #[test]
    fn reads_public_key_and_known_hosts_lines() {
        let want = Ok(FINGERPRINT.to_owned());
        for line in [
            format!("ssh-ed25519 {KEY}"),
            format!("ssh-ed25519 {KEY} backup server key"),
            format!("  ssh-ed25519 {KEY}\n"),
            format!("sftp.example.com ssh-ed25519 {KEY}"),
            format!("sftp.example.com,10.0.0.5 ssh-ed25519 {KEY} comment"),
            format!("[127.0.0.1]:2222 ssh-ed25519 {KEY}"),
            format!("|1|c2FsdHNhbHRzYWx0c2FsdA==|aGFzaGhhc2hoYXNoaGFzaA== ssh-ed25519 {KEY}"),
        ] {
            assert_eq!(PinnedKey::parse(&line).map(|k| k.fingerprint()), want, "{line}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_key() {
        for (line, want) in [
            ("", "it is empty; expected `ssh-ed25519 AAAA…` or a known_hosts line"),
            (
                "ssh-ed25519 AAAAnotbase64",
                "`ssh-ed25519 AAAAnotbase64` is neither a public key (`ssh-ed25519 AAAA…`) nor a known_hosts line \
                 (`host ssh-ed25519 AAAA…`)",
            ),
            (
                "@cert-authority *.example.com ssh-ed25519 AAAA",
                "known_hosts markers such as `@cert-authority` are not supported; pin the server's own key",
            ),
        ] {
            assert_eq!(
                PinnedKey::parse(line).map(|k| k.fingerprint()),
                Err(want.to_owned()),
                "{line}"
            );
        }
    }
}
