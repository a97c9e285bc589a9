//! A request as data: method, path and form fields, so a plan can show
//! exactly what a push will send.

use std::fmt;

/// The HTTP methods ampsync uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        })
    }
}

/// One API call: the path is relative to the base URL (`/v1/users`), the
/// form fields are sent form-encoded (repeated names for arrays, as the API
/// documents: `secondaryTeamIds[]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub form: Vec<(String, String)>,
}

impl ApiRequest {
    pub fn new(method: Method, path: impl Into<String>) -> ApiRequest {
        ApiRequest {
            method,
            path: path.into(),
            form: Vec::new(),
        }
    }

    /// Adds a form field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> ApiRequest {
        self.form.push((name.into(), value.into()));
        self
    }

    /// True for calls that change Learn Amp.
    pub fn is_write(&self) -> bool {
        self.method != Method::Get
    }
}

/// Percent-encodes one path segment (an external id may hold `/` or spaces).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(path_segment("E 1/2ü"), "E%201%2F2%C3%BC");
        assert_eq!(path_segment("EPOS-12345"), "EPOS-12345");
    }
}
