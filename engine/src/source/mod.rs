//! Sources of the daily file. A `dir` source is a local folder, an `sftp`
//! source a remote one; the newest file matching the pattern is taken once it
//! has settled.

mod dir;
mod pattern;
mod sftp;

pub use dir::{DirSource, Pick, Seen};
pub use pattern::matches;
pub use sftp::{RemoteFile, RemotePick, SftpConnection, SftpError, SftpSource};

/// Checks `source.known_host_key` (a public key or a known_hosts line) at
/// config load; the reason it is unusable otherwise.
pub(crate) fn check_known_host_key(text: &str) -> Result<(), String> {
    sftp::check_known_host_key(text)
}
