//! The console on a year of history (issue 13: the overview in under
//! 100 ms, a person page in under 20 ms).
//!
//! The store is the audit bench's year (`benches/year/`: 365 daily imports
//! of 100,000 people, 1% daily churn, P0000007 changed every day), as a
//! running system leaves it: every day's events delivered but the last
//! day's (pending, the push not yet run), one event in 15,000 refused by
//! Learn Amp (one of them P0000007's), and a run log of the 365 runs. It is
//! built once and kept under `target/tmp/`, keyed by people and days (the
//! year takes a minute to write); delete that folder to build it again.
//!
//! The real `ampsync serve` binary serves it on 127.0.0.1 with the clock
//! pinned to the morning after the last import, so the chart covers the
//! year's last 90 days. The bench logs in with the token, finds P0000007
//! through the search form, and times GETs over real HTTP (a connection
//! per request, as the test client does): the overview, the person page
//! (365 history rows), and the `/api/` answers behind the same pages. Every
//! answer is checked, so a fast wrong page fails the bench.
//!
//! `nice cargo bench --bench console`; `AMPSYNC_BENCH_PEOPLE` /
//! `AMPSYNC_BENCH_DAYS` shrink the year; `AMPSYNC_BENCH_BINARY=PATH` serves
//! it with another build of `ampsync` (to compare two builds on one store).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ampsync_engine::clock::format_micros;
use ampsync_engine::runlog::{self, RunCounts, RunOutcome, RunPush, RunRecord};
use ampsync_engine::store::{Delivery, DeliveryUpdate, EventFilter, Store};
use criterion::Criterion;

#[path = "year/mod.rs"]
mod year;

use year::{DAY, LONG_HISTORY, START};

/// Bump when the year or what is added to it changes: a kept store of an
/// older version is built again.
const VERSION: u32 = 1;
/// One event in this many is refused by Learn Amp.
const REFUSED_EVERY: u64 = 15_000;
/// The environment variable `serve` reads the token from.
const TOKEN_ENV: &str = "AMPSYNC_BENCH_CONSOLE_TOKEN";
const TOKEN: &str = "bench-console-token-0123456789abcdef";

fn main() {
    let people = year::env("AMPSYNC_BENCH_PEOPLE", 100_000);
    let days = year::env("AMPSYNC_BENCH_DAYS", 365);
    let dir = kept_year(people, days);
    let size = std::fs::metadata(dir.join("ampsync.redb")).map_or(0, |m| m.len());
    println!(
        "store: {days} days of {people} people, {:.1} MiB, in {}",
        size as f64 / 1048576.0,
        dir.display()
    );

    let served = Served::start(&dir, days);
    let session = served.log_in();
    let overview = served.get("/", &session);
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert!(overview.body.contains("<svg"), "the overview has its chart");
    let refused = overview.body.matches("/retry\"").count();
    assert!(refused > 0, "the overview lists refused events");
    let person = served.person_page(&session, LONG_HISTORY);
    let last_title = format!("Engineer, day {}", days - 1);

    let mut c = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    c.bench_function("GET / (overview)", |b| {
        b.iter(|| {
            let page = served.get("/", &session);
            assert!(page.status == 200 && page.body.contains("<svg"), "{}", page.status);
        })
    });
    c.bench_function("GET /people/ID (P0000007)", |b| {
        b.iter(|| {
            let page = served.get(&person, &session);
            assert!(page.status == 200 && page.body.contains(&last_title), "{}", page.status);
        })
    });
    let bearer = format!("Bearer {TOKEN}");
    let api = |path: &str| {
        let answer = served.request("GET", path, &[("Authorization", &bearer)], "");
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        answer
    };
    c.bench_function("GET /api/people/P0000007", |b| {
        b.iter(|| assert!(api(&format!("/api/people/{LONG_HISTORY}")).body.contains(&last_title)))
    });
    c.bench_function("GET /api/snapshots", |b| {
        b.iter(|| {
            assert!(
                api("/api/snapshots")
                    .body
                    .contains(&format!("users_{:03}.csv", days - 1))
            )
        })
    });
    c.bench_function("GET /api/runs", |b| {
        b.iter(|| assert!(api("/api/runs").body.contains("\"imported\"")))
    });
    c.final_summary();
}

/// The folder holding the year's store, its run log and the config, built
/// when it is not there yet.
fn kept_year(people: usize, days: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("console-v{VERSION}-{people}x{days}"));
    if dir.join("complete").exists() {
        return dir;
    }
    // A half-built folder (an interrupted run) is started again.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the bench folder");
    let started = Instant::now();
    let store = year::build(&dir.join("ampsync.redb"), people, days);
    settle(&store, &runlog::path_for(&dir.join("ampsync.redb")), days);
    println!(
        "built {days} days of {people} people: {} events in {:.1} s",
        store.event_count().expect("count"),
        started.elapsed().as_secs_f64()
    );
    drop(store);
    std::fs::write(
        dir.join("ampsync.toml"),
        format!(
            "[store]\npath = \"ampsync.redb\"\n\
             [schedule]\ncron = \"0 0 0 * * *\"\ntimezone = \"UTC\"\nexpect_file_by = \"06:00\"\n\
             [console]\ntoken_env = \"{TOKEN_ENV}\"\n"
        ),
    )
    .expect("write the config");
    std::fs::write(dir.join("complete"), "").expect("mark the folder complete");
    dir
}

