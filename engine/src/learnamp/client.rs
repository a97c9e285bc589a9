//! `LearnAmpClient`: one HTTP client, one cached OAuth token, one pace.
//!
//! Every request goes through the adaptive [`RateLimiter`]; no redirect is
//! followed (it would carry the client secret or people's data elsewhere);
//! answers are read up to a cap; plain `http://` is refused except on
//! loopback.

use std::net::IpAddr;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use super::answer::{self, MAX_BODY_BYTES};
use super::limiter::RateLimiter;
use super::scope::required_scope;
use super::{ApiError, ApiRequest, Credentials, Method};

/// How long one request may take before it counts as unanswered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a token answer read.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// How a client talks to Learn Amp.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The company's API host, e.g. `https://acme.learnamp.com`.
    pub base_url: String,
    /// Space-separated OAuth scopes asked for with every token.
    pub scopes: String,
    /// The starting (and highest) pace.
    pub max_requests_per_second: f64,
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The JSON body (`Null` for 204).
    pub body: Value,
    /// The `Total-Pages` header (or `Total` / `Per-Page`), when there is one.
    pub total_pages: Option<u32>,
}

#[derive(Debug)]
struct Token {
    value: String,
    renew_at: Instant,
    /// Bumped at every refresh, so concurrent 401s refresh only once.
    generation: u64,
}

/// The Learn Amp API client. Cheap to share across tasks.
#[derive(Debug)]
pub struct LearnAmpClient {
    http: reqwest::Client,
    base_url: String,
    credentials: Credentials,
    scopes: String,
    limiter: RateLimiter,
    token: Mutex<Option<Token>>,
    granted: Mutex<Option<String>>,
    requests: AtomicU64,
    rate_limited: AtomicU64,
}

