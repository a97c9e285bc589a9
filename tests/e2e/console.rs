//! The console, end to end: the real `ampsync serve` binary on 127.0.0.1,
//! driven by a real headless Chromium through chromedriver (WebDriver) and
//! by plain HTTP; the sandbox takes the pushes. And alerts: a webhook
//! receiver in the test records what `sync` and `check` post.
//!
//! Chromium and chromedriver come from Debian (`chromium`,
//! `chromium-driver`; scripts/test.sh installs them). A machine without
//! them fails these tests with what to install, never skips them.


use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ampsync_sandbox::{SandboxOptions, TeamSeed};
use crate::common::sandbox::{EXAMPLE_TEAMS, TestSandbox};
use crate::common::{Lines, TestEnv, example};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// `ampsync serve` on a free port, its stderr (the access log) collected.
struct Served {
    child: Child,
    base: String,
    login: String,
    stderr: Arc<Mutex<String>>,
}

impl Served {
    fn start(env: &TestEnv) -> Served {
        Served::run(env, &["serve", "--addr", "127.0.0.1:0"])
    }

    /// `ampsync ARGS`, which announces a console.
    fn run(env: &TestEnv, args: &[&str]) -> Served {
        let mut cmd = env.command(args);
        cmd.env("AMPSYNC_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn ampsync serve");
        let mut out = Lines::of(child.stdout.take().expect("stdout"));
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let stderr = stderr.clone();
            let mut err = child.stderr.take().expect("stderr");
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    stderr
                        .lock()
                        .expect("lock")
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let line = out.wait_for("console on ");
        let base = line.rsplit(' ').next().expect("url").to_owned();
        let line = out.wait_for("/login?token=");
        let login = line.rsplit(' ').next().expect("url").to_owned();
        std::thread::spawn(move || out.drain());
        Served {
            child,
            base,
            login,
            stderr,
        }
    }

    fn token(&self) -> &str {
        self.login.rsplit('=').next().expect("token")
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    /// A request over plain HTTP/1.1: (status, headers, body).
    fn http(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
        let addr = self.base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).expect("connect to the console");
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
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
        (status, head.to_owned(), body.to_owned())
    }

    /// A GET of the API with the token.
    fn api(&self, path: &str) -> (u16, String) {
        let auth = format!("Bearer {}", self.token());
        let (status, _, body) = self.http("GET", path, &[("Authorization", &auth)], "");
        (status, body)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A path, or a clear failure naming the package to install.
fn tool(path: &str, package: &str) -> String {
    assert!(
        std::path::Path::new(path).exists(),
        "{path} is missing: install Debian's {package} (apt-get install chromium chromium-driver; scripts/test.sh does)"
    );
    path.to_owned()
}

/// chromedriver on a free port, up when it accepts connections.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let exe = tool("/usr/bin/chromedriver", "chromium-driver");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {addr} within 30 s"
            );
            std::thread::yield_now();
        }
        Driver {
            child,
            url: format!("http://{addr}"),
        }
    }

    /// A headless Chromium with JavaScript off: every page must read and
    /// every form work without it.
    async fn browser(&self) -> Client {
        let binary = tool("/usr/bin/chromium", "chromium");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,1400", "--blink-settings=scriptEnabled=false",
                ],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a WebDriver session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The element at `css`; missing, the test fails with the page.
async fn find(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => panic!("{css}: {e}\n{}", c.source().await.unwrap_or_default()),
    }
}

async fn text(c: &Client, css: &str) -> String {
    find(c, css).await.text().await.expect("text")
}

/// Clicks a link or a submit button and waits for the next page: the old
/// page's root goes stale once the new one has replaced it.
async fn click(c: &Client, css: &str) {
    let old = find(c, "html").await;
    find(c, css).await.click().await.expect("click");
    let deadline = Instant::now() + Duration::from_secs(30);
    while old.tag_name().await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "clicking {css} led to no new page within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn type_in(c: &Client, css: &str, value: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(value)
        .await
        .expect("type");
}

async fn path(c: &Client) -> String {
    c.current_url().await.expect("url").path().to_owned()
}

/// day1 cut to its first 17 people: deactivating the rest trips the
/// safeguard, so the import is held.
fn truncated(env: &TestEnv, name: &str, lines: usize) -> std::path::PathBuf {
    let text = std::fs::read_to_string(example("day1.csv")).expect("day1");
    let cut: Vec<&str> = text.lines().take(lines).collect();
    env.write(name, cut.join("\n") + "\n")
}

