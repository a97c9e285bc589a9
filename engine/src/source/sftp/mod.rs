//! An sFTP server as the source: connecting with an SSH key to a server whose
//! host key is pinned, picking the newest settled file matching the pattern,
//! streaming it to a local temporary file, and tidying up after the import.
//! What the bytes are (PGP, CSV) is left to the later steps of the pipeline.

mod error;
mod host_key;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tempfile::TempPath;

use russh::client;
use russh::keys::PrivateKeyWithHashAlg;
use russh_sftp::client::SftpSession;
use russh_sftp::protocol::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use error::SftpError;
use host_key::{HostKeyCheck, PinnedKey};

use super::pattern::matches;
use crate::{AfterImport, Config, SourceConfig};

/// How long the TCP connection and SSH handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long any later request may wait for the server's answer.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The read size while streaming a download.
const CHUNK: usize = 256 * 1024;

/// The settings of an sFTP source, validated.
pub struct SftpSource {
    host: String,
    port: u16,
    user: String,
    private_key: PathBuf,
    passphrase: Option<String>,
    pinned: PinnedKey,
    remote_dir: String,
    pattern: String,
    settle: Duration,
}

// By hand, so the passphrase never reaches a log.
impl fmt::Debug for SftpSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SftpSource")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("private_key", &self.private_key)
            .field("passphrase", &self.passphrase.as_ref().map(|_| "<redacted>"))
            .field("pinned", &self.pinned.fingerprint())
            .field("remote_dir", &self.remote_dir)
            .field("pattern", &self.pattern)
            .field("settle", &self.settle)
            .finish()
    }
}

/// A file in the remote folder, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// The remote path (`remote_dir/name`).
    pub path: String,
    pub name: String,
    pub size: u64,
    /// Modification time, in seconds since the Unix epoch.
    pub mtime: u64,
}

/// What the remote folder offers now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemotePick {
    /// The newest matching file, settled.
    File(RemoteFile),
    /// The newest matching file changed too recently: still being uploaded.
    Unsettled(RemoteFile),
    /// The newest matching file is dated in the future (the server's clock
    /// is ahead): it is taken once seen unchanged for the settle time
    /// ([`SftpConnection::unchanged`]).
    Future(RemoteFile),
    /// No file matches.
    Nothing,
}

/// See [`crate::source::check_known_host_key`].
pub(crate) fn check_known_host_key(text: &str) -> Result<(), String> {
    PinnedKey::parse(text).map(drop)
}

impl SftpSource {
    /// Validates the `[source]` settings of an sftp source; the key
    /// passphrase, if any, comes from the environment variable that
    /// `private_key_passphrase_env` names.
    pub fn from_config(source: &SourceConfig, config: &Config) -> Result<SftpSource, SftpError> {
        SftpSource::from_config_with_env(source, config, |var| std::env::var(var).ok())
    }

    /// As [`SftpSource::from_config`], with the environment looked up through
    /// `env` (so callers and tests need not change the process environment).
    pub fn from_config_with_env(
        source: &SourceConfig,
        config: &Config,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<SftpSource, SftpError> {
        // The settings were checked when the config was loaded.
        let SourceConfig::Sftp(source) = source else {
            return Err(SftpError::InvalidSetting {
                setting: "source.kind",
                reason: "an sftp source needs `kind = \"sftp\"`".to_owned(),
            });
        };
        let pinned = PinnedKey::parse(&source.known_host_key).map_err(|reason| SftpError::InvalidSetting {
            setting: "source.known_host_key",
            reason,
        })?;
        let passphrase = match source.private_key_passphrase_env.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(var) => Some(
                crate::secret::from_env_with(var, "source.private_key_passphrase_env", env)
                    .map_err(|_| SftpError::PassphraseNotSet { var: var.to_owned() })?,
            ),
        };
        Ok(SftpSource {
            host: source.host.trim().to_owned(),
            port: source.port,
            user: source.user.trim().to_owned(),
            private_key: config.resolve(&source.private_key),
            passphrase,
            pinned,
            remote_dir: source.remote_dir.clone(),
            pattern: source.pattern.clone(),
            settle: Duration::from_secs(source.settle_seconds),
        })
    }

