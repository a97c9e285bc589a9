//! The sandbox's own time source, for `status.time` ("Sent 5 Nov 26"):
//! the time `AMPSYNC_NOW` pins (RFC 3339), else the real clock. It reads
//! the same variable as ampsync's clock so a pinned end-to-end test or demo
//! sees one date, without depending on ampsync's code.

use chrono::{DateTime, NaiveDate, Utc};

/// The environment variable that pins the clock.
const NOW_ENV: &str = "AMPSYNC_NOW";

/// Today (UTC) by the pinned or the real clock. A value that is not RFC
/// 3339 is ignored (with a warning): the sandbox has no one to refuse it to.
pub(crate) fn today() -> NaiveDate {
    match std::env::var(NOW_ENV) {
        Ok(value) if !value.is_empty() => match DateTime::parse_from_rfc3339(&value) {
            Ok(t) => t.with_timezone(&Utc).date_naive(),
            Err(_) => {
                tracing::warn!(%value, "sandbox: {NOW_ENV} is not an RFC 3339 time; using the real clock");
                Utc::now().date_naive()
            }
        },
        _ => Utc::now().date_naive(),
    }
}
