//! `LearnAmpClient`: one HTTP client, one cached OAuth token.

use std::sync::Once;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use super::request::path_segment;
use super::{ApiError, ApiRequest, Credentials, Method};

/// How long one request may take before it counts as unanswered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Users per page when listing.
const PER_PAGE: u32 = 100;

/// A user as Learn Amp has them.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteUser {
    pub id: u64,
    pub email: String,
    pub deactivated: bool,
    /// The whole JSON the API returned.
    pub json: Value,
}

impl RemoteUser {
    fn from_json(json: Value) -> Result<RemoteUser, ApiError> {
        let id = json["id"]
            .as_u64()
            .ok_or_else(|| ApiError::Unexpected(format!("a user without an id: {json}")))?;
        let email = json["email"].as_str().unwrap_or_default().to_owned();
        let status = json["status"]["status"]
            .as_str()
            .or(json["status"].as_str())
            .unwrap_or_default();
        let deactivated = status.eq_ignore_ascii_case("deactivated");
        Ok(RemoteUser {
            id,
            email,
            deactivated,
            json,
        })
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The JSON body (`Null` for 204).
    pub body: Value,
    /// The `Total-Pages` header, when there is one.
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
    token: Mutex<Option<Token>>,
}

impl LearnAmpClient {
    /// A client for the API at `base_url` (e.g. `https://api.learnamp.com`).
    pub fn new(base_url: &str, credentials: Credentials) -> Result<LearnAmpClient, ApiError> {
        static TLS: Once = Once::new();
        // reqwest is built without a default crypto provider; ring is ours.
        TLS.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|source| ApiError::Transport {
                what: "building the HTTP client".into(),
                source,
            })?;
        Ok(LearnAmpClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            credentials,
            token: Mutex::new(None),
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
        let form = [
            ("client_id", self.credentials.client_id.as_str()),
            ("client_secret", self.credentials.secret()),
            ("grant_type", "client_credentials"),
        ];
        let started = Instant::now();
        let answer = self
            .http
            .post(format!("{}/oauth/token", self.base_url))
            .form(&form)
            .send()
            .await
            .map_err(|source| ApiError::Transport {
                what: "POST /oauth/token".into(),
                source,
            })?;
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if status == 400 || status == 401 || status == 403 {
            return Err(ApiError::Unauthorized {
                client_id: self.credentials.client_id.clone(),
                message: error_text(&body, status),
            });
        }
        if !(200..300).contains(&status) {
            return Err(ApiError::Status {
                status,
                message: error_text(&body, status),
                retry_after: None,
            });
        }
        let value = body["access_token"]
            .as_str()
            .ok_or_else(|| ApiError::Unexpected("the token answer has no access_token".into()))?
            .to_owned();
        let expires_in = body["expires_in"].as_u64().unwrap_or(7200);
        // Renew at 90% of the lifetime: a long push never sends a stale token.
        let lifetime = Duration::from_secs(expires_in).mul_f64(0.9);
        tracing::debug!(expires_in, "got an access token");
        Ok(Token {
            value,
            renew_at: started + lifetime,
            generation,
        })
    }

