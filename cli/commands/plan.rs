//! `ampsync plan`: the undelivered events and the exact request each will
//! make. A dry run: nothing is sent.

use std::collections::BTreeMap;
use std::path::Path;

use ampsync_engine::clock::{format_micros, now_micros};
use ampsync_engine::replay::{Addressee, CallOptions, build_plan, endpoint};
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
            let who = match (&step.external_id, remote_ids.get(&queue.key)) {
                (Some(ext), _) if step.call.action == ampsync_engine::replay::Action::Update => {
                    Addressee::ExternalId(ext)
                }
                (_, Some(id)) => Addressee::Id(*id),
                (Some(ext), None) => Addressee::ExternalId(ext),
                (None, None) => Addressee::Key(&queue.key),
            };
            let nothing = step.call.action == ampsync_engine::replay::Action::Update && step.call.fields.is_empty();
            let request = match endpoint(step.call.action, who) {
                Some((m, p)) if !nothing => format!("{m} {p}"),
                _ => "(nothing to send)".to_owned(),
            };
            *counts.entry(step.event.name()).or_default() += 1;
            rows.push((step, &queue.key, queue.level, request));
        }
    }
    rows.sort_by_key(|r| (r.2, r.0.seq));
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
    let now = now_micros().unwrap_or_default();
    let oldest_age = plan
        .oldest
        .map(|(seq, time)| (seq, time, (now - time).max(0) / 1_000_000));
    match format {
        Format::Json => output::json(&json!({
            "events": rows.iter().map(|(step, key, level, request)| json!({
                "seq": step.seq, "key": key, "kind": step.event.name(), "level": level,
                "request": request,
                "fields": step.call.fields.iter().map(|(n, v)| json!([n, v.display()])).collect::<Vec<_>>(),
                "kept": step.call.kept,
                "carries": step.covers,
            })).collect::<Vec<_>>(),
            "counts": counts,
            "follow_ups": plan.follow_ups.iter().map(|f| json!({"key": f.key, "managerEmail": f.manager_email})).collect::<Vec<_>>(),
            "warnings": plan.warnings,
            "failed": plan.refused.iter().map(|r| json!({"seq": r.seq, "key": r.key, "status": r.status, "error": r.error})).collect::<Vec<_>>(),
            "oldest_waiting": oldest_age.map(|(seq, time, age)| json!({"seq": seq, "time": format_micros(time), "age_seconds": age})),
            "held": held.iter().map(|(id, why, n)| json!({"snapshot": id, "reason": why, "events": n})).collect::<Vec<_>>(),
        }))?,
        Format::Table | Format::Csv => {
            output::table(
                &["SEQ", "KEY", "KIND", "REQUEST", "FIELDS"],
                rows.iter().map(|(step, key, _, request)| {
                    let mut fields: Vec<String> = step
                        .call
                        .fields
                        .iter()
                        .map(|(n, v)| format!("{n}={}", v.display()))
                        .collect();
                    for kept in &step.call.kept {
                        fields.push(format!("{kept}: not in the file, Learn Amp keeps its value"));
                    }
                    if !step.covers.is_empty() {
                        let carried: Vec<String> = step.covers.iter().map(u64::to_string).collect();
                        fields.push(format!("(also brings refused event(s) {})", carried.join(", ")));
                    }
                    vec![
                        step.seq.to_string(),
                        key.to_string(),
                        step.event.name().to_string(),
                        request.clone(),
                        fields.join(", "),
                    ]
                }),
            )?;
            let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
            say!(
                "{} request(s) to make{}",
                rows.len(),
                if summary.is_empty() {
                    String::new()
                } else {
                    format!(": {}", summary.join(", "))
                }
            );
            if let Some((seq, time, age)) = oldest_age {
                say!(
                    "oldest waiting: event {seq} from {} ({})",
                    format_micros(time),
                    output::age(age)
                );
            }
            for f in &plan.follow_ups {
                say!(
                    "then: PUT /v1/users/{{id of {}}} managerEmail={} (a cycle of managers)",
                    f.key,
                    f.manager_email
                );
            }
            for r in &plan.refused {
                say!(
                    "failed: event {} ({}): {} — waits for their next change or `ampsync retry {}`",
                    r.seq,
                    r.key,
                    r.error,
                    r.seq
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
