//! The test harness: each test gets its own directory and a clean
//! environment, runs the real `ampsync` binary, and pins the clock with
//! `AMPSYNC_NOW` so output is the same every run.

#![allow(dead_code)]

pub mod gpg;
pub mod sandbox;
pub mod sshd;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The lines a child process writes, read as they come: a test waits for
/// the line that says something happened, never for a length of time.
pub struct Lines(std::io::Lines<std::io::BufReader<Box<dyn std::io::Read + Send>>>);

impl Lines {
    pub fn of(stream: impl std::io::Read + Send + 'static) -> Lines {
        use std::io::BufRead;
        Lines(std::io::BufReader::new(Box::new(stream) as Box<dyn std::io::Read + Send>).lines())
    }

    /// Reads until a line contains `needle`, and returns it; panics if the
    /// stream ends first.
    pub fn wait_for(&mut self, needle: &str) -> String {
        for line in self.0.by_ref() {
            let line = line.expect("child output");
            if line.contains(needle) {
                return line;
            }
        }
        panic!("the process ended before printing {needle:?}");
    }

    /// Reads to the end (so the child never blocks on a full pipe).
    pub fn drain(&mut self) {
        for line in self.0.by_ref() {
            line.expect("child output");
        }
    }
}

/// The repository's root (where `examples/` and `tests/data/` live).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A bundled example day.
pub fn example(name: &str) -> PathBuf {
    repo().join("examples").join(name)
}

/// One test's world: a temporary directory holding `ampsync.toml` and the
/// store, and the time the next command will see.
pub struct TestEnv {
    dir: tempfile::TempDir,
    pub now: String,
    /// Extra environment for every command (credentials, log filter).
    pub env: Vec<(String, String)>,
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the output unless the exit status is `code`.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl TestEnv {
    /// A directory with a minimal config (store `ampsync.redb` beside it).
    pub fn new() -> TestEnv {
        TestEnv::with_config("[store]\npath = \"ampsync.redb\"\n")
    }

    /// A directory with this config text.
    pub fn with_config(config: &str) -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("ampsync.toml"), config).expect("write config");
        TestEnv {
            dir,
            now: "2026-11-24T06:30:00Z".into(),
            env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store_path(&self) -> PathBuf {
        self.path().join("ampsync.redb")
    }

    /// Writes a file into the test directory and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// The command, with a cleared environment and the pinned clock.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ampsync"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AMPSYNC_NOW", &self.now)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(self.path())
            .arg("--config")
            .arg(self.path().join("ampsync.toml"))
            .args(args);
        cmd
    }

    /// Runs `ampsync ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        let Output { status, stdout, stderr } = self.command(args).output().expect("run ampsync");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Runs `ampsync ARGS --format json`, expecting success.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        self.run(&all).expect_code(0).json()
    }

    /// Imports `file` at time `now`, expecting success; returns the JSON summary.
    pub fn import_at(&mut self, now: &str, file: &Path) -> Value {
        self.now = now.to_owned();
        self.json(&["import", file.to_str().expect("utf-8 path")])
    }
}
