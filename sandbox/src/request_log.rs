//! The request log, for tests to assert on what a client sent: each
//! `/v1/*` and `/oauth/token` request with its query and body fields as
//! received (in order, whatever the encoding) and the status it was
//! answered with. The `client_secret` of a token request is never kept.
//!
//! The log middleware is the outermost layer, so requests refused by a
//! fault, the token guard or the scope guard are logged too. A write whose
//! connection was dropped after it was applied is logged with the status
//! the client never saw. It also counts the 403s and 422s.

use std::{collections::VecDeque, sync::Arc};

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use crate::{body, error::ApiError, params::Params, state::Shared};

/// How many requests the log keeps: the most recent.
const CAPACITY: usize = 100_000;

/// The largest body read (axum's default limit for a body extractor).
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// What replaces the `client_secret` of a logged token request.
pub(crate) const REDACTED: &str = "<redacted>";

/// One answered request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// `GET`, `POST`, `PUT`, `DELETE`, …
    pub method: String,
    /// The path as sent, still percent-encoded
    /// (`/v1/users/by_integration_external_id/HR%2F1001`).
    pub path: String,
    /// The query's fields, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The body's fields as received, decoded, in order: form and multipart
    /// fields as they are, a JSON body flattened into the keys a form would
    /// use (`customFields[][name]`). Empty when the body could not be read.
    pub form: Vec<(String, String)>,
    /// The status answered.
    pub status: u16,
}

/// The most recent requests.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: VecDeque<LoggedRequest>,
}

impl RequestLog {
    /// Appends one, forgetting the oldest past the capacity.
    pub(crate) fn push(&mut self, request: LoggedRequest) {
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(request);
    }

    /// Every kept request, oldest first.
    pub(crate) fn all(&self) -> Vec<LoggedRequest> {
        self.entries.iter().cloned().collect()
    }
}

/// Whether requests to `path` are logged.
fn is_logged(path: &str) -> bool {
    path == "/oauth/token" || path.starts_with("/v1/")
}

/// The middleware: reads the body (and hands it on), runs the request,
/// logs it with its status.
pub(crate) async fn record(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if !is_logged(&path) {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let query = Params::from_query(request.uri().query()).into_pairs();
    let (parts, raw) = request.into_parts();
    let (form, response) = match to_bytes(raw, BODY_LIMIT).await {
        Ok(bytes) => {
            let form = body::parse(&parts.headers, &bytes)
                .await
                .map(Params::into_pairs)
                .unwrap_or_default();
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            (form, response)
        }
        Err(_) => {
            let too_large = ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large");
            (Vec::new(), too_large.into_response())
        }
    };
    let status = response.status();
    if path.starts_with("/v1/") {
        match status {
            StatusCode::FORBIDDEN => shared.counters.bump(&shared.counters.forbidden),
            StatusCode::UNPROCESSABLE_ENTITY => shared.counters.bump(&shared.counters.unprocessable),
            _ => {}
        }
    }
    let form = if path == "/oauth/token" { redacted(form) } else { form };
    shared.log_request(LoggedRequest {
        method,
        path,
        query,
        form,
        status: status.as_u16(),
    });
    response
}

/// The fields with every `client_secret` value replaced.
fn redacted(mut form: Vec<(String, String)>) -> Vec<(String, String)> {
    for (key, value) in &mut form {
        if key == "client_secret" {
            *value = REDACTED.to_owned();
        }
    }
    form
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> LoggedRequest {
        LoggedRequest {
            method: "GET".to_owned(),
            path: format!("/v1/users/{n}"),
            query: Vec::new(),
            form: Vec::new(),
            status: 200,
        }
    }

    #[test]
    fn keeps_the_most_recent() {
        let mut log = RequestLog::default();
        for n in 0..CAPACITY + 2 {
            log.push(entry(n));
        }
        let all = log.all();
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0], entry(2));
    }

    #[test]
    fn redacts_only_the_secret() {
        let form = vec![
            ("client_id".to_owned(), "id".to_owned()),
            ("client_secret".to_owned(), "s3cret".to_owned()),
        ];
        assert_eq!(
            redacted(form),
            vec![
                ("client_id".to_owned(), "id".to_owned()),
                ("client_secret".to_owned(), REDACTED.to_owned())
            ]
        );
    }
}
