//! The console's access log: method, route template and status, never the
//! path's values or the query (they may name a person or carry the token).

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Logs one line per request after it is answered.
pub async fn log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // The template (`/people/{id}`), not the path: an unmatched path is
    // logged as "unmatched", since its text came from the client.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        "console: {method} {route} {} ({} ms)",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}
