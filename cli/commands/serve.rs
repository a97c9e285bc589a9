//! `ampsync serve [--addr 127.0.0.1:8080]`: the console alone, over the
//! store, until stopped. It opens the store for each request and never
//! holds the run lock, so it runs beside the daemon or a `sync`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::Exit;
use crate::console::{self, Auth, Console, StoreAccess};
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The address to listen on; anything but loopback wants a TLS proxy in front.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let config = super::load_config(config_path)?;
    // Fails now, not at the first page, when there is no store.
    drop(super::open_store(&config)?);
    let auth = Auth::from_config(&config.console)?;
    let console = Arc::new(Console::new(config, StoreAccess::PerRequest, auth));
    super::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("binding --addr {}", args.addr))?;
        let bound = listener.local_addr().unwrap_or(args.addr);
        // Listening for Ctrl-C before announcing: a script's SIGINT right
        // after the announcement must stop the console cleanly, not kill it.
        let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .context("listening for Ctrl-C")?;
        announce(&console, bound, format)?;
        let app = console::router(console);
        tokio::select! {
            () = console::serve(listener, app) => {}
            _ = interrupt.recv() => {}
        }
        anyhow::Ok(())
    })?;
    Ok(Exit::Success)
}

/// Prints where the console is and, for a token made at start, the URL that
/// logs in (once: it is not logged); warns when it listens beyond loopback.
pub fn announce(console: &Console, bound: SocketAddr, format: Format) -> anyhow::Result<()> {
    let base = format!("http://{bound}");
    let login = match console.auth.source {
        console::TokenSource::Generated => Some(console.auth.login_url(&base)),
        console::TokenSource::Env => None,
    };
    if let Some(warning) = console::warn_if_exposed(bound) {
        eprintln!("{warning}");
    }
    if format == Format::Json {
        output::json_line(&serde_json::json!({"console": base, "login": login}))?;
    } else {
        say!("console on {base}");
        match &login {
            Some(url) => say!("log in (this token lasts until the console stops): {url}"),
            None => say!(
                "log in with the token in ${}",
                console.config.console.token_env.as_deref().unwrap_or_default()
            ),
        }
    }
    Ok(())
}
