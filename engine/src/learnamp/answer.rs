//! Reading an answer safely: bodies read up to a cap, error texts shortened
//! before they are kept or shown, `Retry-After` in either of its forms.

use std::time::Duration;

use serde_json::Value;

use super::ApiError;

/// The most of a JSON answer read (a page of 100 expanded users is ~200 KiB).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// The most of an error text kept (in the store, the run log, messages).
pub const MAX_ERROR_CHARS: usize = 1000;

/// The body of `answer`, refused past `limit` bytes without reading on.
pub async fn read_body(mut answer: reqwest::Response, what: &str, limit: usize) -> Result<Vec<u8>, ApiError> {
    if answer.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ApiError::TooLarge {
            what: what.to_owned(),
            limit,
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(|source| ApiError::Transport {
        what: what.to_owned(),
        source,
    })? {
        if body.len() + chunk.len() > limit {
            return Err(ApiError::TooLarge {
                what: what.to_owned(),
                limit,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The body as JSON (`Null` when empty or not JSON).
pub fn json(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap_or(Value::Null)
    }
}

/// The API's error text: `error` (and `error_description`), then each
/// field's messages; the start of the body when it is not JSON. Shortened
/// to [`MAX_ERROR_CHARS`].
pub fn error_text(bytes: &[u8], status: u16) -> String {
    let body = json(bytes);
    let text = if body.is_null() {
        let raw = String::from_utf8_lossy(bytes);
        let raw = raw.trim();
        if raw.is_empty() {
            format!("HTTP {status}")
        } else {
            raw.to_owned()
        }
    } else {
        json_error_text(&body, status)
    };
    shorten(&text, MAX_ERROR_CHARS)
}

fn json_error_text(body: &Value, status: u16) -> String {
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

/// `text` cut to at most `max` characters, saying how much was left out.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}… ({} more bytes)", &text[..cut], text.len() - cut),
    }
}

/// `Retry-After`: delay-seconds, or an HTTP date (a date in the past is 0).
pub fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_carry_field_errors_and_are_shortened() {
        let body = br#"{"error":"Validation failed","fullErrors":{"role":["is not included in the list"]}}"#;
        assert_eq!(
            error_text(body, 400),
            "Validation failed (role is not included in the list)"
        );
        assert_eq!(error_text(b"", 503), "HTTP 503");
        let huge = "x".repeat(50_000);
        let text = error_text(huge.as_bytes(), 500);
        assert_eq!(text, format!("{}… (49000 more bytes)", "x".repeat(1000)));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let wait = retry_after(&soon).expect("a date");
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert_eq!(retry_after("soon"), None);
    }
}
