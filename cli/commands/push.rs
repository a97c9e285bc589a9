//! `ampsync push`: deliver the undelivered events to Learn Amp.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use ampsync_engine::Config;
use ampsync_engine::learnamp::Credentials;
use ampsync_engine::replay::{Progress, PushReport, deliver as deliver_events};
use ampsync_engine::store::Store;
use indicatif::{ProgressBar, ProgressStyle};

use crate::Exit;
use crate::output::{self, Format, say};

pub fn run(config_path: &Path, format: Format) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let credentials = Credentials::from_env(&config.learnamp)?;
    let report = deliver(&config, Arc::new(store), credentials)?;
    print_report(&report, format)?;
    Ok(exit_for(&report))
}

/// Delivers on a fresh runtime; the progress bar shows on a terminal.
pub fn deliver(config: &Config, store: Arc<Store>, credentials: Credentials) -> anyhow::Result<PushReport> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::hidden();
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}") {
            bar.set_style(style);
        }
        bar
    });
    let progress: Progress = match &bar {
        Some(bar) => {
            let bar = bar.clone();
            Arc::new(move |done, total| {
                if bar.is_hidden() {
                    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                }
                bar.set_length(total);
                bar.set_position(done);
            })
        }
        None => Arc::new(move |done, total| {
            // Not a terminal: a log line every 10%.
            let step = (total / 10).max(1);
            if done % step == 0 || done == total {
                tracing::info!("pushed {done}/{total} events");
            }
        }),
    };
    let report = super::runtime()?.block_on(deliver_events(config, store, credentials, None, Some(progress)));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report?)
}

/// 0 when everything was delivered or waits only on transient faults; 1
/// when Learn Amp refused something.
pub fn exit_for(report: &PushReport) -> Exit {
    if report.has_failures() {
        Exit::Failed
    } else {
        Exit::Success
    }
}

/// The closing summary.
pub fn print_report(r: &PushReport, format: Format) -> anyhow::Result<()> {
    let secs = r.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { r.requests as f64 / secs } else { 0.0 };
    if format == Format::Json {
        output::json(r)?;
        return Ok(());
    }
    output::table(
        &[
            "events",
            "sent",
            "retried",
            "waiting",
            "failed",
            "blocked",
            "elapsed",
            "requests/s",
        ],
        [vec![
            r.events.to_string(),
            r.delivered.to_string(),
            r.retried.to_string(),
            r.waiting.len().to_string(),
            r.failed.len().to_string(),
            r.blocked.to_string(),
            format!("{secs:.2} s"),
            format!("{rate:.1}"),
        ]],
    )?;
    for u in r.failed.iter().take(output::MAX_LISTED_ERRORS) {
        say!(
            "failed: event {} ({}): {} (sent again when {} changes in a file, or by `ampsync retry {}`)",
            u.seq,
            u.key,
            u.error,
            u.key,
            u.seq
        );
    }
    if !r.waiting.is_empty() {
        say!(
            "waiting: {} event(s) held back by transient faults; the next push or sync sends them (first: event {}: {})",
            r.waiting.len(),
            r.waiting[0].seq,
            r.waiting[0].error
        );
    }
    for key in &r.recreated {
        say!("recreated: {key} had been deleted in Learn Amp by hand and was created again");
    }
    if r.rate_limited > 0 {
        say!(
            "rate limit: {} of {} requests were answered 429; ampsync slowed down to match",
            r.rate_limited,
            r.requests
        );
    }
    for w in &r.warnings {
        say!("warning: {w}");
    }
    Ok(())
}
