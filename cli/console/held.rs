//! A held import: what tripped, the events it would append, and the
//! Approve / Reject forms. Approving records the approver's name (in the
//! run log; `history` shows it) and pushes what was appended, as
//! `ampsync approve N --by NAME` does.

use std::sync::Arc;

use ampsync_engine::learnamp::Credentials;
use ampsync_engine::replay::{PushReport, deliver};
use ampsync_engine::store::{SnapshotMeta, SnapshotStatus};
use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::Console;
use super::auth::{self, Session};
use super::page::{self, PageError, PageResult};
use super::snapshot::{Diff, EventRow, Facts, LISTED};
use crate::commands::decide;
use crate::output;

#[derive(Template)]
#[template(path = "held.html")]
struct HeldPage {
    csrf: String,
    facts: Facts,
    diff: Diff,
    events: Vec<EventRow>,
    total: usize,
}

pub async fn page(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    Path(n): Path<u64>,
) -> PageResult {
    let page = console
        .with_store(move |_, store| {
            let Some(meta) = store.snapshot(n)? else {
                return Ok(None);
            };
            let held = store.held_events(n)?;
            let events = held
                .iter()
                .take(LISTED)
                .map(|(key, kind)| EventRow {
                    seq: None,
                    key: key.clone(),
                    kind: kind.name(),
                    changes: output::changes_text(kind),
                    delivery: "held".to_owned(),
                })
                .collect();
            Ok(Some(HeldPage {
                csrf: String::new(),
                facts: Facts::of(&meta),
                diff: Diff::of(held.iter().map(|(k, e)| (k.as_str(), e))),
                events,
                total: held.len(),
            }))
        })
        .await?;
    match page {
        Some(page) => Ok(page::render(&HeldPage {
            csrf: session.csrf,
            ..page
        })),
        None => Err(PageError::NotFound(format!("There is no snapshot {n}."))),
    }
}

/// The Approve and Reject forms.
#[derive(Debug, serde::Deserialize)]
pub struct Decision {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    by: String,
}

/// Approves held snapshot `n` for `by`, then pushes what it appended when
/// the Learn Amp credentials are here (as `approve` does).
pub async fn approve_and_push(
    console: &Arc<Console>,
    n: u64,
    by: String,
) -> anyhow::Result<(SnapshotMeta, Option<PushReport>)> {
    let (meta, store) = console
        .with_store(move |console, store| {
            let meta = decide::approve_snapshot(&console.config, store, n, Some(&by))?;
            Ok((meta, store.clone()))
        })
        .await?;
    let report = match Credentials::from_env(&console.config.learnamp) {
        Ok(credentials) if meta.events.is_some() => {
            Some(deliver(&console.config, store, credentials, None, None).await?)
        }
        _ => None,
    };
    Ok((meta, report))
}

/// Rejects held snapshot `n` for `by`.
pub async fn reject_for(console: &Arc<Console>, n: u64, by: String) -> anyhow::Result<SnapshotMeta> {
    console
        .with_store(move |console, store| decide::reject_snapshot(&console.config, store, n, Some(&by)))
        .await
}

/// The approver's name from a form whose CSRF token is right; otherwise
/// the refusal.
fn check(session: &Session, form: &Decision) -> Result<String, Box<axum::response::Response>> {
    if !auth::csrf_ok(session, &form.csrf) {
        return Err(Box::new(auth::csrf_refused()));
    }
    let by = form.by.trim();
    if by.is_empty() {
        return Err(Box::new(
            (
                StatusCode::BAD_REQUEST,
                page::html_error("Give your name: it is recorded with the decision."),
            )
                .into_response(),
        ));
    }
    Ok(by.to_owned())
}

fn see(n: u64) -> axum::response::Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/snapshots/{n}"))]).into_response()
}

pub async fn approve(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    Path(n): Path<u64>,
    Form(form): Form<Decision>,
) -> PageResult {
    let by = match check(&session, &form) {
        Ok(by) => by,
        Err(refused) => return Ok(*refused),
    };
    is_held(&console, n).await?;
    approve_and_push(&console, n, by).await?;
    Ok(see(n))
}

pub async fn reject(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    Path(n): Path<u64>,
    Form(form): Form<Decision>,
) -> PageResult {
    let by = match check(&session, &form) {
        Ok(by) => by,
        Err(refused) => return Ok(*refused),
    };
    is_held(&console, n).await?;
    reject_for(&console, n, by).await?;
    Ok(see(n))
}

async fn is_held(console: &Arc<Console>, n: u64) -> Result<(), PageError> {
    let status = console
        .with_store(move |_, store| Ok(store.snapshot(n)?.map(|m| m.status)))
        .await?;
    match status {
        Some(SnapshotStatus::Held) => Ok(()),
        Some(status) => Err(PageError::NotFound(format!(
            "Snapshot {n} is {}, not held: there is nothing to decide.",
            status.name()
        ))),
        None => Err(PageError::NotFound(format!("There is no snapshot {n}."))),
    }
}
