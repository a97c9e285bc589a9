//! What can go wrong loading the tenant's keys or decrypting a file, split by
//! what the operator does about it. Every message names the key file or the
//! file being decrypted; no message ever holds a passphrase.

use std::fmt;
use std::path::PathBuf;

/// rPGP's own error, kept as the cause where it says something useful.
pub type PgpLibError = pgp::errors::Error;

/// Which key a key-file error is about, as the config names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRole {
    /// The tenant's secret key (`pgp.secret_key`), which the files are encrypted to.
    SecretKey,
    /// The customer's public key (`pgp.require_signature_from`), which must sign the files.
    Signer,
}

impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyRole::SecretKey => "PGP secret key (`pgp.secret_key`)",
            KeyRole::Signer => "signer's PGP public key (`pgp.require_signature_from`)",
        })
    }
}

/// A PGP failure: loading keys, decrypting a file, or writing a new key pair.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgpError {
    /// The key file cannot be read at all.
    #[error("cannot read the {role} {}", path.display())]
    KeyFileUnreadable {
        role: KeyRole,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The key file is readable but holds no usable key of the kind expected.
    #[error("{} is not a usable {role}: {problem}", path.display())]
    NotAKey {
        role: KeyRole,
        path: PathBuf,
        /// What is wrong with it, in words.
        problem: &'static str,
        #[source]
        source: Option<Box<PgpLibError>>,
    },

    /// The secret key is protected, and no passphrase was given.
    #[error(
        "the PGP secret key {} is protected by a passphrase, but none was given \
         (set `pgp.passphrase_env` to the variable that holds it)",
        path.display()
    )]
    PassphraseMissing { path: PathBuf },

    /// The passphrase given does not unlock the secret key.
    #[error(
        "the passphrase does not unlock the PGP secret key {} \
         (check the variable `pgp.passphrase_env` names)",
        path.display()
    )]
    WrongPassphrase { path: PathBuf },

    /// The file is encrypted, but not to our key.
    #[error(
        "{file} is not encrypted to our PGP key {our_key} (`pgp.secret_key`): {} \
         (ask the sender to encrypt to our public key)",
        recipients_phrase(recipients)
    )]
    NotForThisKey {
        file: String,
        /// The key ids (or fingerprints) the message is encrypted to, upper-case hex;
        /// empty when it names none.
        recipients: Vec<String>,
        /// Our key's fingerprint, upper-case hex.
        our_key: String,
    },

    /// The ciphertext was changed or cut short: the integrity check failed.
    #[error("{file}: the PGP integrity check failed: the encrypted file was changed or cut short (fetch it again)")]
    IntegrityCheckFailed {
        file: String,
        #[source]
        source: Box<PgpLibError>,
    },

    /// A signature is required, and the message carries none.
    #[error(
        "{file} is not signed, but `pgp.require_signature_from` requires a signature by {} ({signer})",
        signer_path.display()
    )]
    Unsigned {
        file: String,
        signer_path: PathBuf,
        /// The required signer's fingerprint, upper-case hex.
        signer: String,
    },

    /// The message is signed, but not by the required key.
    #[error(
        "{file} is signed by {}, not by the required key {signer} ({})",
        signers_phrase(signed_by),
        signer_path.display()
    )]
    WrongSigner {
        file: String,
        /// The issuer key ids (or fingerprints) the signatures name, upper-case hex.
        signed_by: Vec<String>,
        signer_path: PathBuf,
        /// The required signer's fingerprint, upper-case hex.
        signer: String,
    },

    /// The message names the required key as its signer, but the signature does not verify.
    #[error("{file}: the signature by {signer} ({}) does not verify: the content is not what was signed", signer_path.display())]
    BadSignature {
        file: String,
        signer_path: PathBuf,
        /// The required signer's fingerprint, upper-case hex.
        signer: String,
    },

    /// Not an OpenPGP message, or one that cannot be read.
    #[error("{file} is not a readable PGP message: {problem}")]
    Malformed {
        file: String,
        /// What is wrong with it, in words.
        problem: &'static str,
        #[source]
        source: Option<Box<PgpLibError>>,
    },

    /// Generating a key pair failed inside rPGP.
    #[error("cannot generate the PGP key pair: {step}")]
    KeyGeneration {
        step: &'static str,
        #[source]
        source: Box<PgpLibError>,
    },

    /// Reading randomness or writing a key file failed.
    #[error("cannot {doing} {}", path.display())]
    Io {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn recipients_phrase(recipients: &[String]) -> String {
    match recipients {
        [] => "it names no key it is for".to_owned(),
        [one] => format!("it is for the key id {one}"),
        many => format!("it is for the key ids {}", many.join(", ")),
    }
}

fn signers_phrase(signed_by: &[String]) -> String {
    match signed_by {
        [] => "a key that does not name itself".to_owned(),
        [one] => format!("the key id {one}"),
        many => format!("the key ids {}", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::PgpError;

    /// rPGP's error is large (it carries a backtrace); boxed, `PgpError` stays
    /// small enough to travel inside other `Result`s (clippy's
    /// `result_large_err` draws the line at 128 bytes).
    #[test]
    fn pgp_error_stays_small() {
        assert!(size_of::<PgpError>() <= 112, "{} bytes", size_of::<PgpError>());
    }
}
