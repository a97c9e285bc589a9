//! `ampsync reconcile [--repair]`: compare what Learn Amp has with what the
//! log says; report drift. Read-only unless `--repair`, which appends the
//! events that the next push sends to set Learn Amp back. Exit 0 when in
//! step, 1 when drift was found.

use std::path::Path;

use ampsync_engine::learnamp::{Credentials, LearnAmpClient};
use ampsync_engine::reconcile;
use serde_json::json;

use crate::Exit;
use crate::output::{self, Format, say};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Append events that set Learn Amp back (sent by the next push).
    #[arg(long)]
    repair: bool,
}

pub fn run(config_path: &Path, format: Format, args: Args) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let credentials = Credentials::from_env(&config.learnamp)?;
    let client = LearnAmpClient::new(&config.client_options()?, credentials)?;
    let runtime = super::runtime()?;
    let drift = runtime.block_on(reconcile(&store, &client, args.repair))?;
    if format == Format::Json {
        output::json(&json!({
            "in_step": drift.in_step(),
            "changed": drift.changed.iter().map(|(key, id, fields)| json!({
                "key": key, "id": id,
                "fields": fields.iter().map(|f| json!({"field": f.field, "expected": f.expected, "actual": f.actual})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "deactivated_there": drift.deactivated_there.iter().map(|(k, id)| json!({"key": k, "id": id})).collect::<Vec<_>>(),
            "missing": drift.missing,
            "unknown": drift.unknown.iter().map(|(id, email)| json!({"id": id, "email": email})).collect::<Vec<_>>(),
            "repaired": drift.repaired.map(|(a, b)| json!([a, b])),
        }))?;
    } else {
        let mut rows = Vec::new();
        for (key, id, fields) in &drift.changed {
            for f in fields {
                rows.push(vec![
                    key.clone(),
                    id.to_string(),
                    format!(
                        "{}: Learn Amp has {}, expected {}",
                        f.field,
                        f.actual.as_deref().unwrap_or("∅"),
                        f.expected
                    ),
                ]);
            }
        }
        for (key, id) in &drift.deactivated_there {
            rows.push(vec![
                key.clone(),
                id.to_string(),
                "deactivated in Learn Amp, active in the file".into(),
            ]);
        }
        for key in &drift.missing {
            rows.push(vec![key.clone(), "-".into(), "not in Learn Amp".into()]);
        }
        for (id, email) in &drift.unknown {
            rows.push(vec![
                "-".into(),
                id.to_string(),
                format!("{email}: active in Learn Amp, in no file"),
            ]);
        }
        if drift.in_step() {
            say!("Learn Amp is in step with the log");
        } else {
            output::table(&["KEY", "LEARN AMP ID", "DRIFT"], rows)?;
        }
        if let Some((first, last)) = drift.repaired {
            say!("appended repair events {first}–{last}: `ampsync push` sends them");
        }
    }
    Ok(if drift.in_step() { Exit::Success } else { Exit::Failed })
}
