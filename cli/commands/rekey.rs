//! `ampsync rekey --new-key-env VAR`: seals the whole store under the key
//! in VAR, in one write transaction, then rewrites the file so no page
//! keeps the old ciphertext (or plaintext). The old key is the one
//! `store.encryption_key_env` names; a plain store needs none (this is how
//! a store is first encrypted). Changing the config afterwards is the
//! user's: the command says what to change.

use std::path::Path;

use ampsync_engine::clock::{format_micros, now_micros};
use ampsync_engine::runlock::RunLock;
use ampsync_engine::store::{Store, StoreError, StoreKey};
use anyhow::Context;
use serde_json::json;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment variable holding the new key (64 hex characters, or
    /// base64 of 32 bytes: `openssl rand -hex 32`).
    #[arg(long, value_name = "VAR")]
    new_key_env: String,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let config = super::load_config(config_path)?;
    let new = StoreKey::from_env(&args.new_key_env)?;
    let path = config.store_path();
    // The run lock first: the rewrite replaces the store file, which a
    // daemon or sync holding it open would go on writing to.
    let time = now_micros()?;
    let holder = format!("{} (pid {}, rekey)", format_micros(time), std::process::id());
    let _lock = RunLock::acquire(&path, &holder)?;
    crate::panic::note_store(&path);
    let opened = match Store::open_existing_with(&path, config.store_keying()?) {
        // A plain store (being encrypted for the first time) needs no old key.
        Err(StoreError::NotEncrypted { .. } | StoreError::KeyUnset { .. }) => Store::open_existing(&path),
        other => other,
    };
    let mut store = opened
        .map(super::say_upgraded)
        .with_context(|| format!("opening the store {}", path.display()))?;
    let was_encrypted = store.is_encrypted();
    let report = store
        .rekey(&new)
        .with_context(|| format!("nothing was changed: cannot rekey the store {}", path.display()))?;
    let unchanged_config = config.store.encryption_key_env.as_deref() == Some(args.new_key_env.as_str());
    if format == Format::Json {
        output::json(&json!({
            "store": path,
            "was_encrypted": was_encrypted,
            "key_env": args.new_key_env,
            "events": report.events,
            "states": report.states,
            "held_events": report.held_events,
            "raw_chunks": report.raw_chunks,
        }))?;
    } else {
        say!(
            "{} the store {} under the key in {}: {} events, {} people, {} held events, {} raw chunks sealed; \
             the file was rewritten, so no page keeps the old {}",
            if was_encrypted { "rekeyed" } else { "encrypted" },
            path.display(),
            args.new_key_env,
            report.events,
            report.states,
            report.held_events,
            report.raw_chunks,
            if was_encrypted { "ciphertext" } else { "plaintext" },
        );
        if unchanged_config {
            say!(
                "now put the new key in {} wherever ampsync runs (the old key no longer opens the store)",
                args.new_key_env
            );
        } else {
            say!(
                "now set `encryption_key_env = \"{}\"` under [store] in {} (the old key no longer opens the store)",
                args.new_key_env,
                config_path.display()
            );
        }
        say!("copies of the store made before now (backups, .bak-v* files) are still under the old key, or plain");
    }
    Ok(Exit::Success)
}
