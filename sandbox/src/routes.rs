//! The router: `/oauth/token`; the `/v1` API behind, from the outside in,
//! the fault injector (faults come before authentication), the token guard
//! and the scope guard; and the admin routes. Anything else is 404
//! `{"error": "Not found"}`. The request log wraps it all.

use std::sync::Arc;

use axum::{
    Router,
    middleware::{from_fn, from_fn_with_state},
    response::IntoResponse,
    routing::{delete, get, post, put},
};

use crate::{admin, auth, error::ApiError, faults, request_log, scopes, state::Shared, teams, users};

/// Every route, over the shared state.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let v1 = Router::new()
        .route("/v1/users", get(users::list).post(users::create))
        .route(
            "/v1/users/by_integration_external_id/{external_id}",
            get(users::show_by_external_id).put(users::update_by_external_id),
        )
        .route(
            "/v1/users/{id}",
            get(users::show).put(users::update).delete(users::delete),
        )
        .route("/v1/users/{id}/deactivate", put(users::deactivate))
        .route("/v1/users/{id}/reactivate", put(users::reactivate))
        .route("/v1/teams", get(teams::list).post(teams::create))
        .route(
            "/v1/teams/by_external_id/{external_id}",
            get(teams::show_by_external_id)
                .put(teams::update_by_external_id)
                .delete(teams::delete_by_external_id),
        )
        .route(
            "/v1/teams/{id}",
            get(teams::show).put(teams::update).delete(teams::delete),
        )
        .route_layer(from_fn(scopes::require_scope))
        .route_layer(from_fn_with_state(Arc::clone(&shared), auth::require_token))
        .route_layer(from_fn_with_state(Arc::clone(&shared), faults::inject));
    let admin = Router::new()
        .route("/_sandbox/users", get(admin::users))
        .route("/_sandbox/users/{id}", delete(admin::delete_user))
        .route("/_sandbox/teams", get(admin::teams))
        .route("/_sandbox/stats", get(admin::stats))
        .route("/_sandbox/requests", get(admin::requests))
        .route("/_sandbox/faults", get(admin::faults).put(admin::set_faults))
        .route("/_sandbox/expire-tokens", post(admin::expire_tokens));
    Router::new()
        .route("/oauth/token", post(auth::token))
        .merge(v1)
        .merge(admin)
        .fallback(|| async { ApiError::not_found().into_response() })
        .layer(from_fn_with_state(Arc::clone(&shared), request_log::record))
        .with_state(shared)
}
