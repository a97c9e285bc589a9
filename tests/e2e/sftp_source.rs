//! The sFTP source against a real OpenSSH sshd: picking the newest settled
//! file, downloading it, tidying up after import, the pinned host key, and
//! the user keys it logs in with.

use crate::common::sshd;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ampsync_engine::source::{RemoteFile, RemotePick, SftpError, SftpSource};
use ampsync_engine::{AfterImport, Config, SourceConfig};
use sshd::{KeyType, Sshd, fingerprint, public_key_path};

/// A config for `sshd` logging in with `key`, the host key pinned as `pin`;
/// `extra` lines go into `[source]`. Relative key paths resolve against
/// the sshd's directory, where the config sits.
fn config(sshd: &Sshd, key: &Path, pin: &str, extra: &str) -> Config {
    let path = sshd.dir().join("ampsync.toml");
    let key = key.strip_prefix(sshd.dir()).unwrap_or(key);
    let text = format!(
        "[source]\n\
         kind = \"sftp\"\n\
         host = \"127.0.0.1\"\n\
         port = {port}\n\
         user = \"{user}\"\n\
         private_key = \"{key}\"\n\
         known_host_key = '{pin}'\n\
         remote_dir = \"{root}\"\n\
         pattern = \"users_*.csv\"\n\
         settle_seconds = 30\n\
         {extra}\n",
        port = sshd.port,
        user = sshd.user,
        key = key.display(),
        root = sshd.root.display(),
    );
    Config::parse(&text, &path).unwrap_or_else(|e| panic!("config: {e}\n{text}"))
}

