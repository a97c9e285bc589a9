//! Issue #11, tried as an attacker would: the breaks in logs, the daemon,
//! file modes, symlinks, output, store files, config checks and the clock,
//! each pinned by a test named after what it broke; and what held, pinned
//! so it keeps holding. Everything runs the real binary against real
//! servers on 127.0.0.1 (the sandbox, sshd, gpg).


use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::gpg::GpgHome;
use crate::common::sandbox::TestSandbox;
use crate::common::sshd::{KeyType, Sshd};
use crate::common::{Lines, Run, TestEnv, example};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The tests' pinned clock, 2026-11-24T06:30:00Z.
const NOW: u64 = 1_795_501_800;

fn pinned_plus(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW.saturating_add_signed(secs))
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn set_mtime(path: &Path, mtime: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(mtime))
        .unwrap_or_else(|e| panic!("mtime of {}: {e}", path.display()));
}

/// A config pushing to `sandbox` whose source is the folder `drop` beside
/// it, taking files at once; `extra` goes into `[source]` (and may open
/// further tables).
fn dir_source(env: &mut TestEnv, sandbox: &TestSandbox, extra: &str) -> PathBuf {
    let drop = env.path().join("drop");
    std::fs::create_dir_all(&drop).expect("drop folder");
    sandbox.configure(
        env,
        &format!(
            "max_requests_per_second = 500\n[source]\nkind = \"dir\"\ndir = \"drop\"\npattern = \"users_*.csv\"\nsettle_seconds = 0\n{extra}\n"
        ),
    );
    drop
}

/// Puts an example day into the drop folder, dated an hour before the
/// pinned clock.
fn place(drop: &Path, name: &str, day: &str) -> PathBuf {
    let path = drop.join(name);
    std::fs::copy(example(day), &path).expect("copy");
    set_mtime(&path, pinned_plus(-3600));
    path
}

/// Runs `ampsync ARGS` under `umask MASK` (through sh, which sets it).
fn run_with_umask(env: &TestEnv, mask: &str, args: &[&str]) -> Run {
    let cmd = env.command(args);
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!("umask {mask}; exec \"$@\""))
        .arg("sh")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .current_dir(env.path());
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            sh.env(key, value);
        }
    }
    let out = sh.output().expect("run ampsync under sh");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Waits for `child` to exit, failing the test after `limit`.
fn wait_with_deadline(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A plain HTTP GET: the status line's code and the body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the health address");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (code, body)
}

