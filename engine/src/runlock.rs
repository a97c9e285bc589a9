//! One run at a time per store, across processes: an advisory lock on a
//! file beside the store (`<store>.lock`), which also says who holds it.
//! The operating system drops the lock when the process ends, however it
//! ends, so a crash never leaves the store locked. The lock file is 0600 and
//! never opened through a symbolic link: taking the lock truncates it.
//!
//! The runs that write take it (`sync`, `daemon`, `import`, `reimport`,
//! `forget`), so they exclude each other: `forget` and a retention import
//! replace the store file, which another writer would go on writing to. The
//! read commands never take it, and open the store beside a run.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunLockError {
    #[error("another run holds the store {} since {since}", store.display())]
    Held { store: PathBuf, since: String },
    #[error("cannot use the lock file {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held for the length of a run; released when dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of the store at `store`, or says who holds it.
    /// `holder` describes this run (e.g. its start time and pid).
    pub fn acquire(store: &Path, holder: &str) -> Result<RunLock, RunLockError> {
        let mut path = store.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        let io = |source| RunLockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = crate::private_file::open(
            &path,
            File::options().read(true).write(true).create(true).truncate(false),
        )
        .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut since = String::new();
                let _ = file.read_to_string(&mut since);
                let since = if since.trim().is_empty() {
                    "an unknown time".to_owned()
                } else {
                    since.trim().to_owned()
                };
                return Err(RunLockError::Held {
                    store: store.to_owned(),
                    since,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(holder.as_bytes()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(RunLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_who_holds_it_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("s.redb");
        let first = RunLock::acquire(&store, "2026-11-25T06:30:00Z (pid 1)").expect("first");
        match RunLock::acquire(&store, "2026-11-25T06:31:00Z (pid 2)") {
            Err(e @ RunLockError::Held { .. }) => {
                assert!(e.to_string().ends_with("since 2026-11-25T06:30:00Z (pid 1)"), "{e}")
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        RunLock::acquire(&store, "2026-11-25T06:32:00Z (pid 2)").expect("free again");
    }

    /// Regression: a symlinked `ampsync.redb.lock` had its target truncated.
    #[test]
    fn a_symlinked_lock_file_is_refused_and_its_target_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("s.redb");
        let target = dir.path().join("precious");
        std::fs::write(&target, "do not truncate").expect("target");
        std::os::unix::fs::symlink(&target, dir.path().join("s.redb.lock")).expect("symlink");
        match RunLock::acquire(&store, "now") {
            Err(e @ RunLockError::Io { .. }) => assert!(
                format!("{:?}", std::error::Error::source(&e)).contains("symbolic link"),
                "{e:?}"
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "do not truncate");

        let plain = dir.path().join("t.redb");
        let lock = RunLock::acquire(&plain, "now").expect("lock");
        let mode = std::fs::metadata(lock.path()).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
