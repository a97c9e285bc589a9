//! Encryption at rest: the store key, and sealing values with it.
//!
//! A sealed value is a random 24-byte nonce followed by the
//! XChaCha20-Poly1305 ciphertext and tag of the plain value. The associated
//! data names the table and row the value belongs to (see [`aad`]), so a
//! ciphertext copied to another row, or another table, does not open.
//!
//! Which key opens a store is recorded in `meta` as a check value (the seal
//! of a constant): a wrong key is refused when the store is opened, before
//! anything is written. A store with a check value is encrypted: every
//! event, state record, held event and raw chunk in it is sealed.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::StoreError;

/// Bytes of a key.
const KEY_BYTES: usize = 32;
/// Bytes of a nonce, at the start of every sealed value.
pub(crate) const NONCE_BYTES: usize = 24;
/// Bytes of the tag, at the end of every sealed value.
const TAG_BYTES: usize = 16;

/// `meta` entry holding the seal of [`CHECK_PLAIN`]: which key opens the store.
pub(crate) const CHECK_ENTRY: &str = "key_check";
/// What the check value seals.
const CHECK_PLAIN: &[u8] = b"ampsync store key check v1";

/// A 256-bit store key, read from the environment variable the config
/// names (`store.encryption_key_env`). Zeroed when dropped; its `Debug`
/// shows the variable's name, never the key.
pub struct StoreKey {
    bytes: Zeroizing<[u8; KEY_BYTES]>,
    var: String,
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreKey")
            .field("var", &self.var)
            .finish_non_exhaustive()
    }
}

/// Why a store key could not be read. Names the variable, never its value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The variable is not set (or not valid UTF-8).
    #[error("the environment variable {var} (store.encryption_key_env) is not set")]
    Unset { var: String },
    /// The value is neither 64 hex characters nor base64 of 32 bytes.
    #[error(
        "the environment variable {var} (store.encryption_key_env) does not hold a 256-bit key: \
         give 64 hex characters (`openssl rand -hex 32`) or the base64 of 32 bytes"
    )]
    Malformed { var: String },
}

impl StoreKey {
    /// Reads the key from environment variable `var`.
    pub fn from_env(var: &str) -> Result<StoreKey, KeyError> {
        let value = Zeroizing::new(std::env::var(var).map_err(|_| KeyError::Unset { var: var.to_owned() })?);
        StoreKey::parse(var, &value)
    }

    /// Parses a key given as 64 hex characters or as base64 (standard,
    /// padded or not) of 32 bytes; surrounding whitespace is ignored. `var`
    /// names where it came from, for messages.
    pub fn parse(var: &str, text: &str) -> Result<StoreKey, KeyError> {
        use base64::Engine;
        let text = text.trim();
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        let hex_ok = text.len() == 2 * KEY_BYTES && hex::decode_to_slice(text, bytes.as_mut_slice()).is_ok();
        if !hex_ok {
            let decoded = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
                    .map_err(|_| KeyError::Malformed { var: var.to_owned() })?,
            );
            if decoded.len() != KEY_BYTES {
                return Err(KeyError::Malformed { var: var.to_owned() });
            }
            bytes.copy_from_slice(&decoded);
        }
        Ok(StoreKey {
            bytes,
            var: var.to_owned(),
        })
    }

    /// The environment variable the key came from.
    pub fn var(&self) -> &str {
        &self.var
    }
}

/// What opening a store knows of its key: none configured, configured but
/// not set, or the key itself.
#[derive(Debug, Default)]
#[non_exhaustive]
pub enum Keying {
    /// `store.encryption_key_env` is not set: the store is expected plain.
    #[default]
    None,
    /// The config names variable `var`, which is not set: an encrypted
    /// store opens for what needs no key (`verify` of the chain, snapshot
    /// lists); a plain or new one is refused (it would stay plain).
    Unset { var: String },
    /// The key: a new store is encrypted with it, an encrypted one must
    /// open with it, a plain one is refused (`ampsync rekey` encrypts it).
    Key(StoreKey),
}

