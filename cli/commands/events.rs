//! `ampsync events`: the event log, filtered.

use std::path::Path;

use ampsync_engine::clock::{format_micros, parse_time};
use ampsync_engine::store::{Delivery, Event, EventFilter, EventKind, SnapshotMeta, Store};
use serde_json::Value;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only events at or after this time (RFC 3339, or a date).
    #[arg(long, value_parser = time_arg)]
    since: Option<i64>,
    /// Only events before this time (RFC 3339, or a date).
    #[arg(long, value_parser = time_arg)]
    until: Option<i64>,
    /// Only these kinds: created, updated, deactivated, reactivated.
    #[arg(long, value_delimiter = ',', value_parser = ["created", "updated", "deactivated", "reactivated"])]
    kind: Vec<String>,
    /// Only events that changed this field (e.g. jobTitle).
    #[arg(long)]
    field: Option<String>,
    /// Only the events of snapshot N.
    #[arg(long)]
    snapshot: Option<u64>,
}

/// Parses `--since`/`--until`.
pub fn time_arg(text: &str) -> Result<i64, String> {
    parse_time(text).ok_or_else(|| format!("{text:?} is not an RFC 3339 time or a YYYY-MM-DD date"))
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (_, store) = super::open(config_path)?;
    let filter = EventFilter {
        since: args.since,
        until: args.until,
        kinds: args.kind,
        field: args.field,
        snapshot: args.snapshot,
    };
    let snapshots = output::snapshot_map(&store)?;
    if let Some(meta) = filter.snapshot.and_then(|id| snapshots.get(&id))
        && meta.status == ampsync_engine::store::SnapshotStatus::Held
    {
        return held(&store, meta, format);
    }
    let events = store.events(&filter)?;
    match format {
        Format::Json => output::json(&events_json(&events, &snapshots))?,
        Format::Csv => output::events_csv(&events, &snapshots)?,
        Format::Table => output::table(
            &["SEQ", "TIME", "KEY", "KIND", "CAUSE", "CHANGES", "DELIVERY"],
            events.iter().map(|(e, d)| {
                let changes = match &e.body.kind {
                    ampsync_engine::store::EventKind::Created { record } => {
                        format!("{} fields, email {}", record.len(), record.get("email").unwrap_or("∅"))
                    }
                    kind => output::changes_text(kind),
                };
                vec![
                    e.seq.to_string(),
                    format_micros(e.body.time),
                    e.body.key.clone(),
                    e.body.kind.name().to_owned(),
                    output::cause_text(&e.body.cause),
                    changes,
                    d.name().to_owned(),
                ]
            }),
        )?,
    }
    Ok(Exit::Success)
}

/// The events a held snapshot would append: not in the log, nothing sent.
fn held(
    store: &ampsync_engine::store::Store,
    meta: &ampsync_engine::store::SnapshotMeta,
    format: Format,
) -> anyhow::Result<Exit> {
    let events = store.held_events(meta.id)?;
    let why = meta.held_because.clone().unwrap_or_default();
    match format {
        Format::Json => output::json(&held_json(meta, &events))?,
        _ => {
            say!(
                "snapshot {} is held ({why}); these events are not in the log and nothing is sent:",
                meta.id
            );
            output::table(
                &["KEY", "KIND", "CHANGES"],
                events
                    .iter()
                    .map(|(key, kind)| vec![key.clone(), kind.name().to_owned(), output::changes_text(kind)]),
            )?;
        }
    }
    Ok(Exit::Success)
}

/// `events --format json`'s value for events in the log.
pub fn events_json(events: &[(Event, Delivery)], snapshots: &output::Snapshots) -> Value {
    Value::Array(
        events
            .iter()
            .map(|(e, d)| output::event_json(e, d, snapshots))
            .collect(),
    )
}

/// `events --snapshot N --format json`'s value for a held snapshot: the
/// events it would append.
pub fn held_json(meta: &SnapshotMeta, events: &[(String, EventKind)]) -> Value {
    let why = meta.held_because.clone().unwrap_or_default();
    Value::Array(
        events
            .iter()
            .map(|(key, kind)| {
                serde_json::json!({
                    "seq": null,
                    "key": key,
                    "kind": kind.name(),
                    "cause": {"type": "import", "snapshot": meta.id},
                    "source": meta.source,
                    "changes": kind.changes().iter().map(output::change_json).collect::<Vec<_>>(),
                    "delivery": {"status": "held", "reason": why},
                })
            })
            .collect(),
    )
}

/// `events --format json`'s value for `filter`: a held snapshot's
/// would-be events, or the log's.
pub fn filtered_json(store: &Store, filter: &EventFilter) -> anyhow::Result<Value> {
    let snapshots = output::snapshot_map(store)?;
    if let Some(meta) = filter.snapshot.and_then(|id| snapshots.get(&id))
        && meta.status == ampsync_engine::store::SnapshotStatus::Held
    {
        return Ok(held_json(meta, &store.held_events(meta.id)?));
    }
    Ok(events_json(&store.events(filter)?, &snapshots))
}