/// The secret bytes of every secret-key packet in a binary OpenPGP key:
/// of a v4 key without a passphrase, the 18 bytes before the 2-byte
/// checksum that ends the packet lie inside its last secret number.
fn pgp_secret_bytes(key: &[u8]) -> Vec<Vec<u8>> {
    let mut secrets = Vec::new();
    let mut at = 0;
    while at < key.len() {
        let head = key[at];
        assert!(head & 0x80 != 0, "an OpenPGP packet header at {at}");
        let (tag, len, header) = if head & 0x40 != 0 {
            let tag = head & 0x3f;
            match key[at + 1] {
                l @ 0..=191 => (tag, usize::from(l), 2),
                l @ 192..=223 => (tag, ((usize::from(l) - 192) << 8) + usize::from(key[at + 2]) + 192, 3),
                255 => {
                    let n = u32::from_be_bytes([key[at + 2], key[at + 3], key[at + 4], key[at + 5]]);
                    (tag, n as usize, 6)
                }
                other => panic!("a partial length {other} in a key"),
            }
        } else {
            let tag = (head >> 2) & 0x0f;
            match head & 3 {
                0 => (tag, usize::from(key[at + 1]), 2),
                1 => (tag, usize::from(u16::from_be_bytes([key[at + 1], key[at + 2]])), 3),
                2 => {
                    let n = u32::from_be_bytes([key[at + 1], key[at + 2], key[at + 3], key[at + 4]]);
                    (tag, n as usize, 5)
                }
                _ => panic!("an indeterminate length in a key"),
            }
        };
        let body = &key[at + header..at + header + len];
        if tag == 5 || tag == 7 {
            secrets.push(body[body.len() - 20..body.len() - 2].to_vec());
        }
        at += header + len;
    }
    assert_eq!(secrets.len(), 2, "a primary key and a subkey");
    secrets
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Panics if any 8 bytes in a row of `secret` appear in `text` as hex.
fn assert_no_hex_of(text: &str, secret: &[u8], what: &str) {
    let lower = text.to_lowercase();
    for window in secret.windows(8) {
        assert!(
            !lower.contains(&hex(window)),
            "{what} appears in the logs ({}):\n{text}",
            hex(window)
        );
    }
}

/// A Learn Amp token endpoint that hands out a known token.
struct TokenServer {
    url: String,
    _runtime: tokio::runtime::Runtime,
}

const TOKEN: &str = "tok-7f3a9c1e55d04b2a8e6f0c9d1b2a3f4e5d6c7b8a";

impl TokenServer {
    fn start() -> TokenServer {
        use axum::routing::post;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new().route(
            "/oauth/token",
            post(|| async { axum::Json(json!({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 7200})) }),
        );
        runtime.spawn(async move { axum::serve(listener, app).await });
        TokenServer { url, _runtime: runtime }
    }
}

/// Break 2: `AMPSYNC_LOG=debug` printed the pgp crate's debug lines, which
/// carry the secret-key packet (`rest: 000100e41a95…`) of a key made by
/// `keygen pgp`. The client secret, the token, the SSH key and its
/// passphrase were absent at `trace`: pinned here too.
#[test]
fn trace_logs_never_carry_the_pgp_secret_key_or_any_other_secret() {
    const SSH_PASSPHRASE: &str = "correct horse battery staple 41";
    let sshd = Sshd::start();
    let sandbox = TestSandbox::with_example_teams();
    let tokens = TokenServer::start();
    let mut env = TestEnv::new();

    let ssh_key = sshd.new_user_key("user_locked", KeyType::Ed25519, SSH_PASSPHRASE);
    sshd.authorize(&ssh_key);
    env.run(&["keygen", "pgp", "--user-id", "Acme <ampsync@acme.example>"])
        .expect_code(0);
    let customer = GpgHome::new();
    let public = env.path().join("keys/tenant.pub.asc");
    customer.gpg(&["--import", public.to_str().expect("path")]);
    customer.encrypt(
        &example("day1.csv"),
        &sshd.path("users_1.csv.gpg"),
        "ampsync@acme.example",
        None,
        false,
    );
    sshd.set_mtime("users_1.csv.gpg", pinned_plus(-3600));

    let config = format!(
        "max_requests_per_second = 500\n[source]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nprivate_key = \"{}\"\nprivate_key_passphrase_env = \"SSH_KEY_PASSPHRASE\"\nknown_host_key = \"{}\"\nremote_dir = \"{}\"\npattern = \"users_*.csv*\"\nsettle_seconds = 0\n[pgp]\nsecret_key = \"keys/tenant.sec.asc\"\n",
        sshd.port,
        sshd.user,
        ssh_key.display(),
        sshd.host_public_key_line,
        sshd.root.display()
    );
    sandbox.configure(&mut env, &config);
    env.env.push(("SSH_KEY_PASSPHRASE".into(), SSH_PASSPHRASE.into()));
    env.env.push(("AMPSYNC_LOG".into(), "trace".into()));
    let sync = env.run(&["sync"]).expect_code(0);
    assert!(sync.stdout.contains("as snapshot 1: 50 created"), "{}", sync.stdout);

    // `check` against a token endpoint whose token is known.
    let text = std::fs::read_to_string(env.path().join("ampsync.toml")).expect("config");
    let base_url = text
        .lines()
        .find(|l| l.starts_with("base_url"))
        .expect("base_url")
        .to_owned();
    env.write(
        "ampsync.toml",
        text.replace(&base_url, &format!("base_url = \"{}\"", tokens.url)),
    );
    let check = env.run(&["check"]).expect_code(0);
    assert!(check.stdout.contains("credentials accepted"), "{}", check.stdout);

    let logs = format!("{}\n{}", sync.stderr, check.stderr);
    assert!(
        logs.contains("connected to the sftp source"),
        "ampsync's own trace lines are there: {logs}"
    );
    let key = env.path().join("keys/tenant.sec.bin");
    customer.gpg(&[
        "--dearmor",
        "--output",
        key.to_str().expect("path"),
        env.path().join("keys/tenant.sec.asc").to_str().expect("path"),
    ]);
    for secret in pgp_secret_bytes(&std::fs::read(&key).expect("dearmored key")) {
        assert_no_hex_of(&logs, &secret, "the PGP secret key");
    }
    let client_secret = env
        .env
        .iter()
        .find(|(k, _)| k == "AMPSYNC_CLIENT_SECRET")
        .map(|(_, v)| v.clone())
        .expect("the client secret");
    for (secret, what) in [
        (client_secret.as_str(), "the client secret"),
        (TOKEN, "the token"),
        (SSH_PASSPHRASE, "the SSH key's passphrase"),
    ] {
        assert!(!logs.contains(secret), "{what} appears in the logs:\n{logs}");
    }
    let ssh_private = std::fs::read_to_string(&ssh_key).expect("ssh key");
    for line in ssh_private.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!logs.contains(line), "the SSH private key appears in the logs:\n{logs}");
    }
}

