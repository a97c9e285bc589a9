//! Request bodies in the three encodings Learn Amp's clients send, read into
//! the same Rails-style [`Params`]: `application/x-www-form-urlencoded`
//! (also when no `Content-Type` is given), `multipart/form-data` (what the
//! docs' `curl --form` sends) and `application/json`, flattened into the
//! bracketed keys a form would use.

use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode, header},
};
use serde_json::Value;

use crate::{error::ApiError, params::Params};

/// The body's fields, in the order they were sent.
pub(crate) async fn parse(headers: &HeaderMap, body: &Bytes) -> Result<Params, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "" | "application/x-www-form-urlencoded" => Ok(Params::from_urlencoded(&String::from_utf8_lossy(body))),
        "application/json" if body.iter().all(u8::is_ascii_whitespace) => Ok(Params::default()),
        "application/json" => from_json(body),
        "multipart/form-data" => from_multipart(content_type, body.clone()).await,
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "unsupported content type {other:?}: send application/x-www-form-urlencoded, multipart/form-data \
                 or application/json"
            ),
        )),
    }
}

/// Each part's name and text, in order.
async fn from_multipart(content_type: &str, body: Bytes) -> Result<Params, ApiError> {
    let malformed = |e: multer::Error| ApiError::bad_request(format!("the multipart/form-data body is malformed: {e}"));
    let boundary = multer::parse_boundary(content_type).map_err(malformed)?;
    let mut multipart = multer::Multipart::with_reader(std::io::Cursor::new(body), boundary);
    let mut pairs = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let value = field.text().await.map_err(malformed)?;
        pairs.push((name, value));
    }
    Ok(Params::from_pairs(pairs))
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
    Ok(Params::from_pairs(pairs))
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

    fn typed(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = content_type.parse() {
            headers.insert(header::CONTENT_TYPE, value);
        }
        headers
    }

    #[test]
    fn flattens_json_like_rails() {
        let body = br#"{"email":"a@b.c","managerId":null,"skipInvitation":true,"primaryTeamId":15,
            "secondaryTeamIds":[1,2],"secondaryTeamIntegrationExternalIds":[],
            "customFields":[{"name":"Cost centre","value":"CC1"}]}"#;
        let mut got = from_json(body).expect("valid JSON").into_pairs();
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

    #[tokio::test]
    async fn reads_each_encoding_in_order() {
        let form = parse(&HeaderMap::new(), &Bytes::from_static(b"a=1&b[]=2&b[]=3"))
            .await
            .expect("form");
        let want = pairs(&[("a", "1"), ("b[]", "2"), ("b[]", "3")]);
        assert_eq!(form.into_pairs(), want);

        let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
                         --XyZ\r\nContent-Disposition: form-data; name=\"b[]\"\r\n\r\n2\r\n\
                         --XyZ\r\nContent-Disposition: form-data; name=\"b[]\"\r\n\r\n3\r\n--XyZ--\r\n";
        let got = parse(
            &typed("multipart/form-data; boundary=XyZ"),
            &Bytes::from(multipart.to_owned()),
        )
        .await
        .expect("multipart");
        assert_eq!(got.into_pairs(), want);

        let broken = parse(&typed("multipart/form-data"), &Bytes::from_static(b"--x--")).await;
        assert!(broken.is_err());
        let other = parse(&typed("text/plain"), &Bytes::from_static(b"a=1")).await;
        assert!(other.is_err());
    }
}
