//! What a failed call means: whether a retry can help, whether the write
//! may have happened anyway, and what a person must do otherwise.

use std::time::Duration;

/// A failed API call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Learn Amp answered with an error status.
    #[error("Learn Amp answered {status}: {message}")]
    Status {
        status: u16,
        /// The API's `error` text (and field errors), or the start of the body.
        message: String,
        /// `Retry-After`, in seconds or as an HTTP date, on a 429 or 503.
        retry_after: Option<Duration>,
    },
    /// A 403 on an API call: the token lacks the scope the call needs.
    #[error(
        "Learn Amp answered 403: {message} (this call needs the scope `{scope}`: grant it to the API credentials in Learn Amp and list it in learnamp.scopes)"
    )]
    Forbidden { scope: &'static str, message: String },
    /// No answer: connection refused or dropped, timeout. For a write, the
    /// outcome is unknown.
    #[error("no answer from Learn Amp ({what})")]
    Transport {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    /// The token request was refused for its scopes.
    #[error(
        "Learn Amp refused the scopes asked for (client id {client_id}, scope \"{asked}\"): {message}; the API credentials must be provisioned with every one of them (learnamp.scopes)"
    )]
    InvalidScope {
        client_id: String,
        asked: String,
        message: String,
    },
    /// The credentials were refused.
    #[error("Learn Amp refused the API credentials (client id {client_id}): {message}")]
    Unauthorized { client_id: String, message: String },
    /// A redirect: never followed, since it would carry the secret or
    /// people's data to wherever it points.
    #[error(
        "Learn Amp answered {status} redirecting to {location:?}: redirects are not followed; set learnamp.base_url to the API host itself"
    )]
    Redirect { status: u16, location: String },
    /// An answer larger than ampsync reads.
    #[error("the answer to {what} is larger than {limit} bytes: not read")]
    TooLarge { what: String, limit: usize },
    /// A base URL that cannot be used.
    #[error("learnamp.base_url {url:?}: {reason}")]
    BaseUrl { url: String, reason: &'static str },
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
            _ => false,
        }
    }

    /// Learn Amp's rate limit said no: nothing was done.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, ApiError::Status { status: 429, .. })
    }

    /// A write may have been applied although no success came back.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ApiError::Transport { .. } | ApiError::TooLarge { .. } => true,
            ApiError::Status { status, .. } => *status >= 500,
            _ => false,
        }
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
            ApiError::Status { status, .. } | ApiError::Redirect { status, .. } => Some(*status),
            ApiError::Forbidden { .. } => Some(403),
            _ => None,
        }
    }

    /// A 404: the thing addressed does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Status { status: 404, .. })
    }

    /// The API says a unique field (email, external id) is already taken.
    pub fn is_already_taken(&self) -> bool {
        matches!(self, ApiError::Status { status: 400 | 409 | 422, message, .. } if message.contains("already been taken"))
    }

    /// Nothing can be sent with these credentials: stop the whole run.
    pub fn stops_the_run(&self) -> bool {
        matches!(
            self,
            ApiError::Unauthorized { .. } | ApiError::InvalidScope { .. } | ApiError::BaseUrl { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> ApiError {
        ApiError::Status {
            status,
            message: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn transient_answers_are_retried_and_permanent_ones_are_not() {
        for s in [429, 500, 502, 503, 504] {
            assert!(status(s).is_retryable(), "{s}");
        }
        for s in [400, 401, 404, 409, 422] {
            assert!(!status(s).is_retryable(), "{s}");
        }
        assert!(status(503).outcome_unknown() && !status(429).outcome_unknown());
        let redirect = ApiError::Redirect {
            status: 307,
            location: "https://elsewhere.example/".into(),
        };
        assert!(!redirect.is_retryable() && !redirect.outcome_unknown());
    }
}
