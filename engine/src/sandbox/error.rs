//! The API's error responses: a status and a `{"error": "…"}` body, with
//! `fullErrors` (field → messages) for validation failures, in the two
//! shapes Learn Amp uses: parameter checks ("email is missing, …") and model
//! validation ("Validation failed: Email has already been taken").

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

/// An error response.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
    www_authenticate: Option<String>,
}

impl ApiError {
    /// `status` with `{"error": message}`.
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: json!({ "error": message.into() }),
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// `status` with the given body.
    pub(super) fn with_body(status: StatusCode, body: Value) -> Self {
        ApiError {
            status,
            body,
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// 404 `{"error": "Not found"}`, as every documented lookup answers.
    pub(super) fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "Not found")
    }

    /// 400 with a message and no `fullErrors` (mutually exclusive
    /// parameters, an unknown manager).
    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401 for a `/v1` request without a valid token.
    pub(super) fn unauthorized(message: &str) -> Self {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, message);
        e.www_authenticate = Some(format!(
            "Bearer realm=\"Learn Amp\", error=\"invalid_token\", error_description=\"{message}\""
        ));
        e
    }

    /// The status and body, for unit tests.
    #[cfg(test)]
    pub(super) fn parts(&self) -> (StatusCode, &Value) {
        (self.status, &self.body)
    }

    /// Adds a `Retry-After` header (seconds).
    pub(super) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = self.www_authenticate.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// Messages per field, in the order they were found.
#[derive(Debug, Default)]
pub(super) struct FieldErrors {
    entries: Vec<(String, String)>,
}

impl FieldErrors {
    /// Records that `field` (its API name) `message` ("is missing").
    pub(super) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.entries.push((field.into(), message.into()));
    }

    /// Whether nothing was recorded.
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `Ok(())` when empty, else the parameter-check 400:
    /// `"email is missing, firstName is missing"`.
    pub(super) fn into_params_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            return Ok(());
        }
        let message = self
            .entries
            .iter()
            .map(|(f, m)| format!("{f} {m}"))
            .collect::<Vec<_>>()
            .join(", ");
        Err(ApiError::with_body(
            StatusCode::BAD_REQUEST,
            json!({ "error": message, "fullErrors": self.full() }),
        ))
    }

    /// `Ok(())` when empty, else the model-validation 400:
    /// `"Validation failed: Email has already been taken"`.
    pub(super) fn into_validation_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            return Ok(());
        }
        let message = self
            .entries
            .iter()
            .map(|(f, m)| format!("{} {m}", humanize(f)))
            .collect::<Vec<_>>()
            .join(", ");
        let body = json!({ "error": format!("Validation failed: {message}"), "fullErrors": self.full() });
        Err(ApiError::with_body(StatusCode::BAD_REQUEST, body))
    }

    fn full(&self) -> Value {
        let mut full = Map::new();
        for (field, message) in &self.entries {
            let messages = full.entry(field.clone()).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = messages {
                list.push(Value::String(message.clone()));
            }
        }
        Value::Object(full)
    }
}

/// Rails' `humanize` of an API field name: `integrationExternalId` →
/// `Integration external id`.
fn humanize(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for (i, c) in field.chars().enumerate() {
        if i == 0 {
            out.extend(c.to_uppercase());
        } else if c.is_uppercase() {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanizes_camel_case() {
        assert_eq!(humanize("integrationExternalId"), "Integration external id");
        assert_eq!(humanize("email"), "Email");
    }

    #[test]
    fn groups_messages_by_field_in_order() {
        let mut errors = FieldErrors::default();
        errors.add("email", "is missing");
        errors.add("firstName", "is missing");
        errors.add("email", "is empty");
        assert_eq!(
            errors.full(),
            json!({ "email": ["is missing", "is empty"], "firstName": ["is missing"] })
        );
    }
}
