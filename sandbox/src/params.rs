//! Request parameters as Rails receives them: an ordered list of
//! `(key, value)` pairs, keys in bracket notation (`secondaryTeamIds[]`,
//! `customFields[][name]`, `filters[status][]`), repeated keys kept.
//!
//! They come from a query string or a request body (`body` reads every
//! encoding into these pairs, so each reaches one validator). URL-encoded
//! text is parsed here: serde_urlencoded cannot keep repeated keys.

/// Parameters in arrival order.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a raw query string (`None`: no parameters).
    pub(crate) fn from_query(query: Option<&str>) -> Self {
        Params {
            pairs: query.map(parse_urlencoded).unwrap_or_default(),
        }
    }

    /// These pairs, in this order.
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Params { pairs }
    }

    /// Parses `application/x-www-form-urlencoded` text.
    pub(crate) fn from_urlencoded(text: &str) -> Self {
        Params {
            pairs: parse_urlencoded(text),
        }
    }

    /// The pairs, given up.
    pub(crate) fn into_pairs(self) -> Vec<(String, String)> {
        self.pairs
    }

    /// Every pair, in order.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The last value of `key` (Rails keeps the last of repeated scalars).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Whether `key` or `key[]` was sent at all.
    pub(crate) fn has_list(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| is_list_key(k, key))
    }

    /// The non-empty values sent as `key[]` (or a bare `key`), or `None`
    /// when neither was sent. `key[]=` alone gives an empty list, so a list
    /// can be cleared with form encoding.
    pub(crate) fn list(&self, key: &str) -> Option<Vec<&str>> {
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
}