/// Break 3 (the daemon's part): a run waiting on a server that never
/// answers kept the daemon from stopping on SIGTERM (only SIGKILL did), and
/// `/healthz` said ok all the while.
#[test]
fn sigterm_stops_a_daemon_stuck_on_a_silent_server_and_healthz_reports_the_overrun() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    let keys = env.run(&["keygen", "ssh", "--out", "keys/id_ed25519"]).expect_code(0);
    let pin = keys
        .stdout
        .lines()
        .find(|l| l.starts_with("ssh-ed25519 "))
        .expect("a public key line")
        .to_owned();
    // Accepts connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("address").port();
    let (accepted, connections) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in silent.incoming() {
            if accepted.send(stream).is_err() {
                return;
            }
        }
    });
    sandbox.configure(
        &mut env,
        &format!(
            "[source]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"u\"\nprivate_key = \"keys/id_ed25519\"\nknown_host_key = \"{pin}\"\nremote_dir = \"/upload\"\n[schedule]\ncron = \"* * * * * *\"\nmax_run_minutes = 0.01\n"
        ),
    );
    let mut daemon = env
        .command(&["daemon", "--health-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    let mut out = Lines::of(daemon.stdout.take().expect("stdout"));
    let health = out.wait_for("health on http://");
    let addr = health
        .trim_start_matches("health on http://")
        .split('/')
        .next()
        .expect("address")
        .to_owned();
    let _held = connections
        .recv_timeout(Duration::from_secs(30))
        .expect("the run connects to the silent server");

    // Over the limit (0.6 s) while it waits: unhealthy, and why.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (code, body) = loop {
        let (code, body) = http_get(&addr, "/healthz");
        if code != 200 || Instant::now() > deadline {
            break (code, body);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, 503, "{body}");
    assert!(
        body.starts_with("unhealthy: the run that started at 2026-11-24T06:30:00Z has been going for ")
            && body.contains("longer than schedule.max_run_minutes (0.6 s)"),
        "{body}"
    );

    let asked = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = wait_with_deadline(&mut daemon, Duration::from_secs(8));
    assert!(status.success(), "a clean stop: {status:?}");
    assert!(asked.elapsed() < Duration::from_secs(8));
    out.drain();
    let runs = std::fs::read_to_string(env.path().join("runs.jsonl")).expect("runs.jsonl");
    let last: Value = serde_json::from_str(runs.lines().last().expect("a run")).expect("json");
    assert_eq!(last["outcome"], json!("interrupted"), "{runs}");
}

/// Break 6: the store (which keeps the decrypted files), `runs.jsonl`, the
/// lock file and `export-snapshot`'s file were created 0644 under a 022
/// umask, 0666 under 000.
#[test]
fn files_ampsync_makes_are_owner_only_whatever_the_umask() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    let drop = dir_source(&mut env, &sandbox, "");
    place(&drop, "users_1.csv", "day1.csv");
    let run = run_with_umask(&env, "000", &["sync"]).expect_code(0);
    assert!(run.stdout.contains("as snapshot 1"), "{}", run.stdout);
    let out = env.path().join("out.csv");
    run_with_umask(&env, "000", &["export-snapshot", "1", out.to_str().expect("path")]).expect_code(0);
    for file in [
        env.store_path(),
        env.path().join("runs.jsonl"),
        env.path().join("ampsync.redb.lock"),
        out,
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    // A store left open to others by an older ampsync: `check` says so.
    std::fs::set_permissions(env.store_path(), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let check = env.run(&["check"]);
    assert!(
        check.stdout.contains(&format!(
            "warn  the store {} is readable by others (mode 644)",
            env.store_path().display()
        )),
        "{}",
        check.stdout
    );
}

/// Break 7: a symlinked lock file had its target truncated, a symlinked
/// `runs.jsonl` had records appended to its target, and `export-snapshot`
/// overwrote an existing file, through a symlink too.
#[test]
fn symlinks_where_ampsync_writes_are_never_followed() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    let drop = dir_source(&mut env, &sandbox, "");
    let precious = env.path().join("precious.txt");
    std::fs::write(&precious, "keep me\n").expect("target");

    std::os::unix::fs::symlink(&precious, env.path().join("ampsync.redb.lock")).expect("symlink");
    let run = env.run(&["sync"]).expect_code(1);
    assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
    std::fs::remove_file(env.path().join("ampsync.redb.lock")).expect("unlink");

    place(&drop, "users_1.csv", "day1.csv");
    std::os::unix::fs::symlink(&precious, env.path().join("runs.jsonl")).expect("symlink");
    let run = env.run(&["sync"]).expect_code(1);
    assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&precious).expect("read"), "keep me\n");

    let existing = env.write("existing.csv", "mine\n");
    let run = env
        .run(&["export-snapshot", "1", existing.to_str().expect("path")])
        .expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "{} already exists: pass --force to replace it",
            existing.display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&existing).expect("read"), "mine\n");

    let link = env.path().join("export.csv");
    std::os::unix::fs::symlink(&precious, &link).expect("symlink");
    env.run(&["export-snapshot", "1", link.to_str().expect("path")])
        .expect_code(1);
    env.run(&["export-snapshot", "1", link.to_str().expect("path"), "--force"])
        .expect_code(0);
    assert_eq!(std::fs::read_to_string(&precious).expect("read"), "keep me\n");
    assert!(
        std::fs::symlink_metadata(&link).expect("stat").is_file(),
        "the link itself was replaced"
    );
    assert_eq!(
        std::fs::read(&link).expect("exported"),
        std::fs::read(example("day1.csv")).expect("day1")
    );
    assert_eq!(mode(&link), 0o600);
}

