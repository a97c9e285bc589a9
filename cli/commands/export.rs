//! `ampsync export-snapshot N FILE`: the exact bytes of an import, written
//! back out (its blake3 matches the snapshot's).
//!
//! The file holds decrypted personal data: it is created 0600, an existing
//! FILE is refused unless `--force`, and even then a symbolic link there is
//! replaced, never written through.

use std::path::{Path, PathBuf};

use ampsync_engine::clock::format_micros;
use ampsync_engine::private_file;
use ampsync_engine::raw::{RawError, snapshot_bytes};

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The snapshot.
    snapshot: u64,
    /// Where to write the file (owner-only, mode 600).
    file: PathBuf,
    /// Replace FILE if it exists (a symbolic link is replaced, not followed).
    #[arg(long)]
    force: bool,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (_, store) = super::open(config_path)?;
    if !args.force && std::fs::symlink_metadata(&args.file).is_ok() {
        anyhow::bail!("{} already exists: pass --force to replace it", args.file.display());
    }
    let bytes = match snapshot_bytes(&store, args.snapshot) {
        Err(RawError::NotKept(id)) => match store.erasures()?.iter().find(|e| e.raw_dropped.contains(&id)) {
            Some(erasure) => anyhow::bail!(
                "the file of snapshot {id} was dropped on {} by erasure {} (it held a person forgotten then: {}); \
                 its events and snapshot record remain, without the forgotten person's values",
                format_micros(erasure.time),
                erasure.id,
                erasure.reason
            ),
            None => return Err(RawError::NotKept(id).into()),
        },
        other => other?,
    };
    private_file::write_new(&args.file, &bytes, args.force).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            anyhow::anyhow!("{} already exists: pass --force to replace it", args.file.display())
        }
        _ => anyhow::Error::new(e).context(format!("cannot write {}", args.file.display())),
    })?;
    if format == Format::Json {
        output::json(&serde_json::json!({
            "snapshot": args.snapshot,
            "file": args.file.display().to_string(),
            "bytes": bytes.len(),
        }))?;
    } else {
        say!(
            "wrote snapshot {} to {} ({} bytes, blake3 checked)",
            args.snapshot,
            args.file.display(),
            bytes.len()
        );
    }
    Ok(Exit::Success)
}
