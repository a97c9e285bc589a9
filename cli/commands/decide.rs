//! `ampsync approve N` / `ampsync reject N`: release or discard an import
//! held by a safeguard.

use std::path::Path;
use std::sync::Arc;

use ampsync_engine::Config;
use ampsync_engine::clock;
use ampsync_engine::learnamp::Credentials;
use ampsync_engine::replay::PushReport;
use ampsync_engine::runlog::{self, Decision, DecisionKind};
use ampsync_engine::store::{SnapshotMeta, Store};
use serde_json::{Value, json};

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The held snapshot.
    snapshot: u64,
    /// Who decided, recorded in the run log.
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
}

/// `approve`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The held snapshot.
    snapshot: u64,
    /// Append the events but leave the push to a later `ampsync push`.
    #[arg(long)]
    no_push: bool,
    /// Who approved: recorded in the run log, and `history` shows it.
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
}

pub fn approve(config_path: &Path, format: Format, args: ApproveArgs) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let meta = approve_snapshot(&config, &store, args.snapshot, args.by.as_deref())?;
    let c = meta.counts;
    // Sent at once when the credentials are here, as a sync would.
    let credentials = Credentials::from_env(&config.learnamp).ok();
    let report = match (&credentials, args.no_push || meta.events.is_none()) {
        (Some(credentials), false) => Some(super::push::deliver(&config, Arc::new(store), credentials.clone())?),
        _ => None,
    };
    if format == Format::Json {
        output::json(&approved_json(&meta, report.as_ref()))?;
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

/// Releases held snapshot `id` and records who did it in the run log.
pub fn approve_snapshot(config: &Config, store: &Store, id: u64, by: Option<&str>) -> anyhow::Result<SnapshotMeta> {
    let meta = store.approve(id, clock::now_micros()?).map_err(|e| match e {
        ampsync_engine::store::StoreError::Conflict { .. } => anyhow::anyhow!(
            "the state changed since snapshot {id} was held, so its events no longer fit: `ampsync reject {id}` and import the file again"
        ),
        e => e.into(),
    })?;
    record(config, id, DecisionKind::Approved, by)?;
    Ok(meta)
}

/// Discards held snapshot `id` and records who did it in the run log.
pub fn reject_snapshot(config: &Config, store: &Store, id: u64, by: Option<&str>) -> anyhow::Result<SnapshotMeta> {
    let meta = store.reject(id)?;
    record(config, id, DecisionKind::Rejected, by)?;
    Ok(meta)
}

fn record(config: &Config, snapshot: u64, decision: DecisionKind, by: Option<&str>) -> anyhow::Result<()> {
    let path = runlog::path_for(&config.store_path());
    let line = Decision {
        time: clock::format_micros(clock::now_micros()?),
        snapshot,
        decision,
        by: by.map(str::trim).filter(|b| !b.is_empty()).map(str::to_owned),
    };
    anyhow::Context::with_context(runlog::append_decision(&path, &line), || {
        format!("recording the decision in {}", path.display())
    })
}

/// `approve --format json`.
pub fn approved_json(meta: &SnapshotMeta, report: Option<&PushReport>) -> Value {
    json!({
        "snapshot": meta.id,
        "status": meta.status.name(),
        "events": meta.events.map(|(a, b)| json!([a, b])),
        "push": report,
    })
}

/// `reject --format json`.
pub fn rejected_json(meta: &SnapshotMeta) -> Value {
    json!({"snapshot": meta.id, "status": meta.status.name()})
}

pub fn reject(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let meta = reject_snapshot(&config, &store, args.snapshot, args.by.as_deref())?;
    if format == Format::Json {
        output::json(&rejected_json(&meta))?;
    } else {
        say!(
            "rejected snapshot {}: nothing of it was applied or sent; the same file may be imported again",
            meta.id
        );
    }
    Ok(Exit::Success)
}
