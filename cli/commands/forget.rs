//! `ampsync forget KEY --reason TEXT [--by NAME]`: erases a person's
//! personal values from the store (the right to erasure); the log still
//! verifies, and `history` shows the erasure in place of the values.
//! `--in-learnamp` also deletes them in Learn Amp (`DELETE /v1/users/{id}`,
//! scope `users:delete`), after a confirmation (or `--yes`).

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use ampsync_engine::clock::{format_micros, now_micros};
use ampsync_engine::forget::{Forget, forget};
use ampsync_engine::learnamp::{ApiError, ApiRequest, Credentials, LearnAmpClient, Method};
use ampsync_engine::runlock::RunLock;

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
    /// Also delete them in Learn Amp (needs the `users:delete` scope).
    #[arg(long)]
    in_learnamp: bool,
    /// Delete in Learn Amp without asking (for scripts).
    #[arg(long, requires = "in_learnamp")]
    yes: bool,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let config = super::load_config(config_path)?;
    let time = now_micros()?;
    // The run lock first: the erasure replaces the store file, which a
    // daemon or sync holding it open would go on writing to.
    let holder = format!("{} (pid {}, forget)", format_micros(time), std::process::id());
    let _lock = RunLock::acquire(&config.store_path(), &holder)?;
    let store = super::open_store(&config)?;
    // Everything the Learn Amp deletion needs is settled before anything
    // is erased: the id (the erasure removes it), credentials, the answer.
    let remote = if args.in_learnamp {
        let Some(id) = store.remote_id(&args.key)? else {
            anyhow::bail!(
                "nothing was erased: no Learn Amp id is recorded for {}, so it cannot be deleted there; \
                 forget without --in-learnamp and delete them in Learn Amp by hand",
                args.key
            );
        };
        let mut options = config.client_options()?;
        options.scopes.push_str(" users:delete");
        let client = LearnAmpClient::new(&options, Credentials::from_env(&config.learnamp)?)?;
        if !args.yes && !confirmed(&args.key, id)? {
            anyhow::bail!("nothing was erased or deleted: not confirmed");
        }
        Some((client, id))
    } else {
        None
    };
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
    let deleted = match remote {
        Some((client, id)) => {
            let request = ApiRequest::new(Method::Delete, format!("/v1/users/{id}"));
            match super::runtime()?.block_on(client.send(&request)) {
                // Already gone there: what was asked for holds.
                Ok(_) | Err(ApiError::Status { status: 404, .. }) => Some(id),
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "{} was forgotten in the store (erasure {}), but deleting Learn Amp user {id} failed: \
                         delete them in Learn Amp by hand",
                        erasure.key, erasure.id
                    )));
                }
            }
        }
        None => None,
    };
    if format == Format::Json {
        let mut value = output::erasure_json(&erasure);
        value["deleted_in_learnamp"] = serde_json::json!(deleted);
        output::json(&value)?;
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
            let (files, snapshots) = if ids.len() == 1 {
                ("file", "snapshot")
            } else {
                ("files", "snapshots")
            };
            say!(
                "dropped the kept raw {files} of {snapshots} {} (they held the person)",
                ids.join(", ")
            );
        }
        if let Some(id) = deleted {
            say!("deleted Learn Amp user {id}");
        }
        say!("copies of the store made before now (backups, .bak-v* files) still hold their data");
    }
    Ok(Exit::Success)
}

/// Asks on the terminal whether to delete `key` (Learn Amp user `id`);
/// without a terminal, refuses (`--yes` is the way for scripts).
fn confirmed(key: &str, id: u64) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "nothing was erased or deleted: --in-learnamp asks for confirmation on a terminal; pass --yes to confirm"
        );
    }
    let mut err = std::io::stderr();
    write!(
        err,
        "Erase {key} from the store and delete Learn Amp user {id}? Neither can be undone. [y/N] "
    )?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
