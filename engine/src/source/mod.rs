//! Sources of the daily file. A `dir` source is a local folder, an `sftp`
//! source a remote one; the newest file matching the pattern is taken once it
//! has settled.

mod dir;
mod pattern;
mod sftp;

pub use dir::{DirSource, Pick};
pub use pattern::matches;
pub use sftp::{RemoteFile, RemotePick, SftpConnection, SftpError, SftpSource};
