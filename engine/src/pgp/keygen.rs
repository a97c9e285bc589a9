//! A new tenant key pair for `ampsync keygen pgp`: an Ed25519 primary key
//! (certify, sign) with a Curve25519 encryption subkey, as v4 keys in the
//! "legacy" encodings GnuPG 2.2 and later read.
//!
//! rPGP's `SecretKeyParamsBuilder::generate` wants a `rand` 0.8 RNG, which
//! this crate does not depend on; the keys are therefore assembled here from
//! 32-byte secrets read from the operating system's CSPRNG (`/dev/urandom`)
//! and self-signed with rPGP's v4 signature calls, which need no RNG.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use pgp::composed::{ArmorOptions, SignedKeyDetails, SignedSecretKey, SignedSecretSubKey};
use pgp::crypto::ecc_curve::ECCCurve;
use pgp::crypto::ecdh::{Curve25519Legacy, SecretKey as EcdhSecret};
use pgp::crypto::ed25519::{Mode, SecretKey as Ed25519Secret};
use pgp::crypto::eddsa_legacy::SecretKey as EddsaLegacySecret;
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::{
    Features, KeyFlags, PubKeyInner, PublicKey, PublicSubkey, SecretKey, SecretSubkey, SignatureConfig, SignatureType,
    Subpacket, SubpacketData, UserId,
};
use pgp::types::{
    CompressionAlgorithm, KeyDetails, KeyVersion, Password, PlainSecretParams, PublicParams, S2kParams, SecretParams,
    SigningKey, StringToKey, Tag, Timestamp,
};

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

/// The S2K iteration count GnuPG uses by default (octet 224: ~30M bytes hashed).
const S2K_COUNT: u8 = 224;

