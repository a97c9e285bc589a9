//! `ampsync push`: deliver the undelivered events to Learn Amp.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use ampsync_engine::Config;
use ampsync_engine::learnamp::{Credentials, LearnAmpClient};
use ampsync_engine::replay::{CallOptions, Progress, PushOptions, PushReport, build_plan, push};
use ampsync_engine::store::Store;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::Exit;
use crate::output::{self, Format, say};

pub fn run(config_path: &Path, format: Format) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let credentials = Credentials::from_env(&config.learnamp)?;
    let report = deliver(&config, Arc::new(store), credentials)?;
    print_report(&report, format)?;
    Ok(exit_for(&report))
}

/// Plans and pushes on a fresh runtime; the progress bar shows on a terminal.
pub fn deliver(config: &Config, store: Arc<Store>, credentials: Credentials) -> anyhow::Result<PushReport> {
    let client = Arc::new(LearnAmpClient::new(&config.learnamp.base_url, credentials)?);
    let plan = build_plan(
        &store,
        CallOptions {
            skip_invitation: config.policy.skip_invitation,
        },
    )?;
    let total = plan.events() as u64;
    let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}") {
            bar.set_style(style);
        }
        bar
    });
    let progress: Option<Progress> = match &bar {
        Some(bar) => {
            let bar = bar.clone();
            Some(Arc::new(move |done, _| bar.set_position(done)))
        }
        None => {
            // Not a terminal: a log line every 10%.
            let step = (total / 10).max(1);
            Some(Arc::new(move |done, total| {
                if done % step == 0 || done == total {
                    tracing::info!("pushed {done}/{total} events");
                }
            }))
        }
    };
    let options = PushOptions::from_config(&config.learnamp, &config.policy);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(push(store, client, plan, options, progress));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report?)
}

/// 0 when everything went, 1 when some event failed or died.
pub fn exit_for(report: &PushReport) -> Exit {
    if report.failed.is_empty() && report.dead.is_empty() {
        Exit::Success
    } else {
        Exit::Failed
    }
}

/// The closing summary.
pub fn print_report(r: &PushReport, format: Format) -> anyhow::Result<()> {
    let secs = r.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { r.requests as f64 / secs } else { 0.0 };
    let list = |items: &[ampsync_engine::replay::Undelivered]| {
        items
            .iter()
            .map(|u| json!({"seq": u.seq, "key": u.key, "error": u.error}))
            .collect::<Vec<_>>()
    };
    if format == Format::Json {
        output::json(&json!({
            "events": r.events, "sent": r.delivered, "retried": r.retried,
            "failed": list(&r.failed), "dead": list(&r.dead), "blocked": r.blocked,
            "requests": r.requests, "elapsed_ms": r.elapsed.as_millis() as u64,
            "requests_per_second": (rate * 10.0).round() / 10.0, "warnings": r.warnings,
        }))?;
        return Ok(());
    }
    output::table(
        &[
            "events",
            "sent",
            "retried",
            "failed",
            "dead",
            "blocked",
            "elapsed",
            "requests/s",
        ],
        [vec![
            r.events.to_string(),
            r.delivered.to_string(),
            r.retried.to_string(),
            r.failed.len().to_string(),
            r.dead.len().to_string(),
            r.blocked.to_string(),
            format!("{secs:.2} s"),
            format!("{rate:.1}"),
        ]],
    )?;
    for u in r.failed.iter().take(output::MAX_LISTED_ERRORS) {
        say!("failed: event {} ({}): {}", u.seq, u.key, u.error);
    }
    for u in r.dead.iter().take(output::MAX_LISTED_ERRORS) {
        say!("dead: event {} ({}): {} (needs a person)", u.seq, u.key, u.error);
    }
    for w in &r.warnings {
        say!("warning: {w}");
    }
    Ok(())
}
