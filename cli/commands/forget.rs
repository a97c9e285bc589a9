//! `ampsync forget KEY --reason TEXT [--by NAME]`: erases a person's
//! personal values from the store (the right to erasure); the log still
//! verifies, and `history` shows the erasure in place of the values.

use std::path::Path;

use ampsync_engine::clock::{format_micros, now_micros};
use ampsync_engine::forget::{Forget, forget};

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The person's key (external id).
    key: String,
    /// Why (a request under GDPR article 17, a retention policy, …): kept
    /// in the erasure record.
    #[arg(long)]
    reason: String,
    /// Who asked for it: kept in the erasure record.
    #[arg(long)]
    by: Option<String>,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (_, store) = super::open(config_path)?;
    let time = now_micros()?;
    let erasure = forget(
        &store,
        &Forget {
            key: &args.key,
            reason: &args.reason,
            by: args.by.as_deref(),
            time,
        },
    )
    .map_err(|e| anyhow::Error::new(e).context(format!("nothing was erased: cannot forget {}", args.key)))?;
    if format == Format::Json {
        output::json(&output::erasure_json(&erasure))?;
    } else {
        say!(
            "forgot {}: the values of {} events were erased (erasure {}, {}); the log still verifies",
            erasure.key,
            erasure.events.len(),
            erasure.id,
            format_micros(erasure.time)
        );
        if !erasure.raw_dropped.is_empty() {
            let ids: Vec<String> = erasure.raw_dropped.iter().map(u64::to_string).collect();
            say!(
                "dropped the kept raw files of snapshots {} (they held the person)",
                ids.join(", ")
            );
        }
        say!("copies of the store made before now (backups, .bak-v* files) still hold their data");
    }
    Ok(Exit::Success)
}
