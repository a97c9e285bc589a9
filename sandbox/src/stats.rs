//! What the sandbox has seen and done: [`SandboxStats`] and the atomic
//! counters behind it.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// What the sandbox has seen and done since it started.
///
/// Write counts are of successful write requests, whether or not they
/// changed anything (deactivating a deactivated user counts), including
/// those whose response was then dropped. A `PUT /v1/users/…` with
/// `reactivate=true` counts as an update and as a reactivation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SandboxStats {
    /// Requests to `/v1/*` routes, faulted or not.
    pub requests: u64,
    /// Access tokens issued by `/oauth/token`.
    pub tokens_issued: u64,
    /// Users created.
    pub creates: u64,
    /// Users updated.
    pub updates: u64,
    /// Users deactivated.
    pub deactivations: u64,
    /// Users reactivated.
    pub reactivations: u64,
    /// Users deleted through the API (`DELETE /v1/users/{id}`); a deletion
    /// by hand ([`crate::Sandbox::delete_user`]) is not counted.
    pub deletes: u64,
    /// Teams created.
    pub teams_created: u64,
    /// Requests answered 429 by the rate limit.
    pub rate_limited: u64,
    /// Requests answered 500 or 503 by the error fault.
    pub server_errors: u64,
    /// Writes applied whose connection was then dropped.
    pub dropped: u64,
    /// `/v1/*` requests answered 403 (a token without the needed scope).
    pub forbidden: u64,
    /// `/v1/*` requests answered 422 (`hr` without the package, an unknown
    /// `occupationRole`).
    pub unprocessable: u64,
}

/// The counters behind [`SandboxStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) tokens_issued: AtomicU64,
    pub(crate) creates: AtomicU64,
    pub(crate) updates: AtomicU64,
    pub(crate) deactivations: AtomicU64,
    pub(crate) reactivations: AtomicU64,
    pub(crate) deletes: AtomicU64,
    pub(crate) teams_created: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) server_errors: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) forbidden: AtomicU64,
    pub(crate) unprocessable: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub(crate) fn bump(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now.
    pub(crate) fn snapshot(&self) -> SandboxStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SandboxStats {
            requests: get(&self.requests),
            tokens_issued: get(&self.tokens_issued),
            creates: get(&self.creates),
            updates: get(&self.updates),
            deactivations: get(&self.deactivations),
            reactivations: get(&self.reactivations),
            deletes: get(&self.deletes),
            teams_created: get(&self.teams_created),
            rate_limited: get(&self.rate_limited),
            server_errors: get(&self.server_errors),
            dropped: get(&self.dropped),
            forbidden: get(&self.forbidden),
            unprocessable: get(&self.unprocessable),
        }
    }
}
