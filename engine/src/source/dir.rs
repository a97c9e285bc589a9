//! A local folder as the source: picking the newest settled file, and
//! `source.after_import` once it is imported.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::pattern::matches;
use crate::config::AfterImport;

/// A folder, a file name pattern, and how long a file must be unchanged.
#[derive(Debug, Clone)]
pub struct DirSource {
    pub dir: PathBuf,
    pub pattern: String,
    pub settle: Duration,
}

/// A file as it was seen: to tell later whether it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub path: PathBuf,
    pub size: u64,
    pub mtime: SystemTime,
}

/// What the folder offers now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// The newest matching file, settled.
    File(PathBuf),
    /// The newest matching file changed too recently: still being written.
    Unsettled(PathBuf),
    /// The newest matching file is dated in the future (a clock ahead of
    /// ours): its mtime says nothing of when it was written. It is taken
    /// once it is seen unchanged for the settle time ([`DirSource::unchanged`]).
    Future(Seen),
    /// No file matches.
    Nothing,
}

impl DirSource {
    /// The newest matching file (by modification time, then name).
    pub fn pick(&self, now: SystemTime) -> std::io::Result<Pick> {
        let mut newest: Option<(SystemTime, String, PathBuf, u64)> = None;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = entry.metadata()?;
            if !meta.is_file() || !matches(&self.pattern, &name) {
                continue;
            }
            let mtime = meta.modified()?;
            if newest.as_ref().is_none_or(|(t, n, _, _)| (mtime, &name) > (*t, n)) {
                newest = Some((mtime, name, entry.path(), meta.len()));
            }
        }
        Ok(match newest {
            None => Pick::Nothing,
            Some((mtime, _, path, size)) => match now.duration_since(mtime) {
                Err(_) => Pick::Future(Seen { path, size, mtime }),
                Ok(age) if age < self.settle => Pick::Unsettled(path),
                Ok(_) => Pick::File(path),
            },
        })
    }

    /// True when the file is still there with the size and mtime it had.
    pub fn unchanged(&self, seen: &Seen) -> std::io::Result<bool> {
        match std::fs::metadata(&seen.path) {
            Ok(meta) => Ok(meta.is_file() && meta.len() == seen.size && meta.modified()? == seen.mtime),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Applies `source.after_import` to the imported file: `keep` leaves it,
    /// `delete` removes it, `move:DIR` renames it into `to` (the folder,
    /// resolved by the caller) under the same name, never over an existing
    /// file.
    pub fn finish(&self, path: &Path, after_import: &AfterImport, to: Option<&Path>) -> std::io::Result<()> {
        match (after_import, to) {
            (AfterImport::Keep, _) => Ok(()),
            (AfterImport::Delete, _) => std::fs::remove_file(path),
            (AfterImport::Move(_), Some(to)) => {
                let target = to.join(path.file_name().unwrap_or_default());
                if std::fs::symlink_metadata(&target).is_ok() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        format!("{} already exists: not moved over it", target.display()),
                    ));
                }
                std::fs::rename(path, &target)
            }
            (AfterImport::Move(dir), None) => Err(std::io::Error::other(format!("no folder for move:{dir}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, mtime: SystemTime) {
        std::fs::write(path, b"x").expect("write");
        std::fs::File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(mtime))
            .expect("mtime");
    }

    #[test]
    fn a_file_dated_in_the_future_is_seen_then_judged_by_whether_it_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = SystemTime::now();
        let ahead = now + Duration::from_secs(86_400);
        let path = dir.path().join("users.csv");
        touch(&path, ahead);
        let source = DirSource {
            dir: dir.path().to_owned(),
            pattern: "*.csv".into(),
            settle: Duration::from_secs(30),
        };
        let seen = match source.pick(now).expect("pick") {
            Pick::Future(seen) => seen,
            other => panic!("expected Future, got {other:?}"),
        };
        assert_eq!((seen.size, seen.mtime), (1, ahead));
        assert!(source.unchanged(&seen).expect("stat"));
        std::fs::write(&path, b"xy").expect("grow");
        assert!(!source.unchanged(&seen).expect("stat"), "it grew");
        std::fs::remove_file(&path).expect("remove");
        assert!(!source.unchanged(&seen).expect("stat"), "it went");
    }

    #[test]
    fn after_import_deletes_or_moves_without_overwriting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let done = dir.path().join("done");
        std::fs::create_dir(&done).expect("done folder");
        let source = DirSource {
            dir: dir.path().to_owned(),
            pattern: "*.csv".into(),
            settle: Duration::ZERO,
        };
        let a = dir.path().join("a.csv");
        touch(&a, SystemTime::now());
        source
            .finish(&a, &AfterImport::Move("done".into()), Some(&done))
            .expect("move");
        assert!(!a.exists() && done.join("a.csv").exists());
        touch(&a, SystemTime::now());
        let err = source
            .finish(&a, &AfterImport::Move("done".into()), Some(&done))
            .expect_err("target exists");
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert!(a.exists(), "left where it was");
        source.finish(&a, &AfterImport::Keep, None).expect("keep");
        assert!(a.exists());
        source.finish(&a, &AfterImport::Delete, None).expect("delete");
        assert!(!a.exists());
    }
}