/// Break 8: `events --format csv` and `snapshots --format csv` printed
/// `=HYPERLINK(…)`, `=cmd|' /C calc'!A0`, `+SUM(1)` and `@SUM(2)` as they
/// were, and escape sequences in file names reached the terminal.
#[test]
fn csv_output_neutralises_formulas_and_terminal_output_escapes_control_characters() {
    let env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[csv]\nkey = \"Employee ID\"\n");
    env.write(
        "=SUM(9).csv",
        "Employee ID,First name,Last name,Email,Job title\n\
         E1,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",+SUM(1),a@x.example,=cmd|' /C calc'!A0\n\
         E2,@SUM(2),-2+3,b@x.example,Engineer\n",
    );
    env.run(&["import", "=SUM(9).csv"]).expect_code(0);

    let cells = |run: Run| -> Vec<String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(run.stdout.as_bytes());
        reader
            .records()
            .flat_map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    };
    let events = cells(env.run(&["events", "--format", "csv"]).expect_code(0));
    let snapshots = cells(env.run(&["snapshots", "--format", "csv"]).expect_code(0));
    for cell in events.iter().chain(&snapshots) {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "a cell a spreadsheet would run: {cell:?}"
        );
    }
    for want in [
        "'=HYPERLINK(\"http://evil.example\",\"x\")",
        "'=cmd|' /C calc'!A0",
        "'+SUM(1)",
        "'@SUM(2)",
        "'-2+3",
    ] {
        assert!(events.iter().any(|c| c == want), "{want} in {events:?}");
    }
    assert!(snapshots.iter().any(|c| c == "'=SUM(9).csv"), "{snapshots:?}");

    // A file name carrying escape sequences: clear screen, a forged line.
    let name = "day\u{1b}[2J\u{1b}[H\nerror: forged.csv";
    std::fs::copy(example("day1.csv"), env.path().join(name)).expect("copy");
    let run = env.run(&["import", name]);
    let table = env.run(&["snapshots"]).expect_code(0);
    let missing = env.run(&["import", "gone\u{1b}]0;pwned\u{7}.csv"]).expect_code(1);
    for text in [&run.stdout, &run.stderr, &table.stdout, &missing.stderr] {
        assert!(
            !text.contains(['\u{1b}', '\u{7}']) && !text.contains("\nerror: forged"),
            "a control character reached the terminal: {text:?}"
        );
    }
    assert!(
        table.stdout.contains("day\\u{1b}[2J\\u{1b}[H\\u{a}error: forged.csv"),
        "{}",
        table.stdout
    );
    assert!(
        missing.stderr.contains("gone\\u{1b}]0;pwned\\u{7}.csv"),
        "{}",
        missing.stderr
    );
}

