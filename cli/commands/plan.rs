//! `ampsync plan`: the undelivered events and the exact request each will
//! make. A dry run: nothing is sent.

use std::collections::BTreeMap;
use std::path::Path;

use ampsync_engine::replay::{CallOptions, build_plan, endpoint};
use serde_json::json;

use crate::Exit;
use crate::output::{self, Format, say};

pub fn run(config_path: &Path, format: Format) -> anyhow::Result<Exit> {
    let (config, store) = super::open(config_path)?;
    let plan = build_plan(
        &store,
        CallOptions {
            skip_invitation: config.policy.skip_invitation,
        },
    )?;
    let remote_ids = store.remote_ids()?;
    let mut rows = Vec::new();
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for queue in &plan.queues {
        for step in &queue.steps {
            let (method, path) = endpoint(step.call.action, &queue.key, remote_ids.get(&queue.key).copied());
            *counts.entry(step.event.name()).or_default() += 1;
            rows.push((
                step.seq,
                &queue.key,
                step.event.name(),
                queue.level,
                method,
                path,
                &step.call.fields,
            ));
        }
    }
    rows.sort_by_key(|r| (r.3, r.0));
    let held: Vec<(u64, String, usize)> = store
        .snapshots()?
        .into_iter()
        .filter(|s| s.status == ampsync_engine::store::SnapshotStatus::Held)
        .map(|s| {
            Ok((
                s.id,
                s.held_because.clone().unwrap_or_default(),
                store.held_events(s.id)?.len(),
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    match format {
        Format::Json => output::json(&json!({
            "events": rows.iter().map(|(seq, key, kind, level, method, path, fields)| json!({
                "seq": seq, "key": key, "kind": kind, "level": level,
                "method": method.to_string(), "path": path,
                "fields": fields.iter().map(|(n, v)| json!([n, v.display()])).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "counts": counts,
            "follow_ups": plan.follow_ups.iter().map(|f| json!({"key": f.key, "managerEmail": f.manager_email})).collect::<Vec<_>>(),
            "warnings": plan.warnings,
            "held": held.iter().map(|(id, why, n)| json!({"snapshot": id, "reason": why, "events": n})).collect::<Vec<_>>(),
        }))?,
        Format::Table | Format::Csv => {
            output::table(
                &["SEQ", "KEY", "KIND", "REQUEST", "FIELDS"],
                rows.iter().map(|(seq, key, kind, _, method, path, fields)| {
                    let fields: Vec<String> = fields.iter().map(|(n, v)| format!("{n}={}", v.display())).collect();
                    vec![
                        seq.to_string(),
                        key.to_string(),
                        kind.to_string(),
                        format!("{method} {path}"),
                        fields.join(", "),
                    ]
                }),
            )?;
            let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
            say!(
                "{} event(s) to deliver{}",
                rows.len(),
                if summary.is_empty() {
                    String::new()
                } else {
                    format!(": {}", summary.join(", "))
                }
            );
            for f in &plan.follow_ups {
                say!(
                    "then: PUT /v1/users/{{id of {}}} managerEmail={} (a cycle of managers)",
                    f.key,
                    f.manager_email
                );
            }
            for w in &plan.warnings {
                say!("warning: {w}");
            }
            for (id, why, n) in &held {
                say!(
                    "held: snapshot {id} ({why}): {n} event(s) wait for `ampsync approve {id}` or `ampsync reject {id}`"
                );
            }
        }
    }
    Ok(Exit::Success)
}
