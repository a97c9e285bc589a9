//! When the daemon runs: the next local time a cron expression matches, in
//! the configured time zone.
//!
//! tokio-cron-scheduler 0.15 keeps the UTC offset it saw when a job was
//! created, so a daily 06:30 Europe/London job drifts by an hour across a
//! daylight-saving change. The daemon needs only "when is the next run",
//! which croner (the parser tokio-cron-scheduler itself uses) answers in the
//! zone's local time; the daemon sleeps until then and asks again after
//! each run, so every run is computed afresh in local time.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;

use crate::config::ScheduleConfig;

/// A schedule that has no next run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    #[error("schedule.cron {0:?} never matches again")]
    Exhausted(String),
}

/// A `[schedule]`, checked when the config was loaded.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    expr: String,
    zone: Tz,
    expect_file_by: Option<NaiveTime>,
    max_run: Duration,
}

impl Schedule {
    pub fn new(config: &ScheduleConfig) -> Schedule {
        Schedule {
            cron: config.cron.cron().clone(),
            expr: config.cron.as_str().to_owned(),
            zone: config.timezone,
            expect_file_by: config.expect_file_by,
            max_run: Duration::from_secs_f64(config.max_run_minutes * 60.0),
        }
    }

    /// How long a run may go before `/healthz` says it is stuck
    /// (`schedule.max_run_minutes`).
    pub fn max_run(&self) -> Duration {
        self.max_run
    }

    /// The first run strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, ScheduleError> {
        let local = after.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&local, false)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ScheduleError::Exhausted(self.expr.clone()))
    }

    /// True when `at` is past today's `expect_file_by` in the schedule's zone.
    pub fn file_overdue(&self, at: DateTime<Utc>) -> bool {
        match self.expect_file_by {
            Some(by) => at.with_timezone(&self.zone).time() >= by,
            None => false,
        }
    }

    /// The start of the local day containing `at`, in UTC.
    pub fn local_day_start(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&self.zone).date_naive();
        let midnight = local.and_hms_opt(0, 0, 0).unwrap_or_default();
        self.zone
            .from_local_datetime(&midnight)
            .earliest()
            .map_or(at, |t| t.with_timezone(&Utc))
    }

    /// The zone's name.
    pub fn zone(&self) -> Tz {
        self.zone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(cron: &str, zone: &str) -> Schedule {
        let text = format!("[schedule]\ncron = \"{cron}\"\ntimezone = \"{zone}\"\nexpect_file_by = \"06:00\"\n");
        let config = crate::Config::parse(&text, std::path::Path::new("ampsync.toml")).expect("valid schedule");
        Schedule::new(config.schedule.as_ref().expect("[schedule]"))
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    /// Regression: tokio-cron-scheduler 0.15 kept the offset of the day the
    /// job was made, so 06:30 London became 07:30 (or 05:30) after a change.
    #[test]
    fn a_daily_london_run_stays_at_half_past_six_local_across_both_changes() {
        let s = schedule("0 30 6 * * *", "Europe/London");
        let mut t = utc("2026-03-27T12:00:00Z");
        let mut runs = Vec::new();
        for _ in 0..4 {
            t = s.next_after(t).expect("next");
            runs.push(t.to_rfc3339());
        }
        // Spring forward on 29 March: 06:30 GMT, then 06:30 BST = 05:30 UTC.
        assert_eq!(
            runs,
            [
                "2026-03-28T06:30:00+00:00",
                "2026-03-29T05:30:00+00:00",
                "2026-03-30T05:30:00+00:00",
                "2026-03-31T05:30:00+00:00"
            ]
        );
        let mut t = utc("2026-10-23T12:00:00Z");
        let mut runs = Vec::new();
        for _ in 0..3 {
            t = s.next_after(t).expect("next");
            runs.push(t.to_rfc3339());
        }
        // Fall back on 25 October.
        assert_eq!(
            runs,
            [
                "2026-10-24T05:30:00+00:00",
                "2026-10-25T06:30:00+00:00",
                "2026-10-26T06:30:00+00:00"
            ]
        );
    }

    #[test]
    fn per_second_schedules_and_the_default_run_limit() {
        let s = schedule("* * * * * *", "UTC");
        assert_eq!(
            s.next_after(utc("2026-01-01T00:00:00Z")).expect("next"),
            utc("2026-01-01T00:00:01Z")
        );
        assert_eq!(s.max_run(), Duration::from_secs(120 * 60), "the default");
    }

    #[test]
    fn a_file_is_overdue_after_the_local_expected_time() {
        let s = schedule("0 30 6 * * *", "Europe/London");
        assert!(!s.file_overdue(utc("2026-07-01T04:59:00Z")), "05:59 BST");
        assert!(s.file_overdue(utc("2026-07-01T05:00:00Z")), "06:00 BST");
        assert_eq!(
            s.local_day_start(utc("2026-07-01T05:00:00Z")),
            utc("2026-06-30T23:00:00Z")
        );
    }
}