/// Break 9: read commands silently created a missing store, and a 0-byte
/// store was taken for a new one (`verify` said "0 events, intact").
#[test]
fn read_commands_never_create_a_store_and_empty_or_foreign_files_are_refused() {
    let env = TestEnv::new();
    let store = env.store_path();
    for args in [
        &["snapshots"][..],
        &["events"],
        &["history", "E1"],
        &["show", "E1"],
        &["plan"],
        &["verify"],
        &["approve", "1"],
        &["reject", "1"],
        &["rollback", "--to", "1"],
        &["export-snapshot", "1", "out.csv"],
    ] {
        let run = env.run(args).expect_code(1);
        assert_eq!(
            run.stderr,
            format!(
                "error: there is no store at {}: run `ampsync init` to create one, or set store.path in the config\n",
                store.display()
            ),
            "{args:?}"
        );
        assert!(!store.exists(), "{args:?} created the store");
    }

    std::fs::write(&store, b"").expect("empty store");
    for args in [
        &["verify"][..],
        &["import", example("day1.csv").to_str().expect("path")],
    ] {
        let run = env.run(args).expect_code(1);
        assert!(
            run.stderr
                .contains(&format!("the store {} is an empty file", store.display())),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(std::fs::metadata(&store).expect("stat").len(), 0, "left as it was");

    std::fs::write(&store, b"Employee ID,Email\n").expect("a foreign file");
    let run = env.run(&["verify"]).expect_code(1);
    assert!(
        run.stderr
            .contains(&format!("{} is not an ampsync store", store.display())),
        "{}",
        run.stderr
    );
}

/// The store of the example days 1 and 2: the same bytes every time.
fn example_store() -> &'static [u8] {
    static STORE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    STORE.get_or_init(|| {
        let mut env = TestEnv::new();
        env.import_at("2026-11-24T06:30:00Z", &example("day1.csv"));
        env.import_at("2026-11-25T06:30:00Z", &example("day2.csv"));
        std::fs::read(env.store_path()).expect("the store")
    })
}

/// Runs `args` on a store of these bytes; panics with the output if a
/// panic reached the user, or the command neither worked nor said why.
fn run_on_damaged_store(bytes: &[u8], args: &[&str]) -> Run {
    let env = TestEnv::new();
    std::fs::write(env.store_path(), bytes).expect("write the store");
    let mut child = env
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (mut stdout, mut stderr) = (
        child.stdout.take().expect("stdout"),
        child.stderr.take().expect("stderr"),
    );
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut s).map(|_| s)
    });
    let status = wait_with_deadline(&mut child, Duration::from_secs(60));
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.join().expect("join").expect("stdout")).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().expect("join").expect("stderr")).into_owned(),
    };
    assert!(
        (run.code == 0 || run.code == 1) && !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
        "{args:?} on a damaged store: {run:?}"
    );
    run
}

