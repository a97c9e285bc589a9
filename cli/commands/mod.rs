//! One module per subcommand.

pub mod backup;
pub mod check;
pub mod daemon;
pub mod decide;
pub mod demo;
pub mod events;
pub mod export;
pub mod forget;
mod health;
pub mod history;
pub mod import;
pub mod init;
pub mod keygen;
pub mod plan;
pub mod preview;
pub mod push;
pub mod reconcile;
pub mod reimport;
pub mod rekey;
pub mod retry;
pub mod rollback;
pub mod sandbox;
pub mod serve;
pub mod show;
pub mod snapshots;
pub mod sync;
pub mod verify;

use std::path::Path;

use ampsync_engine::Config;
use ampsync_engine::store::{Store, StoreError};
use anyhow::Context;

/// Loads the config; a missing default config gets a hint to run `init`.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    if !path.exists() {
        anyhow::bail!(
            "no config file at {}: run `ampsync init` to write one, or pass --config FILE",
            path.display()
        );
    }
    Ok(Config::load(path)?)
}

/// Opens the store the config names, which must exist: only `init` and
/// the first import or sync create one.
pub fn open_store(config: &Config) -> anyhow::Result<Store> {
    let path = config.store_path();
    crate::panic::note_store(&path);
    match Store::open_existing_with(&path, config.store_keying()?) {
        Err(StoreError::Missing { .. }) => anyhow::bail!(
            "there is no store at {}: run `ampsync init` to create one, or set store.path in the config",
            path.display()
        ),
        result => result
            .map(say_upgraded)
            .with_context(|| format!("opening the store {}", path.display())),
    }
}

/// Says, once (the first open after a new release), that opening upgraded
/// the store and where the copy of it as it was is.
pub fn say_upgraded(store: Store) -> Store {
    if let Some(upgrade) = store.upgraded() {
        tracing::warn!(
            "upgraded the store {} from schema {} to {}; the store as it was is kept as {}",
            store.path().display(),
            upgrade.from,
            upgrade.to,
            upgrade.backup.display()
        );
    }
    store
}

/// Opens the store the config names, creating it (0600) if there is none:
/// for `init`, `import`, `sync` and `daemon`.
pub fn open_or_create_store(config: &Config) -> anyhow::Result<Store> {
    let path = config.store_path();
    crate::panic::note_store(&path);
    Store::open_with(&path, config.store_keying()?)
        .map(say_upgraded)
        .with_context(|| format!("opening the store {}", path.display()))
}

/// Takes the store's run lock for a command that writes (`what` names it
/// in the lock file, so a second run is told who holds it): imports,
/// syncs and `forget` exclude each other, since `forget` and retention
/// replace the store file.
pub fn run_lock(config: &Config, what: &str) -> anyhow::Result<ampsync_engine::runlock::RunLock> {
    let now = ampsync_engine::clock::now_micros()?;
    let holder = format!(
        "{} (pid {}, {what})",
        ampsync_engine::clock::format_micros(now),
        std::process::id()
    );
    Ok(ampsync_engine::runlock::RunLock::acquire(
        &config.store_path(),
        &holder,
    )?)
}

/// The async runtime a command runs its network work on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Loads the config and opens its store.
pub fn open(config_path: &Path) -> anyhow::Result<(Config, Store)> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    Ok((config, store))
}