/// The OS's CSPRNG.
const RANDOM_SOURCE: &str = "/dev/urandom";

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
    let created_at = Timestamp::now();

    let ed = Ed25519Secret::try_from_bytes(random::<32>()?, Mode::EdDSALegacy).map_err(fail("the Ed25519 key"))?;
    let primary_public = PublicParams::EdDSALegacy((&ed).into());
    let primary_inner = PubKeyInner::new(
        KeyVersion::V4,
        PublicKeyAlgorithm::EdDSALegacy,
        created_at,
        None,
        primary_public,
    )
    .map_err(fail("the Ed25519 key"))?;
    let primary_pub = PublicKey::from_inner(primary_inner).map_err(fail("the Ed25519 key"))?;
    let mut primary = SecretKey::new(
        primary_pub.clone(),
        SecretParams::Plain(PlainSecretParams::EdDSALegacy(EddsaLegacySecret::Ed25519(ed))),
    )
    .map_err(fail("the Ed25519 key"))?;

    // X25519 scalars are clamped (RFC 7748 §5), as GnuPG stores them;
    // rPGP reads them big-endian ("reversed").
    let mut scalar = random::<32>()?;
    scalar[0] &= 248;
    scalar[31] &= 127;
    scalar[31] |= 64;
    scalar.reverse();
    let cv = Curve25519Legacy::try_from_bytes_rev(&scalar).map_err(fail("the Curve25519 key"))?;
    scalar.fill(0);
    let cv = EcdhSecret::Curve25519Legacy(cv);
    debug_assert_eq!(cv.curve(), ECCCurve::Curve25519Legacy);
    let sub_public = PublicParams::ECDH((&cv).try_into().map_err(fail("the Curve25519 key"))?);
    let sub_inner = PubKeyInner::new(KeyVersion::V4, PublicKeyAlgorithm::ECDH, created_at, None, sub_public)
        .map_err(fail("the Curve25519 key"))?;
    let sub_pub = PublicSubkey::from_inner(sub_inner).map_err(fail("the Curve25519 key"))?;
    let mut sub = SecretSubkey::new(sub_pub.clone(), SecretParams::Plain(PlainSecretParams::ECDH(cv)))
        .map_err(fail("the Curve25519 key"))?;

    // Self-signatures first, while the keys are unlocked; protecting the
    // secret material afterwards does not touch what they sign.
    let no_pw = Password::empty();
    let uid = UserId::from_str(Default::default(), user_id).map_err(fail("the user id"))?;
    let mut cert = SignatureConfig::v4(SignatureType::CertPositive, primary.algorithm(), primary.hash_alg());
    let mut primary_flags = KeyFlags::default();
    primary_flags.set_certify(true);
    primary_flags.set_sign(true);
    let mut features = Features::default();
    features.set_seipd_v1(true);
    cert.hashed_subpackets = [
        SubpacketData::SignatureCreationTime(created_at),
        SubpacketData::IssuerFingerprint(primary.fingerprint()),
        SubpacketData::KeyFlags(primary_flags),
        SubpacketData::Features(features),
        SubpacketData::PreferredSymmetricAlgorithms(
            vec![
                SymmetricKeyAlgorithm::AES256,
                SymmetricKeyAlgorithm::AES192,
                SymmetricKeyAlgorithm::AES128,
            ]
            .into(),
        ),
        SubpacketData::PreferredHashAlgorithms(vec![HashAlgorithm::Sha512, HashAlgorithm::Sha256].into()),
        SubpacketData::PreferredCompressionAlgorithms(
            vec![
                CompressionAlgorithm::ZLIB,
                CompressionAlgorithm::ZIP,
                CompressionAlgorithm::Uncompressed,
            ]
            .into(),
        ),
        SubpacketData::IsPrimary(true),
    ]
    .into_iter()
    .map(Subpacket::regular)
    .collect::<Result<_, _>>()
    .map_err(fail("the user id's self-signature"))?;
    cert.unhashed_subpackets = vec![
        Subpacket::regular(SubpacketData::IssuerKeyId(primary.legacy_key_id()))
            .map_err(fail("the user id's self-signature"))?,
    ];
    let cert_sig = cert
        .sign_certification(&primary, &primary_pub, &no_pw, Tag::UserId, &uid)
        .map_err(fail("the user id's self-signature"))?;

    let mut binding = SignatureConfig::v4(SignatureType::SubkeyBinding, primary.algorithm(), primary.hash_alg());
    let mut sub_flags = KeyFlags::default();
    sub_flags.set_encrypt_comms(true);
    sub_flags.set_encrypt_storage(true);
    binding.hashed_subpackets = [
        SubpacketData::SignatureCreationTime(created_at),
        SubpacketData::KeyFlags(sub_flags),
        SubpacketData::IssuerFingerprint(primary.fingerprint()),
    ]
    .into_iter()
    .map(Subpacket::regular)
    .collect::<Result<_, _>>()
    .map_err(fail("the subkey binding"))?;
    binding.unhashed_subpackets = vec![
        Subpacket::regular(SubpacketData::IssuerKeyId(primary.legacy_key_id())).map_err(fail("the subkey binding"))?,
    ];
    let binding_sig = binding
        .sign_subkey_binding(&primary, &primary_pub, &no_pw, &sub_pub)
        .map_err(fail("the subkey binding"))?;

    if let Some(passphrase) = passphrase {
        let pw = Password::from(passphrase);
        primary
            .set_password_with_s2k(&pw, new_s2k()?)
            .map_err(fail("protecting the key with the passphrase"))?;
        sub.set_password_with_s2k(&pw, new_s2k()?)
            .map_err(fail("protecting the key with the passphrase"))?;
    }

    let key = SignedSecretKey::new(
        primary,
        SignedKeyDetails::new(vec![], vec![], vec![uid.into_signed(cert_sig)], vec![]),
        vec![],
        vec![SignedSecretSubKey::new(sub, vec![binding_sig])],
    );
    key.verify_bindings().map_err(fail("checking the self-signatures"))?;
    Ok(key)
}

/// GnuPG's default protection: AES-256 in CFB mode, key from iterated and
/// salted SHA-256.
fn new_s2k() -> Result<S2kParams, PgpError> {
    Ok(S2kParams::Cfb {
        sym_alg: SymmetricKeyAlgorithm::AES256,
        s2k: StringToKey::IteratedAndSalted {
            hash_alg: HashAlgorithm::Sha256,
            salt: random::<8>()?,
            count: S2K_COUNT,
        },
        iv: random::<16>()?.to_vec().into(),
    })
}

fn random<const N: usize>() -> Result<[u8; N], PgpError> {
    let mut buf = [0u8; N];
    fs::File::open(RANDOM_SOURCE)
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|source| PgpError::Io {
            doing: "read random bytes from",
            path: RANDOM_SOURCE.into(),
            source,
        })?;
    Ok(buf)
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
