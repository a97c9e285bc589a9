//! Setup helpers: the SSH key ampsync logs in to the sFTP server with. (The
//! PGP key pair the customer encrypts to is `pgp::generate_key_pair`.)

use std::io::Write;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{HashAlg, PrivateKey};

/// A key that could not be made or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeygenError {
    #[error("{} already exists: remove it or choose another name", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
    #[error("cannot encode the key: {0}")]
    Encode(String),
}

/// A new SSH key pair on disk.
#[derive(Debug, Clone)]
pub struct SshKeyPair {
    pub private_path: PathBuf,
    pub public_path: PathBuf,
    /// The `ssh-ed25519 AAAA… comment` line for the server's authorized_keys.
    pub public_line: String,
    /// `SHA256:…`, as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
}

/// Writes an ed25519 key pair: `path` (OpenSSH format, mode 0600,
/// unencrypted) and `path.pub`. Refuses to overwrite.
pub fn ssh_key_pair(path: &Path, comment: &str) -> Result<SshKeyPair, KeygenError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| KeygenError::Random(e.to_string()))?;
    let mut key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    key.set_comment(comment);
    let private = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| KeygenError::Encode(e.to_string()))?;
    let public_line = key
        .public_key()
        .to_openssh()
        .map_err(|e| KeygenError::Encode(e.to_string()))?;
    let mut public_path = path.as_os_str().to_owned();
    public_path.push(".pub");
    let public_path = PathBuf::from(public_path);
    write_new(path, private.as_bytes(), 0o600)?;
    write_new(&public_path, format!("{public_line}\n").as_bytes(), 0o644)?;
    Ok(SshKeyPair {
        private_path: path.to_owned(),
        public_path,
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        public_line,
    })
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeygenError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeygenError::Exists { path: path.to_owned() }
            } else {
                KeygenError::Io {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| KeygenError::Io {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ssh_key_pair_reads_back_and_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("id_ed25519");
        let pair = ssh_key_pair(&path, "ampsync@acme").expect("keygen");
        let back = PrivateKey::read_openssh_file(&path).expect("reads back");
        assert_eq!(back.public_key().to_openssh().expect("public"), pair.public_line);
        assert!(pair.public_line.starts_with("ssh-ed25519 ") && pair.public_line.ends_with(" ampsync@acme"));
        assert!(pair.fingerprint.starts_with("SHA256:"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(ssh_key_pair(&path, "x"), Err(KeygenError::Exists { .. })));
    }
}
