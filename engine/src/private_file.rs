//! Files ampsync makes beside the store and for the operator — the run log,
//! the run lock, exported snapshots: owner-only (0600) whatever the umask,
//! and never opened through a symbolic link, so a link planted where one of
//! them goes cannot make ampsync truncate, append to or overwrite another
//! file. (The store itself is made by `ampsync-store` under the same rules.)

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Owner read and write, nothing for anyone else.
pub const MODE: u32 = 0o600;

/// Opens `path` with `options`, refusing a symbolic link and anything but a
/// regular file. A file this creates is 0600; an existing one of ours that
/// others could read is narrowed to 0600.
pub fn open(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = options
        .mode(MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| explain(path, e))?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other(format!("{} is not a regular file", path.display())));
    }
    if meta.permissions().mode() & 0o777 != MODE {
        file.set_permissions(Permissions::from_mode(MODE))?;
    }
    Ok(file)
}

/// Opens `path` to append to it, creating it 0600.
pub fn append(path: &Path) -> io::Result<File> {
    open(path, OpenOptions::new().create(true).append(true))
}

/// Opens `path` to read it, refusing a symbolic link.
pub fn read(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| explain(path, e))?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!("{} is not a regular file", path.display())));
    }
    Ok(file)
}

/// Writes `bytes` to a new file at `path` (0600, fsynced). An existing file
/// (or link) there is refused with `AlreadyExists` unless `replace`; even
/// then it is not written through: the bytes go to a temporary file beside
/// it, which is renamed over it.
pub fn write_new(path: &Path, bytes: &[u8], replace: bool) -> io::Result<()> {
    if !replace && std::fs::symlink_metadata(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", path.display()),
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".ampsync-")
        .permissions(Permissions::from_mode(MODE))
        .tempfile_in(dir)?;
    temp.as_file_mut().write_all(bytes)?;
    temp.as_file().sync_all()?;
    let placed = if replace {
        temp.persist(path).map(drop)
    } else {
        // A link, not a rename: it fails if something appeared meanwhile.
        temp.persist_noclobber(path).map(drop)
    };
    placed.map_err(|e| e.error)
}

/// A link where a file goes gets a message that says so, not "too many
/// levels of symbolic links".
fn explain(path: &Path, e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        io::Error::other(format!(
            "{} is a symbolic link, which ampsync does not follow",
            path.display()
        ))
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn appends_create_owner_only_files_and_refuse_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("runs.jsonl");
        append(&log).and_then(|mut f| f.write_all(b"1\n")).expect("append");
        append(&log).and_then(|mut f| f.write_all(b"2\n")).expect("append");
        assert_eq!(std::fs::read(&log).expect("read"), b"1\n2\n");
        assert_eq!(mode(&log), 0o600);

        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"keep").expect("target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let err = append(&link).expect_err("a link is refused");
        assert_eq!(
            err.to_string(),
            format!("{} is a symbolic link, which ampsync does not follow", link.display())
        );
        assert!(read(&link).is_err());
        assert_eq!(std::fs::read(&target).expect("read"), b"keep");
    }

    #[test]
    fn an_existing_file_of_ours_is_narrowed_to_owner_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("runs.jsonl");
        std::fs::write(&log, b"").expect("write");
        std::fs::set_permissions(&log, Permissions::from_mode(0o644)).expect("chmod");
        drop(append(&log).expect("append"));
        assert_eq!(mode(&log), 0o600);
    }

    #[test]
    fn write_new_refuses_an_existing_file_and_replaces_a_link_without_following_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out.csv");
        write_new(&out, b"one", false).expect("new file");
        assert_eq!(mode(&out), 0o600);
        let err = write_new(&out, b"two", false).expect_err("exists");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&out).expect("read"), b"one");

        let target = dir.path().join("target");
        std::fs::write(&target, b"precious").expect("target");
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert_eq!(
            write_new(&link, b"x", false).expect_err("a link exists").kind(),
            io::ErrorKind::AlreadyExists
        );
        write_new(&link, b"replaced", true).expect("replace");
        assert_eq!(std::fs::read(&target).expect("read"), b"precious");
        assert!(std::fs::symlink_metadata(&link).expect("stat").is_file());
        assert_eq!(std::fs::read(&link).expect("read"), b"replaced");
        assert_eq!(mode(&link), 0o600);
    }
}
