//! `ampsync rollback --to N`: compensating events that restore the state
//! after snapshot N, then a push that puts Learn Amp back.

use std::path::Path;
use std::sync::Arc;

use ampsync_engine::learnamp::Credentials;
use ampsync_engine::rollback;
use ampsync_engine::store::EventKind;
use serde_json::json;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The snapshot whose state to return to.
    #[arg(long)]
    to: u64,
    /// Show the events without appending them.
    #[arg(long)]
    dry_run: bool,
    /// Append the events but leave the push to a later `ampsync push`.
    #[arg(long)]
    no_push: bool,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let result = rollback(&store, args.to, args.dry_run)?;
    let describe = |kind: &EventKind| match kind {
        EventKind::Deactivated => String::new(),
        kind => output::changes_text(kind),
    };
    // The push, when one runs: not for a dry run, with --no-push, with
    // nothing appended, or without credentials here.
    let credentials = Credentials::from_env(&config.learnamp).ok();
    let pushes = !(args.dry_run || args.no_push || result.appended.is_none());
    let report = match (&credentials, pushes) {
        (Some(credentials), true) => Some(super::push::deliver(&config, Arc::new(store), credentials.clone())?),
        _ => None,
    };
    if format == Format::Json {
        output::json(&json!({
            "to": result.to,
            "dry_run": args.dry_run,
            "appended": result.appended.map(|(a, b)| json!([a, b])),
            "events": result.events.iter().map(|(key, kind)| json!({
                "key": key,
                "kind": kind.name(),
                "changes": kind.changes().iter().map(output::change_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "push": report,
        }))?;
    } else {
        output::table(
            &["KEY", "KIND", "CHANGES"],
            result
                .events
                .iter()
                .map(|(key, kind)| vec![key.clone(), kind.name().to_owned(), describe(kind)]),
        )?;
        match (args.dry_run, result.appended) {
            (true, _) => say!(
                "dry run: {} event(s) would restore the state after snapshot {}",
                result.events.len(),
                result.to
            ),
            (false, None) => say!(
                "the state is already what it was after snapshot {}: nothing to do",
                result.to
            ),
            (false, Some((first, last))) => say!(
                "appended events {first}–{last} (rollback to snapshot {}); later snapshots are marked rolled_back",
                result.to
            ),
        }
        if pushes && credentials.is_none() {
            say!("the Learn Amp credentials are not set here: run `ampsync push` to put Learn Amp back");
        }
        if let Some(report) = &report {
            super::push::print_report(report, format)?;
        }
    }
    Ok(report.as_ref().map_or(Exit::Success, super::push::exit_for))
}
