//! What a failed call means: whether a retry can help, and whether the
//! write may have happened anyway.

use std::time::Duration;

/// A failed API call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Learn Amp answered with an error status.
    #[error("Learn Amp answered {status}: {message}")]
    Status {
        status: u16,
        /// The API's `error` text (and field errors), or the body.
        message: String,
        /// `Retry-After` on a 429.
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused or dropped, timeout. For a write, the
    /// outcome is unknown.
    #[error("no answer from Learn Amp ({what})")]
    Transport {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    /// The credentials were refused.
    #[error("Learn Amp refused the API credentials (client id {client_id}): {message}")]
    Unauthorized { client_id: String, message: String },
    /// An answer that is not what the API documents.
    #[error("unexpected answer from Learn Amp: {0}")]
    Unexpected(String),
}

impl ApiError {
    /// A retry may succeed: 429, 5xx, and no answer at all.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => *status == 429 || *status >= 500,
            ApiError::Transport { .. } => true,
            ApiError::Unauthorized { .. } | ApiError::Unexpected(_) => false,
        }
    }

    /// A write may have been applied although no success came back.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, ApiError::Transport { .. }) || matches!(self, ApiError::Status { status, .. } if *status >= 500)
    }

    /// How long the API asked us to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, if there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API says a unique field (email, external id) is already taken.
    pub fn is_already_taken(&self) -> bool {
        matches!(self, ApiError::Status { status: 400 | 409 | 422, message, .. } if message.contains("already been taken"))
    }
}
