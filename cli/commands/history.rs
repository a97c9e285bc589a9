//! `ampsync history KEY`: who changed this person, when, from which file,
//! and who approved an import that was held.

use std::collections::BTreeMap;
use std::path::Path;

use ampsync_engine::Config;
use ampsync_engine::clock::format_micros;
use ampsync_engine::resolve_key;
use ampsync_engine::runlog;
use ampsync_engine::store::{Cause, Delivery, Erasure, Event, Store};
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
    let erasures = erasures_of(&store, &key)?;
    let approvers = approvers(&config)?;
    match format {
        Format::Json => output::json(&history_json(&key, &events, &erasures, &snapshots, &approvers))?,
        Format::Csv => output::events_csv(&events, &snapshots)?,
        Format::Table => {
            say!("history of {key}");
            for (e, d) in &events {
                let mut source = match output::event_snapshot(e, &snapshots) {
                    Some(s) => format!(" from {} (blake3 {})", s.source, short_hex(&s.file_hash)),
                    None => String::new(),
                };
                if let Some(n) = snapshots.reimport_of(e) {
                    source.push_str(&format!(", re-import of snapshot {n}"));
                }
                say!(
                    "#{} {} {} by {}{} [{}]",
                    e.seq,
                    format_micros(e.body.time),
                    e.body.kind.name(),
                    cause_text(&e.body.cause, &approvers),
                    source,
                    output::delivery_text(d)
                );
                match &e.erased {
                    // A deactivation changes no field: nothing to name.
                    Some(erased) if erased.fields.is_empty() => {
                        say!("    values erased by erasure {}", erased.erasure)
                    }
                    Some(erased) => say!(
                        "    values erased by erasure {} (fields: {})",
                        erased.erasure,
                        erased.fields.join(", ")
                    ),
                    None => {
                        for change in e.body.kind.changes() {
                            say!("    {}", output::change_text(&change));
                        }
                    }
                }
            }
            for erasure in &erasures {
                say!(
                    "erased {} by {}: {} (erasure {}, the values of {} events)",
                    format_micros(erasure.time),
                    erasure.by.as_deref().unwrap_or("(not given)"),
                    erasure.reason,
                    erasure.id,
                    erasure.events.len()
                );
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
    erasures: &[Erasure],
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
        "erasures": erasures.iter().map(output::erasure_json).collect::<Vec<_>>(),
    })
}

/// The erasures of the person `key` (when they were forgotten, why, by whom).
fn erasures_of(store: &Store, key: &str) -> anyhow::Result<Vec<Erasure>> {
    Ok(store.erasures()?.into_iter().filter(|e| e.key == key).collect())
}

/// The history of the person `key` as JSON, read from the store.
pub fn history_of(config: &Config, store: &Store, key: &str) -> anyhow::Result<Value> {
    let events = store.user_events(key)?;
    let snapshots = output::snapshot_map(store)?;
    let erasures = erasures_of(store, key)?;
    Ok(history_json(key, &events, &erasures, &snapshots, &approvers(config)?))
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