    /// Sends `request` with the token; a 401 renews the token and retries once.
    pub async fn send(&self, request: &ApiRequest) -> Result<Response, ApiError> {
        let (token, generation) = self.token().await?;
        match self.send_with(request, &token).await {
            Err(ApiError::Status { status: 401, .. }) => {
                self.invalidate(generation).await;
                let (token, _) = self.token().await?;
                match self.send_with(request, &token).await {
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

    async fn send_with(&self, request: &ApiRequest, token: &str) -> Result<Response, ApiError> {
        let url = format!("{}{}", self.base_url, request.path);
        let builder = match request.method {
            Method::Get => self.http.get(&url).query(&request.form),
            Method::Post => self.http.post(&url).form(&request.form),
            Method::Put => self.http.put(&url).form(&request.form),
        };
        let what = || format!("{} {}", request.method, request.path);
        let answer = builder
            .bearer_auth(token)
            .send()
            .await
            .map_err(|source| ApiError::Transport { what: what(), source })?;
        let status = answer.status().as_u16();
        let header = |name: &str| {
            answer
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let total_pages = header("total-pages").and_then(|v| v.trim().parse().ok());
        let per_page: Option<u32> = header("per-page").and_then(|v| v.trim().parse().ok());
        let total: Option<u32> = header("total").and_then(|v| v.trim().parse().ok());
        let bytes = answer
            .bytes()
            .await
            .map_err(|source| ApiError::Transport { what: what(), source })?;
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if (200..300).contains(&status) {
            let total_pages = total_pages.or(match (total, per_page) {
                (Some(t), Some(p)) if p > 0 => Some(t.div_ceil(p)),
                _ => None,
            });
            return Ok(Response {
                status,
                body,
                total_pages,
            });
        }
        let message = if body.is_null() {
            String::from_utf8_lossy(&bytes).trim().to_owned()
        } else {
            error_text(&body, status)
        };
        Err(ApiError::Status {
            status,
            message,
            retry_after,
        })
    }

    /// The user with this `integrationExternalId`, if Learn Amp has one.
    pub async fn user_by_external_id(&self, id: &str) -> Result<Option<RemoteUser>, ApiError> {
        let path = format!("/v1/users/by_integration_external_id/{}", path_segment(id));
        match self.send(&ApiRequest::new(Method::Get, path)).await {
            Ok(r) => RemoteUser::from_json(r.body).map(Some),
            Err(ApiError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The user with this email (case-insensitive), if Learn Amp has one.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<RemoteUser>, ApiError> {
        let request = ApiRequest::new(Method::Get, "/v1/users").field("filters[email]", email);
        let answer = self.send(&request).await?;
        let users = answer.body["users"].as_array().cloned().unwrap_or_default();
        users
            .into_iter()
            .map(RemoteUser::from_json)
            .find(|u| u.as_ref().map_or(true, |u| u.email.eq_ignore_ascii_case(email)))
            .transpose()
    }

    /// Every user, page by page.
    pub async fn all_users(&self) -> Result<Vec<RemoteUser>, ApiError> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            // `expanded` brings the manager, teams and custom fields too.
            let request = ApiRequest::new(Method::Get, "/v1/users")
                .field("expanded", "true")
                .field("page", page.to_string())
                .field("perPage", PER_PAGE.to_string());
            let answer = self.send(&request).await?;
            let users = answer.body["users"].as_array().cloned().unwrap_or_default();
            let count = users.len();
            for user in users {
                out.push(RemoteUser::from_json(user)?);
            }
            let last = match answer.total_pages {
                Some(total) => page >= total,
                None => count < PER_PAGE as usize,
            };
            if last || count == 0 {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// The id of the team with this name (case-insensitive), if it exists.
    pub async fn team_id(&self, name: &str) -> Result<Option<u64>, ApiError> {
        let request = ApiRequest::new(Method::Get, "/v1/teams").field("filters[name]", name);
        let answer = self.send(&request).await?;
        let teams = answer.body["teams"].as_array().cloned().unwrap_or_default();
        Ok(teams
            .iter()
            .find(|t| t["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .and_then(|t| t["id"].as_u64()))
    }

    /// Creates a team and returns its id.
    pub async fn create_team(&self, name: &str) -> Result<u64, ApiError> {
        let request = ApiRequest::new(Method::Post, "/v1/teams").field("name", name);
        let answer = self.send(&request).await?;
        answer.body["id"]
            .as_u64()
            .ok_or_else(|| ApiError::Unexpected(format!("a created team without an id: {}", answer.body)))
    }
}

/// The API's error text: `error`, then each field's messages.
fn error_text(body: &Value, status: u16) -> String {
    let mut text = match &body["error"] {
        Value::String(s) => s.clone(),
        Value::Null => format!("HTTP {status}"),
        other => other.to_string(),
    };
    if let Some(description) = body["error_description"].as_str() {
        text.push_str(": ");
        text.push_str(description);
    }
    if let Some(fields) = body["fullErrors"].as_object() {
        let details: Vec<String> = fields
            .iter()
            .map(|(field, messages)| {
                let messages: Vec<&str> = messages
                    .as_array()
                    .map(|m| m.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                format!("{field} {}", messages.join(", "))
            })
            .collect();
        if !details.is_empty() && !details.iter().all(|d| text.contains(d.as_str())) {
            text.push_str(" (");
            text.push_str(&details.join("; "));
            text.push(')');
        }
    }
    text
}
