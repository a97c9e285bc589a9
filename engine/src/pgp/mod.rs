//! PGP for the daily file: recognising an encrypted file, decrypting it in
//! memory with the tenant's secret key (checking the customer's signature
//! when one is required), and generating a tenant key pair.
//!
//! Built on rPGP. Reading the file and the passphrase's environment variable
//! is the caller's; so is what happens to the plaintext, which this module
//! only ever holds in memory.

mod decrypt;
mod detect;
mod error;
mod keygen;
mod keys;

pub use decrypt::decrypt;
pub use detect::looks_encrypted;
pub use error::{KeyRole, PgpError, PgpLibError};
pub use keygen::{GeneratedKey, generate_key_pair};
pub use keys::PgpKeys;
