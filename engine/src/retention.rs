//! Retention: `policy.forget_leavers_after_days = N` forgets, at each
//! import, the people deactivated more than N days before it, in the
//! import's own write transaction (see
//! `ampsync_store::Store::append_import_retaining`).
//!
//! Days are whole days in `schedule.timezone` (the import's day, as
//! `leaveDate` counts them), not durations: someone deactivated on day D,
//! at whatever hour, is kept by every import on day D+N and forgotten by
//! the first import on day D+N+1, at whatever hour. The cutoff is the
//! start of the day N days before the import's day; a deactivation before
//! it is more than N days old.
//!
//! Here: the cutoff, the leavers found before the file is read (with what
//! marks them in a kept file), and a watch over the file's bytes, which
//! says whether today's kept copy holds them too.

use ampsync_store::{Leaver, Store};
use chrono::{DateTime, Days, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::forget::{ForgetError, needles, raw_holding};

/// Who retention's erasures say asked for them.
pub const BY: &str = "ampsync";

/// The erasure records' reason for a policy of `days` days.
pub fn reason(days: u32) -> String {
    format!("retention: deactivated more than {days} days ago")
}

/// The start (microseconds since the epoch) of the day in `zone` that is
/// `days` days before `now`'s day: whoever was deactivated before it was
/// deactivated more than `days` whole days before `now`.
pub fn cutoff(now: i64, days: u32, zone: Tz) -> i64 {
    let today = DateTime::<Utc>::from_timestamp_micros(now)
        .unwrap_or_default()
        .with_timezone(&zone)
        .date_naive();
    let day = today
        .checked_sub_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN);
    start_of_day(day, zone)
}

/// The first instant of `day` in `zone` (where midnight is skipped by a
/// clock change, the first time the day has).
fn start_of_day(day: NaiveDate, zone: Tz) -> i64 {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    for minutes in (0..=24 * 60).step_by(15) {
        let local = midnight + chrono::Duration::minutes(minutes);
        match zone.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.timestamp_micros(),
            LocalResult::None => {}
        }
    }
    midnight.and_utc().timestamp_micros()
}

/// The leavers an import forgets, found before it reads its file.
#[derive(Debug)]
pub(crate) struct Plan {
    pub reason: String,
    pub leavers: Vec<Leaver>,
    /// What marks each leaver in a file, in the order of `leavers`.
    needles: Vec<Vec<Vec<u8>>>,
}

impl Plan {
    /// The people deactivated more than `days` days before `now`, and the
    /// kept raw files that hold them; `None` when there are none.
    pub(crate) fn find(store: &Store, days: u32, now: i64, zone: Tz) -> Result<Option<Plan>, ForgetError> {
        let keys = store.leavers_deactivated_before(cutoff(now, days, zone))?;
        if keys.is_empty() {
            return Ok(None);
        }
        let needles = keys
            .iter()
            .map(|key| needles(store, key))
            .collect::<Result<Vec<_>, _>>()?;
        let holding = raw_holding(store, &needles)?;
        let leavers = keys
            .into_iter()
            .zip(holding)
            .map(|(key, raw_holding)| Leaver {
                key,
                raw_holding,
                in_this_file: false,
            })
            .collect();
        Ok(Some(Plan {
            reason: reason(days),
            leavers,
            needles,
        }))
    }

    /// A watch over the imported file's bytes for these leavers.
    pub(crate) fn watch(&self) -> Watch {
        Watch::new(&self.needles)
    }

    /// Records which leavers the imported file held.
    pub(crate) fn seen_in_file(&mut self, watch: &Watch) {
        for (leaver, &found) in self.leavers.iter_mut().zip(&watch.found) {
            leaver.in_this_file = found;
        }
    }
}

/// Looks for each person's needles in a stream fed chunk by chunk (a
/// needle may straddle two chunks).
#[derive(Debug)]
pub(crate) struct Watch {
    /// (person, needle)
    needles: Vec<(usize, Vec<u8>)>,
    found: Vec<bool>,
    /// The last bytes fed, one fewer than the longest needle.
    tail: Vec<u8>,
    keep: usize,
    window: Vec<u8>,
}

