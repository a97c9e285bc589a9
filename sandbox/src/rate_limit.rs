//! The rate limit as a token bucket: it holds at most `limit` tokens (one
//! second's worth), starts full, and refills continuously at `limit` tokens
//! per second. A request takes one token; a request that finds less than
//! one is refused (and takes nothing).

#[cfg(test)]
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket refilled at `rate` per second up to `rate`.
///
/// Tokens are counted in billionths, so refills (nanoseconds times the
/// rate) are exact and a client at exactly the rate is never refused.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: u128,
    /// Billionths of a token.
    nanotokens: u128,
    at: Instant,
}

/// One token, in billionths.
const TOKEN: u128 = 1_000_000_000;

impl TokenBucket {
    /// A full bucket for `per_second` requests a second.
    pub(crate) fn new(per_second: u32, now: Instant) -> Self {
        let rate = u128::from(per_second);
        TokenBucket {
            rate,
            nanotokens: rate * TOKEN,
            at: now,
        }
    }

    /// Whether a request arriving at `now` is admitted (and takes a token).
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_nanos();
        self.at = self.at.max(now);
        self.nanotokens = self
            .nanotokens
            .saturating_add(elapsed.saturating_mul(self.rate))
            .min(self.rate * TOKEN);
        if self.nanotokens >= TOKEN {
            self.nanotokens -= TOKEN;
            true
        } else {
            false
        }
    }

    /// How long until a token is there, from the last request.
    #[cfg(test)]
    fn wait(&self) -> Duration {
        if self.nanotokens >= TOKEN || self.rate == 0 {
            Duration::ZERO
        } else {
            let nanos = (TOKEN - self.nanotokens).div_ceil(self.rate);
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_full_and_refills_continuously() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut bucket = TokenBucket::new(4, t0);
        // A burst of one second's worth, then nothing.
        assert!((0..4).all(|_| bucket.admit(t0)));
        assert!(!bucket.admit(t0));
        assert_eq!(bucket.wait(), Duration::from_millis(250));
        // One token a quarter second later, not before.
        assert!(!bucket.admit(ms(249)));
        assert!(bucket.admit(ms(250)));
        assert!(!bucket.admit(ms(260)));
        // Never more than a second's worth, however long it rested.
        let later = ms(60_000);
        assert!((0..4).all(|_| bucket.admit(later)));
        assert!(!bucket.admit(later));
    }

    #[test]
    fn a_steady_client_at_the_rate_is_never_refused() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10, t0);
        for i in 0..100 {
            assert!(bucket.admit(t0 + Duration::from_millis(100 * i)), "request {i}");
        }
    }

    #[test]
    fn a_zero_rate_admits_nothing() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(0, t0);
        assert!(!bucket.admit(t0 + Duration::from_secs(5)));
    }
}
