//! Who may read and act: the console token, sessions, CSRF tokens.
//!
//! The token comes from `console.token_env`, or is made at start and shown
//! once as a login URL (as Jupyter does). The API takes it as
//! `Authorization: Bearer TOKEN`; a browser trades it once at
//! `GET /login?token=…` for a session cookie (`HttpOnly`,
//! `SameSite=Strict`, `Secure` behind an https `public_url`). Each session
//! has its own CSRF token, which every form carries and every POST checks.
//! Tokens are compared in constant time. Sessions live in memory: a restart
//! logs everyone out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Console;
use super::page;

/// The session cookie's name.
const COOKIE: &str = "ampsync_session";

/// Where the token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `console.token_env`.
    Env,
    /// Made at start: shown once as a login URL.
    Generated,
}

/// The token and the sessions it opened.
#[derive(Debug)]
pub struct Auth {
    token: String,
    pub source: TokenSource,
    secure: bool,
    sessions: Mutex<HashMap<String, Session>>,
}

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token every form of this session carries.
    pub csrf: String,
}

impl Auth {
    /// The token from `console.token_env`, or a new random one.
    pub fn from_config(config: &ampsync_engine::ConsoleConfig) -> anyhow::Result<Auth> {
        let from_env = config
            .token_env
            .as_deref()
            .and_then(|var| std::env::var(var).ok())
            .filter(|t| !t.trim().is_empty());
        let (token, source) = match from_env {
            Some(token) => (token, TokenSource::Env),
            None => (random()?, TokenSource::Generated),
        };
        let secure = config
            .public_url
            .as_deref()
            .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"));
        Ok(Auth {
            token,
            source,
            secure,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    /// The URL that logs a browser in, at `base` (`http://127.0.0.1:8080`).
    pub fn login_url(&self, base: &str) -> String {
        format!("{}/login?token={}", base.trim_end_matches('/'), self.token)
    }

    fn is_token(&self, given: &str) -> bool {
        constant_time_eq::constant_time_eq(given.as_bytes(), self.token.as_bytes())
    }

    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, COOKIE)?;
        let sessions = self.sessions.lock().ok()?;
        // A map lookup by a secret id can leak timing; compare each in
        // constant time instead (there are few sessions).
        sessions
            .iter()
            .find(|(known, _)| constant_time_eq::constant_time_eq(known.as_bytes(), id.as_bytes()))
            .map(|(_, s)| s.clone())
    }

    fn open_session(&self) -> anyhow::Result<(String, Session)> {
        let id = random()?;
        let session = Session { csrf: random()? };
        self.sessions
            .lock()
            .map_err(|_| anyhow::anyhow!("the session table is poisoned"))?
            .insert(id.clone(), session.clone());
        Ok((id, session))
    }

    fn set_cookie(&self, id: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{secure}")
    }
}

/// 32 random bytes as hex.
fn random() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the system: {e}"))?;
    Ok(crate::output::hex(&bytes))
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// `/login?token=`.
#[derive(Debug, serde::Deserialize)]
pub struct LoginQuery {
    token: Option<String>,
}

/// `GET /login?token=…`: a right token opens a session and goes to the
/// overview; none or a wrong one shows the login page.
pub async fn login(State(console): State<Arc<Console>>, Query(q): Query<LoginQuery>) -> Response {
    let auth = &console.auth;
    match q.token {
        Some(token) if auth.is_token(&token) => match auth.open_session() {
            Ok((id, _)) => (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, auth.set_cookie(&id)),
                    (header::LOCATION, "/".to_owned()),
                ],
            )
                .into_response(),
            Err(e) => page::error(&e),
        },
        Some(_) => page::login(true),
        None => page::login(false),
    }
}

/// Lets a request through with a valid bearer token (the API) or session
/// (pages, with the [`Session`] for the handler); otherwise 401, and the
/// login page for a page.
pub async fn require(State(console): State<Arc<Console>>, mut request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let headers = request.headers();
    if is_api {
        if bearer(headers).is_some_and(|t| console.auth.is_token(t)) {
            return next.run(request).await;
        }
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(serde_json::json!({"error": "the console token is required: Authorization: Bearer TOKEN"})),
        )
            .into_response();
    }
    match console.auth.session(headers) {
        Some(session) => {
            request.extensions_mut().insert(session);
            next.run(request).await
        }
        None => page::login(false),
    }
}

/// Whether a form's CSRF token is its session's.
pub fn csrf_ok(session: &Session, given: &str) -> bool {
    constant_time_eq::constant_time_eq(session.csrf.as_bytes(), given.as_bytes())
}

/// The refusal of a POST whose CSRF token is missing or wrong.
pub fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        page::html_error(
            "This form is out of date or did not come from the console. Go back, reload the page, and try again.",
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_bearer_tokens_are_read_from_their_headers() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; ampsync_session=abc".parse().expect("header"));
        h.append(header::AUTHORIZATION, "Bearer t0k".parse().expect("header"));
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(bearer(&h), Some("t0k"));
    }

    #[test]
    fn the_cookie_is_secure_only_behind_https() {
        let mut config = ampsync_engine::ConsoleConfig::default();
        let plain = Auth::from_config(&config).expect("auth");
        assert_eq!(plain.source, TokenSource::Generated);
        assert_eq!(
            plain.set_cookie("x"),
            "ampsync_session=x; Path=/; HttpOnly; SameSite=Strict"
        );
        config.public_url = Some("https://ampsync.acme.example".into());
        let tls = Auth::from_config(&config).expect("auth");
        assert!(tls.set_cookie("x").ends_with("; Secure"));
        assert!(!plain.is_token(&tls.token), "each start makes its own token");
        assert!(tls.is_token(&tls.token.clone()));
    }
}
