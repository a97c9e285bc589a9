//! The Learn Amp REST client: OAuth2 client credentials, the user and team
//! calls ampsync makes, and what a failure means for a retry.
//!
//! It knows HTTP and the API's shapes; which requests to send for which
//! events is `replay`'s business.

mod client;
mod credentials;
mod error;
mod request;

pub use client::{LearnAmpClient, RemoteUser};
pub use credentials::Credentials;
pub use error::ApiError;
pub use request::{ApiRequest, Method};
