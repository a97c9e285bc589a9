//! OAuth2 client credentials: `POST /oauth/token` issues bearer tokens that
//! expire after the configured TTL, and the `/v1` guard refuses a request
//! without a live one (401 `{"error": "…"}` and a `WWW-Authenticate`
//! challenge). Error bodies of the token endpoint follow RFC 6749 §5.2, as
//! Doorkeeper (behind Learn Amp's endpoint) answers them.

use std::{collections::HashMap, sync::Arc, time::Duration};

use axum::{
    Json,
    body::Bytes,
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;
use tokio::time::Instant;

use super::{error::ApiError, params::Params, state::Shared};

/// Issued tokens and when each stops being valid.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    expiry: HashMap<String, Instant>,
    issued: u64,
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    Missing,
    Unknown,
    Expired,
}

impl Refusal {
    fn message(self) -> &'static str {
        match self {
            Refusal::Missing => "The access token is missing",
            Refusal::Unknown => "The access token is invalid",
            Refusal::Expired => "The access token expired",
        }
    }
}

impl Tokens {
    /// Issues a new token valid for `ttl` from `now`.
    pub(super) fn issue(&mut self, now: Instant, ttl: Duration) -> String {
        // Forget tokens long dead, so a long run does not grow without end.
        self.expiry
            .retain(|_, until| now.saturating_duration_since(*until) < Duration::from_secs(86_400));
        self.issued += 1;
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.issued.to_le_bytes());
        hasher.update(
            &chrono::Utc::now()
                .timestamp_nanos_opt()
                .unwrap_or_default()
                .to_le_bytes(),
        );
        // RandomState's keys are random per process: tokens differ across runs.
        hasher.update(
            &std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), self.issued)
                .to_le_bytes(),
        );
        let token = hasher.finalize().to_hex()[..43].to_owned();
        self.expiry.insert(token.clone(), now + ttl);
        token
    }

    /// Whether `token` is live at `now`.
    pub(super) fn check(&self, token: &str, now: Instant) -> Result<(), Refusal> {
        match self.expiry.get(token) {
            None => Err(Refusal::Unknown),
            Some(until) if now >= *until => Err(Refusal::Expired),
            Some(_) => Ok(()),
        }
    }

    /// Makes every issued token expire at `now`.
    pub(super) fn expire_all(&mut self, now: Instant) {
        for until in self.expiry.values_mut() {
            *until = (*until).min(now);
        }
    }
}

/// `POST /oauth/token`.
pub(super) async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let params = match Params::from_body(&headers, &body) {
        Ok(params) => params,
        Err(e) => return e.into_response(),
    };
    match params.get("grant_type") {
        None | Some("") => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: grant_type.",
            );
        }
        Some("client_credentials") => {}
        Some(_) => {
            let description = "The authorization grant type is not supported by the authorization server.";
            return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", description);
        }
    }
    if !shared.is_client(params.get("client_id"), params.get("client_secret")) {
        let description = "Client authentication failed due to unknown client, no client authentication included, \
                           or unsupported authentication method.";
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    }
    let ttl = shared.token_ttl();
    let access_token = shared.issue_token();
    let scope = params.get("scope").filter(|s| !s.trim().is_empty()).unwrap_or("public");
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
        "scope": scope,
        "created_at": chrono::Utc::now().timestamp(),
    });
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// The `/v1` guard: passes a request with a live bearer token, else 401.
pub(super) async fn require_token(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        })
        .map(|(_, token)| token.trim().to_owned());
    let verdict = match token {
        None => Err(Refusal::Missing),
        Some(token) => shared.check_token(&token),
    };
    match verdict {
        Ok(()) => next.run(request).await,
        Err(refusal) => ApiError::unauthorized(refusal.message()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_live_until_their_ttl_or_until_expired() {
        let mut tokens = Tokens::default();
        let start = Instant::now();
        let a = tokens.issue(start, Duration::from_secs(10));
        let b = tokens.issue(start, Duration::from_secs(10));
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(tokens.check(&a, start + Duration::from_secs(9)), Ok(()));
        assert_eq!(tokens.check(&a, start + Duration::from_secs(10)), Err(Refusal::Expired));
        assert_eq!(tokens.check("nope", start), Err(Refusal::Unknown));
        tokens.expire_all(start);
        assert_eq!(tokens.check(&b, start), Err(Refusal::Expired));
    }
}