/// The key of day1's last person (not in the truncated file).
fn last_key() -> String {
    let text = std::fs::read_to_string(example("day1.csv")).expect("day1");
    text.lines()
        .last()
        .and_then(|l| l.split(',').next())
        .expect("a key")
        .to_owned()
}

fn short_hash(file: &std::path::Path) -> String {
    let hash = blake3::hash(&std::fs::read(file).expect("read"));
    hash.to_hex()[..12].to_owned()
}

/// Two days imported (and pushed, with `push`), then a truncated third
/// held as snapshot 3.
fn two_days_and_a_held_import(env: &mut TestEnv, push: bool) {
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    if push {
        env.run(&["push"]).expect_code(0);
    }
    env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
    if push {
        env.run(&["push"]).expect_code(0);
    }
    env.now = "2026-11-26T06:30:00Z".into();
    let cut = truncated(env, "cut.csv", 18);
    let held = env.run(&["import", cut.to_str().expect("path"), "--format", "json"]);
    assert_eq!(held.expect_code(3).json()["outcome"], "held");
}

#[test]
fn in_the_browser_a_held_import_is_approved_by_name_and_a_person_found_with_file_and_hash() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    sandbox.configure(&mut env, "max_requests_per_second = 500");
    two_days_and_a_held_import(&mut env, true);
    let bars: usize = env
        .json(&["snapshots"])
        .as_array()
        .expect("snapshots")
        .iter()
        .filter(|s| s["status"] == "applied")
        .map(|s| {
            ["created", "updated", "deactivated", "reactivated"]
                .iter()
                .filter(|k| s[**k].as_u64().is_some_and(|n| n > 0))
                .count()
        })
        .sum();
    let active_before = sandbox
        .users()
        .iter()
        .filter(|u| {
            !u["status"]["status"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("deactivated"))
        })
        .count();
    let served = Served::start(&env);
    let driver = Driver::start();
    let screenshot = std::env::var_os("AMPSYNC_SCREENSHOT");
    sandbox.block_on(async {
        let c = driver.browser().await;
        // Not logged in: the login page.
        c.goto(&served.base).await.expect("goto");
        assert_eq!(text(&c, "h1").await, "Log in");
        c.goto(&served.login).await.expect("login");
        assert_eq!(path(&c).await, "/", "the login URL leads to the overview");
        assert_eq!(text(&c, "h1").await, "Overview");
        let notice = text(&c, "[data-held='3']").await;
        assert!(notice.contains("is held"), "{notice}");
        assert!(notice.contains("cut.csv"), "{notice}");
        assert_eq!(text(&c, "#deliveries-pending .n").await, "0");
        // The chart is drawn on the server: bars for the two applied days.
        let svg = c.source().await.expect("source");
        assert_eq!(
            svg.matches("<rect").count(),
            bars,
            "one bar part per day and kind with events"
        );
        if let Some(path) = &screenshot {
            std::fs::write(path, c.screenshot().await.expect("screenshot")).expect("write screenshot");
        }

        click(&c, "[data-held='3'] a").await;
        assert_eq!(path(&c).await, "/held/3");
        let reason = text(&c, "#reason").await;
        assert!(reason.contains("deactivate"), "{reason}");
        type_in(&c, "#by", "Ada Lovelace").await;
        click(&c, "#approve").await;
        assert_eq!(path(&c).await, "/snapshots/3");
        assert_eq!(text(&c, "#status").await, "applied");

        // A person, by name: their page's URL holds no name, key or email.
        c.goto(&format!("{}/people", served.base)).await.expect("goto");
        type_in(&c, "#q", "Siobhán").await;
        click(&c, "#search").await;
        let url = c.current_url().await.expect("url").to_string();
        assert!(url.contains("/people/"), "{url}");
        for personal in ["Siob", "E1005", "northwind", "%"] {
            assert!(!url.contains(personal), "{personal} in {url}");
        }
        let history = text(&c, "#history").await;
        assert!(history.contains("day1.csv"), "{history}");
        assert!(
            history.contains(&short_hash(&example("day1.csv"))),
            "the file's hash: {history}"
        );
        assert!(history.contains("Learn Amp id"), "delivered, with its id: {history}");
        c.close().await.expect("close");
    });
    // The approval went out to Learn Amp, and history names the approver.
    let active_after = sandbox
        .users()
        .iter()
        .filter(|u| {
            !u["status"]["status"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("deactivated"))
        })
        .count();
    assert!(active_after < active_before, "{active_after} < {active_before}");
    let history = env.run(&["history", &last_key()]).expect_code(0);
    assert!(
        history
            .stdout
            .contains("deactivated by approval of snapshot 3, approved by Ada Lovelace"),
        "{}",
        history.stdout
    );
    let json = env.json(&["history", &last_key()]);
    let events = json["events"].as_array().expect("events");
    assert_eq!(
        events.last().map(|e| e["cause"].clone()),
        Some(json!({"type": "approval", "snapshot": 3, "by": "Ada Lovelace"}))
    );
}

