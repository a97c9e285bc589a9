//! `ampsync sandbox`: run the local Learn Amp sandbox until stopped.

use std::path::Path;

use ampsync_engine::sandbox::{Sandbox, SandboxOptions};
use anyhow::Context;

use crate::Exit;
use crate::output::say;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8085)]
    port: u16,
    /// The client id the sandbox accepts.
    #[arg(long, env = "AMPSYNC_SANDBOX_CLIENT_ID", default_value = "sandbox")]
    client_id: String,
    /// Teams that exist from the start (repeat the flag).
    #[arg(long = "team")]
    teams: Vec<String>,
}

pub fn run(_config_path: &Path, args: Args) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
        // The secret comes from the environment, never from a flag.
        let secret = std::env::var("AMPSYNC_SANDBOX_CLIENT_SECRET").unwrap_or_else(|_| "sandbox-secret".into());
        let options = SandboxOptions {
            client_id: args.client_id,
            client_secret: secret,
            teams: args.teams,
            ..SandboxOptions::default()
        };
        let sandbox = Sandbox::start(listener, options)
            .await
            .context("starting the sandbox")?;
        say!("Learn Amp sandbox listening on {}", sandbox.url());
        say!("controls: GET /_sandbox/users, GET /_sandbox/stats, PUT /_sandbox/faults, POST /_sandbox/expire-tokens");
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
        sandbox.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(Exit::Success)
}
