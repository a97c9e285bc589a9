//! A local folder as the source.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::pattern::matches;

/// A folder, a file name pattern, and how long a file must be unchanged.
#[derive(Debug, Clone)]
pub struct DirSource {
    pub dir: PathBuf,
    pub pattern: String,
    pub settle: Duration,
}

/// What the folder offers now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// The newest matching file, settled.
    File(PathBuf),
    /// The newest matching file changed too recently: still being written.
    Unsettled(PathBuf),
    /// No file matches.
    Nothing,
}

impl DirSource {
    /// The newest matching file (by modification time, then name).
    pub fn pick(&self, now: SystemTime) -> std::io::Result<Pick> {
        let mut newest: Option<(SystemTime, String, PathBuf)> = None;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = entry.metadata()?;
            if !meta.is_file() || !matches(&self.pattern, &name) {
                continue;
            }
            let mtime = meta.modified()?;
            if newest.as_ref().is_none_or(|(t, n, _)| (mtime, &name) > (*t, n)) {
                newest = Some((mtime, name, entry.path()));
            }
        }
        Ok(match newest {
            None => Pick::Nothing,
            Some((mtime, _, path)) => {
                let age = now.duration_since(mtime).unwrap_or_default();
                if age < self.settle {
                    Pick::Unsettled(path)
                } else {
                    Pick::File(path)
                }
            }
        })
    }
}