/// What the daily runs leave: deliveries recorded (all but the last day's,
/// one in [`REFUSED_EVERY`] refused, and one of [`LONG_HISTORY`]'s), and a
/// run log line per day.
fn settle(store: &Store, runs: &Path, days: usize) {
    let events = store.events(&EventFilter::default()).expect("events");
    let long_refused = events
        .iter()
        .filter(|(e, _)| e.body.key == LONG_HISTORY)
        .nth(days / 2)
        .map(|(e, _)| e.seq);
    let mut sent = vec![0u64; days + 1];
    let mut refused = vec![0u64; days + 1];
    let mut updates = Vec::new();
    for (event, _) in &events {
        let snapshot = event.body.cause.snapshot().expect("an import's event") as usize;
        if snapshot == days {
            continue;
        }
        let time = event.body.time + 3_600_000_000;
        let delivery = if event.seq % REFUSED_EVERY == 0 || Some(event.seq) == long_refused {
            refused[snapshot] += 1;
            Delivery::Failed {
                attempts: 1,
                status: Some(422),
                error: "422 Unprocessable Entity: jobTitle: is longer than 100 characters".into(),
                time,
            }
        } else {
            sent[snapshot] += 1;
            Delivery::Delivered {
                time,
                remote_id: Some(event.body.key[1..].parse::<u64>().expect("a P-number key") + 1000),
            }
        };
        updates.push(DeliveryUpdate {
            seq: event.seq,
            key: event.body.key.clone(),
            remote_id: match delivery {
                Delivery::Delivered { remote_id, .. } => remote_id,
                _ => None,
            },
            delivery,
        });
    }
    store.record_deliveries(&updates).expect("record deliveries");
    for s in store.snapshots().expect("snapshots") {
        let id = s.id as usize;
        let c = s.counts;
        runlog::append(
            runs,
            &RunRecord {
                start: format_micros(s.received),
                end: format_micros(s.received + 40_000_000),
                file: Some(s.source.clone()),
                hash: Some(s.file_hash.iter().map(|b| format!("{b:02x}")).collect()),
                snapshot: Some(s.id),
                counts: Some(RunCounts {
                    rows: s.rows,
                    created: c.created,
                    updated: c.updated,
                    deactivated: c.deactivated,
                    reactivated: c.reactivated,
                    ..RunCounts::default()
                }),
                push: (id < days).then(|| RunPush {
                    sent: sent[id],
                    failed: refused[id],
                    ..RunPush::default()
                }),
                outcome: RunOutcome::Imported,
                error: None,
                row_errors: Vec::new(),
                alert_errors: Vec::new(),
            },
        )
        .expect("append to the run log");
    }
}

/// `ampsync serve` on a free port of 127.0.0.1, stopped when dropped.
struct Served {
    child: Child,
    addr: String,
}

/// An HTTP answer.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Served {
    fn start(dir: &Path, days: usize) -> Served {
        // The morning after the last import.
        let now = format_micros(START + (days as i64 - 1) * DAY + DAY / 4);
        // Another build's binary may be timed on the same store (A/B).
        let binary = std::env::var_os("AMPSYNC_BENCH_BINARY").unwrap_or_else(|| env!("CARGO_BIN_EXE_ampsync").into());
        let mut child = Command::new(binary)
            .current_dir(dir)
            .env(TOKEN_ENV, TOKEN)
            .env("AMPSYNC_NOW", now)
            .args([
                "--config",
                "ampsync.toml",
                "--format",
                "json",
                "serve",
                "--addr",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ampsync serve");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("serve's stdout");
        BufReader::new(stdout).read_line(&mut line).expect("serve's first line");
        let announced: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                let _ = child.kill();
                panic!("serve did not announce its address ({e}): {line:?}");
            }
        };
        let addr = announced["console"]
            .as_str()
            .and_then(|u| u.strip_prefix("http://"))
            .expect("the console's address")
            .to_owned();
        Served { child, addr }
    }

    /// One request on its own connection.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut stream = TcpStream::connect(&self.addr).expect("connect to the console");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        if method == "POST" {
            request.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).expect("send");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("read");
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
        Answer {
            status,
            head: head.to_owned(),
            body: body.to_owned(),
        }
    }

    fn get(&self, path: &str, session: &Session) -> Answer {
        self.request("GET", path, &[("Cookie", &session.cookie)], "")
    }

    /// Trades the token for a session cookie, and reads the session's CSRF
    /// token from a form.
    fn log_in(&self) -> Session {
        let answer = self.request("GET", &format!("/login?token={TOKEN}"), &[], "");
        assert_eq!(answer.status, 303, "{}", answer.head);
        let cookie = header(&answer.head, "set-cookie")
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_owned();
        let search = self.request("GET", "/people", &[("Cookie", &cookie)], "");
        let csrf = search
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a CSRF token in the search form")
            .to_owned();
        Session { cookie, csrf }
    }

    /// The page of the person `key`, found through the search form.
    fn person_page(&self, session: &Session, key: &str) -> String {
        let answer = self.request(
            "POST",
            "/people",
            &[("Cookie", &session.cookie)],
            &format!("csrf={}&q={key}", session.csrf),
        );
        assert_eq!(answer.status, 303, "{}", answer.body);
        header(&answer.head, "location")
            .expect("to the person's page")
            .to_owned()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A logged-in browser.
struct Session {
    cookie: String,
    csrf: String,
}

/// A header's value (names ignore case).
fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}