/// Break 9: one bit flipped in a branch page made `plan` panic inside redb
/// ("range end index 2147485915 out of range for slice of length 4096").
#[test]
fn a_store_damaged_where_redb_panics_is_reported_corrupt() {
    let mut bytes = example_store().to_vec();
    bytes[131_187] ^= 0x80;
    let run = run_on_damaged_store(&bytes, &["plan"]);
    assert_eq!(run.code, 1, "{run:?}");
    if run.stderr.contains("inside redb") {
        assert!(
            run.stderr.contains("is corrupt: reading it failed inside redb")
                && run
                    .stderr
                    .contains("Run `ampsync verify` to see what is damaged, and restore the store from a backup"),
            "{}",
            run.stderr
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// No store file, however damaged, makes a command panic: bits flipped
    /// anywhere, or the file cut short.
    #[test]
    fn no_damaged_store_makes_a_command_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..12),
        cut in prop::option::weighted(0.25, any::<prop::sample::Index>()),
    ) {
        let mut bytes = example_store().to_vec();
        for (at, mask) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()).max(1));
        }
        for args in [&["verify"][..], &["plan"], &["events"], &["history", "E1020"]] {
            run_on_damaged_store(&bytes, args);
        }
    }
}

/// Break 14: `check` said ok for a cron, time zone or `expect_file_by`
/// that `daemon` refused, and took `after_import = "archive"` and a request
/// rate of NaN.
#[test]
fn check_refuses_the_settings_the_daemon_refuses() {
    for (setting, tables) in [
        ("schedule.cron", "[schedule]\ncron = \"30 6 * * *\"\n"),
        (
            "schedule.timezone",
            "[schedule]\ncron = \"0 30 6 * * *\"\ntimezone = \"Europe/Londres\"\n",
        ),
        (
            "schedule.expect_file_by",
            "[schedule]\ncron = \"0 30 6 * * *\"\nexpect_file_by = \"25:00\"\n",
        ),
        (
            "source.after_import",
            "[source]\nkind = \"dir\"\ndir = \"drop\"\nafter_import = \"archive\"\n",
        ),
        (
            "learnamp.max_requests_per_second",
            "[learnamp]\nmax_requests_per_second = nan\n",
        ),
    ] {
        let env = TestEnv::with_config(&format!("[store]\npath = \"ampsync.redb\"\n{tables}"));
        let check = env.run(&["check"]).expect_code(1);
        let daemon = env.run(&["daemon"]).expect_code(1);
        assert!(
            check.stderr.contains(&format!("invalid setting `{setting}`")),
            "{}",
            check.stderr
        );
        assert_eq!(check.stderr, daemon.stderr, "one validation for both");
    }
}

/// Break 14: `after_import` was ignored for a `dir` source.
#[test]
fn a_dir_source_moves_an_imported_file_as_after_import_says() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    let drop = dir_source(&mut env, &sandbox, "after_import = \"move:done\"");
    std::fs::create_dir_all(env.path().join("done")).expect("done folder");
    place(&drop, "users_1.csv", "day1.csv");
    let run = env.run(&["sync"]).expect_code(0);
    assert!(run.stdout.contains("as snapshot 1"), "{}", run.stdout);
    assert!(!drop.join("users_1.csv").exists(), "moved away");
    assert_eq!(
        std::fs::read(env.path().join("done/users_1.csv")).expect("moved file"),
        std::fs::read(example("day1.csv")).expect("day1")
    );
}

/// Break 15: an `AMPSYNC_NOW` earlier than the last snapshot was accepted,
/// and `show --as-of` then answered from the wrong events.
#[test]
fn an_import_dated_before_the_last_one_is_refused_and_changes_nothing() {
    let mut env = TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n[csv]\nkey = \"Employee ID\"\n");
    env.import_at("2026-11-25T06:30:00Z", &example("day1.csv"));
    let before = std::fs::read(env.store_path()).expect("store");
    env.now = "2026-11-24T06:30:00Z".into();
    let run = env
        .run(&["import", example("day2.csv").to_str().expect("path")])
        .expect_code(1);
    assert!(
        run.stderr.contains(
            "the time now (2026-11-24T06:30:00Z) is before the store's latest entry (2026-11-25T06:30:00Z): nothing was appended"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(env.store_path()).expect("store"),
        before,
        "the store is as it was"
    );
}

