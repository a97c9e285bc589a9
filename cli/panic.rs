//! No panic reaches the user: a command runs inside `catch_unwind`, the
//! default hook (which prints `thread 'main' panicked at …`) is replaced by
//! one that only remembers where the panic happened, and the panic becomes
//! an error like any other.
//!
//! A damaged store file can make redb panic while reading it; such a panic
//! is reported as a corrupt store, pointing to `verify` and the backups.
//! Any other panic is a bug, reported as one. `RUST_BACKTRACE` set keeps the
//! default hook's output, for whoever debugs it.

use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Where the last panic happened, and its message.
static LAST: Mutex<Option<(String, String)>> = Mutex::new(None);

/// The store this command opened, to name it in the report.
static STORE: OnceLock<PathBuf> = OnceLock::new();

/// Remembers the store the command works on.
pub fn note_store(path: &Path) {
    let _ = STORE.set(path.to_owned());
}

/// Replaces the panic hook (call once, first thing).
pub fn install_hook() {
    let verbose = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if let Ok(mut last) = LAST.lock() {
            *last = Some((location, message));
        }
        if verbose {
            default(info);
        }
    }));
}

/// Runs `command`, turning a panic into an error.
pub fn catch<T>(command: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(command)) {
        Ok(result) => result,
        Err(_) => {
            let (location, message) = LAST.lock().ok().and_then(|mut l| l.take()).unwrap_or_default();
            Err(report(&location, &message))
        }
    }
}

/// The error a panic at `location` becomes.
fn report(location: &str, message: &str) -> anyhow::Error {
    if in_redb(location) {
        let store = STORE
            .get()
            .map_or_else(|| "the store".to_owned(), |p| format!("the store {}", p.display()));
        anyhow::anyhow!(
            "{store} is corrupt: reading it failed inside redb ({message}). Run `ampsync verify` to see what is \
             damaged, and restore the store from a backup if it fails"
        )
    } else {
        anyhow::anyhow!("internal error (a bug in ampsync, please report it): {message} at {location}")
    }
}

/// True when the panic came from the storage engine's own code.
fn in_redb(location: &str) -> bool {
    location.contains("/redb-") || location.contains("\\redb-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_redb_is_a_corrupt_store_and_any_other_a_bug() {
        let redb = report(
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/redb-4.6.0/src/tree_store/btree_base.rs:120",
            "index out of bounds",
        );
        assert!(
            redb.to_string()
                .contains("is corrupt: reading it failed inside redb (index out of bounds)")
        );
        assert!(redb.to_string().contains("`ampsync verify`"));
        let bug = report("cli/commands/plan.rs:10", "boom");
        assert_eq!(
            bug.to_string(),
            "internal error (a bug in ampsync, please report it): boom at cli/commands/plan.rs:10"
        );
    }
}
