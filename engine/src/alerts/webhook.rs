//! Posting alerts to the webhook: a few tries with backoff, a short
//! timeout, no redirects followed, and the URL never in an error (it is a
//! secret: Slack's carry their token in the path).

use std::time::Duration;

use crate::config::AlertsConfig;
use crate::secret::MissingSecret;

use super::alert::Alert;

/// Tries per alert.
const ATTEMPTS: u32 = 3;
/// The wait before the second try; doubled for each later one.
const BACKOFF: Duration = Duration::from_millis(250);
/// How long one try may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why an alert was not delivered. Never holds the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlertError {
    #[error(transparent)]
    MissingUrl(#[from] MissingSecret),
    #[error("the webhook URL in ${var} is not an http(s) URL")]
    BadUrl { var: String },
    #[error("the {kind} alert was not delivered after {attempts} tries: {last}")]
    Undelivered { kind: String, attempts: u32, last: String },
}

/// Sends `alert` to the configured webhook, retrying.
pub async fn send(config: &AlertsConfig, alert: &Alert) -> Result<(), AlertError> {
    let url = crate::secret::from_env(&config.webhook_url_env, "alerts.webhook_url_env")?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(AlertError::BadUrl {
            var: config.webhook_url_env.clone(),
        });
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| undelivered(alert, 0, e.without_url().to_string()))?;
    let body = alert.body(config.format);
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 2)).await;
        }
        match client.post(&url).json(&body).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("the webhook answered {}", r.status()),
            Err(e) => last = chain(&e.without_url()),
        }
        tracing::warn!("alert {}: try {attempt} of {ATTEMPTS}: {last}", alert.kind.name());
    }
    Err(undelivered(alert, ATTEMPTS, last))
}

/// An error and its causes on one line (reqwest's own line says little).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn undelivered(alert: &Alert, attempts: u32, last: String) -> AlertError {
    AlertError::Undelivered {
        kind: serde_json::to_value(alert.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        attempts,
        last,
    }
}

/// Sends each alert; returns what could not be sent, as lines for the run
/// log. Never fails: an alert is worth less than the run it is about.
pub async fn send_all(config: &AlertsConfig, alerts: &[Alert]) -> Vec<String> {
    let mut errors = Vec::new();
    for alert in alerts {
        if let Err(e) = send(config, alert).await {
            tracing::warn!("{e}");
            errors.push(e.to_string());
        }
    }
    errors
}
