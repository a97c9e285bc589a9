//! A new tenant key pair for `ampsync keygen pgp`: an Ed25519 primary key
//! (certify, sign) with a Curve25519 encryption subkey, as v4 keys in the
//! "legacy" encodings GnuPG 2.2 and later read, made by rPGP's key builder
//! with the operating system's CSPRNG. Writing the files is this module's;
//! every byte of the keys is rPGP's.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use pgp::composed::{
    ArmorOptions, EncryptionCaps, KeyType, SecretKeyParamsBuilder, SignedSecretKey, SubkeyParamsBuilder,
};
use pgp::crypto::ecc_curve::ECCCurve;
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::{SecretKey, SecretSubkey};
use pgp::types::{CompressionAlgorithm, KeyDetails};
use rand_core::OsRng;

use super::error::{PgpError, PgpLibError};

/// Where a generated key pair was written, and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// `<dir>/<stem>.pub.asc`: give it to the customer; they encrypt to it.
    pub public_path: PathBuf,
    /// `<dir>/<stem>.sec.asc` (mode 0600): the tenant's `pgp.secret_key`.
    pub secret_path: PathBuf,
    /// The primary key's fingerprint, upper-case hex.
    pub fingerprint: String,
}

/// Writes a new key pair for `ampsync keygen pgp`: `<dir>/<stem>.pub.asc`
/// (give to the customer: they encrypt to it) and `<dir>/<stem>.sec.asc`
/// (mode 0600), unprotected unless `passphrase` is Some. Ed25519 primary for
/// signing + Curve25519 (cv25519) encryption subkey. Returns the two paths
/// and the key's fingerprint (hex). Existing files are never overwritten.
pub fn generate_key_pair(
    user_id: &str,
    dir: &Path,
    stem: &str,
    passphrase: Option<&str>,
) -> Result<GeneratedKey, PgpError> {
    let public_path = dir.join(format!("{stem}.pub.asc"));
    let secret_path = dir.join(format!("{stem}.sec.asc"));
    for path in [&public_path, &secret_path] {
        if path.exists() {
            return Err(PgpError::Io {
                doing: "write the new key over the existing file",
                path: path.clone(),
                source: std::io::ErrorKind::AlreadyExists.into(),
            });
        }
    }

    let key = build_key(user_id, passphrase)?;
    let fingerprint = format!("{:X}", key.fingerprint());
    let armor = |what, r: Result<Vec<u8>, PgpLibError>| {
        r.map_err(|source| PgpError::KeyGeneration {
            step: what,
            source: Box::new(source),
        })
    };
    let secret_armored = armor("armoring the secret key", key.to_armored_bytes(ArmorOptions::default()))?;
    let public_armored = armor(
        "armoring the public key",
        key.to_public_key().to_armored_bytes(ArmorOptions::default()),
    )?;

    fs::create_dir_all(dir).map_err(|source| PgpError::Io {
        doing: "create the directory",
        path: dir.to_owned(),
        source,
    })?;
    write_new(&secret_path, &secret_armored, 0o600)?;
    write_new(&public_path, &public_armored, 0o644)?;
    Ok(GeneratedKey {
        public_path,
        secret_path,
        fingerprint,
    })
}

fn build_key(user_id: &str, passphrase: Option<&str>) -> Result<SignedSecretKey, PgpError> {
    let fail = |step| {
        move |source| PgpError::KeyGeneration {
            step,
            source: Box::new(source),
        }
    };
    // rPGP protects each key with GnuPG's default: AES-256 in CFB mode, key
    // from iterated and salted SHA-256 (count octet 224).
    let passphrase = passphrase.map(str::to_owned);
    let subkey = SubkeyParamsBuilder::default()
        .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
        .can_encrypt(EncryptionCaps::All)
        .passphrase(passphrase.clone())
        .build()
        .map_err(|e| invalid("the Curve25519 subkey", e))?;
    let params = SecretKeyParamsBuilder::default()
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(true)
        .primary_user_id(user_id.to_owned())
        .passphrase(passphrase)
        .preferred_symmetric_algorithms(
            [
                SymmetricKeyAlgorithm::AES256,
                SymmetricKeyAlgorithm::AES192,
                SymmetricKeyAlgorithm::AES128,
            ]
            .into_iter()
            .collect(),
        )
        .preferred_hash_algorithms([HashAlgorithm::Sha512, HashAlgorithm::Sha256].into_iter().collect())
        .preferred_compression_algorithms(
            [
                CompressionAlgorithm::ZLIB,
                CompressionAlgorithm::ZIP,
                CompressionAlgorithm::Uncompressed,
            ]
            .into_iter()
            .collect(),
        )
        .subkey(subkey)
        .build()
        .map_err(|e| invalid("the key's parameters", e))?;
    let key = params.generate(OsRng).map_err(fail("generating the key"))?;
    let key = with_current_lengths(key).map_err(fail("protecting the key with the passphrase"))?;
    key.verify_bindings().map_err(fail("checking the self-signatures"))?;
    Ok(key)
}

/// The builder's own checks refused the parameters (a bug here, not the
/// user's).
fn invalid(step: &'static str, e: impl std::fmt::Display) -> PgpError {
    PgpError::KeyGeneration {
        step,
        source: Box::new(PgpLibError::from(e.to_string())),
    }
}

/// rPGP's `set_password_with_s2k` (which the builder calls for a
/// passphrase) encrypts a key's secret but leaves its packet's length as it
/// was for the unprotected key; writing it then logs "packet header
/// mismatch" and writes the right length. Remaking each secret packet from
/// its (unchanged) parts gives it the right length, so writing is quiet.
fn with_current_lengths(mut key: SignedSecretKey) -> Result<SignedSecretKey, PgpLibError> {
    key.primary_key = SecretKey::new(
        key.primary_key.public_key().clone(),
        key.primary_key.secret_params().clone(),
    )?;
    for sub in &mut key.secret_subkeys {
        sub.key = SecretSubkey::new(sub.key.public_key().clone(), sub.key.secret_params().clone())?;
    }
    Ok(key)
}

/// Creates `path` with `mode` (never replacing a file) and writes `bytes`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PgpError> {
    let io = |source| PgpError::Io {
        doing: "write",
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io)
}
