//! Request parameters as Rails receives them: an ordered list of
//! `(key, value)` pairs, keys in bracket notation (`secondaryTeamIds[]`,
//! `customFields[][name]`, `filters[status][]`), repeated keys kept.
//!
//! They come from a query string, an `application/x-www-form-urlencoded`
//! body (parsed here: serde_urlencoded cannot take repeated keys) or a JSON
//! body, which is flattened into the same keys so both reach one validator.

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use super::error::ApiError;

/// Parameters in arrival order.
#[derive(Debug, Default)]
pub(super) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a raw query string (`None`: no parameters).
    pub(super) fn from_query(query: Option<&str>) -> Self {
        Params {
            pairs: query.map(parse_urlencoded).unwrap_or_default(),
        }
    }

    /// Parses a request body by its `Content-Type`: form-encoded (also when
    /// there is none) or JSON. multipart/form-data is refused with 415.
    pub(super) fn from_body(headers: &HeaderMap, body: &[u8]) -> Result<Self, ApiError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
            .unwrap_or_default();
        match content_type.as_str() {
            "" | "application/x-www-form-urlencoded" => Ok(Params {
                pairs: parse_urlencoded(&String::from_utf8_lossy(body)),
            }),
            "application/json" if body.iter().all(u8::is_ascii_whitespace) => Ok(Params::default()),
            "application/json" => from_json(body),
            other => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported content type {other:?}: send application/x-www-form-urlencoded or application/json"
                ),
            )),
        }
    }

    /// Every pair, in order.
    pub(super) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The last value of `key` (Rails keeps the last of repeated scalars).
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Whether `key` or `key[]` was sent at all.
    pub(super) fn has_list(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| is_list_key(k, key))
    }

    /// The non-empty values sent as `key[]` (or a bare `key`), or `None`
    /// when neither was sent. `key[]=` alone gives an empty list, so a list
    /// can be cleared with form encoding.
    pub(super) fn list(&self, key: &str) -> Option<Vec<&str>> {
        if !self.has_list(key) {
            return None;
        }
        let values = self
            .pairs
            .iter()
            .filter(|(k, _)| is_list_key(k, key))
            .map(|(_, v)| v.as_str());
        Some(values.filter(|v| !v.is_empty()).collect())
    }
}

fn is_list_key(k: &str, key: &str) -> bool {
    k.strip_prefix(key).is_some_and(|rest| rest.is_empty() || rest == "[]")
}

/// `a=1&b=x+y&c=%2F` → pairs, percent-decoded, `+` as space. A pair
/// without `=` has an empty value; empty segments are skipped.
fn parse_urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (k, v) = segment.split_once('=').unwrap_or((segment, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decodes one component; a malformed escape is kept as it is.
fn decode(component: &str) -> String {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)).map(|(hi, lo)| hi << 4 | lo),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Flattens a JSON object body into Rails-style pairs: scalars as they are,
/// `null` as `""` (clears), arrays as `key[]` (an empty array as one empty
/// `key[]`), objects inside arrays as `key[][field]`, objects as
/// `key[field]`.
fn from_json(body: &[u8]) -> Result<Params, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request("body must be a JSON object"));
    };
    let mut pairs = Vec::new();
    for (key, value) in map {
        flatten(&key, value, 0, &mut pairs)?;
    }
    Ok(Params { pairs })
}

fn flatten(key: &str, value: Value, depth: usize, pairs: &mut Vec<(String, String)>) -> Result<(), ApiError> {
    if depth > 2 {
        return Err(ApiError::bad_request(format!("{key} is nested too deeply")));
    }
    match value {
        Value::Null => pairs.push((key.to_owned(), String::new())),
        Value::String(s) => pairs.push((key.to_owned(), s)),
        Value::Bool(b) => pairs.push((key.to_owned(), b.to_string())),
        Value::Number(n) => pairs.push((key.to_owned(), n.to_string())),
        Value::Array(items) if items.is_empty() => pairs.push((format!("{key}[]"), String::new())),
        Value::Array(items) => {
            for item in items {
                flatten(&format!("{key}[]"), item, depth + 1, pairs)?;
            }
        }
        Value::Object(fields) => {
            for (field, item) in fields {
                flatten(&format!("{key}[{field}]"), item, depth + 1, pairs)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn parses_repeated_keys_and_escapes() {
        assert_eq!(
            parse_urlencoded("a=1&secondaryTeamIds%5B%5D=2&secondaryTeamIds[]=3&n=J+Doe%2B&bad=%zz%4&flag"),
            pairs(&[
                ("a", "1"),
                ("secondaryTeamIds[]", "2"),
                ("secondaryTeamIds[]", "3"),
                ("n", "J Doe+"),
                ("bad", "%zz%4"),
                ("flag", ""),
            ])
        );
    }

    #[test]
    fn decodes_utf8() {
        assert_eq!(decode("Ren%C3%A9e"), "Renée");
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("a%2"), "a%2");
    }

    #[test]
    fn lists_take_bracketed_and_bare_keys() {
        let p = Params {
            pairs: pairs(&[("ids[]", "1"), ("ids", "2"), ("idsx", "3"), ("ids[]", "")]),
        };
        assert_eq!(p.list("ids"), Some(vec!["1", "2"]));
        assert_eq!(p.list("other"), None);
        let cleared = Params {
            pairs: pairs(&[("ids[]", "")]),
        };
        assert_eq!(cleared.list("ids"), Some(vec![]));
    }

    #[test]
    fn flattens_json_like_rails() {
        let body = br#"{"email":"a@b.c","managerId":null,"skipInvitation":true,"primaryTeamId":15,
            "secondaryTeamIds":[1,2],"secondaryTeamIntegrationExternalIds":[],
            "customFields":[{"name":"Cost centre","value":"CC1"}]}"#;
        let p = from_json(body).expect("valid JSON");
        let mut got = p.pairs;
        got.sort();
        let mut want = pairs(&[
            ("email", "a@b.c"),
            ("managerId", ""),
            ("skipInvitation", "true"),
            ("primaryTeamId", "15"),
            ("secondaryTeamIds[]", "1"),
            ("secondaryTeamIds[]", "2"),
            ("secondaryTeamIntegrationExternalIds[]", ""),
            ("customFields[][name]", "Cost centre"),
            ("customFields[][value]", "CC1"),
        ]);
        want.sort();
        assert_eq!(got, want);
    }
}
