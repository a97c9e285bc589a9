//! `ampsync daemon`: run `sync` on the configured schedule until stopped.
//!
//! The daemon holds the store's run lock for its whole life, so a second
//! `sync` or `daemon` on the same store stops at once. SIGTERM or Ctrl-C
//! lets requests under way finish, records the run, and exits cleanly; the
//! next run resumes delivery.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ampsync_engine::clock;
use ampsync_engine::learnamp::Credentials;
use ampsync_engine::runlock::RunLock;
use ampsync_engine::runlog;
use ampsync_engine::schedule::Schedule;
use ampsync_engine::sync::sync_once;
use anyhow::Context;
use chrono::Utc;
use tokio::sync::Notify;

use crate::Exit;
use crate::output::say;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serve /healthz and /metrics (Prometheus text) on this address, e.g. 127.0.0.1:9187.
    #[arg(long)]
    health_addr: Option<SocketAddr>,
}

pub fn run(config_path: &Path, args: Args) -> anyhow::Result<Exit> {
    let config = super::load_config(config_path)?;
    let Some(schedule_config) = &config.schedule else {
        anyhow::bail!(
            "no [schedule] in {}: the daemon runs on schedule.cron",
            config_path.display()
        );
    };
    let schedule = Schedule::from_config(schedule_config)?;
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

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let stop = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(Notify::new());
        tokio::spawn(stop_on_signal(stop.clone(), wake.clone()));
        if let Some(addr) = args.health_addr {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding --health-addr {addr}"))?;
            say!(
                "health on http://{}/healthz and /metrics",
                listener.local_addr().unwrap_or(addr)
            );
            tokio::spawn(super::health::serve(listener, store.clone(), runs.clone()));
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
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = wake.notified() => {}
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let report = sync_once(
                &config,
                store.clone(),
                credentials.clone(),
                Some(&schedule),
                Some(stop.clone()),
            )
            .await;
            for line in &report.lines {
                say!("{line}");
            }
            if let Some(push) = &report.push {
                say!(
                    "pushed {} of {} events ({} failed, {} dead)",
                    push.delivered,
                    push.events,
                    push.failed.len(),
                    push.dead.len()
                );
            }
            // Recorded before it is announced: whoever reads the line (or
            // the health endpoint after it) finds the run in the log.
            if let Err(e) = runlog::append(&runs, &report.record) {
                tracing::error!("cannot append to {}: {e}", runs.display());
            }
            say!("run {} → {}", report.record.start, report.record.outcome.name());
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        say!("stopped");
        anyhow::Ok(())
    })?;
    Ok(Exit::Success)
}

/// Sets `stop` and wakes the loop on SIGTERM or Ctrl-C.
async fn stop_on_signal(stop: Arc<AtomicBool>, wake: Arc<Notify>) {
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
    tracing::info!("stopping: requests under way will finish");
    stop.store(true, Ordering::Relaxed);
    wake.notify_one();
}