#[test]
fn in_the_browser_a_refused_event_is_retried_once_the_cause_is_fixed() {
    // A Learn Amp without the HR package refuses the person with role hr.
    let without = TestSandbox::start(SandboxOptions {
        teams: EXAMPLE_TEAMS.iter().map(|t| TeamSeed::from(*t)).collect(),
        hr_package: false,
        ..SandboxOptions::default()
    });
    let mut env = TestEnv::new();
    without.configure(&mut env, "max_requests_per_second = 500");
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    let pushed = env.run(&["push", "--format", "json"]).expect_code(1).json();
    // Her reports are refused too: their manager is not in Learn Amp.
    let refused: Vec<(String, u64)> = pushed["failed"]
        .as_array()
        .expect("refused events")
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap_or_default().to_owned(),
                f["seq"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(refused.first().map(|(k, _)| k.as_str()), Some("E1005"), "{pushed}");
    assert!(refused.len() > 1, "{pushed}");
    // The package bought: the company's Learn Amp now takes the role.
    let with = without;
    with.sandbox.set_hr_package(true);
    let served = Served::start(&env);
    let driver = Driver::start();
    with.block_on(async {
        let c = driver.browser().await;
        c.goto(&served.login).await.expect("login");
        for (key, seq) in &refused {
            let failed = text(&c, "#failed").await;
            assert!(failed.contains(key.as_str()), "{failed}");
            click(&c, &format!("form[action='/events/{seq}/retry'] button")).await;
            assert_eq!(path(&c).await, "/");
        }
        if let Ok(still) = c.find(Locator::Css("#failed")).await {
            panic!("still refused: {}", still.text().await.unwrap_or_default());
        }
        c.close().await.expect("close");
    });
    for (key, _) in &refused {
        let history = env.json(&["history", key]);
        assert_eq!(history["events"][0]["delivery"]["status"], "delivered", "{history}");
    }
    assert!(
        with.users()
            .iter()
            .any(|u| u["email"] == "siobhan.obriain@northwind.example"),
        "{:?}",
        with.users()
    );
}

#[test]
fn over_http_the_token_is_required_posts_need_the_csrf_token_and_the_api_is_the_cli_json() {
    let mut env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[csv]\nkey = \"Employee ID\"\n");
    two_days_and_a_held_import(&mut env, false);
    let served = Served::start(&env);

    // Without a token: the login page for pages, 401 for everything.
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/runs"),
        ("GET", "/snapshots/1"),
        ("GET", "/held/3"),
        ("GET", "/people"),
        ("GET", "/people/0123"),
        ("GET", "/rollback"),
        ("POST", "/people"),
        ("POST", "/held/3/approve"),
        ("POST", "/events/1/retry"),
        ("POST", "/rollback"),
    ] {
        let (status, _, body) = served.http(method, path, &[], "");
        assert_eq!(status, 401, "{method} {path}");
        assert!(body.contains("<h1>Log in</h1>"), "{method} {path}: {body}");
    }
    for (method, path) in [
        ("GET", "/api/snapshots"),
        ("GET", "/api/events"),
        ("GET", "/api/people/E1002"),
        ("GET", "/api/runs"),
        ("POST", "/api/snapshots/3/approve"),
        ("POST", "/api/snapshots/3/reject"),
        ("POST", "/api/events/1/retry"),
    ] {
        for auth in [None, Some("Bearer wrong"), Some("Basic eDp5")] {
            let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
            let (status, _, _) = served.http(method, path, &headers, "by=Mallory");
            assert_eq!(status, 401, "{method} {path} with {auth:?}");
        }
    }
    assert_eq!(
        env.json(&["snapshots"])[2]["status"],
        "held",
        "nothing was decided without the token"
    );

    // A wrong login token is refused; the right one sets a strict cookie.
    let (status, _, _) = served.http("GET", "/login?token=0000", &[], "");
    assert_eq!(status, 401);
    let (status, head, _) = served.http("GET", &format!("/login?token={}", served.token()), &[], "");
    assert_eq!(status, 303);
    let cookie_line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a session cookie");
    assert!(
        cookie_line.contains("HttpOnly") && cookie_line.contains("SameSite=Strict"),
        "{cookie_line}"
    );
    let cookie = cookie_line
        .split_once(':')
        .and_then(|(_, v)| v.trim().split(';').next())
        .expect("cookie")
        .to_owned();
    let with_cookie = [("Cookie", cookie.as_str())];

    // A POST without the session's CSRF token is refused, and does nothing.
    let (status, _, _) = served.http("POST", "/held/3/approve", &with_cookie, "by=Mallory");
    assert_eq!(status, 403);
    let (status, _, _) = served.http("POST", "/held/3/approve", &with_cookie, "by=Mallory&csrf=0123");
    assert_eq!(status, 403);
    assert_eq!(env.json(&["snapshots"])[2]["status"], "held");
    // With it, the search finds a person by email, in the body.
    let (_, _, page) = served.http("GET", "/people", &with_cookie, "");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF token in the form")
        .to_owned();
    let (status, head, _) = served.http(
        "POST",
        "/people",
        &with_cookie,
        &format!("csrf={csrf}&q=zoe.muller%40northwind.example"),
    );
    assert_eq!(status, 303, "{head}");
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .expect("to the person's page")
        .to_owned();
    let (status, _, person) = served.http("GET", &location, &with_cookie, "");
    assert_eq!(status, 200);
    assert!(person.contains("Chief Technology Officer"), "{person}");

    // /api/ answers are the CLI's --format json, byte for byte.
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        env.run(&all).expect_code(0).stdout
    };
    assert_eq!(served.api("/api/snapshots"), (200, cli(&["snapshots"])));
    assert_eq!(
        served.api("/api/events?snapshot=2&kind=updated,deactivated"),
        (
            200,
            cli(&["events", "--snapshot", "2", "--kind", "updated,deactivated"])
        )
    );
    assert_eq!(
        served.api("/api/events?snapshot=3"),
        (200, cli(&["events", "--snapshot", "3"])),
        "a held snapshot's would-be events"
    );
    assert_eq!(
        served.api("/api/events?since=2026-11-25&field=jobTitle"),
        (200, cli(&["events", "--since", "2026-11-25", "--field", "jobTitle"]))
    );
    let (status, person) = served.api("/api/people/E1002");
    assert_eq!(status, 200);
    let person: Value = serde_json::from_str(&person).expect("json");
    assert_eq!(person["record"], env.json(&["show", "E1002"]));
    assert_eq!(person["history"], env.json(&["history", "E1002"]));
    assert_eq!(served.api("/api/people/nobody").0, 404);
    assert_eq!(served.api("/api/events?kind=exploded").0, 400);
    assert_eq!(served.api("/api/runs"), (200, "[]\n".to_owned()));

    // Approve through the API: a name is required; it lands in history.
    let auth = format!("Bearer {}", served.token());
    let bearer = [("Authorization", auth.as_str())];
    let (status, _, _) = served.http("POST", "/api/snapshots/3/approve", &bearer, "");
    assert_eq!(status, 400);
    let (status, _, body) = served.http("POST", "/api/snapshots/3/approve", &bearer, "by=Grace+Hopper");
    assert_eq!(status, 200, "{body}");
    let approved: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (&approved["snapshot"], &approved["status"], &approved["push"]),
        (&json!(3), &json!("applied"), &Value::Null),
        "no credentials here: appended, not pushed"
    );
    let (status, _, _) = served.http("POST", "/api/snapshots/3/approve", &bearer, "by=Grace+Hopper");
    assert_eq!(status, 409, "approved already");
    let history = env.run(&["history", &last_key()]).expect_code(0).stdout;
    assert!(history.contains("approved by Grace Hopper"), "{history}");

    // The access log has routes and statuses, nothing personal, no token.
    let log = served.stderr();
    assert!(log.contains("console: GET /people/{id} 200"), "{log}");
    assert!(log.contains("console: POST /held/{n}/approve 403"), "{log}");
    assert!(log.contains("console: GET /api/people/{key} 404"), "{log}");
    for secret in [
        "northwind",
        "zoe",
        "E1002",
        "nobody",
        "Mallory",
        "Grace",
        served.token(),
        &location,
    ] {
        assert!(!log.contains(secret), "{secret:?} in the access log:\n{log}");
    }
}