/// Break 15: a file whose mtime was in the future (a server clock ahead)
/// was "still being uploaded" until that time came.
#[test]
fn a_file_dated_in_the_future_is_taken_once_it_has_not_changed_for_settle_seconds() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    let drop = dir_source(&mut env, &sandbox, "").join("users_1.csv");
    let config = std::fs::read_to_string(env.path().join("ampsync.toml")).expect("config");
    env.write(
        "ampsync.toml",
        config.replace("settle_seconds = 0", "settle_seconds = 1"),
    );
    std::fs::copy(example("day1.csv"), &drop).expect("copy");
    set_mtime(&drop, pinned_plus(86_400));
    let run = env.run(&["sync"]).expect_code(0);
    assert!(
        run.stdout.contains("users_1.csv as snapshot 1: 50 created"),
        "{}",
        run.stdout
    );
}

/// A smaller one: `sync` exited 0 when the day's file had not arrived.
#[test]
fn sync_exits_4_when_no_file_has_arrived_by_expect_file_by() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    // The pinned clock says 06:30 UTC; the file was expected by 06:00.
    dir_source(
        &mut env,
        &sandbox,
        "[schedule]\ncron = \"0 30 6 * * *\"\nexpect_file_by = \"06:00\"\n",
    );
    let run = env.run(&["sync"]).expect_code(4);
    assert!(
        run.stdout
            .contains("no new file has arrived by schedule.expect_file_by: the export is late or lost"),
        "{}",
        run.stdout
    );
    let help = env.run(&["--help"]).expect_code(0);
    assert!(
        help.stdout.contains("4 no new file by schedule.expect_file_by (sync)"),
        "{}",
        help.stdout
    );
}

/// Held: private keys are written 0600.
#[test]
fn generated_private_keys_are_owner_only() {
    let env = TestEnv::new();
    run_with_umask(&env, "000", &["keygen", "ssh", "--out", "keys/id_ed25519"]).expect_code(0);
    run_with_umask(&env, "000", &["keygen", "pgp"]).expect_code(0);
    assert_eq!(mode(&env.path().join("keys/id_ed25519")), 0o600);
    assert_eq!(mode(&env.path().join("keys/tenant.sec.asc")), 0o600);
}

/// The listening TCP sockets of process `pid` (local addresses as
/// `/proc/net/tcp` writes them, e.g. `0100007F:1F90`).
fn listening(pid: u32) -> Vec<String> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the process's fds")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().into_owned();
            t.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_owned)
        })
        .collect();
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
                out.push(f[1].to_owned());
            }
        }
    }
    out
}

/// Held: the daemon listens only where `--health-addr` says, and nowhere
/// without it.
#[test]
fn the_daemon_binds_only_where_told() {
    let sandbox = TestSandbox::with_example_teams();
    let mut env = TestEnv::new();
    dir_source(&mut env, &sandbox, "[schedule]\ncron = \"* * * * * *\"\n");
    for health in [None, Some("127.0.0.1:0")] {
        let mut args = vec!["daemon"];
        args.extend(health.iter().flat_map(|a| ["--health-addr", *a]));
        let mut daemon = env
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn daemon");
        let mut out = Lines::of(daemon.stdout.take().expect("stdout"));
        // After its first run the daemon has bound all it ever will.
        out.wait_for("run 2026-11-24T06:30:00Z →");
        let sockets = listening(daemon.id());
        match health {
            None => assert_eq!(sockets, Vec::<String>::new()),
            Some(_) => {
                assert_eq!(sockets.len(), 1, "{sockets:?}");
                assert!(sockets[0].starts_with("0100007F:"), "loopback only: {sockets:?}");
            }
        }
        Command::new("kill")
            .args(["-TERM", &daemon.id().to_string()])
            .status()
            .expect("kill");
        out.drain();
        assert!(wait_with_deadline(&mut daemon, Duration::from_secs(10)).success());
    }
}
