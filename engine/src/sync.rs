//! One scheduled run: take the newest settled file from the configured
//! source, decrypt it when it is PGP, import it, push, and write a line to
//! `runs.jsonl`. `ampsync sync` runs it once; the daemon on a schedule.
//!
//! A run never stops at the first failure without recording it: every run,
//! however it ends, leaves one record saying what happened. Asked to stop
//! (`Stop`), a run ends its waits — the sFTP server's answers, the settle
//! wait, the push — at once and is recorded as interrupted.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ampsync_store::{SnapshotMeta, Store};
use chrono::{DateTime, Utc};

use crate::clock;
use crate::config::{Config, SourceConfig};
use crate::import::{ImportError, ImportOutcome, Input, import};
use crate::ingest::RowError;
use crate::learnamp::Credentials;
use crate::pgp::{PgpKeys, decrypt, looks_encrypted};
use crate::replay::{DeliverError, PushReport, deliver};
use crate::runlog::{MAX_RUN_FAILURES, RunCounts, RunFailure, RunOutcome, RunPush, RunRecord, RunRowError};
use crate::schedule::Schedule;
use crate::source::{DirSource, Pick, RemotePick, SftpSource};
use crate::stop::{Stop, Stopped};

/// Why a run failed (it is recorded as `failed` with this message).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error("no [source] in the config: sync takes the daily file from there (or use `ampsync import FILE`)")]
    NoSource,
    #[error("{name} is PGP-encrypted but the config has no [pgp] section with the secret key")]
    NoPgpConfig { name: String },
    #[error(transparent)]
    MissingPassphrase(#[from] crate::secret::MissingSecret),
    #[error("cannot apply source.after_import to {}", path.display())]
    AfterImport {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Stopped(#[from] Stopped),
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Sftp(#[from] crate::source::SftpError),
    #[error(transparent)]
    Pgp(#[from] crate::pgp::PgpError),
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    #[error(transparent)]
    Store(#[from] ampsync_store::StoreError),
    #[error(transparent)]
    Deliver(#[from] DeliverError),
    #[error(transparent)]
    Api(#[from] crate::learnamp::ApiError),
    #[error(transparent)]
    Clock(#[from] crate::clock::ClockError),
    #[error("a background task failed: {0}")]
    Task(String),
}

impl From<tokio::task::JoinError> for SyncError {
    fn from(e: tokio::task::JoinError) -> Self {
        SyncError::Task(e.to_string())
    }
}

/// The error and its causes, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What one run did, for every front end and the run log: facts, no prose.
#[derive(Debug, serde::Serialize)]
pub struct SyncReport {
    /// The run log's line for this run (outcome, file, hash, counts).
    pub run: RunRecord,
    /// What the run met, in order: the file taken or why none was, the
    /// import, failures.
    pub steps: Vec<SyncStep>,
    /// The push, when one ran.
    pub push: Option<PushReport>,
}

/// One thing a run met, as data; the front ends word it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SyncStep {
    /// No file matching `pattern` at `place` (a folder or an sFTP server).
    NoFile { place: String, pattern: String },
    /// The newest file changed less than `settle_seconds` ago: still being
    /// written, not taken.
    Unsettled { file: String, settle_seconds: u64 },
    /// The sFTP file (same size and time) was imported before: not
    /// downloaded again.
    AlreadyFetched { file: String, snapshot: u64 },
    /// The file's bytes were imported before.
    AlreadyImported { file: String, snapshot: u64 },
    /// Imported as a new snapshot.
    Imported {
        file: String,
        snapshot: u64,
        counts: RunCounts,
        /// What looks wrong with the file, though it was imported.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<String>,
    },
    /// Stopped by a safeguard: nothing applied until approved or rejected.
    Held {
        file: String,
        snapshot: u64,
        reason: String,
    },
    /// The run failed here; `error` is the error and its causes.
    Failed { error: String },
    /// A stop was asked for before the run finished.
    Interrupted,
    /// No new file by `schedule.expect_file_by`.
    MissingFile,
}

/// Runs once. `schedule` (the daemon's, or the config's) decides whether a
/// missing file is overdue; `stop` ends the run's waits early.
pub async fn sync_once(
    config: &Config,
    store: Arc<Store>,
    credentials: Credentials,
    schedule: Option<&Schedule>,
    stop: Option<Stop>,
) -> SyncReport {
    let stop = stop.unwrap_or_default();
    let start = clock::now_micros().unwrap_or_default();
    let mut report = SyncReport {
        run: RunRecord {
            start: clock::format_micros(start),
            end: String::new(),
            file: None,
            hash: None,
            snapshot: None,
            counts: None,
            push: None,
            outcome: RunOutcome::NoNewFile,
            error: None,
            row_errors: Vec::new(),
            alert_errors: Vec::new(),
        },
        steps: Vec::new(),
        push: None,
    };
    match fetch_and_import(config, &store, &mut report, &stop).await {
        Ok(()) => {}
        Err(SyncError::Stopped(_)) => interrupted(&mut report),
        Err(e) => match &e {
            SyncError::Import(ImportError::InvalidRows { errors, .. }) => invalid_rows(&mut report, &chain(&e), errors),
            _ => fail(&mut report, chain(&e)),
        },
    }
    if stop.is_requested() {
        interrupted(&mut report);
        report.run.end = clock::format_micros(clock::now_micros().unwrap_or_default());
        return report;
    }
    // Earlier events are delivered even when today's file failed: a bad
    // file must not hold back yesterday's changes.
    match deliver(config, store.clone(), credentials, Some(stop.flag()), None).await {
        Ok(pushed) => {
            let oldest = {
                let store = store.clone();
                tokio::task::spawn_blocking(move || store.oldest_due())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten()
            };
            report.run.push = Some(RunPush {
                sent: pushed.delivered,
                waiting: pushed.waiting.len() as u64,
                failed: pushed.failed.len() as u64,
                dead: 0,
                failures: pushed
                    .failed
                    .iter()
                    .take(MAX_RUN_FAILURES)
                    .map(|u| RunFailure {
                        seq: u.seq,
                        key: u.key.clone(),
                        status: u.status,
                        error: u.error.clone(),
                    })
                    .collect(),
                recreated: pushed.recreated.len() as u64,
                oldest_waiting: oldest.map(|(_, time)| clock::format_micros(time)),
            });
            if pushed.stopped > 0 && report.run.outcome != RunOutcome::Failed {
                report.run.outcome = RunOutcome::Interrupted;
            }
            report.push = Some(pushed);
        }
        Err(e) => fail(&mut report, format!("push: {}", chain(&e))),
    }
    if matches!(report.run.outcome, RunOutcome::NoNewFile | RunOutcome::Unsettled)
        && let Some(schedule) = schedule
        && file_missing(&store, schedule, start)
    {
        report.run.outcome = RunOutcome::MissingFile;
        let message = "no new file has arrived by schedule.expect_file_by: the export is late or lost".to_owned();
        tracing::error!("{message}");
        report.steps.push(SyncStep::MissingFile);
        report.run.error.get_or_insert(message);
    }
    // Sent before the run is recorded, so an alert that could not be sent
    // is in the run's line; it never changes how the run ended.
    if let Some(alerts) = &config.alerts {
        let wanted = crate::alerts::for_run(&report.run, &alerts.on, config.console.public_url.as_deref());
        report.run.alert_errors = crate::alerts::send_all(alerts, &wanted).await;
    }
    report.run.end = clock::format_micros(clock::now_micros().unwrap_or_default());
    report
}

/// A stop was asked for: the run ends here, recorded as interrupted.
fn interrupted(report: &mut SyncReport) {
    if report.run.outcome != RunOutcome::Failed {
        report.run.outcome = RunOutcome::Interrupted;
    }
    let message = "stopped by a signal before the run finished".to_owned();
    if !report.steps.contains(&SyncStep::Interrupted) {
        report.steps.push(SyncStep::Interrupted);
    }
    report.run.error.get_or_insert(message);
}

fn fail(report: &mut SyncReport, message: String) {
    tracing::error!("sync failed: {message}");
    report.run.outcome = RunOutcome::Failed;
    report.steps.push(SyncStep::Failed { error: message.clone() });
    // The first failure is the one the run log keeps.
    report.run.error.get_or_insert(message);
}

/// How many row errors a run keeps in its record and prints.
const RUN_ROW_ERRORS: usize = 20;

/// How many of them its one-line error names.
const ERROR_LINE_ROWS: usize = 3;

/// A file refused for its rows: the first of them go into the run's
/// error, its record and its output, each with its line and column.
/// `message` already says how many rows.
fn invalid_rows(report: &mut SyncReport, message: &str, errors: &[RowError]) {
    let named: Vec<String> = errors.iter().take(ERROR_LINE_ROWS).map(ToString::to_string).collect();
    let more = match errors.len().saturating_sub(named.len()) {
        0 => String::new(),
        n => format!("; and {n} more"),
    };
    fail(report, format!("{message}: {}{more}", named.join("; ")));
    report.run.row_errors = errors
        .iter()
        .take(RUN_ROW_ERRORS)
        .map(|e| RunRowError {
            line: e.line,
            column: e.column.clone(),
            message: e.message.clone(),
        })
        .collect();
}

/// No snapshot was received today (local day) and it is past the time the
/// file was expected.
fn file_missing(store: &Store, schedule: &Schedule, now_micros: i64) -> bool {
    let Some(now) = DateTime::<Utc>::from_timestamp_micros(now_micros) else {
        return false;
    };
    if !schedule.file_overdue(now) {
        return false;
    }
    let day_start = schedule.local_day_start(now).timestamp_micros();
    let received_today = store
        .snapshots()
        .map(|s| s.iter().any(|m| m.received >= day_start))
        .unwrap_or(false);
    !received_today
}

async fn fetch_and_import(
    config: &Config,
    store: &Arc<Store>,
    report: &mut SyncReport,
    stop: &Stop,
) -> Result<(), SyncError> {
    let Some(source) = &config.source else {
        return Err(SyncError::NoSource);
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_micros(clock::now_micros()?.max(0) as u64);
    match source {
        SourceConfig::Dir(dir_config) => {
            let dir = DirSource {
                dir: config.resolve(&dir_config.dir),
                pattern: dir_config.pattern.clone(),
                settle: source.settle(),
            };
            let io = |source| SyncError::Io {
                path: dir.dir.clone(),
                source,
            };
            let path = match dir.pick(now).map_err(io)? {
                Pick::Nothing => {
                    report.steps.push(SyncStep::NoFile {
                        place: dir.dir.display().to_string(),
                        pattern: dir.pattern.clone(),
                    });
                    return Ok(());
                }
                Pick::Unsettled(path) => {
                    unsettled(report, &path.display().to_string(), dir.settle);
                    return Ok(());
                }
                Pick::File(path) => path,
                Pick::Future(seen) => {
                    stop.sleep(dir.settle).await?;
                    if !dir.unchanged(&seen).map_err(io)? {
                        unsettled(report, &seen.path.display().to_string(), dir.settle);
                        return Ok(());
                    }
                    seen.path
                }
            };
            let name = path.display().to_string();
            report.run.file = Some(name.clone());
            let input = prepare(config, &path, &name)?;
            import_input(config, store, input, &name, report).await?;
            // The file is done with only once its import is committed.
            let to = match source.after_import() {
                crate::AfterImport::Move(to) => Some(config.resolve(Path::new(to))),
                _ => None,
            };
            dir.finish(&path, source.after_import(), to.as_deref())
                .map_err(|source| SyncError::AfterImport { path, source })?;
        }
        SourceConfig::Sftp(sftp_config) => {
            let sftp = SftpSource::from_config(source, config)?;
            let connection = stop.unless_stopped(sftp.connect()).await??;
            let result = sftp_run(config, store, &connection, sftp_config, now, report, stop).await;
            connection.close().await;
            result?;
        }
    }
    Ok(())
}

async fn sftp_run(
    config: &Config,
    store: &Arc<Store>,
    connection: &crate::source::SftpConnection,
    source: &crate::SftpConfig,
    now: SystemTime,
    report: &mut SyncReport,
    stop: &Stop,
) -> Result<(), SyncError> {
    let settle = Duration::from_secs(source.settle_seconds);
    let file = match stop.unless_stopped(connection.pick(now)).await?? {
        RemotePick::Nothing => {
            report.steps.push(SyncStep::NoFile {
                place: format!("sftp://{}", source.host),
                pattern: source.pattern.clone(),
            });
            return Ok(());
        }
        RemotePick::Unsettled(file) => {
            unsettled(report, &file.path, settle);
            return Ok(());
        }
        RemotePick::File(file) => file,
        RemotePick::Future(file) => {
            stop.sleep(settle).await?;
            if !stop.unless_stopped(connection.unchanged(&file)).await?? {
                unsettled(report, &file.path, settle);
                return Ok(());
            }
            file
        }
    };
    let name = format!("sftp://{}{}", source.host, file.path);
    if let Some((size, mtime, snapshot)) = store.source_file(&name)?
        && size == file.size
        && mtime == file.mtime
    {
        report.steps.push(SyncStep::AlreadyFetched { file: name, snapshot });
        return Ok(());
    }
    let dest = config
        .store_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    report.run.file = Some(name.clone());
    let temp = stop.unless_stopped(connection.download(&file, &dest)).await??;
    let imported = async {
        let input = prepare(config, &temp, &name)?;
        import_input(config, store, input, &name, report).await
    }
    .await;
    drop(temp); // removes the downloaded file
    let snapshot = imported?;
    // The file is done with only once its import is committed.
    store.record_source_file(&name, file.size, file.mtime, snapshot)?;
    stop.unless_stopped(connection.finish(&file, &source.after_import))
        .await??;
    Ok(())
}

fn unsettled(report: &mut SyncReport, name: &str, settle: Duration) {
    report.run.outcome = RunOutcome::Unsettled;
    report.steps.push(SyncStep::Unsettled {
        file: name.to_owned(),
        settle_seconds: settle.as_secs(),
    });
}

/// The input to import: the file itself, or its decrypted bytes (in memory
/// only) when it is PGP-encrypted. The file is opened once: what is looked
/// at, decrypted or imported is what that handle reads.
fn prepare(config: &Config, path: &Path, name: &str) -> Result<Input, SyncError> {
    use std::io::Read;
    use std::os::unix::fs::FileExt;
    let io = |source| SyncError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut head = [0u8; 64];
    let n = file.read_at(&mut head, 0).map_err(io)?;
    if !looks_encrypted(name, &head[..n]) {
        return Ok(Input::Opened {
            file,
            name: name.to_owned(),
        });
    }
    let Some(pgp) = &config.pgp else {
        return Err(SyncError::NoPgpConfig { name: name.to_owned() });
    };
    let passphrase = match &pgp.passphrase_env {
        Some(var) => Some(crate::secret::from_env(var, "pgp.passphrase_env")?),
        None => None,
    };
    let signer = pgp.require_signature_from.as_ref().map(|p| config.resolve(p));
    let keys = PgpKeys::load(&config.resolve(&pgp.secret_key), passphrase, signer.as_deref())?;
    let mut message = Vec::new();
    (&file).read_to_end(&mut message).map_err(io)?;
    let bytes = decrypt(&keys, name, &message)?;
    Ok(Input::Bytes {
        name: name.to_owned(),
        bytes,
    })
}

/// Imports on a blocking thread; returns the snapshot id (new or earlier).
async fn import_input(
    config: &Config,
    store: &Arc<Store>,
    input: Input,
    name: &str,
    report: &mut SyncReport,
) -> Result<u64, SyncError> {
    let (store, config) = (store.clone(), config.clone());
    let outcome = tokio::task::spawn_blocking(move || import(&store, &config, &input, None)).await??;
    report.run.file = Some(name.to_owned());
    let meta: SnapshotMeta = match outcome {
        ImportOutcome::Held(meta) => {
            let why = meta.held_because.clone().unwrap_or_default();
            report.steps.push(SyncStep::Held {
                file: name.to_owned(),
                snapshot: meta.id,
                reason: why.clone(),
            });
            report.run.outcome = RunOutcome::Held;
            report.run.error = Some(why);
            meta
        }
        ImportOutcome::AlreadyImported(meta) => {
            report.steps.push(SyncStep::AlreadyImported {
                file: name.to_owned(),
                snapshot: meta.id,
            });
            meta
        }
        ImportOutcome::Imported(r) => {
            let c = r.snapshot.counts;
            let counts = RunCounts {
                rows: r.snapshot.rows,
                created: c.created,
                updated: c.updated,
                deactivated: c.deactivated,
                reactivated: c.reactivated,
                skipped: c.skipped,
                skipped_by_rule: r.skipped_by_rule,
                leavers_by_date: r.leavers_by_date,
                future_hires: r.future_hires,
                forgotten_by_retention: r.forgotten_by_retention,
            };
            report.steps.push(SyncStep::Imported {
                file: name.to_owned(),
                snapshot: r.snapshot.id,
                counts,
                warnings: r.warnings.clone(),
            });
            report.run.outcome = RunOutcome::Imported;
            report.run.counts = Some(counts);
            r.snapshot
        }
    };
    report.run.hash = Some(meta.file_hash.iter().map(|b| format!("{b:02x}")).collect());
    report.run.snapshot = Some(meta.id);
    Ok(meta.id)
}
