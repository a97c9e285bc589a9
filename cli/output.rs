//! Output formatting shared by the commands: human tables, JSON and CSV.
//!
//! Everything printed passes through here, and values in it come from
//! outside: the daily file, Learn Amp's error texts, sFTP file names. So
//! every line and table cell for a person has its control characters
//! escaped ([`clean`]: no escape sequence reaches the terminal, no value
//! starts a fake line), and every CSV cell that a spreadsheet would take for
//! a formula is neutralised ([`csv_cell`]). JSON escapes control characters
//! itself.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

use ampsync_engine::FieldValue;
use ampsync_engine::clock::format_micros;
use ampsync_engine::store::{Cause, Delivery, Erasure, Event, EventKind, FieldChange, SnapshotMeta, SnapshotOrigin};
use serde_json::{Value, json};

/// How many row errors are printed before "… and N more".
pub const MAX_LISTED_ERRORS: usize = 20;

/// `--format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Prints a line on stdout with its control characters escaped (see
/// [`clean`]); `say!()` prints an empty line. A closed stdout is not an
/// error worth stopping a run for: the line is dropped.
macro_rules! say {
    () => {
        $crate::output::say_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::say_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// What `say!` calls.
pub fn say_line(line: std::fmt::Arguments<'_>) {
    let text = line.to_string();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", clean(&text));
}

/// `text` with every control character (C0, DEL, C1: ESC, CR, LF, tab, …)
/// and every bidirectional override written as a Rust escape such as
/// `\u{1b}`, so a value cannot clear the screen, move the cursor, start a
/// line of its own or reorder what the terminal shows.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A CSV cell a spreadsheet will not run: one starting with `=`, `+`, `-`,
/// `@`, tab or CR gets a leading `'`, as OWASP recommends against formula
/// injection (`=HYPERLINK(…)`, `=cmd|' /C calc'!A0`).
pub fn csv_cell(value: &str) -> Cow<'_, str> {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// Writes one CSV record, each cell neutralised by [`csv_cell`].
pub fn csv_record<W: Write, S: AsRef<str>>(
    w: &mut csv::Writer<W>,
    cells: impl IntoIterator<Item = S>,
) -> csv::Result<()> {
    w.write_record(cells.into_iter().map(|c| csv_cell(c.as_ref()).into_owned()))
}

/// Writes `rows` as aligned columns under `header`, each cell [`clean`].
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> std::io::Result<()> {
    let mut tw = tabwriter::TabWriter::new(std::io::stdout().lock()).padding(2);
    writeln!(tw, "{}", header.join("\t"))?;
    for row in rows {
        let cells: Vec<Cow<'_, str>> = row.iter().map(|c| clean(c)).collect();
        writeln!(tw, "{}", cells.join("\t"))?;
    }
    tw.flush()
}

/// Prints a value as JSON, pretty, with a newline.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> std::io::Result<()> {
    std::io::stdout().lock().write_all(&json_bytes(value)?)
}

/// A value as [`json`] prints it: the console's `/api/` answers are these
/// same bytes.
pub fn json_bytes<T: serde::Serialize + ?Sized>(value: &T) -> std::io::Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(value).map_err(std::io::Error::from)?;
    out.push(b'\n');
    Ok(out)
}

/// Prints a value as JSON on one line: a JSON line (the daemon's runs).
pub fn json_line<T: serde::Serialize + ?Sized>(value: &T) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value).map_err(std::io::Error::from)?;
    writeln!(out)?;
    out.flush()
}

