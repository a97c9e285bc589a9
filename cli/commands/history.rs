//! `ampsync history KEY`: who changed this person, when, from which file,
//! and who approved an import that was held.

use std::collections::BTreeMap;
use std::path::Path;

use ampsync_engine::Config;
use ampsync_engine::clock::format_micros;
use ampsync_engine::resolve_key;
use ampsync_engine::runlog;
use ampsync_engine::store::{Cause, Delivery, Event, Store};
use anyhow::Context;
use serde_json::{Value, json};

use crate::Exit;
use crate::output::{self, Format, say, short_hex};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The person: external id (the key), or an email they have or had.
    key: String,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let Some(key) = resolve_key(&store, &args.key)? else {
        anyhow::bail!("no person with key or email {:?} in the store", args.key);
    };
    let events = store.user_events(&key)?;
    let snapshots = output::snapshot_map(&store)?;
    let approvers = approvers(&config)?;
    match format {
        Format::Json => output::json(&history_json(&key, &events, &snapshots, &approvers))?,
        Format::Csv => output::events_csv(&events, &snapshots)?,
        Format::Table => {
            say!("history of {key}");
            for (e, d) in &events {
                let source = match output::event_snapshot(e, &snapshots) {
                    Some(s) => format!(" from {} (blake3 {})", s.source, short_hex(&s.file_hash)),
                    None => String::new(),
                };
                say!(
                    "#{} {} {} by {}{} [{}]",
                    e.seq,
                    format_micros(e.body.time),
                    e.body.kind.name(),
                    cause_text(&e.body.cause, &approvers),
                    source,
                    output::delivery_text(d)
                );
                for change in e.body.kind.changes() {
                    say!("    {}", output::change_text(&change));
                }
            }
        }
    }
    Ok(Exit::Success)
}

/// Who approved each approved snapshot (from the run log).
pub fn approvers(config: &Config) -> anyhow::Result<BTreeMap<u64, String>> {
    let path = runlog::path_for(&config.store_path());
    runlog::approvers(&path).with_context(|| format!("reading {}", path.display()))
}

/// `history KEY --format json`: the events, an approval's cause with who
/// approved it (`by`).
pub fn history_json(
    key: &str,
    events: &[(Event, Delivery)],
    snapshots: &output::Snapshots,
    approvers: &BTreeMap<u64, String>,
) -> Value {
    json!({
        "key": key,
        "events": events.iter().map(|(e, d)| {
            let mut value = output::event_json(e, d, snapshots);
            if let Cause::Approval { snapshot } = e.body.cause
                && let Some(by) = approvers.get(&snapshot)
            {
                value["cause"]["by"] = json!(by);
            }
            value
        }).collect::<Vec<_>>(),
    })
}

/// The history of the person `key` as JSON, read from the store.
pub fn history_of(config: &Config, store: &Store, key: &str) -> anyhow::Result<Value> {
    let events = store.user_events(key)?;
    let snapshots = output::snapshot_map(store)?;
    Ok(history_json(key, &events, &snapshots, &approvers(config)?))
}

/// A cause as a phrase, with who approved an approval.
pub fn cause_text(cause: &Cause, approvers: &BTreeMap<u64, String>) -> String {
    let text = output::cause_text(cause);
    match cause {
        Cause::Approval { snapshot } => match approvers.get(snapshot) {
            Some(by) => format!("{text}, approved by {by}"),
            None => text,
        },
        _ => text,
    }
}