impl Keying {
    /// The configured variable, if any.
    pub fn var(&self) -> Option<&str> {
        match self {
            Keying::None => None,
            Keying::Unset { var } => Some(var),
            Keying::Key(key) => Some(key.var()),
        }
    }
}

/// Seals and opens values with one key.
pub(crate) struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    pub(crate) fn new(key: &StoreKey) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new(&(*key.bytes).into()),
        }
    }

    /// Appends the seal of `plain` (nonce, ciphertext, tag) to `out`.
    pub(crate) fn seal_into(&self, aad: &[u8], plain: &[u8], out: &mut Vec<u8>) -> Result<(), StoreError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::getrandom(&mut nonce).map_err(|e| StoreError::Seal(e.to_string()))?;
        out.reserve(NONCE_BYTES + plain.len() + TAG_BYTES);
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(plain);
        let tag = self
            .cipher
            .encrypt_inout_detached(&XNonce::from(nonce), aad, (&mut out[start..]).into())
            .map_err(|_| StoreError::Seal("the value is too long to seal".into()))?;
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// The seal of `plain`.
    pub(crate) fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        self.seal_into(aad, plain, &mut out)?;
        Ok(out)
    }

    /// The plain value of `sealed`, or `None` when it does not open with
    /// this key and `aad` (another key, another row, or damaged).
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_BYTES + TAG_BYTES {
            return None;
        }
        let (nonce, rest) = sealed.split_at(NONCE_BYTES);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_BYTES);
        let nonce = XNonce::try_from(nonce).ok()?;
        let tag = Tag::try_from(tag).ok()?;
        let mut plain = ciphertext.to_vec();
        self.cipher
            .decrypt_inout_detached(&nonce, aad, plain.as_mut_slice().into(), &tag)
            .ok()?;
        Some(plain)
    }

    /// The check value to record in `meta` for this key.
    pub(crate) fn check_value(&self) -> Result<Vec<u8>, StoreError> {
        self.seal(&aad("meta", CHECK_ENTRY.as_bytes()), CHECK_PLAIN)
    }

    /// Whether `check` (from `meta`) was made with this key.
    pub(crate) fn opens_check(&self, check: &[u8]) -> bool {
        self.open(&aad("meta", CHECK_ENTRY.as_bytes()), check)
            .is_some_and(|plain| plain == CHECK_PLAIN)
    }
}

/// The associated data binding a sealed value to its table and row: the
/// table's name, a zero byte, the row's key bytes.
pub(crate) fn aad(table: &str, row: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(table.len() + 1 + row.len());
    out.extend_from_slice(table.as_bytes());
    out.push(0);
    out.extend_from_slice(row);
    out
}

/// The store's key state once opened: whether it is encrypted, the sealer
/// when the key was given, and the variable to name when it was not.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    pub(crate) sealer: Option<Sealer>,
    pub(crate) encrypted: bool,
    pub(crate) var: Option<String>,
}

impl Keys {
    /// What `keying` gives before the store's check value is read: the
    /// sealer when a key was given (until `Store::check_key`, only an empty
    /// store's initialisation uses it, to record its check value), not yet
    /// known to be encrypted.
    pub(crate) fn unchecked(keying: &Keying) -> Keys {
        Keys {
            sealer: match keying {
                Keying::Key(key) => Some(Sealer::new(key)),
                _ => None,
            },
            encrypted: false,
            var: keying.var().map(str::to_owned),
        }
    }

    /// The sealer new values are written with: `None` for a plain store;
    /// [`StoreError::KeyNeeded`] for an encrypted one opened without its key.
    pub(crate) fn for_writing(&self) -> Result<Option<&Sealer>, StoreError> {
        match (&self.sealer, self.encrypted) {
            (Some(sealer), true) => Ok(Some(sealer)),
            (_, false) => Ok(None),
            (None, true) => Err(self.needed()),
        }
    }

