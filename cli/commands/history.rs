//! `ampsync history KEY`: who changed this person, when, from which file.

use std::path::Path;

use ampsync_engine::clock::format_micros;
use ampsync_engine::resolve_key;
use serde_json::json;

use crate::Exit;
use crate::output::{self, Format, say, short_hex};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The person: external id (the key), or an email they have or had.
    key: String,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (_, store) = super::open(config_path)?;
    let Some(key) = resolve_key(&store, &args.key)? else {
        anyhow::bail!("no person with key or email {:?} in the store", args.key);
    };
    let events = store.user_events(&key)?;
    let snapshots = output::snapshot_map(&store)?;
    let erasures: Vec<_> = store.erasures()?.into_iter().filter(|e| e.key == key).collect();
    match format {
        Format::Json => output::json(&json!({
            "key": key,
            "events": events.iter().map(|(e, d)| output::event_json(e, d, &snapshots)).collect::<Vec<_>>(),
            "erasures": erasures.iter().map(output::erasure_json).collect::<Vec<_>>(),
        }))?,
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
                    output::cause_text(&e.body.cause),
                    source,
                    output::delivery_text(d)
                );
                match &e.erased {
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
