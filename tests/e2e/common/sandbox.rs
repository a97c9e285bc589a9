//! A Learn Amp sandbox for a test: served over real HTTP on 127.0.0.1 from
//! a runtime of its own, while the test drives the `ampsync` binary.

use ampsync_sandbox::{Faults, Sandbox, SandboxOptions, TeamSeed};
use serde_json::Value;

use super::TestEnv;

pub struct TestSandbox {
    pub sandbox: Sandbox,
    runtime: tokio::runtime::Runtime,
}

/// Every team named in the example days.
pub const EXAMPLE_TEAMS: &[&str] = &[
    "Customer Support",
    "Engineering",
    "Executive",
    "Finance",
    "IT",
    "Marketing",
    "People & Culture",
    "Research, Development",
    "Sales",
];

impl TestSandbox {
    pub fn start(options: SandboxOptions) -> TestSandbox {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let sandbox = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            Sandbox::start(listener, options).await.expect("sandbox")
        });
        TestSandbox { sandbox, runtime }
    }

    /// A sandbox set up as the example company: its teams, and the HR-role
    /// package (its Director of People & Culture has the `hr` role).
    pub fn with_example_teams() -> TestSandbox {
        TestSandbox::start(SandboxOptions {
            teams: EXAMPLE_TEAMS.iter().map(|t| TeamSeed::from(*t)).collect(),
            hr_package: true,
            ..SandboxOptions::default()
        })
    }

    pub fn set_faults(&self, faults: Faults) {
        self.sandbox.set_faults(faults);
    }

    pub fn users(&self) -> Vec<Value> {
        self.sandbox.users()
    }

    /// A config for `env` that pushes here, and the credentials in its env.
    pub fn configure(&self, env: &mut TestEnv, extra: &str) {
        let text = format!(
            "[store]\npath = \"ampsync.redb\"\n[csv]\nkey = \"Employee ID\"\n[learnamp]\nbase_url = \"{}\"\n{extra}\n",
            self.sandbox.url()
        );
        env.write("ampsync.toml", text);
        let defaults = SandboxOptions::default();
        env.env.push(("AMPSYNC_CLIENT_ID".into(), defaults.client_id));
        env.env.push(("AMPSYNC_CLIENT_SECRET".into(), defaults.client_secret));
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }
}