#[test]
fn the_daemon_serves_the_console_beside_its_open_health_endpoints() {
    let mut env = TestEnv::with_config(
        "[store]\npath = \"ampsync.redb\"\n[csv]\nkey = \"Employee ID\"\n\
         [schedule]\ncron = \"0 30 6 1 1 *\"\ntimezone = \"UTC\"\n",
    );
    env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
    env.env.push(("AMPSYNC_CLIENT_ID".into(), "id".into()));
    env.env.push(("AMPSYNC_CLIENT_SECRET".into(), "secret".into()));
    env.env
        .push(("CONSOLE_TOKEN".into(), "a-token-from-the-environment".into()));
    env.write(
        "ampsync.toml",
        "[store]\npath = \"ampsync.redb\"\n[csv]\nkey = \"Employee ID\"\n[learnamp]\nbase_url = \"http://127.0.0.1:9\"\n\
         [schedule]\ncron = \"0 30 6 1 1 *\"\ntimezone = \"UTC\"\n[console]\ntoken_env = \"CONSOLE_TOKEN\"\n",
    );
    let mut cmd = env.command(&["daemon", "--http-addr", "127.0.0.1:0"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn the daemon");
    let mut out = Lines::of(child.stdout.take().expect("stdout"));
    let line = out.wait_for("console on ");
    let login = out.wait_for("log in");
    assert!(
        login.contains("$CONSOLE_TOKEN"),
        "the token is named, not printed: {login}"
    );
    assert!(!login.contains("a-token-from-the-environment"), "{login}");
    std::thread::spawn(move || out.drain());
    let served = Served {
        child,
        base: line.rsplit(' ').next().expect("url").to_owned(),
        login: "?token=a-token-from-the-environment".to_owned(),
        stderr: Arc::new(Mutex::new(String::new())),
    };
    let (status, _, body) = served.http("GET", "/healthz", &[], "");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert_eq!(served.http("GET", "/metrics", &[], "").0, 200);
    assert_eq!(served.http("GET", "/", &[], "").0, 401);
    assert_eq!(served.http("GET", "/api/snapshots", &[], "").0, 401);
    let (status, snapshots) = served.api("/api/snapshots");
    assert_eq!(status, 200);
    let snapshots: Value = serde_json::from_str(&snapshots).expect("json");
    assert_eq!(snapshots[0]["created"], 50, "{snapshots}");
}

/// A webhook receiver: records each body, answers with `status`.
struct Receiver {
    url: String,
    posts: Arc<Mutex<Vec<Value>>>,
    status: Arc<AtomicU16>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    fn start() -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let posts = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().route(
            "/hooks/s3cr3t-part",
            axum::routing::post({
                let (posts, status) = (posts.clone(), status.clone());
                move |axum::Json(body): axum::Json<Value>| async move {
                    posts.lock().expect("lock").push(body);
                    axum::http::StatusCode::from_u16(status.load(Ordering::SeqCst)).expect("status")
                }
            }),
        );
        runtime.spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: format!("http://{addr}/hooks/s3cr3t-part"),
            posts,
            status,
            _runtime: runtime,
        }
    }

    fn posts(&self) -> Vec<Value> {
        self.posts.lock().expect("lock").clone()
    }
}

