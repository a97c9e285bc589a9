//! `ampsync init`: write a commented config and create the store.

use std::path::Path;

use ampsync_engine::{CONFIG_TEMPLATE, Config};
use anyhow::Context;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Overwrite an existing config file.
    #[arg(long)]
    force: bool,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    if config_path.exists() && !args.force {
        anyhow::bail!("{} already exists; pass --force to overwrite it", config_path.display());
    }
    if let Some(dir) = config_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(config_path, CONFIG_TEMPLATE).with_context(|| format!("writing {}", config_path.display()))?;
    let config = Config::load(config_path)?;
    let store = super::open_or_create_store(&config)?;
    if format == Format::Json {
        output::json(&serde_json::json!({
            "config": config_path.display().to_string(),
            "store": store.path().display().to_string(),
        }))?;
    } else {
        say!("wrote {}", config_path.display());
        say!("created the store {}", store.path().display());
    }
    Ok(Exit::Success)
}
