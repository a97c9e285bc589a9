//! A request to stop a run early (SIGTERM or Ctrl-C under the daemon),
//! which every wait of a run heeds: the sFTP server's answers, the settle
//! wait for a file, and the push (through the flag in `PushOptions.stop`).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

/// Shared between whoever asks to stop and the run; cheap to clone.
#[derive(Debug, Clone)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    signal: Arc<watch::Sender<bool>>,
}

/// The run was asked to stop while it waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stopped by a signal while waiting")]
pub struct Stopped;

impl Default for Stop {
    fn default() -> Self {
        Stop::new()
    }
}

impl Stop {
    pub fn new() -> Stop {
        Stop {
            flag: Arc::new(AtomicBool::new(false)),
            signal: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Asks the run to stop.
    pub fn request(&self) {
        self.flag.store(true, Ordering::Relaxed);
        self.signal.send_replace(true);
    }

    /// True once a stop was asked for.
    pub fn is_requested(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// The flag the push polls (`PushOptions.stop`).
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }

    /// Resolves once a stop is asked for (at once if it already was).
    pub async fn requested(&self) {
        let mut rx = self.signal.subscribe();
        // The sender lives as long as `self`, so this only ends by a request.
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// Runs `work` unless, or until, a stop is asked for.
    pub async fn unless_stopped<T>(&self, work: impl Future<Output = T>) -> Result<T, Stopped> {
        tokio::select! {
            biased;
            () = self.requested() => Err(Stopped),
            out = work => Ok(out),
        }
    }

    /// Sleeps for `duration`, or less if a stop is asked for.
    pub async fn sleep(&self, duration: Duration) -> Result<(), Stopped> {
        self.unless_stopped(tokio::time::sleep(duration)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_request_ends_a_wait_at_once_and_sets_the_flag() {
        let stop = Stop::new();
        let flag = stop.flag();
        let waiter = {
            let stop = stop.clone();
            tokio::spawn(async move { stop.sleep(Duration::from_secs(999_999_999)).await })
        };
        tokio::task::yield_now().await;
        stop.request();
        assert_eq!(waiter.await.expect("join"), Err(Stopped));
        assert!(flag.load(Ordering::Relaxed));
        // Later waits end at once.
        assert_eq!(stop.unless_stopped(std::future::pending::<()>()).await, Err(Stopped));
        assert_eq!(Stop::new().sleep(Duration::from_secs(5)).await, Ok(()));
    }
}
