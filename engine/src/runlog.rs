//! `runs.jsonl` beside the store: one JSON line per scheduled run (start,
//! end, file, hash, counts, outcome, error), appended and fsynced, for the
//! people who watch the nightly job and for `/metrics`. The file is 0600
//! and never opened through a symbolic link.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// A new file was imported and pushed.
    Imported,
    /// The newest file was imported before; pending events were pushed.
    NoNewFile,
    /// No new file by `schedule.expect_file_by`: the export is late or lost.
    MissingFile,
    /// The newest file is still being written; nothing taken.
    Unsettled,
    /// Something failed; see `error`.
    Failed,
    /// Stopped by SIGTERM/Ctrl-C before it finished.
    Interrupted,
    /// The new file was held by a safeguard; it waits for approve/reject.
    Held,
}

impl RunOutcome {
    pub fn name(self) -> &'static str {
        match self {
            RunOutcome::Imported => "imported",
            RunOutcome::NoNewFile => "no_new_file",
            RunOutcome::MissingFile => "missing_file",
            RunOutcome::Unsettled => "unsettled",
            RunOutcome::Failed => "failed",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::Held => "held",
        }
    }
}

/// Event counts of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub deactivated: u64,
    pub reactivated: u64,
    pub skipped: u64,
    /// Rows a `[[skip]]` rule took (not people to sync).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped_by_rule: u64,
    /// Rows whose `leaveDate` had come.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub leavers_by_date: u64,
    /// New people whose `startDate` is still to come.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub future_hires: u64,
    /// Leavers forgotten by `policy.forget_leavers_after_days` (counted,
    /// never named).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub forgotten_by_retention: u64,
}

/// What a push of the run did. Lines written before 0.2 have `dead` and
/// none of the newer fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPush {
    pub sent: u64,
    /// Still held back by transient faults: the next run sends them.
    #[serde(default)]
    pub waiting: u64,
    /// Refused by Learn Amp: they need a person.
    pub failed: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dead: u64,
    /// The first refusals, with Learn Amp's messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<RunFailure>,
    /// People deleted in Learn Amp by hand and created again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recreated: u64,
    /// When the oldest event still to send was made (RFC 3339), so an API
    /// down for days shows although each run ends well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_waiting: Option<String>,
}

/// One refused event in the run log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFailure {
    pub seq: u64,
    pub key: String,
    pub status: Option<u16>,
    pub error: String,
}

/// Refusals listed in one run-log line at most.
pub const MAX_RUN_FAILURES: usize = 20;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A row of the run's file that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRowError {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

/// One line of `runs.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub start: String,
    pub end: String,
    pub file: Option<String>,
    pub hash: Option<String>,
    pub snapshot: Option<u64>,
    pub counts: Option<RunCounts>,
    pub push: Option<RunPush>,
    pub outcome: RunOutcome,
    pub error: Option<String>,
    /// The first rows that failed validation, when that failed the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub row_errors: Vec<RunRowError>,
    /// Alerts about this run that could not be sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_errors: Vec<String>,
}

/// `runs.jsonl` in the store's folder.
pub fn path_for(store: &Path) -> PathBuf {
    store
        .parent()
        .map_or_else(|| PathBuf::from("runs.jsonl"), |dir| dir.join("runs.jsonl"))
}

/// Appends one record, durably.
pub fn append(path: &Path, record: &RunRecord) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut file = crate::private_file::append(path)?;
    file.write_all(&line)?;
    file.sync_data()
}

/// The last record, if any (a torn last line is skipped).
pub fn last(path: &Path) -> std::io::Result<Option<RunRecord>> {
    let mut text = String::new();
    match crate::private_file::read(path) {
        Ok(mut file) => {
            use std::io::Read;
            file.read_to_string(&mut text)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    Ok(text.lines().rev().find_map(|l| serde_json::from_str(l).ok()))
}

/// What a person decided about a held import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approved,
    Rejected,
}

/// A person's decision on a held import: a line of `runs.jsonl` beside the
/// runs (a reader of runs skips it: it has no `outcome`). The event log
/// records an approval's events with cause `approval` but has no room for
/// who approved, so the name is kept here and `history` joins it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub time: String,
    pub snapshot: u64,
    pub decision: DecisionKind,
    /// The approver's name as they gave it (`approve N --by NAME`, the console's form).
    pub by: Option<String>,
}

/// One line of `runs.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Entry {
    Run(Box<RunRecord>),
    Decision(Decision),
}

/// Appends a decision, durably.
pub fn append_decision(path: &Path, decision: &Decision) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(decision).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut file = crate::private_file::append(path)?;
    file.write_all(&line)?;
    file.sync_data()
}

