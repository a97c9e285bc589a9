//! `ampsync keygen ssh|pgp`: the keys to exchange when setting up a daily
//! sync. Nothing is overwritten.

use std::path::{Path, PathBuf};

use ampsync_engine::keygen::ssh_key_pair;
use ampsync_engine::pgp::generate_key_pair;
use anyhow::Context;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    kind: Kind,
}

#[derive(Debug, clap::Subcommand)]
enum Kind {
    /// An ed25519 SSH key pair; send the public key to the sFTP server's owner.
    Ssh {
        /// Where to write the private key (the public key gets `.pub`).
        #[arg(long, default_value = "keys/id_ed25519")]
        out: PathBuf,
        /// The comment on the public key.
        #[arg(long, default_value = "ampsync")]
        comment: String,
    },
    /// A PGP key pair; the customer encrypts the daily file to its public key.
    Pgp {
        /// The folder for `<name>.pub.asc` and `<name>.sec.asc`.
        #[arg(long, default_value = "keys")]
        dir: PathBuf,
        #[arg(long, default_value = "tenant")]
        name: String,
        /// The key's user id, e.g. "Acme ampsync <ampsync@acme.example>".
        #[arg(long, default_value = "ampsync")]
        user_id: String,
        /// Protect the secret key with the passphrase in this environment variable.
        #[arg(long)]
        passphrase_env: Option<String>,
    },
}

pub fn run(_config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    match args.kind {
        Kind::Ssh { out, comment } => {
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let pair = ssh_key_pair(&out, &comment)?;
            if format == Format::Json {
                output::json(&serde_json::json!({
                    "kind": "ssh",
                    "private_key": pair.private_path.display().to_string(),
                    "public_key": pair.public_path.display().to_string(),
                    "fingerprint": pair.fingerprint,
                    "public_line": pair.public_line,
                }))?;
                return Ok(Exit::Success);
            }
            say!(
                "wrote {} (private, mode 600) and {}",
                pair.private_path.display(),
                pair.public_path.display()
            );
            say!("fingerprint {}", pair.fingerprint);
            say!("send this line to the sFTP server's owner for the account's authorized_keys:");
            say!("{}", pair.public_line);
            say!("then set source.private_key = \"{}\"", pair.private_path.display());
        }
        Kind::Pgp {
            dir,
            name,
            user_id,
            passphrase_env,
        } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let passphrase = match &passphrase_env {
                Some(var) => Some(ampsync_engine::secret::from_env(var, "--passphrase-env")?),
                None => None,
            };
            let key = generate_key_pair(&user_id, &dir, &name, passphrase.as_deref())?;
            if format == Format::Json {
                output::json(&serde_json::json!({
                    "kind": "pgp",
                    "public_key": key.public_path.display().to_string(),
                    "secret_key": key.secret_path.display().to_string(),
                    "fingerprint": key.fingerprint.to_string(),
                }))?;
                return Ok(Exit::Success);
            }
            say!(
                "wrote {} and {} (secret, mode 600)",
                key.public_path.display(),
                key.secret_path.display()
            );
            say!("fingerprint {}", key.fingerprint);
            say!(
                "send {} to the customer: they encrypt the daily file to it",
                key.public_path.display()
            );
            say!("then set pgp.secret_key = \"{}\"", key.secret_path.display());
        }
    }
    Ok(Exit::Success)
}