    /// Connects, checks the server's key against the pinned one, logs in
    /// with the private key and opens an sftp session. The handshake has
    /// 15 s; every later request 60 s.
    pub async fn connect(&self) -> Result<SftpConnection, SftpError> {
        let key = self.load_key().await?;

        let mut ssh_config = client::Config {
            nodelay: true,
            ..client::Config::default()
        };
        ssh_config.preferred.key = self.pinned.host_key_algorithms(&ssh_config.preferred.key);
        let refused = Arc::new(Mutex::new(None));
        let check = HostKeyCheck {
            pinned: self.pinned.clone(),
            refused: Arc::clone(&refused),
        };
        tracing::info!(host = %self.host, port = self.port, user = %self.user, "connecting to the sftp source");
        let connecting = client::connect(Arc::new(ssh_config), (self.host.as_str(), self.port), check);
        let mut handle = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Err(elapsed) => return Err(self.timeout("connecting", CONNECT_TIMEOUT, elapsed)),
            Ok(Ok(handle)) => handle,
            Ok(Err(source)) => {
                if let Some(offered) = refused.lock().unwrap_or_else(PoisonError::into_inner).take() {
                    return Err(SftpError::HostKeyMismatch {
                        host: self.host.clone(),
                        port: self.port,
                        offered: offered.fingerprint,
                        algorithm: offered.algorithm,
                        expected: self.pinned.fingerprint(),
                    });
                }
                return Err(SftpError::Connect {
                    host: self.host.clone(),
                    port: self.port,
                    source: Box::new(source),
                });
            }
        };

        // RSA keys sign with the best hash the server accepts (rsa-sha2-512
        // or -256); `None` would mean the SHA-1 `ssh-rsa`.
        let rsa_hash = if key.algorithm().is_rsa() {
            self.timed(
                "asking for the RSA signature algorithms",
                handle.best_supported_rsa_hash(),
            )
            .await?
            .flatten()
        } else {
            None
        };
        let auth = self
            .timed(
                "authenticating",
                handle.authenticate_publickey(self.user.clone(), PrivateKeyWithHashAlg::new(Arc::new(key), rsa_hash)),
            )
            .await?;
        if !auth.success() {
            return Err(SftpError::AuthRejected {
                host: self.host.clone(),
                port: self.port,
                user: self.user.clone(),
                key: self.private_key.clone(),
            });
        }

        let channel = self
            .timed("opening a session channel", handle.channel_open_session())
            .await?;
        self.timed("requesting the sftp subsystem", channel.request_subsystem(true, "sftp"))
            .await?;
        let sftp_config = russh_sftp::client::Config {
            request_timeout_secs: READ_TIMEOUT.as_secs(),
            ..russh_sftp::client::Config::default()
        };
        let starting = SftpSession::new_with_config(channel.into_stream(), sftp_config);
        let sftp = match tokio::time::timeout(READ_TIMEOUT, starting).await {
            Err(elapsed) => return Err(self.timeout("starting sftp", READ_TIMEOUT, elapsed)),
            Ok(result) => result.map_err(|source| SftpError::Remote {
                host: self.host.clone(),
                doing: "starting the sftp subsystem for",
                path: self.remote_dir.clone(),
                source: Box::new(source),
            })?,
        };
        tracing::info!(host = %self.host, port = self.port, user = %self.user, "connected to the sftp source");
        Ok(SftpConnection {
            host: self.host.clone(),
            port: self.port,
            remote_dir: self.remote_dir.clone(),
            pattern: self.pattern.clone(),
            settle: self.settle,
            sftp,
            handle,
        })
    }

    /// The private key, decrypted off the async threads (bcrypt is slow on
    /// purpose).
    async fn load_key(&self) -> Result<russh::keys::PrivateKey, SftpError> {
        let (path, passphrase) = (self.private_key.clone(), self.passphrase.clone());
        let loaded = tokio::task::spawn_blocking(move || russh::keys::load_secret_key(&path, passphrase.as_deref()));
        let result = match loaded.await {
            Ok(result) => result,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        };
        result.map_err(|source| SftpError::PrivateKey {
            path: self.private_key.clone(),
            hint: match (&source, &self.passphrase) {
                (russh::keys::Error::KeyIsEncrypted, None) => {
                    ": it is passphrase-protected; name the variable holding the passphrase in \
                     `source.private_key_passphrase_env`"
                }
                (russh::keys::Error::SshKey(russh::keys::ssh_key::Error::Crypto), Some(_)) => {
                    ": the passphrase from `source.private_key_passphrase_env` does not open it"
                }
                _ => "",
            },
            source: Box::new(source),
        })
    }

    async fn timed<T>(
        &self,
        doing: &'static str,
        step: impl Future<Output = Result<T, russh::Error>>,
    ) -> Result<T, SftpError> {
        match tokio::time::timeout(READ_TIMEOUT, step).await {
            Err(elapsed) => Err(self.timeout(doing, READ_TIMEOUT, elapsed)),
            Ok(result) => result.map_err(|source| SftpError::Ssh {
                host: self.host.clone(),
                port: self.port,
                doing,
                source: Box::new(source),
            }),
        }
    }

    fn timeout(&self, doing: &'static str, limit: Duration, source: tokio::time::error::Elapsed) -> SftpError {
        SftpError::Timeout {
            host: self.host.clone(),
            port: self.port,
            doing,
            seconds: limit.as_secs(),
            source,
        }
    }
}

