//! What can go wrong reaching the sFTP source, and whether trying again can
//! help.

use std::path::PathBuf;

/// An sFTP source failure. Each message names the setting, the server or the
/// remote path it is about. Library errors are boxed to keep this small (it
/// travels inside the callers' own errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SftpError {
    /// A setting an sftp source needs is absent.
    #[error("`{setting}` is missing: an sftp source needs it")]
    MissingSetting { setting: &'static str },

    /// A setting is present but unusable.
    #[error("`{setting}` is invalid: {reason}")]
    InvalidSetting { setting: &'static str, reason: String },

    /// `source.private_key_passphrase_env` names a variable that is not set.
    #[error("`source.private_key_passphrase_env` names the environment variable `{var}`, which is not set")]
    PassphraseNotSet { var: String },

    /// The private key file cannot be read or decrypted.
    #[error("cannot load the private key {} (`source.private_key`){hint}", path.display())]
    PrivateKey {
        path: PathBuf,
        /// Extra advice, e.g. that the key needs a passphrase.
        hint: &'static str,
        #[source]
        source: Box<russh::keys::Error>,
    },

    /// The TCP connection or the SSH handshake failed.
    #[error("cannot connect to the sftp server {host}:{port}")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: Box<russh::Error>,
    },

    /// The server offered a host key other than the pinned one.
    #[error(
        "the sftp server {host}:{port} offered the host key {offered} ({algorithm}), but `source.known_host_key` pins \
         {expected}: refusing to connect (if the server's key really changed, update the pin)"
    )]
    HostKeyMismatch {
        host: String,
        port: u16,
        /// The offered key's `SHA256:…` fingerprint, as `ssh-keygen -lf` prints it.
        offered: String,
        algorithm: String,
        /// The pinned key's `SHA256:…` fingerprint.
        expected: String,
    },

    /// The server refused the user's key.
    #[error(
        "the sftp server {host}:{port} refused user `{user}` with the key {} (`source.user`, `source.private_key`)",
        key.display()
    )]
    AuthRejected {
        host: String,
        port: u16,
        user: String,
        key: PathBuf,
    },

    /// An SSH-level step after connecting failed (authentication exchange,
    /// opening the sftp channel).
    #[error("{doing} on {host}:{port} failed")]
    Ssh {
        host: String,
        port: u16,
        doing: &'static str,
        #[source]
        source: Box<russh::Error>,
    },

    /// A step took longer than its deadline.
    #[error("{doing} on {host}:{port} timed out after {seconds} s")]
    Timeout {
        host: String,
        port: u16,
        doing: &'static str,
        seconds: u64,
        #[source]
        source: tokio::time::error::Elapsed,
    },

    /// An sftp request about a remote path failed.
    #[error("{doing} `{path}` on {host} failed")]
    Remote {
        host: String,
        doing: &'static str,
        path: String,
        #[source]
        source: Box<russh_sftp::client::error::Error>,
    },

    /// Reading a remote file's bytes failed midway.
    #[error("reading `{path}` from {host} failed")]
    Transfer {
        host: String,
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// The server listed a file without an attribute the pick needs.
    #[error("the sftp server {host} listed `{path}` without its {attribute}")]
    MissingAttribute {
        host: String,
        path: String,
        attribute: &'static str,
    },

    /// The download's length is not the listed size.
    #[error("`{path}` on {host}: downloaded {got} bytes, but it was listed with {expected}")]
    SizeMismatch {
        host: String,
        path: String,
        expected: u64,
        got: u64,
    },

    /// Writing the local copy failed.
    #[error("cannot write the download of `{remote}` to {}", local.display())]
    Local {
        remote: String,
        local: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SftpError {
    /// True for failures of the network or of a busy server, where the same
    /// request later may well succeed; false for settings, keys and refusals.
    pub fn is_retryable(&self) -> bool {
        match self {
            SftpError::Connect { source, .. } | SftpError::Ssh { source, .. } => ssh_retryable(source),
            SftpError::Timeout { .. } | SftpError::Transfer { .. } | SftpError::SizeMismatch { .. } => true,
            SftpError::Remote { source, .. } => sftp_retryable(source),
            SftpError::MissingSetting { .. }
            | SftpError::InvalidSetting { .. }
            | SftpError::PassphraseNotSet { .. }
            | SftpError::PrivateKey { .. }
            | SftpError::HostKeyMismatch { .. }
            | SftpError::AuthRejected { .. }
            | SftpError::MissingAttribute { .. }
            | SftpError::Local { .. } => false,
        }
    }
}

fn ssh_retryable(e: &russh::Error) -> bool {
    use russh::Error as E;
    matches!(
        e,
        E::IO(_)
            | E::Disconnect
            | E::HUP
            | E::ConnectionTimeout
            | E::KeepaliveTimeout
            | E::InactivityTimeout
            | E::SendError
            | E::RecvError
            | E::Elapsed(_)
            | E::Pending
    )
}

fn sftp_retryable(e: &russh_sftp::client::error::Error) -> bool {
    use russh_sftp::client::error::Error as E;
    use russh_sftp::protocol::StatusCode;
    match e {
        E::IO(_) | E::Timeout => true,
        E::Status(s) => matches!(s.status_code, StatusCode::NoConnection | StatusCode::ConnectionLost),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::SftpError;

    /// Callers wrap this in their own errors; clippy's `result_large_err`
    /// starts at 128 bytes.
    #[test]
    fn stays_small() {
        assert!(size_of::<SftpError>() <= 112, "{}", size_of::<SftpError>());
    }
}
