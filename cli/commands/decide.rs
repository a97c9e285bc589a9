//! `ampsync approve N` / `ampsync reject N`: release or discard an import
//! held by a safeguard.

use std::path::Path;

use ampsync_engine::clock;
use serde_json::json;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The held snapshot.
    snapshot: u64,
}

pub fn approve(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (_, store) = super::open(config_path)?;
    let meta = store.approve(args.snapshot, clock::now_micros()?).map_err(|e| match e {
        ampsync_engine::store::StoreError::Conflict { .. } => anyhow::anyhow!(
            "the state changed since snapshot {} was held, so its events no longer fit: `ampsync reject {}` and import the file again",
            args.snapshot,
            args.snapshot
        ),
        e => e.into(),
    })?;
    let c = meta.counts;
    if format == Format::Json {
        output::json(
            &json!({"snapshot": meta.id, "status": meta.status.name(), "events": meta.events.map(|(a, b)| json!([a, b]))}),
        )?;
    } else {
        say!(
            "approved snapshot {}: {} created, {} updated, {} deactivated, {} reactivated appended; `ampsync push` sends them",
            meta.id,
            c.created,
            c.updated,
            c.deactivated,
            c.reactivated
        );
    }
    Ok(Exit::Success)
}

pub fn reject(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (_, store) = super::open(config_path)?;
    let meta = store.reject(args.snapshot)?;
    if format == Format::Json {
        output::json(&json!({"snapshot": meta.id, "status": meta.status.name()}))?;
    } else {
        say!(
            "rejected snapshot {}: nothing of it was applied or sent; the same file may be imported again",
            meta.id
        );
    }
    Ok(Exit::Success)
}
