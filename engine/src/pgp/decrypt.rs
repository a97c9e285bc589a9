//! Decrypting one file, binary or armored, in memory, and checking its
//! signature when the tenant requires one. The plaintext is returned to the
//! caller and never written anywhere.

use std::io::{self, Read};

use pgp::composed::{DecryptionOptions, Esk, Message, TheRing, VerificationResult};
use pgp::packet::PublicKeyEncryptedSessionKey;
use pgp::types::{Password, VerifyingKey};

use super::detect::{ARMOR_HEADER, looks_encrypted};
use super::error::{PgpError, PgpLibError};
use super::keys::{PgpKeys, Signer};

/// The most plaintext one file may expand to. User files are megabytes; this
/// only stops a decompression bomb from exhausting memory.
const MAX_PLAINTEXT: u64 = 1 << 30;

/// The armor line that closes an ASCII-armored message.
const ARMOR_FOOTER: &[u8] = b"-----END PGP MESSAGE-----";

/// How many compression layers are unwrapped; gpg makes one.
const MAX_COMPRESSION_LAYERS: usize = 4;

/// Decrypts a binary or armored message; verifies the signature when
/// `PgpKeys` has a signer (unsigned → error; signed by another key → error).
/// Returns the plaintext in memory.
pub fn decrypt(keys: &PgpKeys, file_name: &str, message: &[u8]) -> Result<Vec<u8>, PgpError> {
    let file = || file_name.to_owned();
    let malformed = |problem, source| PgpError::Malformed {
        file: file(),
        problem,
        source,
    };

    if message.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed("the file is empty", None));
    }
    let (msg, _headers) = Message::from_reader(message).map_err(|e| unparsable(file_name, message, e))?;

    let Message::Encrypted { esk, .. } = &msg else {
        return Err(malformed("it is an OpenPGP message but not encrypted", None));
    };
    let pkesks: Vec<&PublicKeyEncryptedSessionKey> = esk
        .iter()
        .filter_map(|e| match e {
            Esk::PublicKeyEncryptedSessionKey(p) => Some(p),
            Esk::SymKeyEncryptedSessionKey(_) => None,
        })
        .collect();
    let recipients: Vec<String> = pkesks.iter().map(|p| recipient(p)).collect();
    // Decide "not for us" from the recipients named, before decrypting: rPGP
    // reports that, a damaged session key and a locked key all as "missing key".
    if !pkesks.iter().any(|p| is_for(p, keys)) {
        return Err(PgpError::NotForThisKey {
            file: file(),
            recipients,
            our_key: keys.fingerprint.clone(),
        });
    }

    let no_password = Password::empty();
    let ring = TheRing {
        secret_keys: vec![&keys.secret],
        key_passwords: vec![&no_password],
        // GnuPG 2.4 may use its own OCB packet; only this option reads it.
        decrypt_options: DecryptionOptions::new().enable_gnupg_aead(),
        ..Default::default()
    };
    let names_us = pkesks.iter().any(|p| !is_anonymous(p) && is_for(p, keys));
    let (mut msg, _) = msg.decrypt_the_ring(ring, true).map_err(|e| match e {
        // A recipient named is our unlocked key, so the session key itself
        // did not decrypt: the file was changed.
        PgpLibError::MissingKey if names_us => PgpError::IntegrityCheckFailed {
            file: file(),
            source: Box::new(e),
        },
        // Only hidden recipients, none of them us.
        PgpLibError::MissingKey => PgpError::NotForThisKey {
            file: file(),
            recipients,
            our_key: keys.fingerprint.clone(),
        },
        e => read_error(file_name, e),
    })?;

    for _ in 0..MAX_COMPRESSION_LAYERS {
        if !msg.is_compressed() {
            break;
        }
        msg = msg.decompress().map_err(|e| read_error(file_name, e))?;
    }
    if msg.is_compressed() {
        return Err(malformed("it is compressed more times than any sender does", None));
    }

    // Read to the end before verifying: the signature covers all of it, and
    // the end is where rPGP checks for trailing data.
    let mut plaintext = Vec::new();
    (&mut msg)
        .take(MAX_PLAINTEXT + 1)
        .read_to_end(&mut plaintext)
        .map_err(|e| read_error(file_name, from_io(e)))?;
    if plaintext.len() as u64 > MAX_PLAINTEXT {
        return Err(malformed("it decrypts to more than 1 GiB", None));
    }

    if let Some(signer) = &keys.signer {
        verify(&msg, signer, file_name)?;
    } else if msg.is_signed() {
        tracing::debug!(
            file = file_name,
            "the message is signed; no signature is required, so it is not checked"
        );
    }
    Ok(plaintext)
}

/// Why a message does not parse: an armored one without its last line was
/// cut short; one that starts like a message is damaged; anything else is
/// not PGP at all.
fn unparsable(file_name: &str, message: &[u8], e: PgpLibError) -> PgpError {
    let file = file_name.to_owned();
    let armored = message.trim_ascii_start().starts_with(ARMOR_HEADER);
    if armored && !message.windows(ARMOR_FOOTER.len()).any(|w| w == ARMOR_FOOTER) {
        return PgpError::IntegrityCheckFailed {
            file,
            source: Box::new(e),
        };
    }
    let problem = if looks_encrypted("", message) {
        "it starts like a PGP message but cannot be parsed"
    } else {
        "it is not an OpenPGP message"
    };
    PgpError::Malformed {
        file,
        problem,
        source: Some(Box::new(e)),
    }
}

