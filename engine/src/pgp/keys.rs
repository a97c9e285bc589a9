//! The tenant's PGP keys, loaded once per run: the secret key the files are
//! encrypted to (its encryption keys unlocked here, so a wrong passphrase is
//! reported as such and each file does not pay for the unlocking again), and
//! optionally the customer's public key that must sign them.

use std::fmt;
use std::path::{Path, PathBuf};

use pgp::composed::{Deserializable, SignedPublicKey, SignedSecretKey};
use pgp::packet::Signature;
use pgp::types::{KeyDetails, Password};

use super::error::{KeyRole, PgpError, PgpLibError};

/// Keys for one tenant, loaded once per run.
pub struct PgpKeys {
    pub(super) secret: SignedSecretKey,
    pub(super) secret_path: PathBuf,
    /// The secret key's fingerprint, upper-case hex.
    pub(super) fingerprint: String,
    pub(super) signer: Option<Signer>,
}

/// The customer's public key, when files must be signed by it.
pub(super) struct Signer {
    pub(super) key: SignedPublicKey,
    pub(super) path: PathBuf,
    /// Upper-case hex.
    pub(super) fingerprint: String,
}

impl PgpKeys {
    /// secret_key: path to an ASCII-armored (or binary) secret key file;
    /// passphrase: from the env var the config names (the caller reads it;
    /// None = unprotected); signer: path to the customer's public key file
    /// when a signature is required.
    ///
    /// The passphrase is checked here by unlocking the key's encryption
    /// (sub)keys, which stay unlocked in memory for this run.
    pub fn load(secret_key: &Path, passphrase: Option<String>, signer: Option<&Path>) -> Result<PgpKeys, PgpError> {
        let mut secret = read_secret_key(secret_key)?;
        let passphrase = passphrase.map(Password::from);
        unlock_encryption_keys(&mut secret, secret_key, passphrase.as_ref())?;
        let fingerprint = format!("{:X}", secret.fingerprint());
        let signer = signer.map(read_signer).transpose()?;
        Ok(PgpKeys {
            secret,
            secret_path: secret_key.to_owned(),
            fingerprint,
            signer,
        })
    }

    /// The secret key's fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The required signer's fingerprint (upper-case hex), when a signature is required.
    pub fn signer_fingerprint(&self) -> Option<&str> {
        self.signer.as_ref().map(|s| s.fingerprint.as_str())
    }
}

// Secret material must not reach logs: show only where the keys came from.
impl fmt::Debug for PgpKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgpKeys")
            .field("secret_path", &self.secret_path)
            .field("fingerprint", &self.fingerprint)
            .field("signer", &self.signer.as_ref().map(|s| (&s.path, &s.fingerprint)))
            .finish()
    }
}

fn read_key_file(path: &Path, role: KeyRole) -> Result<Vec<u8>, PgpError> {
    let bytes = std::fs::read(path).map_err(|source| PgpError::KeyFileUnreadable {
        role,
        path: path.to_owned(),
        source,
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PgpError::NotAKey {
            role,
            path: path.to_owned(),
            problem: "the file is empty",
            source: None,
        });
    }
    Ok(bytes)
}

fn read_secret_key(path: &Path) -> Result<SignedSecretKey, PgpError> {
    let role = KeyRole::SecretKey;
    let bytes = read_key_file(path, role)?;
    let key = match SignedSecretKey::from_reader_single(&bytes[..]) {
        Ok((key, _headers)) => key,
        Err(source) => {
            // The commonest mix-up: the public half given where the secret one belongs.
            let problem = if SignedPublicKey::from_reader_single(&bytes[..]).is_ok() {
                "it holds a public key; decrypting needs the secret key (export it with `gpg --export-secret-keys`)"
            } else {
                "it is not an OpenPGP secret key"
            };
            return Err(PgpError::NotAKey {
                role,
                path: path.to_owned(),
                problem,
                source: Some(Box::new(source)),
            });
        }
    };
    key.verify_bindings().map_err(|source| PgpError::NotAKey {
        role,
        path: path.to_owned(),
        problem: "its self-signatures do not verify",
        source: Some(Box::new(source)),
    })?;
    Ok(key)
}