impl Watch {
    fn new(people: &[Vec<Vec<u8>>]) -> Watch {
        let needles: Vec<(usize, Vec<u8>)> = people
            .iter()
            .enumerate()
            .flat_map(|(i, ns)| ns.iter().map(move |n| (i, n.clone())))
            .collect();
        let keep = needles
            .iter()
            .map(|(_, n)| n.len())
            .max()
            .unwrap_or(1)
            .saturating_sub(1);
        Watch {
            needles,
            found: vec![false; people.len()],
            tail: Vec::new(),
            keep,
            window: Vec::new(),
        }
    }

    /// Feeds the next bytes of the stream.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        if chunk.is_empty() || self.found.iter().all(|&f| f) {
            return;
        }
        self.window.clear();
        self.window.extend_from_slice(&self.tail);
        self.window.extend_from_slice(chunk);
        // The needles are lower case (see `forget::needles`).
        self.window.make_ascii_lowercase();
        for (person, needle) in &self.needles {
            if !self.found[*person] && memchr::memmem::find(&self.window, needle).is_some() {
                self.found[*person] = true;
            }
        }
        let from = self.window.len().saturating_sub(self.keep);
        self.tail.clear();
        self.tail.extend_from_slice(&self.window[from..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{format_micros, parse_time};

    fn at(text: &str) -> i64 {
        parse_time(text).expect("time")
    }

    #[test]
    fn the_cutoff_is_the_start_of_the_day_n_days_before_the_imports_day() {
        let utc = chrono_tz::UTC;
        // Any hour of the import's day gives the same cutoff.
        for now in ["2026-11-11T00:00:00Z", "2026-11-11T06:30:00Z", "2026-11-11T23:59:59Z"] {
            assert_eq!(format_micros(cutoff(at(now), 10, utc)), "2026-11-01T00:00:00Z", "{now}");
        }
        // Deactivated on day D at any hour: kept on D+N, gone on D+N+1.
        let d = at("2026-11-01T23:30:00Z");
        assert!(d >= cutoff(at("2026-11-11T23:59:59Z"), 10, utc), "kept all of day D+N");
        assert!(d < cutoff(at("2026-11-12T00:00:00Z"), 10, utc), "gone from day D+N+1");
        let d = at("2026-11-01T00:00:00Z");
        assert!(d >= cutoff(at("2026-11-11T12:00:00Z"), 10, utc));
        assert!(d < cutoff(at("2026-11-12T00:00:01Z"), 10, utc));
    }

    #[test]
    fn days_are_counted_in_the_schedules_time_zone() {
        let london = chrono_tz::Europe::London;
        // 00:30 on 1 July in London is 23:30 UTC on 30 June: day D is 1 July.
        let d = at("2026-06-30T23:30:00Z");
        assert!(d >= cutoff(at("2026-07-03T06:30:00+01:00"), 2, london));
        assert!(d < cutoff(at("2026-07-04T00:10:00+01:00"), 2, london));
        // Across the clocks going back (25 October 2026): midnight BST.
        assert_eq!(
            format_micros(cutoff(at("2026-10-26T06:30:00Z"), 1, london)),
            "2026-10-24T23:00:00Z"
        );
        // A zone whose midnight is skipped when the clocks go forward:
        // the day starts at 01:00 (Santiago, 6 September 2026).
        let santiago = chrono_tz::America::Santiago;
        assert_eq!(
            format_micros(cutoff(at("2026-09-07T12:00:00-03:00"), 1, santiago)),
            "2026-09-06T04:00:00Z"
        );
    }

    fn snapshot(n: u8, received: i64) -> ampsync_store::NewSnapshot {
        ampsync_store::NewSnapshot {
            file_hash: [n; 32],
            source: format!("day{n}.csv"),
            received,
            rows: 3,
            bytes: 10,
            header: vec!["Email".into()],
            mapped_columns: vec!["Email".into()],
            counts: ampsync_store::Counts::default(),
            absences: vec![],
            prune_raw_before: 0,
            origin: Default::default(),
        }
    }

    fn deliver(store: &Store, seqs: &[(u64, &str)]) {
        let updates: Vec<ampsync_store::DeliveryUpdate> = seqs
            .iter()
            .map(|&(seq, key)| ampsync_store::DeliveryUpdate {
                seq,
                key: key.into(),
                delivery: ampsync_store::Delivery::Delivered {
                    time: at("2026-01-03T00:00:00Z"),
                    remote_id: Some(seq),
                },
                remote_id: Some(seq),
            })
            .collect();
        store.record_deliveries(&updates).expect("deliver");
    }

    /// An import forgets, in its transaction, the long-gone leavers whose
    /// events were all sent; one with an event still to send waits, and a
    /// held import forgets no one.
    #[test]
    fn an_import_forgets_sent_leavers_and_a_held_one_forgets_no_one() {
        use crate::import::{ImportOutcome, Input, import};
        use ampsync_store::{EventKind, Record};
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("s.redb")).expect("store");
        let person = |email: &str| EventKind::Created {
            record: Record::from_pairs([("email", email), ("firstName", "Dee"), ("lastName", "Zebedee")]),
        };
        let people = ["a@x.io", "b@x.io", "d@x.io"].map(|k| (k.to_owned(), person(k)));
        store
            .append_import(0, snapshot(1, at("2026-01-01T06:30:00Z")), people, None, None)
            .expect("day 1");
        let gone = ["a@x.io", "b@x.io"].map(|k| (k.to_owned(), EventKind::Deactivated));
        store
            .append_import(3, snapshot(2, at("2026-01-02T06:30:00Z")), gone, None, None)
            .expect("day 2");
        // a's and d's events were sent; b's were not.
        deliver(&store, &[(1, "a@x.io"), (3, "d@x.io"), (4, "a@x.io")]);

        // The real clock: months after 2 January.
        let config = |extra: &str| {
            let text = format!("[policy]\nmax_change_percent = 100\nforget_leavers_after_days = 1\n{extra}");
            crate::Config::parse(&text, std::path::Path::new("ampsync.toml")).expect("config")
        };
        // Today's file still lists a, as a leaver: its kept copy goes too.
        let file = dir.path().join("today.csv");
        std::fs::write(
            &file,
            "Email,First name,Last name,Leaver\na@x.io,Dee,Zebedee,yes\nd@x.io,Dee,Zebedee,no\nc@x.io,Cy,Young,no\n",
        )
        .expect("write");
        let today = match import(
            &store,
            &config("[mapping]\ndeactivate = \"Leaver\"\n"),
            &Input::File(file),
            None,
        )
        .expect("import")
        {
            ImportOutcome::Imported(report) => {
                assert_eq!(report.forgotten_by_retention, 1);
                report.snapshot.id
            }
            other => panic!("not imported: {other:?}"),
        };
        let erasures = store.erasures().expect("erasures");
        assert_eq!(erasures.len(), 1);
        assert_eq!(erasures[0].raw_dropped, [today]);
        assert!(matches!(
            crate::raw::snapshot_bytes(&store, today),
            Err(crate::raw::RawError::NotKept(_))
        ));
        assert_eq!(
            (
                erasures[0].key.as_str(),
                erasures[0].reason.as_str(),
                erasures[0].by.as_deref()
            ),
            ("forgotten-1", "retention: deactivated more than 1 days ago", Some(BY))
        );
        assert!(store.user_events("a@x.io").expect("a").is_empty());
        assert_eq!(store.user_events("b@x.io").expect("b").len(), 2, "b waits for delivery");

        // b is sent now, but a held import forgets no one.
        deliver(&store, &[(2, "b@x.io"), (5, "b@x.io")]);
        let file = dir.path().join("held.csv");
        std::fs::write(&file, "Email,First name,Last name\nd@x.io,Dee,Zebedee\n").expect("write");
        match import(&store, &config("min_rows = 5\n"), &Input::File(file), None).expect("import") {
            ImportOutcome::Held(_) => {}
            other => panic!("not held: {other:?}"),
        }
        assert_eq!(store.erasures().expect("erasures").len(), 1);
        assert_eq!(store.user_events("b@x.io").expect("b").len(), 2);
        assert!(store.verify().expect("verify").ok());
    }

    #[test]
    fn a_needle_split_across_chunks_is_found_and_only_its_owner_marked() {
        let people = vec![
            vec![b"E1002".to_vec(), b"bart@acme.example".to_vec()],
            vec![b"E1003".to_vec()],
        ];
        let mut watch = Watch::new(&people);
        for chunk in [&b"E1001,ann,x\nE1004,y,ba"[..], b"rt@acme.ex", b"ample\n"] {
            watch.feed(chunk);
        }
        assert_eq!(watch.found, [true, false]);
        let mut none = Watch::new(&people);
        none.feed(b"E100");
        none.feed(b"1\n");
        assert_eq!(none.found, [false, false]);
    }
}