/// An error as JSON: `{"error": …, "causes": […]}`, and the row errors of
/// a rejected file as `row_errors` (at most [`MAX_LISTED_ERRORS`]).
pub fn error_json(e: &anyhow::Error) -> Value {
    let mut value = json!({
        "error": e.to_string(),
        "causes": e.chain().skip(1).map(ToString::to_string).collect::<Vec<_>>(),
    });
    if let Some(ampsync_engine::ImportError::InvalidRows { errors, count, .. }) = e.downcast_ref() {
        value["row_errors"] = errors
            .iter()
            .take(MAX_LISTED_ERRORS)
            .map(|row| json!({"line": row.line, "column": row.column, "message": row.message}))
            .collect();
        value["row_error_count"] = json!(count);
    }
    value
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first 12 hex digits of a hash, for tables.
pub fn short_hex(bytes: &[u8]) -> String {
    hex(&bytes[..bytes.len().min(6)])
}

/// Snapshots by id, with how each read its file: to name the file each
/// event came from, and the snapshot it re-imported.
#[derive(Debug, Default)]
pub struct Snapshots {
    metas: BTreeMap<u64, SnapshotMeta>,
    origins: BTreeMap<u64, SnapshotOrigin>,
}

impl Snapshots {
    /// Snapshot `id`.
    pub fn get(&self, id: &u64) -> Option<&SnapshotMeta> {
        self.metas.get(id)
    }

    /// The latest snapshot before `id`, if any.
    pub fn before(&self, id: u64) -> Option<u64> {
        self.metas.range(..id).next_back().map(|(id, _)| *id)
    }

    /// How snapshot `id` read its file (`None`: recorded before fingerprints).
    pub fn origin(&self, id: u64) -> Option<&SnapshotOrigin> {
        self.origins.get(&id)
    }

    /// The snapshot whose file an event's snapshot read again, if it was a re-import.
    pub fn reimport_of(&self, event: &Event) -> Option<u64> {
        event
            .body
            .cause
            .snapshot()
            .and_then(|id| self.origin(id))
            .and_then(|o| o.reimport_of)
    }
}

/// A cause as a phrase: "import of snapshot 2".
pub fn cause_text(cause: &Cause) -> String {
    match cause {
        Cause::Import { snapshot } => format!("import of snapshot {snapshot}"),
        Cause::Rollback { to } => format!("rollback to snapshot {to}"),
        Cause::Approval { snapshot } => format!("approval of snapshot {snapshot}"),
        Cause::Repair => "reconcile repair".to_owned(),
    }
}

/// A duration in seconds as people say it: `3 d 4 h`, `12 min`, `40 s`.
pub fn age(seconds: i64) -> String {
    let (d, h, m) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// A delivery status as a phrase.
pub fn delivery_text(d: &Delivery) -> String {
    match d {
        Delivery::Pending => "pending".into(),
        Delivery::Delivered { time, remote_id } => match remote_id {
            Some(id) => format!("delivered {} (Learn Amp id {id})", format_micros(*time)),
            None => format!("delivered {}", format_micros(*time)),
        },
        Delivery::Waiting {
            attempts,
            last_error,
            since,
            ..
        }
        | Delivery::LegacyFailed {
            attempts,
            last_error,
            time: since,
        } => format!(
            "waiting since {} after {attempts} attempt(s): {last_error}",
            format_micros(*since)
        ),
        Delivery::Failed { error, .. } => format!("failed: {error}"),
        Delivery::Dead {
            attempts, last_error, ..
        } => format!("dead after {attempts} attempt(s): {last_error} (the next push tries it again)"),
        Delivery::Skipped { reason } => format!("skipped: {reason}"),
        Delivery::Superseded { by, time } => {
            format!("delivered {} with event {by}", format_micros(*time))
        }
    }
}

/// `field: old → new`, with `∅` for no value.
pub fn change_text(c: &FieldChange) -> String {
    format!(
        "{}: {} → {}",
        c.field,
        c.old.as_deref().unwrap_or("∅"),
        c.new.as_deref().unwrap_or("∅")
    )
}

/// An event's changes on one line: `field: old → new; …`.
pub fn changes_text(kind: &EventKind) -> String {
    kind.changes().iter().map(change_text).collect::<Vec<_>>().join("; ")
}

/// The snapshot an event came from, if it came from one.
pub fn event_snapshot<'s>(event: &Event, snapshots: &'s Snapshots) -> Option<&'s SnapshotMeta> {
    event.body.cause.snapshot().and_then(|id| snapshots.get(&id))
}

/// An event as JSON, with its source file and delivery status.
pub fn event_json(event: &Event, delivery: &Delivery, snapshots: &Snapshots) -> Value {
    let snapshot = event_snapshot(event, snapshots);
    json!({
        "seq": event.seq,
        "time": format_micros(event.body.time),
        "key": event.body.key,
        "kind": event.body.kind.name(),
        "cause": cause_json(&event.body.cause),
        "source": snapshot.map(|s| s.source.clone()),
        "file_hash": snapshot.map(|s| hex(&s.file_hash)),
        "reimport_of": snapshots.reimport_of(event),
        "changes": event.body.kind.changes().iter().map(change_json).collect::<Vec<_>>(),
        "delivery": delivery_json(delivery),
        "prev_hash": hex(&event.prev_hash),
        "hash": hex(&event.hash),
        "erased": event.erased.as_ref().map(|e| json!({"erasure": e.erasure, "fields": e.fields})),
    })
}

/// An erasure record as JSON: when, why, by whom, what it removed.
pub fn erasure_json(erasure: &Erasure) -> Value {
    json!({
        "erasure": erasure.id,
        "key": erasure.key,
        "time": format_micros(erasure.time),
        "reason": erasure.reason,
        "by": erasure.by,
        "events": erasure.events,
        "raw_files_dropped": erasure.raw_dropped,
    })
}

