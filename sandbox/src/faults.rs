//! Fault injection on `/v1/*`: each request is given a plan on arrival
//! (latency, 429 by the rate limit, 500/503, or "drop the connection once
//! the write is applied") and the middleware carries it out around the
//! real handler.
//!
//! Choices are drawn from the seed and the request's number since the
//! faults were last set (splitmix64), so a sequential client meets the same
//! faults every run. The rate limit is a token bucket (`rate_limit`).

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::{conn::Cutter, error::ApiError, rate_limit::TokenBucket, state::Shared};

/// Faults injected into `/v1/*` requests. The default injects none.
///
/// Which request gets a fault is drawn from `seed` and the request's number
/// (counted from the last time the faults were set), so a client that sends
/// requests one at a time meets the same faults on every run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Requests admitted per second, as a token bucket: it holds one
    /// second's worth, starts full (again whenever the faults are set) and
    /// refills continuously; a request that finds no token gets 429.
    pub rate_limit_per_second: Option<u32>,
    /// 429s from the rate limit carry no `Retry-After` (else `Retry-After: 1`).
    pub omit_retry_after: bool,
    /// Share of requests answered 500 or 503 before anything else is done.
    pub error_rate: f64,
    /// Milliseconds added to every request.
    pub latency_ms: u64,
    /// Share of successful writes (POST/PUT/DELETE) that are applied and
    /// then answered by closing the connection with no response at all.
    pub drop_after_write_rate: f64,
    /// Seed of the deterministic fault choice.
    pub seed: u64,
}

/// The faults in force, the number of requests drawn for since they were
/// set, and the rate limit's bucket.
#[derive(Debug)]
pub(crate) struct FaultState {
    faults: Faults,
    draws: u64,
    bucket: Option<TokenBucket>,
}

/// What happens to one request.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) latency: Duration,
    pub(crate) rate_limited: bool,
    /// The 429 carries no `Retry-After`.
    pub(crate) omit_retry_after: bool,
    pub(crate) server_error: Option<StatusCode>,
    pub(crate) drop_after_write: bool,
}

impl FaultState {
    /// Starts with these faults at `now` (the bucket full).
    pub(crate) fn new(faults: Faults, now: Instant) -> Self {
        FaultState {
            bucket: faults.rate_limit_per_second.map(|limit| TokenBucket::new(limit, now)),
            faults,
            draws: 0,
        }
    }

    /// Replaces the faults and restarts the draws and the bucket.
    pub(crate) fn set(&mut self, faults: Faults, now: Instant) {
        *self = FaultState::new(faults, now);
    }

    /// The faults in force.
    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The plan for the next request, arriving at `now`.
    pub(crate) fn plan(&mut self, now: Instant, is_write: bool) -> Plan {
        let n = self.draws;
        self.draws += 1;
        let rate_limited = self.bucket.as_mut().is_some_and(|bucket| !bucket.admit(now));
        let f = &self.faults;
        let server_error = (!rate_limited && unit(f.seed, n, 1) < f.error_rate).then(|| {
            if unit(f.seed, n, 2) < 0.5 {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            }
        });
        let drop_after_write = is_write && unit(f.seed, n, 3) < f.drop_after_write_rate;
        Plan {
            latency: Duration::from_millis(f.latency_ms),
            rate_limited,
            omit_retry_after: f.omit_retry_after,
            server_error,
            drop_after_write,
        }
    }
}

/// A uniform draw in [0, 1) from (seed, request number, purpose).
fn unit(seed: u64, n: u64, purpose: u64) -> f64 {
    let mut z = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ purpose.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The `/v1` middleware: counts the request, then carries out its plan.
pub(crate) async fn inject(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let is_write = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let plan = shared.plan(is_write);
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if plan.rate_limited {
        shared.counters.bump(&shared.counters.rate_limited);
        tracing::debug!(uri = %request.uri(), "sandbox fault: 429");
        let refusal = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "You're requesting too many API calls.");
        let refusal = if plan.omit_retry_after {
            refusal
        } else {
            refusal.retry_after(1)
        };
        return refusal.into_response();
    }
    if let Some(status) = plan.server_error {
        shared.counters.bump(&shared.counters.server_errors);
        tracing::debug!(uri = %request.uri(), %status, "sandbox fault: server error");
        return server_error(status).into_response();
    }
    let cutter = request
        .extensions()
        .get::<ConnectInfo<Cutter>>()
        .map(|info| info.0.clone());
    let response = next.run(request).await;
    if !(plan.drop_after_write && response.status().is_success()) {
        return response;
    }
    match cutter {
        Some(cutter) => {
            cutter.cut();
            shared.counters.bump(&shared.counters.dropped);
            tracing::debug!("sandbox fault: connection dropped after a write");
            response
        }
        // Never happens when served by `Sandbox::start`; still, the client
        // must not see a success for a write it should not hear about.
        None => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "connection could not be dropped").into_response(),
    }
}

/// The documented 500 and 503 bodies.
fn server_error(status: StatusCode) -> ApiError {
    let message = if status == StatusCode::SERVICE_UNAVAILABLE {
        "We're temporarily offline for maintenance. Please try again later."
    } else {
        "We had a problem with our server. Try again later."
    };
    ApiError::new(status, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_enough_and_repeatable() {
        let draws: Vec<f64> = (0..10_000).map(|n| unit(42, n, 1)).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let below_half = draws.iter().filter(|u| **u < 0.5).count();
        assert!((4_800..5_200).contains(&below_half), "{below_half}");
        assert_eq!(unit(42, 7, 1), draws[7]);
        assert_ne!(unit(43, 7, 1), draws[7]);
    }

    #[test]
    fn the_rate_limit_refuses_past_the_bucket_and_setting_refills_it() {
        let t0 = Instant::now();
        let mut state = FaultState::new(
            Faults {
                rate_limit_per_second: Some(2),
                ..Faults::default()
            },
            t0,
        );
        let limited = |state: &mut FaultState, at: Duration| state.plan(t0 + at, false).rate_limited;
        assert!(!limited(&mut state, Duration::ZERO));
        assert!(!limited(&mut state, Duration::ZERO));
        assert!(limited(&mut state, Duration::from_millis(499)));
        assert!(!limited(&mut state, Duration::from_millis(500)));
        assert!(limited(&mut state, Duration::from_millis(500)));
        state.set(state.faults().clone(), t0 + Duration::from_millis(500));
        assert!(!limited(&mut state, Duration::from_millis(500)));
        assert!(!limited(&mut state, Duration::from_millis(500)));
        assert!(limited(&mut state, Duration::from_millis(500)));
    }

    #[test]
    fn certain_faults_always_happen_and_only_to_writes_when_dropping() {
        let now = Instant::now();
        let mut state = FaultState::new(
            Faults {
                error_rate: 1.0,
                drop_after_write_rate: 1.0,
                ..Faults::default()
            },
            now,
        );
        for _ in 0..100 {
            let plan = state.plan(now, false);
            assert!(matches!(
                plan.server_error,
                Some(StatusCode::INTERNAL_SERVER_ERROR | StatusCode::SERVICE_UNAVAILABLE)
            ));
            assert!(!plan.drop_after_write);
            assert!(state.plan(now, true).drop_after_write);
        }
        state.set(Faults::default(), now);
        assert_eq!(state.plan(now, true), Plan::default());
    }
}
