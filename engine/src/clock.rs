//! The clock: real time, or the time pinned by `AMPSYNC_NOW` (RFC 3339) so
//! tests and demos produce the same output every run.

use chrono::{DateTime, SecondsFormat, Utc};

/// The environment variable that pins the clock.
pub const NOW_ENV: &str = "AMPSYNC_NOW";

/// `AMPSYNC_NOW` is set but is not a time.
#[derive(Debug, thiserror::Error)]
#[error("{NOW_ENV}={value:?} is not an RFC 3339 time such as 2026-01-31T06:30:00Z")]
pub struct ClockError {
    value: String,
}

/// A time pinned in-process (the demo's days); wins over `AMPSYNC_NOW`.
static PINNED: std::sync::RwLock<Option<i64>> = std::sync::RwLock::new(None);

/// Pins (or with `None` unpins) the clock for this process.
pub fn pin(micros: Option<i64>) {
    if let Ok(mut pinned) = PINNED.write() {
        *pinned = micros;
    }
}

/// Now, in microseconds since the Unix epoch (UTC).
pub fn now_micros() -> Result<i64, ClockError> {
    if let Some(t) = PINNED.read().ok().and_then(|p| *p) {
        return Ok(t);
    }
    match std::env::var(NOW_ENV) {
        Ok(value) if !value.is_empty() => DateTime::parse_from_rfc3339(&value)
            .map(|t| t.timestamp_micros())
            .map_err(|_| ClockError { value }),
        _ => Ok(Utc::now().timestamp_micros()),
    }
}

/// Formats microseconds since the epoch as RFC 3339 UTC (seconds precision).
pub fn format_micros(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| micros.to_string())
}

/// Parses an RFC 3339 time or a plain date (`YYYY-MM-DD`, midnight UTC)
/// into microseconds since the epoch.
pub fn parse_time(text: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_micros());
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let t = parse_time("2026-03-29T06:30:00+01:00").expect("rfc3339");
        assert_eq!(format_micros(t), "2026-03-29T05:30:00Z");
        assert_eq!(
            parse_time("2026-03-29").map(format_micros).as_deref(),
            Some("2026-03-29T00:00:00Z")
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