fn read_signer(path: &Path) -> Result<Signer, PgpError> {
    let role = KeyRole::Signer;
    let bytes = read_key_file(path, role)?;
    let key = match SignedPublicKey::from_reader_single(&bytes[..]) {
        Ok((key, _headers)) => key,
        Err(source) => {
            // A secret key also carries the public half: accept it, though the
            // customer's secret key should not be here at all.
            match SignedSecretKey::from_reader_single(&bytes[..]) {
                Ok((secret, _)) => {
                    tracing::warn!(path = %path.display(), "the signer's key file holds a secret key; only its public key is needed");
                    secret.to_public_key()
                }
                Err(_) => {
                    return Err(PgpError::NotAKey {
                        role,
                        path: path.to_owned(),
                        problem: "it is not an OpenPGP public key",
                        source: Some(Box::new(source)),
                    });
                }
            }
        }
    };
    key.verify_bindings().map_err(|source| PgpError::NotAKey {
        role,
        path: path.to_owned(),
        problem: "its self-signatures do not verify",
        source: Some(Box::new(source)),
    })?;
    let fingerprint = format!("{:X}", key.fingerprint());
    Ok(Signer {
        key,
        path: path.to_owned(),
        fingerprint,
    })
}

/// Removes the passphrase protection, in memory, from each (sub)key that can
/// decrypt. Keys only for signing or certifying are left as they are: they
/// are never needed here, and each unlock costs a deliberate amount of work.
fn unlock_encryption_keys(
    key: &mut SignedSecretKey,
    path: &Path,
    passphrase: Option<&Password>,
) -> Result<(), PgpError> {
    let mut encryption_keys = 0;

    let primary_sigs = key
        .details
        .users
        .iter()
        .flat_map(|u| u.signatures.iter())
        .chain(&key.details.direct_signatures);
    if key.primary_key.algorithm().can_encrypt() && flags_allow_encryption(primary_sigs) {
        encryption_keys += 1;
        if key.primary_key.secret_params().is_encrypted() {
            let pw = passphrase.ok_or_else(|| PgpError::PassphraseMissing { path: path.to_owned() })?;
            key.primary_key.remove_password(pw).map_err(|e| unlock_error(path, e))?;
        }
    }
    for sub in &mut key.secret_subkeys {
        if !(sub.key.algorithm().can_encrypt() && flags_allow_encryption(sub.signatures.iter())) {
            continue;
        }
        encryption_keys += 1;
        if sub.key.secret_params().is_encrypted() {
            let pw = passphrase.ok_or_else(|| PgpError::PassphraseMissing { path: path.to_owned() })?;
            sub.key.remove_password(pw).map_err(|e| unlock_error(path, e))?;
        }
    }

    if encryption_keys == 0 {
        return Err(PgpError::NotAKey {
            role: KeyRole::SecretKey,
            path: path.to_owned(),
            problem: "it has no (sub)key that can decrypt",
            source: None,
        });
    }
    Ok(())
}

/// A failed unlock is a wrong passphrase, unless rPGP says it cannot handle
/// the protection at all (e.g. a key stub whose secret lives on a smartcard).
fn unlock_error(path: &Path, e: PgpLibError) -> PgpError {
    match e {
        PgpLibError::Unsupported { .. } | PgpLibError::Unimplemented { .. } => PgpError::NotAKey {
            role: KeyRole::SecretKey,
            path: path.to_owned(),
            problem: "its secret key material is protected in a way that cannot be unlocked here",
            source: Some(Box::new(e)),
        },
        _ => PgpError::WrongPassphrase { path: path.to_owned() },
    }
}

/// Whether a key's self-signatures allow encryption. A key whose signatures
/// carry no usage flags at all (old keys) is judged by its algorithm alone.
fn flags_allow_encryption<'a>(sigs: impl Iterator<Item = &'a Signature>) -> bool {
    let mut flagged = false;
    for sig in sigs {
        let flags = sig.key_flags();
        if flags.encrypt_comms() || flags.encrypt_storage() {
            return true;
        }
        flagged |= flags.sign() || flags.certify() || flags.authentication();
    }
    !flagged
}
