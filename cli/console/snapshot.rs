//! Snapshot N: the file, its hash, source, counts and status; its events,
//! filtered by kind and field; and the diff against the previous snapshot
//! as a table of people × changed fields, old → new.

use std::collections::BTreeSet;
use std::sync::Arc;

use ampsync_engine::clock::format_micros;
use ampsync_engine::store::{EventFilter, EventKind, SnapshotMeta, SnapshotStatus};
use askama::Template;
use axum::extract::{Path, Query, State};

use super::Console;
use super::page::{self, PageError, PageResult};
use crate::output::{self, hex};

/// Events listed on a page at most.
pub const LISTED: usize = 500;

/// A snapshot's facts, for its page and the held page.
pub struct Facts {
    pub id: u64,
    pub source: String,
    pub hash: String,
    pub received: String,
    pub rows: u64,
    pub bytes: u64,
    pub status: &'static str,
    pub held_because: Option<String>,
    pub counts: [(&'static str, u64); 5],
}

impl Facts {
    pub fn of(s: &SnapshotMeta) -> Facts {
        let c = s.counts;
        Facts {
            id: s.id,
            source: s.source.clone(),
            hash: hex(&s.file_hash),
            received: format_micros(s.received),
            rows: s.rows,
            bytes: s.bytes,
            status: s.status.name(),
            held_because: s.held_because.clone(),
            counts: [
                ("created", c.created),
                ("updated", c.updated),
                ("deactivated", c.deactivated),
                ("reactivated", c.reactivated),
                ("skipped", c.skipped),
            ],
        }
    }
}

/// One event as a row.
pub struct EventRow {
    pub seq: Option<u64>,
    pub key: String,
    pub kind: &'static str,
    pub changes: String,
    pub delivery: String,
}

/// People × changed fields: each row a person, each cell `old → new`.
pub struct Diff {
    pub fields: Vec<String>,
    pub rows: Vec<(String, &'static str, Vec<String>)>,
}

impl Diff {
    /// The diff the events `(key, kind)` make.
    pub fn of<'e>(events: impl Iterator<Item = (&'e str, &'e EventKind)> + Clone) -> Diff {
        let fields: BTreeSet<String> = events
            .clone()
            .flat_map(|(_, kind)| kind.changes().into_iter().map(|c| c.field))
            .collect();
        let fields: Vec<String> = fields.into_iter().collect();
        let rows = events
            .take(LISTED)
            .map(|(key, kind)| {
                let changes = kind.changes();
                let cells = fields
                    .iter()
                    .map(|f| {
                        changes.iter().find(|c| &c.field == f).map_or_else(String::new, |c| {
                            format!(
                                "{} → {}",
                                c.old.as_deref().unwrap_or("∅"),
                                c.new.as_deref().unwrap_or("∅")
                            )
                        })
                    })
                    .collect();
                (key.to_owned(), kind.name(), cells)
            })
            .collect();
        Diff { fields, rows }
    }
}

/// `?kind=&field=`
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filter {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    field: String,
}

#[derive(Template)]
#[template(path = "snapshot.html")]
struct SnapshotPage {
    facts: Facts,
    previous: Option<u64>,
    kind: String,
    field: String,
    kinds: [&'static str; 4],
    events: Vec<EventRow>,
    total: usize,
    diff: Diff,
}

pub async fn page(State(console): State<Arc<Console>>, Path(n): Path<u64>, Query(filter): Query<Filter>) -> PageResult {
    let page = console
        .with_store(move |_, store| {
            let snapshots = output::snapshot_map(store)?;
            let Some(meta) = snapshots.get(&n) else {
                return Ok(None);
            };
            let previous = snapshots.before(n);
            let field = filter.field.trim().to_owned();
            let kind = filter.kind.trim().to_owned();
            let wanted = |k: &EventKind| {
                (kind.is_empty() || k.name() == kind)
                    && (field.is_empty() || k.changes().iter().any(|c| c.field == field))
            };
            let (events, diff, total) = if meta.status == SnapshotStatus::Held {
                let held = store.held_events(n)?;
                let diff = Diff::of(held.iter().map(|(k, e)| (k.as_str(), e)));
                let chosen: Vec<_> = held.iter().filter(|(_, k)| wanted(k)).collect();
                let rows = chosen
                    .iter()
                    .take(LISTED)
                    .map(|(key, kind)| EventRow {
                        seq: None,
                        key: key.clone(),
                        kind: kind.name(),
                        changes: output::changes_text(kind),
                        delivery: "held".to_owned(),
                    })
                    .collect();
                (rows, diff, chosen.len())
            } else {
                let all = store.events(&EventFilter {
                    snapshot: Some(n),
                    ..EventFilter::default()
                })?;
                let diff = Diff::of(all.iter().map(|(e, _)| (e.body.key.as_str(), &e.body.kind)));
                // The store's own filter: an erased event matches by the
                // fields it changed, which its values no longer show.
                let filter = EventFilter {
                    kinds: (!kind.is_empty()).then(|| kind.clone()).into_iter().collect(),
                    field: (!field.is_empty()).then(|| field.clone()),
                    ..EventFilter::default()
                };
                let chosen: Vec<_> = all.iter().filter(|(e, _)| filter.matches(e)).collect();
                let rows = chosen
                    .iter()
                    .take(LISTED)
                    .map(|(e, d)| EventRow {
                        seq: Some(e.seq),
                        key: e.body.key.clone(),
                        kind: e.body.kind.name(),
                        changes: output::changes_text(&e.body.kind),
                        delivery: output::delivery_text(d),
                    })
                    .collect();
                (rows, diff, chosen.len())
            };
            Ok(Some(SnapshotPage {
                facts: Facts::of(meta),
                previous,
                kind,
                field,
                kinds: ["created", "updated", "deactivated", "reactivated"],
                events,
                total,
                diff,
            }))
        })
        .await?;
    match page {
        Some(page) => Ok(page::render(&page)),
        None => Err(PageError::NotFound(format!("There is no snapshot {n}."))),
    }
}
