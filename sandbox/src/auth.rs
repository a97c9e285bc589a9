//! OAuth2 client credentials: `POST /oauth/token` issues bearer tokens that
//! carry the scopes granted (see `scopes`) and expire after the configured
//! TTL, and the `/v1` guard refuses a request without a live one (401
//! `{"error": "…"}` and a `WWW-Authenticate` challenge) and hands the
//! token's grant on to the scope guard. Error bodies of the token endpoint
//! follow RFC 6749 §5.2, as Doorkeeper (behind Learn Amp's endpoint)
//! answers them.

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

use crate::{
    body,
    error::ApiError,
    scopes::{self, Grant},
    state::Shared,
};

/// Issued tokens: when each stops being valid and what it may do.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    live: HashMap<String, (Instant, Grant)>,
    issued: u64,
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
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
    /// Issues a new token with `grant`, valid for `ttl` from `now`.
    pub(crate) fn issue(&mut self, now: Instant, ttl: Duration, grant: Grant) -> String {
        // Forget tokens long dead, so a long run does not grow without end.
        self.live
            .retain(|_, (until, _)| now.saturating_duration_since(*until) < Duration::from_secs(86_400));
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
        self.live.insert(token.clone(), (now + ttl, grant));
        token
    }

    /// The grant of `token` if it is live at `now`.
    pub(crate) fn check(&self, token: &str, now: Instant) -> Result<Grant, Refusal> {
        match self.live.get(token) {
            None => Err(Refusal::Unknown),
            Some((until, _)) if now >= *until => Err(Refusal::Expired),
            Some((_, grant)) => Ok(grant.clone()),
        }
    }

    /// Makes every issued token expire at `now`.
    pub(crate) fn expire_all(&mut self, now: Instant) {
        for (until, _) in self.live.values_mut() {
            *until = (*until).min(now);
        }
    }
}

/// `POST /oauth/token`.
pub(crate) async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, raw: Bytes) -> Response {
    let params = match body::parse(&headers, &raw).await {
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
    let Ok(grant) = scopes::grant(shared.provisioned_scopes(), params.get("scope")) else {
        let description = "The requested scope is invalid, unknown, or malformed.";
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", description);
    };
    let ttl = shared.token_ttl();
    let scope = grant.scope_text();
    let access_token = shared.issue_token(grant);
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

/// The `/v1` guard: passes a request with a live bearer token, its grant
/// attached, else 401.
pub(crate) async fn require_token(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
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
        Ok(grant) => {
            request.extensions_mut().insert(grant);
            next.run(request).await
        }
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
        let grant = Grant {
            scopes: vec!["users:read".to_owned()],
            full_access: false,
        };
        let a = tokens.issue(start, Duration::from_secs(10), grant.clone());
        let b = tokens.issue(start, Duration::from_secs(10), grant.clone());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(tokens.check(&a, start + Duration::from_secs(9)), Ok(grant));
        assert_eq!(tokens.check(&a, start + Duration::from_secs(10)), Err(Refusal::Expired));
        assert_eq!(tokens.check("nope", start), Err(Refusal::Unknown));
        tokens.expire_all(start);
        assert_eq!(tokens.check(&b, start), Err(Refusal::Expired));
    }
}
