//! `ampsync daemon`: run `sync` on the configured schedule until stopped.
//!
//! The daemon holds the store's run lock for its whole life, so a second
//! `sync` or `daemon` on the same store stops at once (the read commands
//! still work beside it). SIGTERM or Ctrl-C ends whatever the run is
//! waiting for — the sFTP server, a file settling, Learn Amp — lets
//! requests under way finish, records the run, and exits; a run that has
//! not ended `GRACE` after the signal (an import still writing, say) is
//! recorded as interrupted and left, as a crash would leave it, for the
//! next run to take up.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ampsync_engine::clock;
use ampsync_engine::learnamp::Credentials;
use ampsync_engine::runlock::RunLock;
use ampsync_engine::runlog::{self, RunOutcome, RunRecord};
use ampsync_engine::schedule::Schedule;
use ampsync_engine::stop::Stop;
use ampsync_engine::sync::{SyncReport, sync_once};
use anyhow::Context;
use chrono::Utc;

use super::health::{Health, RunWatch};
use crate::Exit;
use crate::console::{Auth, Console, StoreAccess};
use crate::output::{self, Format, say};

/// How long a run may take to end after SIGTERM before the daemon leaves it.
const GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serve /healthz and /metrics (Prometheus text) on this address, e.g. 127.0.0.1:9187.
    #[arg(long)]
    health_addr: Option<SocketAddr>,
    /// Serve the console (pages and /api/) here, next to /healthz and /metrics, e.g. 127.0.0.1:8080.
    #[arg(long)]
    http_addr: Option<SocketAddr>,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let json = format == Format::Json;
    let config = super::load_config(config_path)?;
    let Some(schedule_config) = &config.schedule else {
        anyhow::bail!(
            "no [schedule] in {}: the daemon runs on schedule.cron",
            config_path.display()
        );
    };
    let schedule = Schedule::new(schedule_config);
    let credentials = Credentials::from_env(&config.learnamp)?;
    let store_path = config.store_path();
    let holder = format!(
        "{} (pid {}, daemon)",
        clock::format_micros(clock::now_micros()?),
        std::process::id()
    );
    let _lock = RunLock::acquire(&store_path, &holder)?;
    let store = Arc::new(super::open_or_create_store(&config)?);
    let runs = runlog::path_for(&store_path);

    let runtime = super::runtime()?;
    let result = runtime.block_on(async move {
        let stop = Stop::new();
        tokio::spawn(stop_on_signal(stop.clone()));
        let watch = RunWatch::new(schedule.max_run());
        if let Some(addr) = args.health_addr {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding --health-addr {addr}"))?;
            let url = format!("http://{}/healthz", listener.local_addr().unwrap_or(addr));
            if json {
                output::json_line(&serde_json::json!({"health": url}))?;
            } else {
                say!("health on {url} and /metrics");
            }
            let health = Health {
                store: store.clone(),
                runs: runs.clone(),
                watch: watch.clone(),
            };
            tokio::spawn(super::health::serve(listener, health));
        }
        if let Some(addr) = args.http_addr {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding --http-addr {addr}"))?;
            let bound = listener.local_addr().unwrap_or(addr);
            let auth = Auth::from_config(&config.console)?;
            let console = Arc::new(Console::new(config.clone(), StoreAccess::Shared(store.clone()), auth));
            super::serve::announce(&console, bound, format)?;
            let health = Health {
                store: store.clone(),
                runs: runs.clone(),
                watch: watch.clone(),
            };
            let app = crate::console::router(console).merge(super::health::router(health));
            tokio::spawn(crate::console::serve(listener, app));
        }
        loop {
            let now = Utc::now();
            let next = schedule.next_after(now)?;
            tracing::info!(
                "next run at {} ({})",
                next.to_rfc3339(),
                next.with_timezone(&schedule.zone())
            );
            let wait = (next - now).to_std().unwrap_or_default();
            if stop.sleep(wait).await.is_err() {
                break;
            }
            let start = clock::format_micros(clock::now_micros()?);
            watch.started(&start);
            let mut run = tokio::spawn({
                let (config, store, credentials, schedule, stop) = (
                    config.clone(),
                    store.clone(),
                    credentials.clone(),
                    schedule.clone(),
                    stop.clone(),
                );
                async move { sync_once(&config, store, credentials, Some(&schedule), Some(stop)).await }
            });
            let report = tokio::select! {
                report = &mut run => Some(report),
                () = async { stop.requested().await; tokio::time::sleep(GRACE).await } => None,
            };
            watch.ended();
            let Some(Ok(report)) = report else {
                // Left running (or it panicked): the log still gets its line.
                let record = abandoned(start, report.is_none());
                if let Err(e) = runlog::append(&runs, &record) {
                    tracing::error!("cannot append to {}: {e}", runs.display());
                }
                if json {
                    output::json_line(&SyncReport {
                        run: record,
                        steps: Vec::new(),
                        push: None,
                    })?;
                } else {
                    say!("run {} → {}", record.start, record.outcome.name());
                }
                if report.is_none() {
                    break;
                }
                continue;
            };
            // Recorded before it is announced: whoever reads the line (or
            // the health endpoint after it) finds the run in the log.
            if let Err(e) = runlog::append(&runs, &report.run) {
                tracing::error!("cannot append to {}: {e}", runs.display());
            }
            if json {
                output::json_line(&report)?;
            } else {
                for line in report.steps.iter().flat_map(super::sync::step_lines) {
                    say!("{line}");
                }
                for line in super::sync::row_error_lines(&report.run) {
                    say!("{line}");
                }
                if let Some(push) = &report.push {
                    say!(
                        "pushed {} of {} events ({} waiting, {} failed)",
                        push.delivered,
                        push.events,
                        push.waiting.len(),
                        push.failed.len()
                    );
                }
                say!("run {} → {}", report.run.start, report.run.outcome.name());
            }
            if stop.is_requested() {
                break;
            }
        }
        if json {
            tracing::info!("stopped");
        } else {
            say!("stopped");
        }
        anyhow::Ok(())
    });
    // A run left behind must not keep the process: its work is safe to drop.
    runtime.shutdown_background();
    result?;
    Ok(Exit::Success)
}

/// The record of a run that did not end by itself: left after the grace
/// time, or ended by a panic.
fn abandoned(start: String, stopped: bool) -> RunRecord {
    let (outcome, error) = if stopped {
        (
            RunOutcome::Interrupted,
            "stopped by a signal; the run did not end within the grace time and was left",
        )
    } else {
        (RunOutcome::Failed, "the run ended abnormally (a bug in ampsync)")
    };
    RunRecord {
        start,
        end: clock::format_micros(clock::now_micros().unwrap_or_default()),
        file: None,
        hash: None,
        snapshot: None,
        counts: None,
        push: None,
        outcome,
        error: Some(error.to_owned()),
        row_errors: Vec::new(),
        alert_errors: Vec::new(),
    }
}

/// Asks the run to stop on SIGTERM or Ctrl-C.
async fn stop_on_signal(stop: Stop) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("stopping: waits end now, requests under way finish");
    stop.request();
}
