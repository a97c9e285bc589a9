//! Rollback: choose a snapshot, see the compensating events (a dry run),
//! confirm; then they are appended and pushed, as `ampsync rollback --to N`.

use std::sync::Arc;

use ampsync_engine::learnamp::Credentials;
use ampsync_engine::replay::deliver;
use ampsync_engine::rollback;
use ampsync_engine::store::SnapshotStatus;
use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::Console;
use super::auth::{self, Session};
use super::page::{self, PageResult};
use super::snapshot::{EventRow, LISTED};
use crate::output;

#[derive(Template)]
#[template(path = "rollback.html")]
struct RollbackPage {
    csrf: String,
    choices: Vec<(u64, String, bool)>,
    chosen: Option<u64>,
    events: Vec<EventRow>,
    total: usize,
}

/// The snapshots a rollback may go back to: those whose state existed.
fn choices(store: &ampsync_engine::store::Store, chosen: Option<u64>) -> anyhow::Result<Vec<(u64, String, bool)>> {
    Ok(store
        .snapshots()?
        .into_iter()
        .filter(|s| s.status == SnapshotStatus::Applied)
        .map(|s| {
            (
                s.id,
                format!(
                    "{} — {} ({})",
                    s.id,
                    s.source,
                    ampsync_engine::clock::format_micros(s.received)
                ),
                Some(s.id) == chosen,
            )
        })
        .rev()
        .collect())
}

pub async fn page(State(console): State<Arc<Console>>, Extension(session): Extension<Session>) -> PageResult {
    let choices = console.with_store(|_, store| choices(store, None)).await?;
    Ok(page::render(&RollbackPage {
        csrf: session.csrf,
        choices,
        chosen: None,
        events: Vec::new(),
        total: 0,
    }))
}

/// The rollback forms.
#[derive(Debug, serde::Deserialize)]
pub struct RollbackForm {
    #[serde(default)]
    csrf: String,
    to: u64,
}

/// `POST /rollback`: the dry run.
pub async fn dry_run(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    Form(form): Form<RollbackForm>,
) -> PageResult {
    if !auth::csrf_ok(&session, &form.csrf) {
        return Ok(auth::csrf_refused());
    }
    let to = form.to;
    let (choices, result) = console
        .with_store(move |_, store| Ok((choices(store, Some(to))?, rollback(store, to, true)?)))
        .await?;
    Ok(page::render(&RollbackPage {
        csrf: session.csrf,
        choices,
        chosen: Some(to),
        total: result.events.len(),
        events: result
            .events
            .iter()
            .take(LISTED)
            .map(|(key, kind)| EventRow {
                seq: None,
                key: key.clone(),
                kind: kind.name(),
                changes: output::changes_text(kind),
                delivery: "not appended".to_owned(),
            })
            .collect(),
    }))
}

/// `POST /rollback/confirm`: appended, then pushed when the credentials
/// are here.
pub async fn confirm(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    Form(form): Form<RollbackForm>,
) -> PageResult {
    if !auth::csrf_ok(&session, &form.csrf) {
        return Ok(auth::csrf_refused());
    }
    let to = form.to;
    let (result, store) = console
        .with_store(move |_, store| Ok((rollback(store, to, false)?, store.clone())))
        .await?;
    if result.appended.is_some()
        && let Ok(credentials) = Credentials::from_env(&console.config.learnamp)
    {
        deliver(&console.config, store, credentials, None, None).await?;
    }
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "/".to_owned())]).into_response())
}