impl LearnAmpClient {
    /// A client for the API at `options.base_url`.
    pub fn new(options: &ClientOptions, credentials: Credentials) -> Result<LearnAmpClient, ApiError> {
        check_base_url(&options.base_url).map_err(|reason| ApiError::BaseUrl {
            url: options.base_url.clone(),
            reason,
        })?;
        static TLS: Once = Once::new();
        // reqwest is built without a default crypto provider; ring is ours.
        TLS.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|source| ApiError::Transport {
                what: "building the HTTP client".into(),
                source,
            })?;
        Ok(LearnAmpClient {
            http,
            base_url: options.base_url.trim_end_matches('/').to_owned(),
            credentials,
            scopes: options.scopes.split_whitespace().collect::<Vec<_>>().join(" "),
            limiter: RateLimiter::new(options.max_requests_per_second),
            token: Mutex::new(None),
            granted: Mutex::new(None),
            requests: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        })
    }

    /// Gets a token now: refused credentials show before any event is tried.
    pub async fn authenticate(&self) -> Result<(), ApiError> {
        self.token().await.map(|_| ())
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The scopes asked for.
    pub fn scopes(&self) -> &str {
        &self.scopes
    }

    /// The scopes the last token was granted, as Learn Amp listed them.
    pub async fn granted_scopes(&self) -> Option<String> {
        self.granted.lock().await.clone()
    }

    /// Requests sent to `/v1/*` so far, and how many of them were answered 429.
    pub fn request_counts(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.rate_limited.load(Ordering::Relaxed),
        )
    }

    /// A valid token, fetching one when there is none or it is due for renewal.
    async fn token(&self) -> Result<(String, u64), ApiError> {
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok((t.value.clone(), t.generation));
        }
        let generation = guard.as_ref().map_or(1, |t| t.generation + 1);
        let token = self.fetch_token(generation).await?;
        let out = (token.value.clone(), token.generation);
        *guard = Some(token);
        Ok(out)
    }

    /// Forgets the token of `generation` (refused with a 401).
    async fn invalidate(&self, generation: u64) {
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_mut().filter(|t| t.generation == generation) {
            t.renew_at = Instant::now();
        }
    }

    async fn fetch_token(&self, generation: u64) -> Result<Token, ApiError> {
        let mut form = vec![
            ("client_id", self.credentials.client_id.as_str()),
            ("client_secret", self.credentials.secret()),
            ("grant_type", "client_credentials"),
        ];
        if !self.scopes.is_empty() {
            form.push(("scope", self.scopes.as_str()));
        }
        let what = "POST /oauth/token";
        let started = Instant::now();
        let answer = self
            .http
            .post(format!("{}/oauth/token", self.base_url))
            .form(&form)
            .send()
            .await
            .map_err(|source| ApiError::Transport {
                what: what.into(),
                source,
            })?;
        let status = answer.status().as_u16();
        if (300..400).contains(&status) {
            return Err(redirect(status, &answer));
        }
        let bytes = answer::read_body(answer, what, MAX_TOKEN_BYTES).await?;
        let body = answer::json(&bytes);
        if !(200..300).contains(&status) {
            // A token endpoint may echo what it was sent: never repeat the secret.
            let message = self.redact(&answer::error_text(&bytes, status));
            if body["error"].as_str() == Some("invalid_scope") {
                return Err(ApiError::InvalidScope {
                    client_id: self.credentials.client_id.clone(),
                    asked: self.scopes.clone(),
                    message,
                });
            }
            if matches!(status, 400 | 401 | 403) {
                return Err(ApiError::Unauthorized {
                    client_id: self.credentials.client_id.clone(),
                    message,
                });
            }
            return Err(ApiError::Status {
                status,
                message,
                retry_after: None,
            });
        }
        let value = body["access_token"]
            .as_str()
            .ok_or_else(|| ApiError::Unexpected("the token answer has no access_token".into()))?
            .to_owned();
        let expires_in = body["expires_in"].as_u64().unwrap_or(7200);
        *self.granted.lock().await = body["scope"].as_str().map(str::to_owned);
        // Renew at 90% of the lifetime: a long push never sends a stale token.
        let lifetime = Duration::from_secs(expires_in).mul_f64(0.9);
        tracing::debug!(expires_in, "got an access token");
        Ok(Token {
            value,
            renew_at: started + lifetime,
            generation,
        })
    }

    fn redact(&self, text: &str) -> String {
        let secret = self.credentials.secret();
        if secret.is_empty() {
            text.to_owned()
        } else {
            text.replace(secret, "<redacted>")
        }
    }

    /// Sends `request` at the limiter's pace, with the token; a 401 renews
    /// the token and retries once.
    pub async fn send(&self, request: &ApiRequest) -> Result<Response, ApiError> {
        let (token, generation) = self.token().await?;
        match self.paced(request, &token).await {
            Err(ApiError::Status { status: 401, .. }) => {
                self.invalidate(generation).await;
                let (token, _) = self.token().await?;
                match self.paced(request, &token).await {
                    Err(ApiError::Status {
                        status: 401, message, ..
                    }) => Err(ApiError::Unauthorized {
                        client_id: self.credentials.client_id.clone(),
                        message,
                    }),
                    other => other,
                }
            }
            other => other,
        }
    }

    async fn paced(&self, request: &ApiRequest, token: &str) -> Result<Response, ApiError> {
        self.limiter.wait().await;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let result = self.send_with(request, token).await;
        if matches!(&result, Err(e) if e.is_rate_limited()) {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
            self.limiter.rate_limited().await;
        }
        result
    }

    async fn send_with(&self, request: &ApiRequest, token: &str) -> Result<Response, ApiError> {
        let url = format!("{}{}", self.base_url, request.path);
        let builder = match request.method {
            Method::Get => self.http.get(&url).query(&request.form),
            Method::Post => self.http.post(&url).form(&request.form),
            Method::Put => self.http.put(&url).form(&request.form),
            Method::Delete => self.http.delete(&url).form(&request.form),
        };
        // Paths name people by external id: logs show the method only.
        let what = || format!("{} {}", request.method, request.path);
        let answer = builder
            .bearer_auth(token)
            .send()
            .await
            .map_err(|source| ApiError::Transport { what: what(), source })?;
        let status = answer.status().as_u16();
        if (300..400).contains(&status) {
            return Err(redirect(status, &answer));
        }
        let header = |name: &str| {
            answer
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = header("retry-after").and_then(|v| answer::retry_after(&v));
        let total_pages = header("total-pages").and_then(|v| v.trim().parse().ok());
        let per_page: Option<u32> = header("per-page").and_then(|v| v.trim().parse().ok());
        let total: Option<u32> = header("total").and_then(|v| v.trim().parse().ok());
        let bytes = answer::read_body(answer, &what(), MAX_BODY_BYTES).await?;
        if (200..300).contains(&status) {
            let total_pages = total_pages.or(match (total, per_page) {
                (Some(t), Some(p)) if p > 0 => Some(t.div_ceil(p)),
                _ => None,
            });
            return Ok(Response {
                status,
                body: answer::json(&bytes),
                total_pages,
            });
        }
        let message = answer::error_text(&bytes, status);
        if status == 403 {
            return Err(ApiError::Forbidden {
                scope: required_scope(request),
                message,
            });
        }
        Err(ApiError::Status {
            status,
            message,
            retry_after,
        })
    }
}

fn redirect(status: u16, answer: &reqwest::Response) -> ApiError {
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(no Location)");
    ApiError::Redirect {
        status,
        location: answer::shorten(location, 200),
    }
}

/// A base URL ampsync may send credentials and people's data to: `https`,
/// or `http` on a loopback address only (the sandbox).
pub fn check_base_url(url: &str) -> Result<(), &'static str> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "is not a URL (e.g. https://acme.learnamp.com)")?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("must not carry a query or fragment");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials: they come from the environment");
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let loopback =
                host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err("plain http is refused except on loopback: use https")
            }
        }
        _ => Err("must be an https:// URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_https_except_on_loopback() {
        for ok in [
            "https://acme.learnamp.com",
            "https://acme.learnamp.com/",
            "http://127.0.0.1:8085",
            "http://localhost:1",
            "http://[::1]:8085",
        ] {
            assert_eq!(check_base_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://acme.learnamp.com",
            "http://10.0.0.1",
            "ftp://acme",
            "acme.learnamp.com",
            "https://user:pw@acme.learnamp.com",
            "https://acme.learnamp.com/?x=1",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }
}
