//! A real OpenSSH `sshd` for tests: its own temporary directory, config,
//! host key and user keys, listening on 127.0.0.1 with `internal-sftp`, and
//! an upload folder that is a plain local directory. Files are put there with
//! the real OpenSSH `sftp` client, the way a customer's export would arrive.
//! A missing OpenSSH is a failure, never a skipped test.

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

const SSHD: &str = "/usr/sbin/sshd";
/// How long sshd may take to start listening.
const READY_DEADLINE: Duration = Duration::from_secs(20);

/// The kind of a user key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Ed25519,
    Rsa,
}

/// A running sshd, killed when dropped.
#[derive(Debug)]
pub struct Sshd {
    pub port: u16,
    /// The host's public key as `ssh-ed25519 AAAA… comment`.
    pub host_public_key_line: String,
    /// The host's public key file (for `ssh-keygen -lf`).
    pub host_public_key: PathBuf,
    /// An authorized ed25519 user key without passphrase.
    pub user_key: PathBuf,
    pub user: String,
    /// The upload folder: a local directory, the same path on the server.
    pub root: PathBuf,
    dir: tempfile::TempDir,
    child: Child,
    stderr_log: PathBuf,
}

impl Sshd {
    /// Generates the keys and config and starts sshd; returns once it
    /// greets with `SSH-2.0`.
    pub fn start() -> Sshd {
        if !Path::new(SSHD).exists() {
            panic!("{SSHD} is missing: install openssh-server (apt-get install openssh-server) to run the sftp tests");
        }
        let dir = tempfile::tempdir().expect("temporary directory for sshd");
        let base = dir.path().to_owned();
        let host_key = base.join("host_ed25519");
        keygen(&host_key, KeyType::Ed25519, "", "ampsync-test-host");
        let host_public_key = base.join("host_ed25519.pub");
        let host_public_key_line = fs::read_to_string(&host_public_key)
            .expect("host public key")
            .trim()
            .to_owned();
        let user_key = base.join("user_ed25519");
        keygen(&user_key, KeyType::Ed25519, "", "ampsync-test-user");
        let root = base.join("upload");
        fs::create_dir(&root).expect("upload folder");
        fs::write(base.join("authorized_keys"), "").expect("authorized_keys");
        fs::create_dir_all("/run/sshd").expect("mkdir -p /run/sshd (sshd's privilege separation directory)");

        let user = current_user();
        let stderr_log = base.join("sshd.log");
        let mut last_failure = String::new();
        // The free port is found by binding and releasing it, so another
        // process may take it first: then sshd exits and we try another.
        for _ in 0..5 {
            let port = free_port();
            let config = base.join("sshd_config");
            fs::write(&config, sshd_config(&base, &host_key, port)).expect("sshd_config");
            let log = fs::File::create(&stderr_log).expect("sshd log");
            let mut child = Command::new(SSHD)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {SSHD} (install openssh-server): {e}"));
            match wait_ready(&mut child, port) {
                Ok(()) => {
                    let sshd = Sshd {
                        port,
                        host_public_key_line,
                        host_public_key,
                        user_key: user_key.clone(),
                        user,
                        root,
                        dir,
                        child,
                        stderr_log,
                    };
                    sshd.authorize(&user_key);
                    return sshd;
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = fs::read_to_string(&stderr_log).unwrap_or_default();
                    last_failure = format!("{why}\nsshd said:\n{log}");
                    if !log.contains("Address already in use") {
                        break;
                    }
                }
            }
        }
        panic!("sshd did not start: {last_failure}");
    }

    /// The temporary directory holding the config, keys and upload folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What sshd has logged so far (for failure messages).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// A new user key `name` in the temporary directory, not yet authorized;
    /// `passphrase` "" for none.
    pub fn new_user_key(&self, name: &str, kind: KeyType, passphrase: &str) -> PathBuf {
        let path = self.dir().join(name);
        keygen(&path, kind, passphrase, name);
        path
    }

    /// Lets the key at `private_key` (its `.pub` beside it) log in.
    pub fn authorize(&self, private_key: &Path) {
        let public = fs::read_to_string(public_key_path(private_key)).expect("user public key");
        let mut keys = OpenOptions::new()
            .append(true)
            .open(self.dir().join("authorized_keys"))
            .expect("authorized_keys");
        writeln!(keys, "{}", public.trim()).expect("append to authorized_keys");
    }

