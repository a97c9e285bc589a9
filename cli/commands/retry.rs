//! `ampsync retry SEQ… | --failed`: send events Learn Amp refused again,
//! after the cause was fixed outside the file (the HR package bought, a
//! custom field added, a scope granted).

use std::path::Path;
use std::sync::Arc;

use ampsync_engine::learnamp::Credentials;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["seqs", "failed"])))]
pub struct Args {
    /// The sequence numbers of the events to send again.
    seqs: Vec<u64>,
    /// Every failed (and dead) event.
    #[arg(long)]
    failed: bool,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let seqs = if args.failed {
        let mut seqs: Vec<u64> = store.failed_events()?.into_iter().map(|(e, _)| e.seq).collect();
        seqs.extend(
            store
                .undelivered()?
                .into_iter()
                .filter(|(_, d)| d.name() == "dead")
                .map(|(e, _)| e.seq),
        );
        seqs.sort_unstable();
        seqs
    } else {
        args.seqs
    };
    if seqs.is_empty() {
        if format == Format::Json {
            // The same shape as when there is something to send (and as
            // the console's /api/ retry): a push report, here of nothing.
            output::json(&ampsync_engine::replay::PushReport::default())?;
        } else {
            say!("no failed events to retry");
        }
        return Ok(Exit::Success);
    }
    // Checked before anything changes: without credentials the events
    // would only be marked pending.
    let credentials = Credentials::from_env(&config.learnamp)?;
    anyhow::Context::context(store.retry_events(&seqs), "marking the events to send again")?;
    let list: Vec<String> = seqs.iter().map(u64::to_string).collect();
    tracing::info!("sending again: {}", list.join(", "));
    let report = super::push::deliver(&config, Arc::new(store), credentials)?;
    super::push::print_report(&report, format)?;
    Ok(super::push::exit_for(&report))
}