/// Checks that some signature on the message is by the signer's primary key
/// or one of its subkeys.
fn verify(msg: &Message<'_>, signer: &Signer, file_name: &str) -> Result<(), PgpError> {
    let Message::Signed { reader, .. } = msg else {
        return Err(PgpError::Unsigned {
            file: file_name.to_owned(),
            signer_path: signer.path.clone(),
            signer: signer.fingerprint.clone(),
        });
    };

    let mut candidates: Vec<&dyn VerifyingKey> = vec![&signer.key.primary_key];
    candidates.extend(signer.key.public_subkeys.iter().map(|k| &k.key as &dyn VerifyingKey));
    // `verify_nested` swallows the per-key errors, among them the cryptic
    // assertion rPGP raises for a signature of another algorithm.
    let results = msg.verify_nested(&candidates).map_err(|e| read_error(file_name, e))?;
    if results.iter().any(|r| matches!(r, VerificationResult::Valid(_))) {
        return Ok(());
    }

    let signatures: Vec<_> = (0..reader.num_signatures())
        .filter_map(|i| reader.signature(i))
        .collect();
    let names_signer = signatures.iter().any(|sig| {
        candidates.iter().any(|k| {
            sig.issuer_fingerprint().into_iter().any(|fp| *fp == k.fingerprint())
                || sig.issuer_key_id().into_iter().any(|id| *id == k.legacy_key_id())
        })
    });
    if names_signer {
        return Err(PgpError::BadSignature {
            file: file_name.to_owned(),
            signer_path: signer.path.clone(),
            signer: signer.fingerprint.clone(),
        });
    }
    let mut signed_by: Vec<String> = signatures
        .iter()
        .flat_map(|sig| match sig.issuer_fingerprint().first() {
            Some(fp) => vec![format!("{fp:X}")],
            None => sig
                .issuer_key_id()
                .iter()
                .map(|id| id.to_string().to_ascii_uppercase())
                .collect(),
        })
        .collect();
    signed_by.dedup();
    Err(PgpError::WrongSigner {
        file: file_name.to_owned(),
        signed_by,
        signer_path: signer.path.clone(),
        signer: signer.fingerprint.clone(),
    })
}

/// Whether a PKESK names one of our unlocked keys (or no key at all: a hidden
/// recipient). Keys left locked are not for decrypting (see `keys`).
fn is_for(pkesk: &PublicKeyEncryptedSessionKey, keys: &PgpKeys) -> bool {
    let secret = &keys.secret;
    let primary = &secret.primary_key;
    (!primary.secret_params().is_encrypted() && pkesk.match_identity(primary.public_key()))
        || secret
            .secret_subkeys
            .iter()
            .any(|s| !s.key.secret_params().is_encrypted() && pkesk.match_identity(s.key.public_key()))
}

/// Whether a PKESK hides its recipient.
fn is_anonymous(pkesk: &PublicKeyEncryptedSessionKey) -> bool {
    match (pkesk.id(), pkesk.fingerprint()) {
        (Ok(id), _) => id.is_wildcard(),
        (_, Ok(fp)) => fp.is_none(),
        _ => false,
    }
}

/// How a PKESK names its recipient: a key id, a fingerprint, or nothing.
fn recipient(pkesk: &PublicKeyEncryptedSessionKey) -> String {
    if let Ok(id) = pkesk.id() {
        return id.to_string().to_ascii_uppercase();
    }
    match pkesk.fingerprint() {
        Ok(Some(fp)) => format!("{fp:X}"),
        _ => "(anonymous)".to_owned(),
    }
}

/// Sorts an error met while decrypting or reading the content: a failed
/// integrity check, or packet framing that breaks off, is tampering or
/// truncation; anything else is a message that cannot be read.
fn read_error(file_name: &str, e: PgpLibError) -> PgpError {
    let file = file_name.to_owned();
    if is_damage(&e) {
        PgpError::IntegrityCheckFailed {
            file,
            source: Box::new(e),
        }
    } else {
        PgpError::Malformed {
            file,
            problem: "its content cannot be read",
            source: Some(Box::new(e)),
        }
    }
}

/// rPGP nests its errors in `io::Error`s (and those in its own `IO` variant)
/// as they pass through its readers, so look inside. An `io::Error` of rPGP's
/// own making (not wrapping one of its errors) comes from the packet framing
/// of data read from memory, e.g. "Fixed chunk was shorter than expected":
/// the data was cut short.
fn is_damage(e: &PgpLibError) -> bool {
    match e {
        PgpLibError::MdcError | PgpLibError::Aead { .. } | PgpLibError::PacketIncomplete { .. } => true,
        PgpLibError::InvalidPacketContent { source } => is_damage(source),
        PgpLibError::IO { source, .. } => match source.get_ref().and_then(|i| i.downcast_ref::<PgpLibError>()) {
            Some(inner) => is_damage(inner),
            None => true,
        },
        _ => false,
    }
}

/// rPGP's readers return its errors wrapped in `io::Error`; unwrap them so
/// they can be sorted.
fn from_io(e: io::Error) -> PgpLibError {
    if !e.get_ref().is_some_and(|inner| inner.is::<PgpLibError>()) {
        return e.into();
    }
    let kind = e.kind();
    match e.into_inner() {
        Some(inner) => match inner.downcast::<PgpLibError>() {
            Ok(pgp) => *pgp,
            Err(other) => io::Error::new(kind, other).into(),
        },
        None => io::Error::from(kind).into(),
    }
}