/// Every line that parses, oldest first (a torn line is skipped); no file:
/// none.
pub fn entries(path: &Path) -> std::io::Result<Vec<Entry>> {
    let mut text = String::new();
    match crate::private_file::read(path) {
        Ok(mut file) => {
            use std::io::Read;
            file.read_to_string(&mut text)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    }
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

/// The runs, oldest first.
pub fn runs(path: &Path) -> std::io::Result<Vec<RunRecord>> {
    Ok(entries(path)?
        .into_iter()
        .filter_map(|e| match e {
            Entry::Run(r) => Some(*r),
            Entry::Decision(_) => None,
        })
        .collect())
}

/// Who approved each approved snapshot, by snapshot id (the last word wins).
pub fn approvers(path: &Path) -> std::io::Result<std::collections::BTreeMap<u64, String>> {
    Ok(entries(path)?
        .into_iter()
        .filter_map(|e| match e {
            Entry::Decision(Decision {
                snapshot,
                decision: DecisionKind::Approved,
                by: Some(by),
                ..
            }) => Some((snapshot, by)),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_append_and_the_last_one_reads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_for(&dir.path().join("ampsync.redb"));
        assert_eq!(last(&path).expect("read"), None);
        let mut r = RunRecord {
            start: "2026-11-25T06:30:00Z".into(),
            end: "2026-11-25T06:30:02Z".into(),
            file: Some("users_1.csv".into()),
            hash: Some("ab".into()),
            snapshot: Some(1),
            counts: Some(RunCounts {
                rows: 2,
                created: 2,
                ..RunCounts::default()
            }),
            push: Some(RunPush {
                sent: 2,
                ..RunPush::default()
            }),
            outcome: RunOutcome::Imported,
            error: None,
            row_errors: Vec::new(),
            alert_errors: Vec::new(),
        };
        append(&path, &r).expect("append");
        r.outcome = RunOutcome::MissingFile;
        append(&path, &r).expect("append");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"{\"torn"))
            .expect("torn");
        assert_eq!(last(&path).expect("read"), Some(r));
        let first = std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .next()
            .map(str::to_owned);
        assert_eq!(
            first.as_deref(),
            Some(
                "{\"start\":\"2026-11-25T06:30:00Z\",\"end\":\"2026-11-25T06:30:02Z\",\"file\":\"users_1.csv\",\"hash\":\"ab\",\"snapshot\":1,\"counts\":{\"rows\":2,\"created\":2,\"updated\":0,\"deactivated\":0,\"reactivated\":0,\"skipped\":0},\"push\":{\"sent\":2,\"waiting\":0,\"failed\":0},\"outcome\":\"imported\",\"error\":null}"
            )
        );
    }

    /// Regression: a symlinked `runs.jsonl` got records appended to its
    /// target.
    #[test]
    fn a_symlinked_run_log_is_refused_and_its_target_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("precious");
        std::fs::write(&target, "untouched\n").expect("target");
        let path = path_for(&dir.path().join("ampsync.redb"));
        std::os::unix::fs::symlink(&target, &path).expect("symlink");
        let record = RunRecord {
            start: "2026-11-25T06:30:00Z".into(),
            end: "2026-11-25T06:30:02Z".into(),
            file: None,
            hash: None,
            snapshot: None,
            counts: None,
            push: None,
            outcome: RunOutcome::NoNewFile,
            error: None,
            row_errors: Vec::new(),
            alert_errors: Vec::new(),
        };
        let err = append(&path, &record).expect_err("a link is refused");
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "untouched\n");
    }

    #[test]
    fn decisions_sit_beside_runs_and_readers_of_runs_skip_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_for(&dir.path().join("ampsync.redb"));
        let run = RunRecord {
            start: "2026-11-25T06:30:00Z".into(),
            end: "2026-11-25T06:30:02Z".into(),
            file: None,
            hash: None,
            snapshot: Some(3),
            counts: None,
            push: None,
            outcome: RunOutcome::Held,
            error: None,
            row_errors: Vec::new(),
            alert_errors: Vec::new(),
        };
        append(&path, &run).expect("append");
        let decision = Decision {
            time: "2026-11-25T09:00:00Z".into(),
            snapshot: 3,
            decision: DecisionKind::Approved,
            by: Some("Ada Lovelace".into()),
        };
        append_decision(&path, &decision).expect("append");
        assert_eq!(last(&path).expect("read"), Some(run.clone()));
        assert_eq!(runs(&path).expect("read"), vec![run.clone()]);
        assert_eq!(
            entries(&path).expect("read"),
            vec![Entry::Run(Box::new(run)), Entry::Decision(decision)]
        );
        assert_eq!(
            approvers(&path).expect("read").get(&3).map(String::as_str),
            Some("Ada Lovelace")
        );
    }
}
