//! The API's error responses: a status and a `{"error": "…"}` body, with
//! `fullErrors` (field → messages) for validation failures, in the shapes
//! Learn Amp's docs show: parameter checks ("email is missing, …"), model
//! validation ("Validation failed: Email has already been taken"; for teams
//! without the prefix), and OAuth's `{"error", "error_description"}` for a
//! token without the needed scope.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

/// An error response.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
    www_authenticate: Option<String>,
}

impl ApiError {
    /// `status` with `{"error": message}`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: json!({ "error": message.into() }),
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// `status` with the given body.
    pub(crate) fn with_body(status: StatusCode, body: Value) -> Self {
        ApiError {
            status,
            body,
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// 404 `{"error": "Not found"}`, as every documented lookup answers.
    pub(crate) fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "Not found")
    }

    /// 400 with a message and no `fullErrors` (mutually exclusive
    /// parameters, an unknown manager).
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 422 with a message (`hr` without the package, an unknown
    /// `occupationRole`).
    pub(crate) fn unprocessable(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 403 for a token without `scope`, as Doorkeeper answers it.
    pub(crate) fn insufficient_scope(scope: &str) -> Self {
        let mut e = ApiError::with_body(
            StatusCode::FORBIDDEN,
            json!({
                "error": "insufficient_scope",
                "error_description": format!("This action requires the `{scope}` scope."),
            }),
        );
        e.www_authenticate = Some(format!(
            "Bearer realm=\"Learn Amp\", error=\"insufficient_scope\", scope=\"{scope}\""
        ));
        e
    }

    /// 401 for a `/v1` request without a valid token.
    pub(crate) fn unauthorized(message: &str) -> Self {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, message);
        e.www_authenticate = Some(format!(
            "Bearer realm=\"Learn Amp\", error=\"invalid_token\", error_description=\"{message}\""
        ));
        e
    }

    /// The status and body, for unit tests.
    #[cfg(test)]
    pub(crate) fn parts(&self) -> (StatusCode, &Value) {
        (self.status, &self.body)
    }

    /// Adds a `Retry-After` header (seconds).
    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
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
pub(crate) struct FieldErrors {
    entries: Vec<(String, String)>,
}

impl FieldErrors {
    /// Records that `field` (its API name) `message` ("is missing").
    pub(crate) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.entries.push((field.into(), message.into()));
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `Ok(())` when empty, else the parameter-check 400:
    /// `"email is missing, firstName is missing"`.
    pub(crate) fn into_params_result(self) -> Result<(), ApiError> {
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
    pub(crate) fn into_validation_result(self) -> Result<(), ApiError> {
        self.into_model_result("Validation failed: ")
    }

    /// `Ok(())` when empty, else the 400 the teams endpoints answer for a
    /// model validation: `"Integration external id has already been taken"`.
    pub(crate) fn into_team_validation_result(self) -> Result<(), ApiError> {
        self.into_model_result("")
    }

    fn into_model_result(self, prefix: &str) -> Result<(), ApiError> {
        if self.is_empty() {
            return Ok(());
        }
        let message = self
            .entries
            .iter()
            .map(|(f, m)| format!("{} {m}", humanize(f)))
            .collect::<Vec<_>>()
            .join(", ");
        let body = json!({ "error": format!("{prefix}{message}"), "fullErrors": self.full() });
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
