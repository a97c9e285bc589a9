//! The pace of requests to Learn Amp: one limiter shared by every request
//! of a client, that starts at `max_requests_per_second` and adapts to the
//! API's own limit.
//!
//! A 429 slows it down by a fraction (at most once per `COOL_DOWN`, so a
//! burst of 429s from requests already in flight counts once); every clean
//! second it creeps back up by a small step, never above the configured
//! maximum. So an API limited below the configured rate is used close to
//! its limit, with a 429 now and then rather than storms of them.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A 429 multiplies the rate by this.
const SLOW_DOWN: f64 = 0.9;
/// Each clean second adds this share of the configured maximum.
const SPEED_UP: f64 = 0.01;
/// 429s closer together than this count as one.
const COOL_DOWN: Duration = Duration::from_millis(1000);
/// Never slower than one request every ten seconds.
const MIN_RATE: f64 = 0.1;

/// Spaces requests `1 / rate` seconds apart, with an adaptive rate.
#[derive(Debug)]
pub struct RateLimiter {
    max: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rate: f64,
    /// The slot of the next request.
    next: Instant,
    /// When the rate last changed (either way).
    changed: Instant,
    /// When the last 429 slowed it down.
    slowed: Option<Instant>,
}

impl RateLimiter {
    /// A limiter starting at `per_second` (also its ceiling).
    pub fn new(per_second: f64) -> RateLimiter {
        let max = if per_second.is_finite() {
            per_second.max(MIN_RATE)
        } else {
            MIN_RATE
        };
        let now = Instant::now();
        RateLimiter {
            max,
            state: Mutex::new(State {
                rate: max,
                next: now,
                changed: now,
                slowed: None,
            }),
        }
    }

    /// Waits for this request's slot.
    pub async fn wait(&self) {
        let slot = {
            let mut state = self.state.lock().await;
            let now = Instant::now();
            state.speed_up(now, self.max);
            let slot = state.next.max(now);
            state.next = slot + Duration::from_secs_f64(1.0 / state.rate);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Learn Amp answered 429: slow down.
    pub async fn rate_limited(&self) {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        if state.slowed.is_some_and(|t| now.duration_since(t) < COOL_DOWN) {
            return;
        }
        state.rate = (state.rate * SLOW_DOWN).max(MIN_RATE);
        state.slowed = Some(now);
        state.changed = now;
        tracing::debug!(rate = state.rate, "429 from Learn Amp: slowing down");
    }

    /// The current rate, requests per second.
    pub async fn rate(&self) -> f64 {
        self.state.lock().await.rate
    }
}

impl State {
    /// One step up for each clean second since the last change.
    fn speed_up(&mut self, now: Instant, max: f64) {
        if self.rate >= max {
            return;
        }
        let clean = now.duration_since(self.changed).as_secs();
        if clean >= 1 {
            self.rate = (self.rate + max * SPEED_UP * clean as f64).min(max);
            self.changed += Duration::from_secs(clean);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_rate() {
        let limiter = RateLimiter::new(20.0);
        let start = Instant::now();
        for _ in 0..41 {
            limiter.wait().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_slows_down_once_per_cool_down_and_clean_seconds_speed_up() {
        let limiter = RateLimiter::new(50.0);
        limiter.rate_limited().await;
        limiter.rate_limited().await; // in flight at the same time: counts once
        assert_eq!(limiter.rate().await, 45.0);
        tokio::time::advance(Duration::from_secs(2)).await;
        limiter.rate_limited().await;
        assert!((limiter.rate().await - 40.5).abs() < 1e-9);
        // Ten clean seconds: +0.5 a second, back up to 45.5.
        tokio::time::advance(Duration::from_secs(10)).await;
        limiter.wait().await;
        assert!((limiter.rate().await - 45.5).abs() < 1e-9);
        // Never above the configured maximum.
        tokio::time::advance(Duration::from_secs(60)).await;
        limiter.wait().await;
        assert_eq!(limiter.rate().await, 50.0);
    }

    #[test]
    fn a_nonsense_rate_is_the_minimum() {
        assert_eq!(RateLimiter::new(f64::NAN).max, MIN_RATE);
        assert_eq!(RateLimiter::new(1e-9).max, MIN_RATE);
    }
}
