//! One scheduled run: take the newest settled file from the configured
//! source, decrypt it when it is PGP, import it, push, and write a line to
//! `runs.jsonl`. `ampsync sync` runs it once; the daemon on a schedule.
//!
//! A run never stops at the first failure without recording it: every run,
//! however it ends, leaves one record saying what happened.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use ampsync_store::{SnapshotMeta, Store};
use chrono::{DateTime, Utc};

use crate::clock;
use crate::config::{Config, SourceKind};
use crate::import::{ImportError, ImportOutcome, Input, import};
use crate::ingest::RowError;
use crate::learnamp::{Credentials, LearnAmpClient};
use crate::pgp::{PgpKeys, decrypt, looks_encrypted};
use crate::replay::{CallOptions, PushOptions, PushReport, build_plan, push};
use crate::runlog::{RunCounts, RunOutcome, RunPush, RunRecord, RunRowError};
use crate::schedule::Schedule;
use crate::source::{DirSource, Pick, RemotePick, SftpSource};

/// Why a run failed (it is recorded as `failed` with this message).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error("no [source] in the config: sync takes the daily file from there (or use `ampsync import FILE`)")]
    NoSource,
    #[error("{name} is PGP-encrypted but the config has no [pgp] section with the secret key")]
    NoPgpConfig { name: String },
    #[error("the environment variable {0} (pgp.passphrase_env) is not set")]
    MissingPassphrase(String),
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
    Push(#[from] crate::replay::PushError),
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

/// What one run did, for the command line and the run log.
#[derive(Debug)]
pub struct SyncReport {
    pub record: RunRecord,
    /// Lines for a person reading the output.
    pub lines: Vec<String>,
    pub push: Option<PushReport>,
}

/// Runs once. `schedule` (the daemon's, or the config's) decides whether a
/// missing file is overdue; `stop` asks a push to finish early.
pub async fn sync_once(
    config: &Config,
    store: Arc<Store>,
    credentials: Credentials,
    schedule: Option<&Schedule>,
    stop: Option<Arc<AtomicBool>>,
) -> SyncReport {
    let start = clock::now_micros().unwrap_or_default();
    let mut report = SyncReport {
        record: RunRecord {
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
        },
        lines: Vec::new(),
        push: None,
    };
    if let Err(e) = fetch_and_import(config, &store, &mut report).await {
        match &e {
            SyncError::Import(ImportError::InvalidRows { errors, count, .. }) => {
                invalid_rows(&mut report, &chain(&e), errors, *count)
            }
            _ => fail(&mut report, chain(&e)),
        }
    }
    // Earlier events are delivered even when today's file failed: a bad
    // file must not hold back yesterday's changes.
    match deliver(config, store.clone(), credentials, stop).await {
        Ok(pushed) => {
            report.record.push = Some(RunPush {
                sent: pushed.delivered,
                failed: pushed.failed.len() as u64,
                dead: pushed.dead.len() as u64,
            });
            if pushed.stopped > 0 && report.record.outcome != RunOutcome::Failed {
                report.record.outcome = RunOutcome::Interrupted;
            }
            report.push = Some(pushed);
        }
        Err(e) => fail(&mut report, format!("push: {}", chain(&e))),
    }
    if matches!(report.record.outcome, RunOutcome::NoNewFile | RunOutcome::Unsettled)
        && let Some(schedule) = schedule
        && file_missing(&store, schedule, start)
    {
        report.record.outcome = RunOutcome::MissingFile;
        let message = "no new file has arrived by schedule.expect_file_by: the export is late or lost".to_owned();
        tracing::error!("{message}");
        report.lines.push(message.clone());
        report.record.error.get_or_insert(message);
    }
    report.record.end = clock::format_micros(clock::now_micros().unwrap_or_default());
    report
}

fn fail(report: &mut SyncReport, message: String) {
    tracing::error!("sync failed: {message}");
    report.record.outcome = RunOutcome::Failed;
    report.lines.push(format!("error: {message}"));
    // The first failure is the one the run log keeps.
    report.record.error.get_or_insert(message);
}

/// How many row errors a run keeps in its record and prints.
const RUN_ROW_ERRORS: usize = 20;

/// How many of them its one-line error names.
const ERROR_LINE_ROWS: usize = 3;

/// A file refused for its rows: the first of them go into the run's
/// error, its record and its output, each with its line and column.
fn invalid_rows(report: &mut SyncReport, message: &str, errors: &[RowError], count: u64) {
    let named: Vec<String> = errors.iter().take(ERROR_LINE_ROWS).map(ToString::to_string).collect();
    let more = match count.saturating_sub(named.len() as u64) {
        0 => String::new(),
        n => format!("; and {n} more"),
    };
    fail(report, format!("{message}: {}{more}", named.join("; ")));
    report.record.row_errors = errors
        .iter()
        .take(RUN_ROW_ERRORS)
        .map(|e| RunRowError {
            line: e.line,
            column: e.column.clone(),
            message: e.message.clone(),
        })
        .collect();
    report
        .lines
        .extend(errors.iter().take(RUN_ROW_ERRORS).map(|e| format!("  {e}")));
    if count > RUN_ROW_ERRORS as u64 {
        report
            .lines
            .push(format!("  … and {} more", count - RUN_ROW_ERRORS as u64));
    }
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

async fn fetch_and_import(config: &Config, store: &Arc<Store>, report: &mut SyncReport) -> Result<(), SyncError> {
    let Some(source) = &config.source else {
        return Err(SyncError::NoSource);
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_micros(clock::now_micros()?.max(0) as u64);
    match source.kind {
        SourceKind::Dir => {
            let dir = DirSource {
                dir: config.resolve(&source.remote_dir),
                pattern: source.pattern.clone(),
                settle: Duration::from_secs(source.settle_seconds),
            };
            let pick = dir.pick(now).map_err(|source| SyncError::Io {
                path: dir.dir.clone(),
                source,
            })?;
            match pick {
                Pick::Nothing => {
                    report
                        .lines
                        .push(format!("no file matching {:?} in {}", dir.pattern, dir.dir.display()))
                }
                Pick::Unsettled(path) => unsettled(report, &path.display().to_string(), source.settle_seconds),
                Pick::File(path) => {
                    let name = path.display().to_string();
                    report.record.file = Some(name.clone());
                    let input = prepare(config, &path, &name)?;
                    import_input(config, store, input, &name, report).await?;
                }
            }
        }
        SourceKind::Sftp => {
            let sftp = SftpSource::from_config(source, config)?;
            let connection = sftp.connect().await?;
            let result = sftp_run(config, store, &connection, source.after_import.as_str(), now, report).await;
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
    after_import: &str,
    now: SystemTime,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let file = match connection.pick(now).await? {
        RemotePick::Nothing => {
            report.lines.push("no matching file on the sFTP server".to_owned());
            return Ok(());
        }
        RemotePick::Unsettled(file) => {
            unsettled(
                report,
                &file.path,
                config.source.as_ref().map_or(0, |s| s.settle_seconds),
            );
            return Ok(());
        }
        RemotePick::File(file) => file,
    };
    let name = format!(
        "sftp://{}{}",
        config.source.as_ref().and_then(|s| s.host.as_deref()).unwrap_or(""),
        file.path
    );
    if let Some((size, mtime, snapshot)) = store.source_file(&name)?
        && size == file.size
        && mtime == file.mtime
    {
        report.lines.push(format!(
            "{name} was already imported as snapshot {snapshot}: not downloaded again"
        ));
        return Ok(());
    }
    let dest = config
        .store_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    report.record.file = Some(name.clone());
    let temp = connection.download(&file, &dest).await?;
    let imported = async {
        let input = prepare(config, &temp, &name)?;
        import_input(config, store, input, &name, report).await
    }
    .await;
    let _ = std::fs::remove_file(&temp);
    let snapshot = imported?;
    // The file is done with only once its import is committed.
    store.record_source_file(&name, file.size, file.mtime, snapshot)?;
    connection.finish(&file, after_import).await?;
    Ok(())
}

fn unsettled(report: &mut SyncReport, name: &str, settle: u64) {
    report.record.outcome = RunOutcome::Unsettled;
    report.lines.push(format!(
        "{name} changed less than {settle} s ago: still being written, not taken"
    ));
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
        Some(var) => Some(std::env::var(var).map_err(|_| SyncError::MissingPassphrase(var.clone()))?),
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
    report.record.file = Some(name.to_owned());
    let meta: SnapshotMeta = match outcome {
        ImportOutcome::Held(meta) => {
            let why = meta.held_because.clone().unwrap_or_default();
            report.lines.push(format!(
                "{name} is held as snapshot {}: {why}; review it with `ampsync events --snapshot {}`, then `ampsync approve {}` or `ampsync reject {}`",
                meta.id, meta.id, meta.id, meta.id
            ));
            report.record.outcome = RunOutcome::Held;
            report.record.error = Some(why);
            meta
        }
        ImportOutcome::AlreadyImported(meta) => {
            report
                .lines
                .push(format!("{name} was already imported as snapshot {}", meta.id));
            meta
        }
        ImportOutcome::Imported(r) => {
            let c = r.snapshot.counts;
            report.lines.push(format!(
                "imported {name} as snapshot {}: {} created, {} updated, {} deactivated, {} reactivated, {} skipped",
                r.snapshot.id, c.created, c.updated, c.deactivated, c.reactivated, c.skipped
            ));
            report.record.outcome = RunOutcome::Imported;
            report.lines.extend(r.warnings.iter().map(|w| format!("warning: {w}")));
            report.record.counts = Some(RunCounts {
                rows: r.snapshot.rows,
                created: c.created,
                updated: c.updated,
                deactivated: c.deactivated,
                reactivated: c.reactivated,
                skipped: c.skipped,
            });
            r.snapshot
        }
    };
    report.record.hash = Some(meta.file_hash.iter().map(|b| format!("{b:02x}")).collect());
    report.record.snapshot = Some(meta.id);
    Ok(meta.id)
}

async fn deliver(
    config: &Config,
    store: Arc<Store>,
    credentials: Credentials,
    stop: Option<Arc<AtomicBool>>,
) -> Result<PushReport, SyncError> {
    let client = Arc::new(LearnAmpClient::new(&config.learnamp.base_url, credentials)?);
    let plan = {
        let store = store.clone();
        let call = CallOptions {
            skip_invitation: config.policy.skip_invitation,
        };
        tokio::task::spawn_blocking(move || build_plan(&store, call)).await??
    };
    let options = PushOptions {
        stop,
        ..PushOptions::from_config(&config.learnamp, &config.policy)
    };
    Ok(push(store, client, plan, options, None).await?)
}
