//! Pagination of "View All" responses: `page` (1-based) and `perPage`
//! (default 25, at most 100) in, the `Total`, `Per-Page` and `Total-Pages`
//! headers out. A page past the last is empty, not an error.

use axum::{
    Json,
    http::{HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value};

use crate::{
    error::{ApiError, FieldErrors},
    params::Params,
};

/// Results per page when `perPage` is not sent.
pub(crate) const DEFAULT_PER_PAGE: usize = 25;
/// The largest `perPage` honoured; more is served as this.
pub(crate) const MAX_PER_PAGE: usize = 100;

/// One requested page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Page {
    number: usize,
    per_page: usize,
}

impl Page {
    /// Reads `page` and `perPage`; a value that is not a positive integer is
    /// a 400 ("page is invalid").
    pub(crate) fn from_params(params: &Params) -> Result<Page, ApiError> {
        let mut errors = FieldErrors::default();
        let number = positive(params, "page", 1, &mut errors);
        let per_page = positive(params, "perPage", DEFAULT_PER_PAGE, &mut errors).min(MAX_PER_PAGE);
        errors.into_params_result()?;
        Ok(Page { number, per_page })
    }

    /// Results to skip before this page.
    pub(crate) fn offset(self) -> usize {
        (self.number - 1).saturating_mul(self.per_page)
    }

    /// The total count of `items` and this page of them, rendered.
    pub(crate) fn take<T>(self, items: impl Iterator<Item = T>, render: impl Fn(T) -> Value) -> (usize, Vec<Value>) {
        let mut total = 0;
        let mut page = Vec::with_capacity(self.per_page);
        for item in items {
            if total >= self.offset() && page.len() < self.per_page {
                page.push(render(item));
            }
            total += 1;
        }
        (total, page)
    }

    /// `{key: items}` with the pagination headers for `total` results.
    pub(crate) fn respond(self, key: &str, total: usize, items: Vec<Value>) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert("Total", HeaderValue::from(total));
        headers.insert("Per-Page", HeaderValue::from(self.per_page));
        headers.insert("Total-Pages", HeaderValue::from(total.div_ceil(self.per_page)));
        let mut body = Map::new();
        body.insert(key.to_owned(), Value::Array(items));
        (headers, Json(Value::Object(body))).into_response()
    }
}

fn positive(params: &Params, key: &str, default: usize, errors: &mut FieldErrors) -> usize {
    match params.get(key).map(|v| v.trim().parse::<usize>()) {
        None => default,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            errors.add(key, "is invalid");
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(query: &str) -> Result<Page, ApiError> {
        Page::from_params(&Params::from_query(Some(query)))
    }

    #[test]
    fn reads_defaults_limits_and_offsets() {
        assert_eq!(
            page("").expect("defaults"),
            Page {
                number: 1,
                per_page: 25
            }
        );
        let p = page("page=3&perPage=500").expect("capped");
        assert_eq!((p.number, p.per_page, p.offset()), (3, 100, 200));
        assert!(page("page=0").is_err());
        assert!(page("perPage=x").is_err());
    }
}
