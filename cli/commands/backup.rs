//! `ampsync backup FILE`: a consistent copy of the store, safe to take while
//! a daemon or an import holds it (the copy is one commit of the store).

use std::path::{Path, PathBuf};

use ampsync_engine::store::Store;
use anyhow::Context;
use serde_json::json;

use crate::Exit;
use crate::output::{self, Format};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the copy (written beside it under a temporary name,
    /// then renamed into place).
    file: PathBuf,
    /// Replace FILE if it exists (a symbolic link is still refused).
    #[arg(long)]
    force: bool,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let config = super::load_config(config_path)?;
    let path = config.store_path();
    let store = Store::open_existing_with(&path, config.store_keying()?)
        .map(super::say_upgraded)
        .with_context(|| format!("opening the store {}", path.display()))?;
    let report = store
        .backup(&args.file, args.force)
        .with_context(|| format!("backing up {} to {}", path.display(), args.file.display()))?;
    if format == Format::Json {
        output::json(&json!({
            "store": path,
            "backup": report.path,
            "snapshots": report.snapshots,
            "events": report.events,
            "entries": report.entries,
            "bytes": report.bytes,
        }))?;
    } else {
        println!(
            "backed up {} to {}: {} snapshot(s), {} event(s), {} bytes",
            path.display(),
            report.path.display(),
            report.snapshots,
            report.events,
            report.bytes
        );
    }
    Ok(Exit::Success)
}