    /// The local path of a file in the upload folder.
    pub fn path(&self, remote_name: &str) -> PathBuf {
        self.root.join(remote_name)
    }

    /// Uploads `local` as `remote_name` with the OpenSSH `sftp` client.
    pub fn upload(&self, local: &Path, remote_name: &str) {
        let target = self.path(remote_name);
        self.sftp_batch(&format!("put {} {}\n", quote(local), quote(&target)));
    }

    /// Appends `bytes` to an uploaded file, as an upload still in progress
    /// would (written straight into the served folder).
    pub fn append(&self, remote_name: &str, bytes: &[u8]) {
        let mut file = OpenOptions::new()
            .append(true)
            .open(self.path(remote_name))
            .unwrap_or_else(|e| panic!("append to {remote_name}: {e}"));
        file.write_all(bytes).expect("append");
    }

    /// Sets an uploaded file's modification time.
    pub fn set_mtime(&self, remote_name: &str, mtime: SystemTime) {
        let file = fs::File::options()
            .write(true)
            .open(self.path(remote_name))
            .unwrap_or_else(|e| panic!("open {remote_name}: {e}"));
        file.set_modified(mtime).expect("set mtime");
    }

    /// Runs `commands` with `sftp -b -`, panicking with its output on failure.
    pub fn sftp_batch(&self, commands: &str) -> Output {
        let mut child = Command::new("sftp")
            .args(["-b", "-", "-F", "/dev/null", "-i"])
            .arg(&self.user_key)
            .args(["-P", &self.port.to_string()])
            .args(["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"])
            .args([
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "LogLevel=ERROR",
            ])
            .arg(format!("{}@127.0.0.1", self.user))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run the OpenSSH sftp client (install openssh-client): {e}"));
        child
            .stdin
            .take()
            .expect("sftp stdin")
            .write_all(commands.as_bytes())
            .expect("write sftp commands");
        let out = child.wait_with_output().expect("sftp finished");
        assert!(
            out.status.success(),
            "sftp batch failed ({}):\n{commands}\nstdout:\n{}\nstderr:\n{}\nsshd:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        out
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `SHA256:…` fingerprint `ssh-keygen -lf` prints for a public key file.
pub fn fingerprint(public_key: &Path) -> String {
    let out = run_tool(Command::new("ssh-keygen").arg("-lf").arg(public_key));
    let text = String::from_utf8_lossy(&out.stdout);
    // "256 SHA256:… comment (ED25519)"
    text.split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected ssh-keygen -lf output: {text}"))
        .to_owned()
}

/// `key.pub` for `key`.
pub fn public_key_path(private_key: &Path) -> PathBuf {
    let mut name = private_key.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn keygen(path: &Path, kind: KeyType, passphrase: &str, comment: &str) {
    let mut cmd = Command::new("ssh-keygen");
    match kind {
        KeyType::Ed25519 => cmd.args(["-t", "ed25519"]),
        KeyType::Rsa => cmd.args(["-t", "rsa", "-b", "2048"]),
    };
    cmd.args(["-q", "-N", passphrase, "-C", comment, "-f"]).arg(path);
    run_tool(&mut cmd);
}

fn run_tool(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (install openssh-client and openssh-server): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn current_user() -> String {
    let out = run_tool(Command::new("id").arg("-un"));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

fn sshd_config(dir: &Path, host_key: &Path, port: u16) -> String {
    format!(
        "Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey {host_key}\n\
         PidFile {pid}\n\
         AuthorizedKeysFile {authorized}\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         PermitRootLogin prohibit-password\n\
         Subsystem sftp internal-sftp\n",
        host_key = host_key.display(),
        pid = dir.join("sshd.pid").display(),
        authorized = dir.join("authorized_keys").display(),
    )
}

/// Polls until the port accepts a connection and the server greets with
/// `SSH-2.0`; fails early if sshd exits.
fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("sshd exited with {status}"));
        }
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .map_err(|e| e.to_string())?;
            let mut banner = String::new();
            if BufReader::new(stream).read_line(&mut banner).is_ok() && banner.starts_with("SSH-2.0") {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("sshd did not greet on port {port} within {READY_DEADLINE:?}"));
        }
        // A short pause between probes, not a wait for the outcome.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A path quoted for an sftp batch command.
fn quote(path: &Path) -> String {
    format!(
        "\"{}\"",
        path.display().to_string().replace('\\', "\\\\").replace('"', "\\\"")
    )
}
