//! `ampsync export-snapshot N FILE`: the exact bytes of an import, written
//! back out (its blake3 matches the snapshot's).

use std::path::{Path, PathBuf};

use ampsync_engine::raw::export_snapshot;

use crate::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The snapshot.
    snapshot: u64,
    /// Where to write the file.
    file: PathBuf,
}

pub fn run(config_path: &Path, args: Args) -> anyhow::Result<Exit> {
    let (_, store) = super::open(config_path)?;
    let len = export_snapshot(&store, args.snapshot, &args.file)?;
    println!(
        "wrote snapshot {} to {} ({len} bytes, blake3 checked)",
        args.snapshot,
        args.file.display()
    );
    Ok(Exit::Success)
}