#[test]
fn alerts_reach_the_webhook_and_one_that_cannot_is_recorded_without_failing_the_run() {
    let receiver = Receiver::start();
    let sandbox = TestSandbox::start(SandboxOptions {
        teams: EXAMPLE_TEAMS.iter().map(|t| TeamSeed::from(*t)).collect(),
        hr_package: false,
        ..SandboxOptions::default()
    });
    let mut env = TestEnv::new();
    let drop = env.path().join("drop");
    std::fs::create_dir_all(&drop).expect("drop folder");
    sandbox.configure(
        &mut env,
        &format!(
            "max_requests_per_second = 500\n[source]\nkind = \"dir\"\nremote_dir = \"{}\"\npattern = \"users_*.csv\"\nsettle_seconds = 0\n\
             [schedule]\ncron = \"0 30 6 * * *\"\ntimezone = \"UTC\"\nexpect_file_by = \"06:00\"\n\
             [alerts]\nwebhook_url_env = \"HOOK\"\nformat = \"json\"\n[console]\npublic_url = \"https://ampsync.acme.example/\"\n",
            drop.display()
        ),
    );
    env.env.push(("HOOK".into(), receiver.url.clone()));
    let mut outputs = String::new();
    let mut run = |env: &TestEnv, args: &[&str], code: i32| {
        let r = env.run(args).expect_code(code);
        outputs.push_str(&r.stdout);
        outputs.push_str(&r.stderr);
    };

    // Day 1: Learn Amp refuses the person with role hr: a `failed` alert.
    env.now = "2027-01-04T05:00:00Z".into();
    std::fs::copy(example("day1.csv"), drop.join("users_1.csv")).expect("copy");
    run(&env, &["sync"], 1);
    let runs = std::fs::read_to_string(env.path().join("runs.jsonl")).expect("run log");
    let first: Value = serde_json::from_str(runs.lines().next().expect("a run")).expect("json");
    let refused = first["push"]["failed"].as_u64().expect("refused events");
    assert!(refused >= 1, "{first}");
    assert_eq!(
        receiver.posts(),
        vec![
            json!({"kind": "failed", "time": "2027-01-04T05:00:00Z", "failed": refused,
                    "link": "https://ampsync.acme.example/"})
        ]
    );

    // Day 2: a truncated file is held: a `held` alert with the reason and the page.
    env.now = "2027-01-05T05:00:00Z".into();
    std::fs::copy(truncated(&env, "cut.csv", 18), drop.join("users_2.csv")).expect("copy");
    run(&env, &["sync"], 3);
    let held = receiver.posts().pop().expect("a held alert");
    assert_eq!(
        (&held["kind"], &held["snapshot"], &held["link"]),
        (&json!("held"), &json!(2), &json!("https://ampsync.acme.example/held/2"))
    );
    assert!(
        held["reason"].as_str().is_some_and(|r| r.contains("deactivate")),
        "{held}"
    );

    // A receiver that fails is tried again, and the run ends as it would have.
    run(&env, &["reject", "2"], 0);
    receiver.status.store(500, Ordering::SeqCst);
    env.now = "2027-01-06T05:00:00Z".into();
    std::fs::copy(truncated(&env, "cut2.csv", 17), drop.join("users_3.csv")).expect("copy");
    let before = receiver.posts().len();
    run(&env, &["sync"], 3);
    assert_eq!(receiver.posts().len(), before + 3, "three tries");
    let log = std::fs::read_to_string(env.path().join("runs.jsonl")).expect("run log");
    let last: Value = serde_json::from_str(log.lines().last().expect("a run")).expect("json");
    assert_eq!(last["outcome"], "held");
    assert_eq!(
        last["alert_errors"],
        json!(["the held alert was not delivered after 3 tries: the webhook answered 500 Internal Server Error"])
    );

    // No new file by expect_file_by (the held one was taken): `missing_file`.
    receiver.status.store(200, Ordering::SeqCst);
    env.now = "2027-01-07T06:30:00Z".into();
    run(&env, &["sync"], 4);
    let missing = receiver.posts().pop().expect("a missing_file alert");
    assert_eq!(
        missing,
        json!({"kind": "missing_file", "time": "2027-01-07T06:30:00Z", "link": "https://ampsync.acme.example/"})
    );

    // `check` sends a test alert.
    run(&env, &["check"], 0);
    assert_eq!(receiver.posts().pop().map(|p| p["kind"].clone()), Some(json!("test")));

    // The URL is a secret: in no output, no log line, no run log.
    assert!(!outputs.contains("s3cr3t"), "{outputs}");
    assert!(!log.contains("s3cr3t"), "{log}");
}