    /// Opens a sealed value of `table` at row `row`.
    pub(crate) fn open(&self, table: &'static str, row: &[u8], sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        let sealer = self.sealer.as_ref().ok_or_else(|| self.needed())?;
        sealer
            .open(&aad(table, row), sealed)
            .ok_or(StoreError::Unsealable { table })
    }

    /// The error for a value that needs the key.
    pub(crate) fn needed(&self) -> StoreError {
        StoreError::KeyNeeded { var: self.var.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn bytes(key: &StoreKey) -> [u8; 32] {
        *key.bytes
    }

    #[test]
    fn a_key_is_read_from_hex_or_base64() {
        let want: [u8; 32] = std::array::from_fn(|i| i as u8);
        let hex = StoreKey::parse("K", HEX).expect("hex");
        assert_eq!(bytes(&hex), want);
        let upper = StoreKey::parse("K", &format!("  {}\n", HEX.to_uppercase())).expect("upper-case hex, spaces");
        assert_eq!(bytes(&upper), want);
        let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        assert_eq!(bytes(&StoreKey::parse("K", b64).expect("base64")), want);
        assert_eq!(
            bytes(&StoreKey::parse("K", b64.trim_end_matches('=')).expect("unpadded")),
            want
        );
    }

    #[test]
    fn a_key_of_the_wrong_length_or_junk_is_refused_naming_the_variable_not_the_value() {
        let cases = [
            &HEX[..62],                                         // 31 bytes of hex
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",     // 31 bytes of base64
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==", // 34
            "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "not a key at all!",
            "",
        ];
        for text in cases {
            match StoreKey::parse("AMPSYNC_STORE_KEY", text) {
                Err(e @ KeyError::Malformed { .. }) => {
                    let message = e.to_string();
                    assert!(message.contains("AMPSYNC_STORE_KEY"), "{message}");
                    assert!(text.is_empty() || !message.contains(text), "{message} quotes the value");
                }
                other => panic!("{text:?}: expected Malformed, got {other:?}"),
            }
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = StoreKey::parse("AMPSYNC_STORE_KEY", HEX).expect("hex");
        let shown = format!("{key:?} {:?}", Keying::Key(StoreKey::parse("V", HEX).expect("hex")));
        assert!(shown.contains("AMPSYNC_STORE_KEY"), "{shown}");
        for needle in [HEX, "0, 1, 2, 3", "[0, 1"] {
            assert!(!shown.contains(needle), "{shown}");
        }
    }

    #[test]
    fn an_unset_variable_is_named() {
        let var = "AMPSYNC_TEST_KEY_THAT_IS_NEVER_SET_7f3a";
        match StoreKey::from_env(var) {
            Err(e @ KeyError::Unset { .. }) => assert!(e.to_string().contains(var), "{e}"),
            other => panic!("expected Unset, got {other:?}"),
        }
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_row() {
        let sealer = Sealer::new(&StoreKey::parse("K", HEX).expect("key"));
        let other = Sealer::new(&StoreKey::parse("K", &"ab".repeat(32)).expect("key"));
        let sealed = sealer.seal(&aad("state", b"E1"), b"alice@example.com").expect("seal");
        assert!(!sealed.windows(5).any(|w| w == b"alice"), "the value is not in clear");
        assert_eq!(
            sealer.open(&aad("state", b"E1"), &sealed).as_deref(),
            Some(&b"alice@example.com"[..])
        );
        assert_eq!(sealer.open(&aad("state", b"E2"), &sealed), None, "another row");
        assert_eq!(sealer.open(&aad("events", b"E1"), &sealed), None, "another table");
        assert_eq!(other.open(&aad("state", b"E1"), &sealed), None, "another key");
        let again = sealer.seal(&aad("state", b"E1"), b"alice@example.com").expect("seal");
        assert_ne!(sealed, again, "a fresh nonce each time");
        assert!(sealer.opens_check(&sealer.check_value().expect("check")));
        assert!(!other.opens_check(&sealer.check_value().expect("check")));
    }
}
