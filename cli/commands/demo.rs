//! `ampsync demo`: a self-contained run on the bundled example days against
//! an in-process sandbox: no credentials, no network beyond loopback.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use ampsync_engine::learnamp::Credentials;
use ampsync_engine::store::Store;
use ampsync_engine::{Config, ImportOutcome, ImportSummary, Input, import};
use ampsync_sandbox::{Sandbox, SandboxOptions};
use anyhow::Context;
use serde_json::json;

use crate::Exit;
use crate::console::{Auth, Console, StoreAccess};
use crate::output::{self, Format, say};

/// The example days, built into the binary so the demo runs anywhere.
const DAYS: [(&str, &str, &str); 3] = [
    (
        "day1.csv",
        "2026-11-24T06:30:00Z",
        include_str!("../../examples/day1.csv"),
    ),
    (
        "day2.csv",
        "2026-11-25T06:30:00Z",
        include_str!("../../examples/day2.csv"),
    ),
    (
        "day3.csv",
        "2026-11-26T06:30:00Z",
        include_str!("../../examples/day3.csv"),
    ),
];

/// The person whose history the demo ends with: a leaver who came back.
const FEATURED: &str = "E1020";

pub fn run(_config_path: &Path, format: Format) -> anyhow::Result<Exit> {
    let work = tempfile_dir()?;
    let runtime = super::runtime()?;
    let json = format == Format::Json;
    let sandbox = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a loopback port")?;
        // Legacy credentials (the engine's token request names no scope),
        // and the HR-role package: the example company has an HR person.
        let options = SandboxOptions {
            hr_package: true,
            ..SandboxOptions::default()
        };
        Sandbox::start(listener, options).await.context("starting the sandbox")
    })?;
    if !json {
        say!("Learn Amp sandbox on {}; store in {}", sandbox.url(), work.display());
    }

    let config_text = format!(
        "[store]\npath = \"demo.redb\"\n[csv]\nkey = \"Employee ID\"\n[policy]\nskip_invitation = true\n[learnamp]\nbase_url = \"{}\"\ncreate_missing_teams = true\n",
        sandbox.url()
    );
    let config = Config::parse(&config_text, &work.join("ampsync.toml"))?;
    let store = Arc::new(Store::open(&config.store_path())?);
    let defaults = SandboxOptions::default();
    let credentials = Credentials::new(defaults.client_id, defaults.client_secret);

    let mut days = Vec::new();
    for (name, now, text) in DAYS {
        let input = Input::Bytes {
            name: format!("examples/{name}"),
            bytes: text.as_bytes().to_vec(),
        };
        // Each day is imported at its own morning, as the nightly job would.
        let outcome = with_clock(now, || import(&store, &config, &input, None))?;
        if !json && let ImportOutcome::Imported(report) = &outcome {
            let c = report.snapshot.counts;
            say!();
            say!(
                "{now}  import {name}: {} rows → {} created, {} updated, {} deactivated, {} reactivated",
                report.snapshot.rows,
                c.created,
                c.updated,
                c.deactivated,
                c.reactivated
            );
        }
        let report = with_clock(now, || {
            super::push::deliver(&config, store.clone(), credentials.clone())
        })?;
        if json {
            let origin = store.origin(super::import::outcome_id(&outcome))?;
            let summary = ImportSummary::from(&outcome).with_origin(origin.as_ref());
            days.push(json!({"time": now, "import": summary, "push": report}));
        } else {
            super::push::print_report(&report, format)?;
        }
    }

    let users = sandbox.users();
    let active = users
        .iter()
        .filter(|u| {
            !u["status"]["status"]
                .as_str()
                .unwrap_or("")
                .eq_ignore_ascii_case("deactivated")
        })
        .count();
    let snapshots = output::snapshot_map(&store)?;
    let history = store.user_events(FEATURED)?;
    if json {
        output::json(&json!({
            "days": days,
            "users": users.len(),
            "active": active,
            "history": {
                "key": FEATURED,
                "events": history.iter().map(|(e, d)| output::event_json(e, d, &snapshots)).collect::<Vec<_>>(),
            },
        }))?;
    } else {
        say!();
        say!("Learn Amp (sandbox) now has {} users, {active} active.", users.len());
        say!();
        say!("history of {FEATURED}:");
    }
    for (event, delivery) in history.iter().filter(|_| !json) {
        let source = output::event_snapshot(event, &snapshots).map_or("", |s| s.source.as_str());
        say!(
            "  #{} {} {} from {source} [{}]",
            event.seq,
            ampsync_engine::clock::format_micros(event.body.time),
            event.body.kind.name(),
            output::delivery_text(delivery)
        );
    }
    // On a terminal, the console over the demo's store until Ctrl-C, so a
    // newcomer sees the example days in the browser.
    if !json && std::io::stdout().is_terminal() {
        let auth = Auth::from_config(&config.console)?;
        let console = Arc::new(Console::new(config.clone(), StoreAccess::Shared(store.clone()), auth));
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .context("binding a loopback port for the console")?;
            let bound = listener.local_addr().context("the console's address")?;
            say!();
            super::serve::announce(&console, bound, format)?;
            say!("Ctrl-C ends the demo.");
            tokio::select! {
                () = crate::console::serve(listener, crate::console::router(console)) => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            anyhow::Ok(())
        })?;
    }
    runtime.block_on(sandbox.shutdown());
    let _ = std::fs::remove_dir_all(&work);
    Ok(Exit::Success)
}

/// Runs `f` with the clock pinned to `now`, unless `AMPSYNC_NOW` pins it.
fn with_clock<T>(now: &str, f: impl FnOnce() -> T) -> T {
    if std::env::var_os(ampsync_engine::clock::NOW_ENV).is_some_and(|v| !v.is_empty()) {
        return f();
    }
    ampsync_engine::clock::pin(ampsync_engine::clock::parse_time(now));
    let out = f();
    ampsync_engine::clock::pin(None);
    out
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let base = std::env::temp_dir().join(format!("ampsync-demo-{}", std::process::id()));
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    Ok(base)
}
