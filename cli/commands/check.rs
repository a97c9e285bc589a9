//! `ampsync check`: tries the configured source (host key, login, listing,
//! the file it would take) and Learn Amp (a token), reporting each step.
//! Changes nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use ampsync_engine::learnamp::{Credentials, LearnAmpClient};
use ampsync_engine::source::{DirSource, Pick, RemotePick, SftpSource};
use ampsync_engine::{SourceConfig, clock};

use crate::Exit;
use crate::output::{self, Format, say};

/// One check's result: `ok`, `warn` or `fail`, and what was found.
#[derive(Debug, serde::Serialize)]
struct Check {
    status: &'static str,
    message: String,
}

pub fn run(config_path: &Path, format: Format) -> anyhow::Result<Exit> {
    let config = super::load_config(config_path)?;
    let mut checks = vec![Check {
        status: "ok",
        message: format!("config {}", config_path.display()),
    }];
    let runtime = super::runtime()?;
    let now = SystemTime::UNIX_EPOCH + Duration::from_micros(clock::now_micros()?.max(0) as u64);

    // A store made by an older ampsync, or copied about, may be open to all.
    let store = config.store_path();
    if let Ok(meta) = std::fs::metadata(&store)
        && meta.permissions().mode() & 0o077 != 0
    {
        checks.push(Check {
            status: "warn",
            message: format!(
                "the store {} is readable by others (mode {:o}): it holds personal data and the decrypted files; run `chmod 600 {}`",
                store.display(),
                meta.permissions().mode() & 0o777,
                store.display()
            ),
        });
    }

    let mut step = |ok: bool, message: String| {
        checks.push(Check {
            status: if ok { "ok" } else { "fail" },
            message,
        });
    };

    let future = |mtime: String| {
        format!("is dated in the future ({mtime}): it is taken once unchanged for source.settle_seconds")
    };
    match &config.source {
        None => step(true, "no [source]: files come by `ampsync import FILE`".into()),
        Some(SourceConfig::Dir(source)) => {
            let dir = DirSource {
                dir: config.resolve(&source.dir),
                pattern: source.pattern.clone(),
                settle: Duration::from_secs(source.settle_seconds),
            };
            match dir.pick(now) {
                Ok(Pick::File(p)) => step(
                    true,
                    format!("folder {}: would take {}", dir.dir.display(), p.display()),
                ),
                Ok(Pick::Unsettled(p)) => step(
                    true,
                    format!("folder {}: {} is still being written", dir.dir.display(), p.display()),
                ),
                Ok(Pick::Future(seen)) => {
                    let mtime = chrono::DateTime::<chrono::Utc>::from(seen.mtime).to_rfc3339();
                    step(
                        true,
                        format!(
                            "folder {}: {} {}",
                            dir.dir.display(),
                            seen.path.display(),
                            future(mtime)
                        ),
                    )
                }
                Ok(Pick::Nothing) => step(
                    true,
                    format!("folder {}: no file matching {:?} yet", dir.dir.display(), dir.pattern),
                ),
                Err(e) => step(false, format!("folder {}: {e}", dir.dir.display())),
            }
        }
        Some(whole @ SourceConfig::Sftp(source)) => {
            let result = runtime.block_on(async {
                let sftp = SftpSource::from_config(whole, &config)?;
                let connection = sftp.connect().await?;
                let pick = connection.pick(now).await;
                connection.close().await;
                pick
            });
            let host = &source.host;
            match result {
                Ok(pick) => {
                    step(
                        true,
                        format!(
                            "sFTP {host}: host key matches the pinned one, logged in as {}",
                            source.user
                        ),
                    );
                    match pick {
                        RemotePick::File(f) => step(true, format!("would take {} ({} bytes)", f.path, f.size)),
                        RemotePick::Unsettled(f) => step(true, format!("{} is still being written", f.path)),
                        RemotePick::Future(f) => {
                            let mtime = chrono::DateTime::from_timestamp(f.mtime as i64, 0)
                                .map_or_else(|| f.mtime.to_string(), |t| t.to_rfc3339());
                            step(true, format!("{} {}", f.path, future(mtime)))
                        }
                        RemotePick::Nothing => step(
                            true,
                            format!("no file matching {:?} in {}", source.pattern, source.remote_dir),
                        ),
                    }
                }
                Err(e) => step(false, format!("sFTP {host}: {e}")),
            }
        }
    }

    match &config.pgp {
        None => {}
        Some(pgp) => {
            let path = config.resolve(&pgp.secret_key);
            let passphrase = pgp
                .passphrase_env
                .as_ref()
                .and_then(|v| ampsync_engine::secret::from_env(v, "pgp.passphrase_env").ok());
            let signer = pgp.require_signature_from.as_ref().map(|p| config.resolve(p));
            match ampsync_engine::pgp::PgpKeys::load(&path, passphrase, signer.as_deref()) {
                Ok(keys) => step(
                    true,
                    format!("PGP secret key {} ({})", path.display(), keys.fingerprint()),
                ),
                Err(e) => step(false, format!("PGP: {e}")),
            }
        }
    }

    match Credentials::from_env(&config.learnamp) {
        Err(e) => step(false, format!("Learn Amp: {e}")),
        Ok(credentials) => {
            let result = runtime.block_on(async {
                let options = config.client_options().map_err(|e| e.to_string())?;
                let client = LearnAmpClient::new(&options, credentials).map_err(|e| e.to_string())?;
                client.authenticate().await.map_err(|e| e.to_string())?;
                Ok::<_, String>((
                    options.base_url,
                    client.scopes().to_owned(),
                    client.granted_scopes().await,
                ))
            });
            match result {
                Ok((url, asked, granted)) => step(
                    true,
                    format!(
                        "Learn Amp {url}: credentials accepted; scopes asked: {asked}; granted: {}",
                        granted.as_deref().unwrap_or("(not listed in the answer)")
                    ),
                ),
                Err(e) => step(false, format!("Learn Amp: {e}")),
            }
        }
    }
    // A test alert, so whoever watches the channel knows it works; the URL
    // is a secret and never named here.
    if let Some(alerts) = &config.alerts {
        let alert = ampsync_engine::alerts::Alert::test(&clock::format_micros(clock::now_micros()?));
        match runtime.block_on(ampsync_engine::alerts::send(alerts, &alert)) {
            Ok(()) => step(
                true,
                format!(
                    "alerts: a test alert was sent to the webhook in ${}",
                    alerts.webhook_url_env
                ),
            ),
            Err(e) => step(false, format!("alerts: {e}")),
        }
    }
    let failed = checks.iter().any(|c| c.status == "fail");
    if format == Format::Json {
        output::json(&serde_json::json!({"ok": !failed, "checks": checks}))?;
    } else {
        for c in &checks {
            let label = match c.status {
                "ok" => "ok  ",
                "warn" => "warn",
                _ => "FAIL",
            };
            say!("{label}  {}", c.message);
        }
    }
    Ok(if failed { Exit::Failed } else { Exit::Success })
}