/// A field change as JSON; list fields' values are arrays.
pub fn change_json(c: &FieldChange) -> Value {
    let value = |v: &Option<String>| v.as_deref().map(|v| FieldValue::of(&c.field, v));
    json!({"field": c.field, "old": value(&c.old), "new": value(&c.new)})
}

fn cause_json(cause: &Cause) -> Value {
    match cause {
        Cause::Import { snapshot } => json!({"type": "import", "snapshot": snapshot}),
        Cause::Rollback { to } => json!({"type": "rollback", "to": to}),
        Cause::Approval { snapshot } => json!({"type": "approval", "snapshot": snapshot}),
        Cause::Repair => json!({"type": "repair"}),
    }
}

/// A delivery status as JSON.
pub fn delivery_json(d: &Delivery) -> Value {
    match d {
        Delivery::Pending => json!({"status": "pending"}),
        Delivery::Delivered { time, remote_id } => {
            json!({"status": "delivered", "time": format_micros(*time), "remote_id": remote_id})
        }
        Delivery::Waiting {
            attempts,
            last_error,
            since,
            time,
        } => json!({
            "status": "waiting", "attempts": attempts, "error": last_error,
            "since": format_micros(*since), "time": format_micros(*time),
        }),
        Delivery::LegacyFailed {
            attempts,
            last_error,
            time,
        } => json!({
            "status": "waiting", "attempts": attempts, "error": last_error,
            "since": format_micros(*time), "time": format_micros(*time),
        }),
        Delivery::Failed {
            attempts,
            status,
            error,
            time,
        } => json!({
            "status": "failed", "attempts": attempts, "http_status": status, "error": error,
            "time": format_micros(*time),
        }),
        Delivery::Superseded { by, time } => {
            json!({"status": "superseded", "by": by, "time": format_micros(*time)})
        }
        Delivery::Dead {
            attempts,
            last_error,
            time,
        } => {
            json!({"status": "dead", "attempts": attempts, "error": last_error, "time": format_micros(*time)})
        }
        Delivery::Skipped { reason } => json!({"status": "skipped", "reason": reason}),
    }
}

/// Events as CSV: one line per field change (one for an event without any).
pub fn events_csv(events: &[(Event, Delivery)], snapshots: &Snapshots) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    csv_record(
        &mut w,
        [
            "seq", "time", "key", "kind", "cause", "source", "field", "old", "new", "delivery",
        ],
    )?;
    for (event, delivery) in events {
        let source = event_snapshot(event, snapshots).map_or("", |s| s.source.as_str());
        let base = [
            event.seq.to_string(),
            format_micros(event.body.time),
            event.body.key.clone(),
            event.body.kind.name().to_owned(),
            cause_text(&event.body.cause),
            source.to_owned(),
        ];
        let changes = event.body.kind.changes();
        let lines: Vec<[String; 3]> = if changes.is_empty() {
            vec![Default::default()]
        } else {
            changes
                .into_iter()
                .map(|c| [c.field, c.old.unwrap_or_default(), c.new.unwrap_or_default()])
                .collect()
        };
        for line in lines {
            csv_record(
                &mut w,
                base.iter()
                    .chain(line.iter())
                    .chain(std::iter::once(&delivery.name().to_owned())),
            )?;
        }
    }
    w.flush()?;
    Ok(())
}

/// All snapshots by id.
pub fn snapshot_map(store: &ampsync_engine::store::Store) -> anyhow::Result<Snapshots> {
    Ok(Snapshots {
        metas: store.snapshots()?.into_iter().map(|s| (s.id, s)).collect(),
        origins: store.origins()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        for (raw, want) in [
            ("Zoë Müller", "Zoë Müller"),
            ("\u{1b}[2J\u{1b}[H", "\\u{1b}[2J\\u{1b}[H"),
            ("ok\nerror: forged", "ok\\u{a}error: forged"),
            ("a\rb\tc\u{7f}\u{9b}", "a\\u{d}b\\u{9}c\\u{7f}\\u{9b}"),
            ("\u{202e}gpj.exe", "\\u{202e}gpj.exe"),
        ] {
            assert_eq!(clean(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for (raw, want) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+SUM(1)", "'+SUM(1)"),
            ("-2+3", "'-2+3"),
            ("@SUM(2)", "'@SUM(2)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("Ada", "Ada"),
            ("", ""),
            ("2026-11-24T06:30:00Z", "2026-11-24T06:30:00Z"),
        ] {
            assert_eq!(csv_cell(raw), want, "{raw:?}");
        }
    }
}