/// A logged-in sftp session on the source server.
pub struct SftpConnection {
    host: String,
    port: u16,
    remote_dir: String,
    pattern: String,
    settle: Duration,
    sftp: SftpSession,
    handle: client::Handle<HostKeyCheck>,
}

impl fmt::Debug for SftpConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SftpConnection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("remote_dir", &self.remote_dir)
            .field("pattern", &self.pattern)
            .field("settle", &self.settle)
            .finish_non_exhaustive()
    }
}

impl SftpConnection {
    /// The newest regular file in the remote folder matching the pattern (by
    /// modification time, then name). It is settled when its mtime is at
    /// least `settle` before `now` and a fresh stat still shows the listed
    /// size and mtime; otherwise it is still being uploaded. One dated after
    /// `now` is `Future`: its mtime cannot tell.
    pub async fn pick(&self, now: SystemTime) -> Result<RemotePick, SftpError> {
        let entries = self
            .sftp
            .read_dir(self.remote_dir.clone())
            .await
            .map_err(|source| self.remote("listing", &self.remote_dir, source))?;
        let mut newest: Option<RemoteFile> = None;
        for entry in entries {
            let name = entry.file_name();
            let meta = entry.metadata();
            if !meta.file_type().is_file() || !matches(&self.pattern, &name) {
                continue;
            }
            let path = join(&self.remote_dir, &name);
            let (size, mtime) = self.size_and_mtime(&path, &meta)?;
            if newest.as_ref().is_none_or(|n| (mtime, &name) > (n.mtime, &n.name)) {
                newest = Some(RemoteFile {
                    path,
                    name,
                    size,
                    mtime,
                });
            }
        }
        let Some(file) = newest else {
            return Ok(RemotePick::Nothing);
        };

        let Ok(age) = now.duration_since(UNIX_EPOCH + Duration::from_secs(file.mtime)) else {
            return Ok(RemotePick::Future(file));
        };
        if age < self.settle {
            return Ok(RemotePick::Unsettled(file));
        }
        // The listing may be a moment old: a file that changed since, or was
        // renamed away, is still in motion.
        if !self.unchanged(&file).await? {
            return Ok(RemotePick::Unsettled(file));
        }
        Ok(RemotePick::File(file))
    }

    /// True when `file` is still there with the listed size and mtime.
    pub async fn unchanged(&self, file: &RemoteFile) -> Result<bool, SftpError> {
        let fresh = match self.sftp.metadata(file.path.clone()).await {
            Ok(meta) => self.size_and_mtime(&file.path, &meta)?,
            Err(russh_sftp::client::error::Error::Status(s)) if s.status_code == StatusCode::NoSuchFile => {
                return Ok(false);
            }
            Err(source) => return Err(self.remote("checking", &file.path, source)),
        };
        Ok(fresh == (file.size, file.mtime))
    }

    /// Streams `file` into a new temporary file in `dest_dir` (mode 0600,
    /// named `.ampsync-download-<random>`), syncs it to disk, checks that the
    /// byte count is the listed size, and returns its path. The file is
    /// removed when the returned path is dropped, or at once on failure.
    pub async fn download(&self, file: &RemoteFile, dest_dir: &Path) -> Result<TempPath, SftpError> {
        let mut remote = self
            .sftp
            .open(file.path.clone())
            .await
            .map_err(|source| self.remote("opening", &file.path, source))?;
        let local_error = |source| SftpError::Local {
            remote: file.path.clone(),
            local: dest_dir.to_owned(),
            source,
        };
        let temp = tempfile::Builder::new()
            .prefix(".ampsync-download-")
            .tempfile_in(dest_dir)
            .map_err(local_error)?;
        let (std_file, local_path) = temp.into_parts();
        let mut local = tokio::fs::File::from_std(std_file);
        let copied = self.copy(&mut remote, &mut local, file, &local_path).await;
        // The bytes are read; a failed close of the remote handle loses nothing.
        if let Err(e) = remote.close().await {
            tracing::debug!(path = %file.path, error = %e, "closing the remote file failed");
        }
        drop(local);
        // On an error `local_path` is dropped here, which removes the file.
        copied?;
        tracing::info!(path = %file.path, bytes = file.size, local = %local_path.display(), "downloaded");
        Ok(local_path)
    }

