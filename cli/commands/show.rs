//! `ampsync show KEY`: a person's record now, or as it stood at a time or
//! after a snapshot, rebuilt from the log.

use std::path::Path;

use ampsync_engine::store::Store;
use ampsync_engine::{AsOf, Config, PersonRecord, resolve_key, state_as_of};

use crate::Exit;
use crate::output::{self, Format};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The person: external id (the key), or an email they have or had.
    key: String,
    /// The record as it stood at this time (RFC 3339, or a date).
    #[arg(long, value_parser = super::events::time_arg, conflicts_with = "snapshot")]
    as_of: Option<i64>,
    /// The record as it stood after snapshot N.
    #[arg(long)]
    snapshot: Option<u64>,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let Some(key) = resolve_key(&store, &args.key)? else {
        anyhow::bail!("no person with key or email {:?} in the store", args.key);
    };
    let at = match (args.as_of, args.snapshot) {
        (Some(t), _) => AsOf::Time(t),
        (None, Some(n)) => AsOf::Snapshot(n),
        (None, None) => AsOf::Now,
    };
    let Some(state) = state_as_of(&store, &key, at)? else {
        anyhow::bail!("{key} did not exist yet at that point");
    };
    let missing = missing_now(&store, &key, at)?;
    let after = config.policy.deactivate_after_missing;
    match format {
        Format::Json => output::json(&PersonRecord::new(&key, &state, missing, after))?,
        Format::Table | Format::Csv => {
            let status = match (state.active, missing) {
                (true, Some(n)) => {
                    format!("active, but missing from the last {n} import(s): deactivated after {after}")
                }
                (true, None) => "active".to_owned(),
                (false, _) => "deactivated".to_owned(),
            };
            let rows = [vec!["key".to_owned(), key.clone()], vec!["status".to_owned(), status]]
                .into_iter()
                .chain(state.record.iter().map(|(k, v)| vec![k.to_owned(), v.to_owned()]));
            output::table(&["FIELD", "VALUE"], rows)?
        }
    }
    Ok(Exit::Success)
}

/// Imports in a row `key` has been missing from; only "now" knows a
/// pending absence: it is not in the log.
fn missing_now(store: &Store, key: &str, at: AsOf) -> anyhow::Result<Option<u32>> {
    Ok(match at {
        AsOf::Now => store.absences()?.get(key).copied(),
        _ => None,
    })
}

/// `show KEY --format json`'s value: `key`'s record at `at`, or `None` when
/// they did not exist yet.
pub fn record_of(config: &Config, store: &Store, key: &str, at: AsOf) -> anyhow::Result<Option<PersonRecord>> {
    let Some(state) = state_as_of(store, key, at)? else {
        return Ok(None);
    };
    let missing = missing_now(store, key, at)?;
    Ok(Some(PersonRecord::new(
        key,
        &state,
        missing,
        config.policy.deactivate_after_missing,
    )))
}
