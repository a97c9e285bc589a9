//! `ampsync approve N` / `ampsync reject N`: release or discard an import
//! held by a safeguard.

use std::path::Path;
use std::sync::Arc;

use ampsync_engine::clock;
use ampsync_engine::learnamp::Credentials;
use serde_json::json;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The held snapshot.
    snapshot: u64,
}

/// `approve`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The held snapshot.
    snapshot: u64,
    /// Append the events but leave the push to a later `ampsync push`.
    #[arg(long)]
    no_push: bool,
}

pub fn approve(config_path: &Path, format: Format, args: ApproveArgs) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let meta = store.approve(args.snapshot, clock::now_micros()?).map_err(|e| match e {
        ampsync_engine::store::StoreError::Conflict { .. } => anyhow::anyhow!(
            "the state changed since snapshot {} was held, so its events no longer fit: `ampsync reject {}` and import the file again",
            args.snapshot,
            args.snapshot
        ),
        e => e.into(),
    })?;
    let c = meta.counts;
    // Sent at once when the credentials are here, as a sync would.
    let credentials = Credentials::from_env(&config.learnamp).ok();
    let report = match (&credentials, args.no_push || meta.events.is_none()) {
        (Some(credentials), false) => Some(super::push::deliver(&config, Arc::new(store), credentials.clone())?),
        _ => None,
    };
    if format == Format::Json {
        output::json(&json!({
            "snapshot": meta.id,
            "status": meta.status.name(),
            "events": meta.events.map(|(a, b)| json!([a, b])),
            "push": report,
        }))?;
    } else {
        let then = if report.is_some() {
            ""
        } else {
            "; `ampsync push` sends them"
        };
        say!(
            "approved snapshot {}: {} created, {} updated, {} deactivated, {} reactivated appended{then}",
            meta.id,
            c.created,
            c.updated,
            c.deactivated,
            c.reactivated
        );
        if let Some(report) = &report {
            super::push::print_report(report, format)?;
        }
    }
    Ok(report.as_ref().map_or(Exit::Success, super::push::exit_for))
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
