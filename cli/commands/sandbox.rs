//! `ampsync sandbox`: run the local Learn Amp sandbox until stopped, set up
//! as the flags say (credentials, scopes, teams, company switches).

use std::path::Path;

use ampsync_sandbox::{CustomFieldDef, Sandbox, SandboxOptions, TeamSeed};
use anyhow::Context;

use crate::Exit;
use crate::output::{self, Format, say};

/// The environment variable holding the client secret the sandbox accepts.
const SECRET_ENV: &str = "AMPSYNC_SANDBOX_CLIENT_SECRET";

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Credentials: the client id is --client-id (or AMPSYNC_SANDBOX_CLIENT_ID), default \"sandbox\"; the client \
secret is read from AMPSYNC_SANDBOX_CLIENT_SECRET only (never a flag), default \"sandbox-secret\". Give the \
same pair to ampsync (AMPSYNC_CLIENT_ID / AMPSYNC_CLIENT_SECRET) and learnamp.base_url = the printed URL.

Controls (no token): GET /_sandbox/users, /_sandbox/teams, /_sandbox/stats, /_sandbox/requests; \
GET/PUT /_sandbox/faults (JSON); POST /_sandbox/expire-tokens; DELETE /_sandbox/users/{id}.")]
pub struct Args {
    /// The port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8085)]
    port: u16,
    /// The client id the sandbox accepts.
    #[arg(long, env = "AMPSYNC_SANDBOX_CLIENT_ID", default_value = "sandbox")]
    client_id: String,
    /// Credentials provisioned with exactly these scopes (space-separated,
    /// e.g. "users:read users:create"): a token request must name them.
    /// Default: legacy credentials with full access.
    #[arg(long, env = "AMPSYNC_SANDBOX_SCOPES", value_name = "SCOPES")]
    scopes: Option<String>,
    /// A team that exists from the start (repeat the flag; names may repeat).
    #[arg(long = "team", value_name = "NAME")]
    teams: Vec<String>,
    /// The company has the HR-role package (else role=hr is 422).
    #[arg(long)]
    hr_package: bool,
    /// Lists of users leave deactivated users out unless a status filter asks.
    #[arg(long)]
    hide_deactivated: bool,
    /// A custom field the company has (repeat the flag). Default: none, so
    /// any custom field sent is unknown (404).
    #[arg(long = "custom-field", value_name = "NAME")]
    custom_fields: Vec<String>,
    /// A custom field with presence validation: it cannot be cleared (repeat the flag).
    #[arg(long = "required-custom-field", value_name = "NAME")]
    required_custom_fields: Vec<String>,
    /// Custom fields disabled for the company: customFields are silently ignored.
    #[arg(long, conflicts_with_all = ["custom_fields", "required_custom_fields"])]
    custom_fields_disabled: bool,
    /// A skills-matrix role that occupationRole may name (repeat the flag).
    #[arg(long = "occupation-role", value_name = "NAME")]
    occupation_roles: Vec<String>,
}

pub fn run(_config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    super::runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
        // The secret comes from the environment, never from a flag.
        let secret = std::env::var(SECRET_ENV).ok().filter(|s| !s.is_empty());
        let defaults = SandboxOptions::default();
        let secret_shown = match &secret {
            Some(_) => format!("the value of {SECRET_ENV}"),
            None => format!("{:?} ({SECRET_ENV} is not set)", defaults.client_secret),
        };
        let options = options(args, secret);
        let scopes_shown = match &options.scopes {
            None => "legacy credentials (full access)".to_owned(),
            Some(scopes) => format!("provisioned with scopes {:?}", scopes.join(" ")),
        };
        let client_id = options.client_id.clone();
        // Listening for Ctrl-C before saying where the sandbox is: a script's
        // SIGINT right after that line must stop it cleanly, not kill it.
        let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .context("listening for Ctrl-C")?;
        let sandbox = Sandbox::start(listener, options)
            .await
            .context("starting the sandbox")?;
        if format == Format::Json {
            output::json_line(&serde_json::json!({"url": sandbox.url().to_string(), "client_id": client_id}))?;
        } else {
            say!("Learn Amp sandbox listening on {}", sandbox.url());
            say!("client id {client_id:?}, client secret {secret_shown}; {scopes_shown}");
            say!(
                "controls: GET /_sandbox/users, /_sandbox/teams, /_sandbox/stats, /_sandbox/requests; \
                 PUT /_sandbox/faults; POST /_sandbox/expire-tokens; DELETE /_sandbox/users/{{id}}"
            );
        }
        interrupt.recv().await;
        sandbox.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(Exit::Success)
}

/// The sandbox the flags describe; `secret`: the one from the environment.
fn options(args: Args, secret: Option<String>) -> SandboxOptions {
    let defaults = SandboxOptions::default();
    let scopes = args.scopes.map(|text| {
        text.split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    });
    let custom_fields = (!args.custom_fields_disabled).then(|| {
        let optional = args.custom_fields.iter().map(|n| CustomFieldDef::optional(n));
        let required = args.required_custom_fields.iter().map(|n| CustomFieldDef::required(n));
        optional.chain(required).collect()
    });
    SandboxOptions {
        client_id: args.client_id,
        client_secret: secret.unwrap_or(defaults.client_secret),
        scopes,
        teams: args.teams.iter().map(|t| TeamSeed::from(t.as_str())).collect(),
        hr_package: args.hr_package,
        occupation_roles: args.occupation_roles,
        custom_fields,
        hide_deactivated_by_default: args.hide_deactivated,
        ..defaults
    }
}