    async fn copy(
        &self,
        remote: &mut russh_sftp::client::fs::File,
        local: &mut tokio::fs::File,
        file: &RemoteFile,
        local_path: &Path,
    ) -> Result<(), SftpError> {
        let local_err = |source| SftpError::Local {
            remote: file.path.clone(),
            local: local_path.to_owned(),
            source,
        };
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0u64;
        loop {
            let n = match tokio::time::timeout(READ_TIMEOUT, remote.read(&mut buf)).await {
                Err(elapsed) => {
                    return Err(SftpError::Timeout {
                        host: self.host.clone(),
                        port: self.port,
                        doing: "reading the file",
                        seconds: READ_TIMEOUT.as_secs(),
                        source: elapsed,
                    });
                }
                Ok(read) => read.map_err(|source| SftpError::Transfer {
                    host: self.host.clone(),
                    path: file.path.clone(),
                    source,
                })?,
            };
            if n == 0 {
                break;
            }
            local.write_all(&buf[..n]).await.map_err(local_err)?;
            got += n as u64;
        }
        local.flush().await.map_err(local_err)?;
        local.sync_all().await.map_err(local_err)?;
        if got != file.size {
            return Err(SftpError::SizeMismatch {
                host: self.host.clone(),
                path: file.path.clone(),
                expected: file.size,
                got,
            });
        }
        Ok(())
    }

    /// Applies `source.after_import` to the imported file: `keep` leaves it,
    /// `move:/some/dir` renames it into that folder under the same name (an
    /// existing file there is not overwritten), `delete` removes it.
    pub async fn finish(&self, file: &RemoteFile, after_import: &AfterImport) -> Result<(), SftpError> {
        match after_import {
            AfterImport::Keep => Ok(()),
            AfterImport::Delete => {
                self.sftp
                    .remove_file(file.path.clone())
                    .await
                    .map_err(|source| self.remote("deleting", &file.path, source))?;
                tracing::info!(path = %file.path, "deleted after import");
                Ok(())
            }
            AfterImport::Move(dir) => {
                let target = join(dir, &file.name);
                self.sftp
                    .rename(file.path.clone(), target.clone())
                    .await
                    .map_err(|source| SftpError::Remote {
                        host: self.host.clone(),
                        doing: "moving (source.after_import)",
                        path: format!("{} -> {target}", file.path),
                        source: Box::new(source),
                    })?;
                tracing::info!(path = %file.path, to = %target, "moved after import");
                Ok(())
            }
        }
    }

    /// Ends the sftp session and the SSH connection.
    pub async fn close(self) {
        if let Err(e) = self.sftp.close().await {
            tracing::debug!(host = %self.host, error = %e, "closing the sftp session failed");
        }
        if let Err(e) = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await {
            tracing::debug!(host = %self.host, error = %e, "disconnecting failed");
        }
    }

    fn size_and_mtime(&self, path: &str, meta: &russh_sftp::client::fs::Metadata) -> Result<(u64, u64), SftpError> {
        let missing = |attribute| SftpError::MissingAttribute {
            host: self.host.clone(),
            path: path.to_owned(),
            attribute,
        };
        let size = meta.size.ok_or_else(|| missing("size"))?;
        let mtime = meta.mtime.ok_or_else(|| missing("modification time"))?;
        Ok((size, u64::from(mtime)))
    }

    fn remote(&self, doing: &'static str, path: &str, source: russh_sftp::client::error::Error) -> SftpError {
        SftpError::Remote {
            host: self.host.clone(),
            doing,
            path: path.to_owned(),
            source: Box::new(source),
        }
    }
}

/// `dir/name` on the server (sftp paths always use `/`).
fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn joins_remote_paths() {
        assert_eq!(join("/upload", "a.csv"), "/upload/a.csv");
        assert_eq!(join("/upload/", "a.csv"), "/upload/a.csv");
        assert_eq!(join("/", "a.csv"), "/a.csv");
        assert_eq!(join("upload", "a.csv"), "upload/a.csv");
    }
}
