//! Fault injection on `/v1/*`: each request is given a plan on arrival
//! (latency, 429 by the rate limit, 500/503, or "drop the connection once
//! the write is applied") and the middleware carries it out around the
//! real handler.
//!
//! Choices are drawn from the seed and the request's number since the
//! faults were last set (splitmix64), so a sequential client meets the same
//! faults every run. The rate limit is a one-second window opened by the
//! first request after the previous window closed; it counts admitted
//! requests only.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::time::Instant;

use super::{Faults, conn::Cutter, error::ApiError, state::Shared};

/// The faults in force, the number of requests drawn for since they were
/// set, and the rate-limit window.
#[derive(Debug, Default)]
pub(super) struct FaultState {
    faults: Faults,
    draws: u64,
    window: Option<(Instant, u32)>,
}

/// What happens to one request.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Plan {
    pub(super) latency: Duration,
    pub(super) rate_limited: bool,
    pub(super) server_error: Option<StatusCode>,
    pub(super) drop_after_write: bool,
}

impl FaultState {
    /// Starts with these faults.
    pub(super) fn new(faults: Faults) -> Self {
        FaultState {
            faults,
            draws: 0,
            window: None,
        }
    }

    /// Replaces the faults and restarts the draws and the rate window.
    pub(super) fn set(&mut self, faults: Faults) {
        *self = FaultState::new(faults);
    }

    /// The faults in force.
    pub(super) fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The plan for the next request, arriving at `now`.
    pub(super) fn plan(&mut self, now: Instant, is_write: bool) -> Plan {
        let n = self.draws;
        self.draws += 1;
        let rate_limited = self
            .faults
            .rate_limit_per_second
            .is_some_and(|limit| !self.admit(now, limit));
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
            server_error,
            drop_after_write,
        }
    }

    /// Whether the rate limit admits one more request at `now`.
    fn admit(&mut self, now: Instant, limit: u32) -> bool {
        let (start, admitted) = match self.window {
            Some((start, admitted)) if now.saturating_duration_since(start) < Duration::from_secs(1) => {
                (start, admitted)
            }
            _ => (now, 0),
        };
        let admit = admitted < limit;
        self.window = Some((start, admitted + u32::from(admit)));
        admit
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
pub(super) async fn inject(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
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
        return ApiError::new(StatusCode::TOO_MANY_REQUESTS, "You're requesting too many API calls.")
            .retry_after(1)
            .into_response();
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
    fn rate_window_admits_the_limit_per_second() {
        let mut state = FaultState::new(Faults {
            rate_limit_per_second: Some(2),
            ..Faults::default()
        });
        let t0 = Instant::now();
        let limited = |state: &mut FaultState, at: Duration| state.plan(t0 + at, false).rate_limited;
        assert!(!limited(&mut state, Duration::ZERO));
        assert!(!limited(&mut state, Duration::from_millis(500)));
        assert!(limited(&mut state, Duration::from_millis(999)));
        assert!(!limited(&mut state, Duration::from_millis(1000)));
        assert!(!limited(&mut state, Duration::from_millis(1500)));
        assert!(limited(&mut state, Duration::from_millis(1999)));
    }

    #[test]
    fn certain_faults_always_happen_and_only_to_writes_when_dropping() {
        let mut state = FaultState::new(Faults {
            error_rate: 1.0,
            drop_after_write_rate: 1.0,
            ..Faults::default()
        });
        let now = Instant::now();
        for _ in 0..100 {
            let plan = state.plan(now, false);
            assert!(matches!(
                plan.server_error,
                Some(StatusCode::INTERNAL_SERVER_ERROR | StatusCode::SERVICE_UNAVAILABLE)
            ));
            assert!(!plan.drop_after_write);
            assert!(state.plan(now, true).drop_after_write);
        }
        state.set(Faults::default());
        assert_eq!(state.plan(now, true), Plan::default());
    }
}