/// The source for `config`, with no environment variables visible.
fn source(config: &Config) -> Result<SftpSource, SftpError> {
    let source = config.source.as_ref().expect("[source]");
    SftpSource::from_config_with_env(source, config, |_| None)
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

/// Writes `bytes` to a local file and uploads it as `name` with the real
/// sftp client.
fn upload(sshd: &Sshd, name: &str, bytes: &[u8]) {
    let staging = sshd.dir().join("staging");
    std::fs::create_dir_all(&staging).expect("staging folder");
    let local = staging.join(name);
    std::fs::write(&local, bytes).expect("staged file");
    sshd.upload(&local, name);
}

fn remote_file(sshd: &Sshd, name: &str, size: u64, mtime: SystemTime) -> RemoteFile {
    RemoteFile {
        path: sshd.path(name).display().to_string(),
        name: name.to_owned(),
        size,
        mtime: unix_secs(mtime),
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn picks_the_newest_settled_file_downloads_it_and_tidies_up() {
    let sshd = Sshd::start();
    let now = SystemTime::now();
    let older = b"Employee ID,Email\n1,a@example.com\n".to_vec();
    let newer = b"Employee ID,Email\n1,a@example.com\n2,b@example.com\n".to_vec();
    upload(&sshd, "users_2026-11-24.csv", &older);
    upload(&sshd, "users_2026-11-25.csv", &newer);
    upload(&sshd, "staff_2026-11-26.csv", b"not ours, and newest\n");
    let (t_older, t_newer) = (now - Duration::from_secs(3600), now - Duration::from_secs(600));
    sshd.set_mtime("users_2026-11-24.csv", t_older);
    sshd.set_mtime("users_2026-11-25.csv", t_newer);
    sshd.set_mtime("staff_2026-11-26.csv", now - Duration::from_secs(60));

    let config = config(&sshd, &sshd.user_key, &sshd.host_public_key_line, "");
    let conn = source(&config).expect("source").connect().await.expect("connect");
    let newest = remote_file(&sshd, "users_2026-11-25.csv", newer.len() as u64, t_newer);
    assert_eq!(conn.pick(now).await.expect("pick"), RemotePick::File(newest.clone()));

    let dest = tempfile::tempdir().expect("dest");
    let got = conn.download(&newest, dest.path()).await.expect("download");
    assert_eq!(std::fs::read(&got).expect("downloaded file"), newer);
    assert_eq!(got.parent(), Some(dest.path()));
    let name = got.file_name().expect("name").to_string_lossy().into_owned();
    assert!(name.starts_with(".ampsync-download-"), "{name}");
    assert_eq!(
        std::fs::metadata(&got).expect("stat").permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(listing(dest.path()), vec![name]);
    drop(got);
    assert_eq!(listing(dest.path()), Vec::<String>::new(), "removed once dropped");

    // keep: nothing changes.
    conn.finish(&newest, &AfterImport::Keep).await.expect("keep");
    assert_eq!(
        listing(&sshd.root),
        vec!["staff_2026-11-26.csv", "users_2026-11-24.csv", "users_2026-11-25.csv"]
    );

    // move: into the done folder under the same name; the older file is next.
    let done = sshd.root.join("done");
    std::fs::create_dir(&done).expect("done folder");
    conn.finish(&newest, &AfterImport::Move(done.display().to_string()))
        .await
        .expect("move");
    assert_eq!(listing(&done), vec!["users_2026-11-25.csv"]);
    assert_eq!(std::fs::read(done.join("users_2026-11-25.csv")).expect("moved"), newer);
    assert_eq!(
        listing(&sshd.root),
        vec!["done", "staff_2026-11-26.csv", "users_2026-11-24.csv"]
    );
    let next = remote_file(&sshd, "users_2026-11-24.csv", older.len() as u64, t_older);
    assert_eq!(conn.pick(now).await.expect("pick"), RemotePick::File(next.clone()));

    // delete: gone, and nothing matches any more.
    conn.finish(&next, &AfterImport::Delete).await.expect("delete");
    assert_eq!(listing(&sshd.root), vec!["done", "staff_2026-11-26.csv"]);
    assert_eq!(conn.pick(now).await.expect("pick"), RemotePick::Nothing);
    conn.close().await;
}

#[tokio::test]
async fn a_file_of_many_chunks_arrives_whole() {
    let sshd = Sshd::start();
    // 3 MiB and a bit of xorshift bytes: many sftp reads, an odd last one.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..3 * 1024 * 1024 + 17)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    upload(&sshd, "users_big.csv", &bytes);
    let t = SystemTime::now() - Duration::from_secs(60);
    sshd.set_mtime("users_big.csv", t);
    let config = config(&sshd, &sshd.user_key, &sshd.host_public_key_line, "");
    let conn = source(&config).expect("source").connect().await.expect("connect");
    let file = remote_file(&sshd, "users_big.csv", bytes.len() as u64, t);
    assert_eq!(
        conn.pick(SystemTime::now()).await.expect("pick"),
        RemotePick::File(file.clone())
    );
    let dest = tempfile::tempdir().expect("dest");
    let got = conn.download(&file, dest.path()).await.expect("download");
    assert!(std::fs::read(got).expect("downloaded") == bytes, "the bytes differ");
    conn.close().await;
}

#[tokio::test]
async fn a_download_whose_length_is_not_the_listed_size_is_refused_and_removed() {
    let sshd = Sshd::start();
    upload(&sshd, "users_1.csv", b"Employee ID\n1\n");
    let config = config(&sshd, &sshd.user_key, &sshd.host_public_key_line, "");
    let conn = source(&config).expect("source").connect().await.expect("connect");
    // As if the file had grown between the listing and the download.
    let listed = remote_file(&sshd, "users_1.csv", 10, SystemTime::now());
    let dest = tempfile::tempdir().expect("dest");
    let err = conn.download(&listed, dest.path()).await.expect_err("size differs");
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` on 127.0.0.1: downloaded 14 bytes, but it was listed with 10",
            sshd.path("users_1.csv").display()
        )
    );
    assert!(err.is_retryable());
    assert_eq!(listing(dest.path()), Vec::<String>::new());
    conn.close().await;
}

#[tokio::test]
async fn equal_mtimes_pick_the_last_name() {
    let sshd = Sshd::start();
    let now = SystemTime::now();
    let t = now - Duration::from_secs(300);
    for name in ["users_b.csv", "users_c.csv", "users_a.csv"] {
        upload(&sshd, name, name.as_bytes());
        sshd.set_mtime(name, t);
    }
    let config = config(&sshd, &sshd.user_key, &sshd.host_public_key_line, "");
    let conn = source(&config).expect("source").connect().await.expect("connect");
    assert_eq!(
        conn.pick(now).await.expect("pick"),
        RemotePick::File(remote_file(&sshd, "users_c.csv", 11, t))
    );
    conn.close().await;
}

#[tokio::test]
async fn a_host_key_other_than_the_pinned_one_is_refused_with_its_fingerprint() {
    let sshd = Sshd::start();
    upload(&sshd, "users_1.csv", b"Employee ID\n1\n");
    sshd.set_mtime("users_1.csv", SystemTime::now() - Duration::from_secs(600));
    let impostor = sshd.new_user_key("other_host", KeyType::Ed25519, "");
    let impostor_line = std::fs::read_to_string(public_key_path(&impostor)).expect("other key");

    let config = config(&sshd, &sshd.user_key, impostor_line.trim(), "");
    let dest = tempfile::tempdir().expect("dest");
    let err = match source(&config).expect("source").connect().await {
        Ok(conn) => {
            // Were it to connect, this is what would leak.
            if let RemotePick::File(f) = conn.pick(SystemTime::now()).await.expect("pick") {
                let _ = conn.download(&f, dest.path()).await;
            }
            panic!("connected despite the wrong pinned key");
        }
        Err(e) => e,
    };
    let offered = fingerprint(&sshd.host_public_key);
    let expected = fingerprint(&public_key_path(&impostor));
    let SftpError::HostKeyMismatch {
        offered: got_offered,
        expected: got_expected,
        algorithm,
        ..
    } = &err
    else {
        panic!("expected a host key mismatch, got {err:?}");
    };
    assert_eq!(
        (got_offered.as_str(), got_expected.as_str(), algorithm.as_str()),
        (offered.as_str(), expected.as_str(), "ssh-ed25519")
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the sftp server 127.0.0.1:{port} offered the host key {offered} (ssh-ed25519), but \
             `source.known_host_key` pins {expected}: refusing to connect (if the server's key really changed, \
             update the pin)",
            port = sshd.port
        )
    );
    assert!(!err.is_retryable());
    assert_eq!(listing(dest.path()), Vec::<String>::new());
}

#[tokio::test]
async fn known_hosts_lines_pin_the_key_too() {
    let sshd = Sshd::start();
    let key = sshd
        .host_public_key_line
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    for pin in [
        format!("[127.0.0.1]:{} {key}", sshd.port),
        format!("127.0.0.1,localhost {key} a comment"),
        format!("|1|c2FsdHNhbHRzYWx0c2FsdA==|aGFzaGhhc2hoYXNoaGFzaA== {key}"),
    ] {
        let config = config(&sshd, &sshd.user_key, &pin, "");
        let conn = source(&config)
            .expect("source")
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{pin}: {e}"));
        assert_eq!(conn.pick(SystemTime::now()).await.expect("pick"), RemotePick::Nothing);
        conn.close().await;
    }
}

#[tokio::test]
async fn an_unauthorized_user_key_is_an_authentication_error_naming_the_user_and_key() {
    let sshd = Sshd::start();
    let stranger = sshd.new_user_key("stranger", KeyType::Ed25519, "");
    let config = config(&sshd, &stranger, &sshd.host_public_key_line, "");
    let err = source(&config)
        .expect("source")
        .connect()
        .await
        .expect_err("must be refused");
    assert_eq!(
        err.to_string(),
        format!(
            "the sftp server 127.0.0.1:{} refused user `{}` with the key {} (`source.user`, `source.private_key`)",
            sshd.port,
            sshd.user,
            stranger.display()
        )
    );
    assert!(matches!(err, SftpError::AuthRejected { .. }), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn an_rsa_user_key_logs_in() {
    let sshd = Sshd::start();
    let rsa = sshd.new_user_key("user_rsa", KeyType::Rsa, "");
    sshd.authorize(&rsa);
    let config = config(&sshd, &rsa, &sshd.host_public_key_line, "");
    let conn = source(&config)
        .expect("source")
        .connect()
        .await
        .expect("connect with RSA");
    assert_eq!(conn.pick(SystemTime::now()).await.expect("pick"), RemotePick::Nothing);
    conn.close().await;
}

#[tokio::test]
async fn a_passphrase_protected_key_logs_in_with_the_passphrase_from_the_environment() {
    const VAR: &str = "AMPSYNC_TEST_SFTP_KEY_PASSPHRASE_7F3A";
    let sshd = Sshd::start();
    let locked = sshd.new_user_key("user_locked", KeyType::Ed25519, "correct horse battery");
    sshd.authorize(&locked);
    let config = config(
        &sshd,
        &locked,
        &sshd.host_public_key_line,
        &format!("private_key_passphrase_env = \"{VAR}\""),
    );
    let settings = config.source.as_ref().expect("[source]");

    let env = |var: &str| (var == VAR).then(|| "correct horse battery".to_owned());
    let conn = SftpSource::from_config_with_env(settings, &config, env)
        .expect("source")
        .connect()
        .await
        .expect("connect with the passphrase");
    assert_eq!(conn.pick(SystemTime::now()).await.expect("pick"), RemotePick::Nothing);
    conn.close().await;

    // The variable unset: named in the error.
    let err = source(&config).expect_err("no passphrase");
    assert_eq!(
        err.to_string(),
        format!("`source.private_key_passphrase_env` names the environment variable `{VAR}`, which is not set")
    );

    // A wrong passphrase: the key file is named, the passphrase is not.
    let wrong = |_: &str| Some("wrong".to_owned());
    let err = SftpSource::from_config_with_env(settings, &config, wrong)
        .expect("source")
        .connect()
        .await
        .expect_err("wrong passphrase");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot load the private key {} (`source.private_key`): the passphrase from \
             `source.private_key_passphrase_env` does not open it",
            locked.display()
        )
    );
    assert!(matches!(err, SftpError::PrivateKey { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("correct horse"), "{err:?}");
}

#[tokio::test]
async fn a_passphrase_protected_key_without_a_passphrase_says_so() {
    let sshd = Sshd::start();
    let locked = sshd.new_user_key("user_locked", KeyType::Ed25519, "secret words");
    let config = config(&sshd, &locked, &sshd.host_public_key_line, "");
    let err = source(&config)
        .expect("source")
        .connect()
        .await
        .expect_err("locked key");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot load the private key {} (`source.private_key`): it is passphrase-protected; name the variable \
             holding the passphrase in `source.private_key_passphrase_env`",
            locked.display()
        )
    );
}

#[tokio::test]
async fn a_file_still_growing_is_unsettled_until_it_has_been_still_for_settle_seconds() {
    let sshd = Sshd::start();
    upload(&sshd, "users_today.csv", b"Employee ID,Email\n");
    let now = SystemTime::now();
    sshd.set_mtime("users_today.csv", now);
    let config = config(&sshd, &sshd.user_key, &sshd.host_public_key_line, "");
    let conn = source(&config).expect("source").connect().await.expect("connect");
    assert_eq!(
        conn.pick(now).await.expect("pick"),
        RemotePick::Unsettled(remote_file(&sshd, "users_today.csv", 18, now))
    );

    sshd.append("users_today.csv", b"1,a@example.com\n");
    sshd.set_mtime("users_today.csv", now);
    assert_eq!(
        conn.pick(now).await.expect("pick"),
        RemotePick::Unsettled(remote_file(&sshd, "users_today.csv", 34, now))
    );

    let still_since = now - Duration::from_secs(120);
    sshd.set_mtime("users_today.csv", still_since);
    let file = remote_file(&sshd, "users_today.csv", 34, still_since);
    assert_eq!(conn.pick(now).await.expect("pick"), RemotePick::File(file.clone()));
    let dest = tempfile::tempdir().expect("dest");
    let got: tempfile::TempPath = conn.download(&file, dest.path()).await.expect("download");
    assert_eq!(
        std::fs::read(got).expect("downloaded"),
        b"Employee ID,Email\n1,a@example.com\n".to_vec()
    );
    conn.close().await;
}

/// The settings are checked when the config is loaded, so `check` and the
/// daemon refuse the same configs.
#[test]
fn missing_and_invalid_settings_are_named_at_load() {
    let path = Path::new("/etc/ampsync/ampsync.toml");
    let err = Config::parse("[source]\nkind = \"sftp\"\nremote_dir = \"/upload\"\n", path).expect_err("no host");
    assert!(err.to_string().contains("missing field `host`"), "{err}");

    let err = Config::parse(
        "[source]\nkind = \"sftp\"\nhost = \"h\"\nuser = \"u\"\nprivate_key = \"k\"\n\
         known_host_key = \"ssh-ed25519 nonsense\"\nremote_dir = \"/upload\"\n",
        path,
    )
    .expect_err("bad pin");
    assert_eq!(
        err.to_string(),
        "invalid setting `source.known_host_key` in /etc/ampsync/ampsync.toml: `ssh-ed25519 nonsense` is neither a \
         public key (`ssh-ed25519 AAAA…`) nor a known_hosts line (`host ssh-ed25519 AAAA…`)"
    );
}

#[tokio::test]
async fn a_server_that_hangs_up_is_a_retryable_error_naming_it() {
    let sshd = Sshd::start();
    // Accepts one connection and closes it at once, before any greeting.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let hang_up = std::thread::spawn(move || drop(listener.accept().expect("accept")));
    let text = format!(
        "[source]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"{user}\"\n\
         private_key = \"{key}\"\nknown_host_key = '{pin}'\nremote_dir = \"/upload\"\n",
        user = sshd.user,
        key = sshd.user_key.display(),
        pin = sshd.host_public_key_line,
    );
    let config = Config::parse(&text, &sshd.dir().join("ampsync.toml")).expect("config");
    let err = source(&config)
        .expect("source")
        .connect()
        .await
        .expect_err("the server hung up");
    hang_up.join().expect("listener thread");
    assert_eq!(
        err.to_string(),
        format!("cannot connect to the sftp server 127.0.0.1:{port}")
    );
    assert!(matches!(err, SftpError::Connect { .. }), "{err:?}");
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn a_missing_remote_folder_names_the_path() {
    let sshd = Sshd::start();
    let mut config = config(&sshd, &sshd.user_key, &sshd.host_public_key_line, "");
    let missing = sshd.root.join("nope");
    match config.source.as_mut() {
        Some(SourceConfig::Sftp(sftp)) => sftp.remote_dir = missing.display().to_string(),
        other => panic!("expected an sftp source, got {other:?}"),
    }
    let conn = source(&config).expect("source").connect().await.expect("connect");
    let err = conn.pick(SystemTime::now()).await.expect_err("no such folder");
    assert_eq!(
        err.to_string(),
        format!("listing `{}` on 127.0.0.1 failed", missing.display())
    );
    assert!(!err.is_retryable());
    conn.close().await;
}
