//! The router: `/oauth/token`, the `/v1` API behind the fault injector
//! (outermost, so faults come before authentication) and the token guard,
//! and the admin routes. Anything else is 404 `{"error": "Not found"}`.

use std::sync::Arc;

use axum::{
    Router,
    middleware::from_fn_with_state,
    response::IntoResponse,
    routing::{get, post, put},
};

use super::{admin, auth, error::ApiError, faults, state::Shared, teams, users};

/// Every route, over the shared state.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    let v1 = Router::new()
        .route("/v1/users", get(users::list).post(users::create))
        .route(
            "/v1/users/by_integration_external_id/{external_id}",
            get(users::show_by_external_id).put(users::update_by_external_id),
        )
        .route("/v1/users/{id}", get(users::show).put(users::update))
        .route("/v1/users/{id}/deactivate", put(users::deactivate))
        .route("/v1/users/{id}/reactivate", put(users::reactivate))
        .route("/v1/teams", get(teams::list).post(teams::create))
        .layer(from_fn_with_state(Arc::clone(&shared), auth::require_token))
        .layer(from_fn_with_state(Arc::clone(&shared), faults::inject));
    let admin = Router::new()
        .route("/_sandbox/users", get(admin::users))
        .route("/_sandbox/teams", get(admin::teams))
        .route("/_sandbox/stats", get(admin::stats))
        .route("/_sandbox/faults", get(admin::faults).put(admin::set_faults))
        .route("/_sandbox/expire-tokens", post(admin::expire_tokens));
    Router::new()
        .route("/oauth/token", post(auth::token))
        .merge(v1)
        .merge(admin)
        .fallback(|| async { ApiError::not_found().into_response() })
        .with_state(shared)
}
