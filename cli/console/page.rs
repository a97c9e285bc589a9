//! What every page is made of: rendering a template into a response, the
//! login and error pages, and the error type page handlers return.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Renders a page; a template that fails is a 500.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => error(&anyhow::Error::new(e)),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login {
    wrong: bool,
}

/// The login page (401): how to get in.
pub fn login(wrong: bool) -> Response {
    (StatusCode::UNAUTHORIZED, render(&Login { wrong })).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    message: &'a str,
    causes: Vec<String>,
}

/// A page saying what went wrong, escaped.
pub fn html_error(message: &str) -> Html<String> {
    let page = ErrorPage {
        message,
        causes: Vec::new(),
    };
    Html(page.render().unwrap_or_else(|_| "error".to_owned()))
}

/// A 500 page with the error and its causes. Not logged: the message may
/// name a person, and the access log has the status.
pub fn error(e: &anyhow::Error) -> Response {
    let message = e.to_string();
    let page = ErrorPage {
        message: &message,
        causes: e.chain().skip(1).map(ToString::to_string).collect(),
    };
    let html = page.render().unwrap_or_else(|_| "error".to_owned());
    (StatusCode::INTERNAL_SERVER_ERROR, Html(html)).into_response()
}

/// What a page handler fails with.
#[derive(Debug)]
pub enum PageError {
    /// Something that is not there (404, with a message).
    NotFound(String),
    Failed(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError::Failed(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::NotFound(message) => (StatusCode::NOT_FOUND, html_error(&message)).into_response(),
            PageError::Failed(e) => error(&e),
        }
    }
}

/// A page handler's result.
pub type PageResult = Result<Response, PageError>;
