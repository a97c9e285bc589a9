//! The Learn Amp REST client: OAuth2 client credentials with scopes, the
//! user and team calls ampsync makes, the pace of requests, and what a
//! failure means for a retry.
//!
//! It knows HTTP and the API's shapes; which requests to send for which
//! events is `replay`'s business.

mod answer;
mod client;
mod credentials;
mod error;
mod limiter;
mod lookup;
mod request;
mod scope;

pub use answer::{MAX_ERROR_CHARS, shorten};
pub use client::{ClientOptions, LearnAmpClient, Response, check_base_url};
pub use credentials::{Credentials, MissingCredential};
pub use error::ApiError;
pub use limiter::RateLimiter;
pub use lookup::{ALL_STATUSES, RemoteTeam, RemoteUser};
pub use request::{ApiRequest, Method, path_segment};
pub use scope::{BASE_SCOPES, needed_scopes, required_scope};
