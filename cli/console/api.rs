//! `/api/`: the JSON the CLI prints with `--format json`, byte for byte —
//! the same builders, the same pretty printing. Errors are
//! `{"error": …, "causes": […]}` as the CLI writes them on stderr.

use std::sync::Arc;

use ampsync_engine::clock::parse_time;
use ampsync_engine::runlog;
use ampsync_engine::store::EventFilter;
use ampsync_engine::{AsOf, resolve_key};
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Console;
use super::{held, person};
use crate::commands::{decide, events, history, show, snapshots};
use crate::output;

/// A JSON answer as the CLI prints it.
fn json<T: serde::Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match output::json_bytes(value) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => failed(&e.into()),
    }
}

fn ok<T: serde::Serialize + ?Sized>(value: &T) -> Response {
    json(StatusCode::OK, value)
}

fn failed(e: &anyhow::Error) -> Response {
    json(StatusCode::INTERNAL_SERVER_ERROR, &output::error_json(e))
}

fn refused(status: StatusCode, message: String) -> Response {
    json(status, &serde_json::json!({"error": message, "causes": []}))
}

/// `GET /api/snapshots`: `snapshots --format json`.
pub async fn snapshots(State(console): State<Arc<Console>>) -> Response {
    match console
        .with_store(|_, store| Ok(snapshots::snapshots_json(&store.snapshots()?, &store.origins()?)))
        .await
    {
        Ok(v) => ok(&v),
        Err(e) => failed(&e),
    }
}

/// `?kind=&since=&until=&snapshot=&field=`
#[derive(Debug, Default, serde::Deserialize)]
pub struct EventsQuery {
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    snapshot: Option<u64>,
    field: Option<String>,
}

/// `GET /api/events?…`: `events --format json` with the same filters.
pub async fn events(State(console): State<Arc<Console>>, Query(q): Query<EventsQuery>) -> Response {
    let time = |t: &Option<String>, name: &str| match t.as_deref().filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => parse_time(text)
            .map(Some)
            .ok_or_else(|| format!("{name}: {text:?} is not an RFC 3339 time or a YYYY-MM-DD date")),
    };
    let (since, until) = match (time(&q.since, "since"), time(&q.until, "until")) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(m), _) | (_, Err(m)) => return refused(StatusCode::BAD_REQUEST, m),
    };
    let kinds: Vec<String> = q
        .kind
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = kinds
        .iter()
        .find(|k| !["created", "updated", "deactivated", "reactivated"].contains(&k.as_str()))
    {
        return refused(StatusCode::BAD_REQUEST, format!("kind: {bad:?} is not an event kind"));
    }
    let filter = EventFilter {
        since,
        until,
        kinds,
        field: q.field.filter(|f| !f.is_empty()),
        snapshot: q.snapshot,
    };
    match console
        .with_store(move |_, store| events::filtered_json(store, &filter))
        .await
    {
        Ok(v) => ok(&v),
        Err(e) => failed(&e),
    }
}

/// `show KEY` and `history KEY` together.
#[derive(Debug, serde::Serialize)]
struct PersonAnswer {
    record: ampsync_engine::PersonRecord,
    history: serde_json::Value,
}

/// `GET /api/people/{key}`: the record now and the history.
pub async fn person(State(console): State<Arc<Console>>, Path(key): Path<String>) -> Response {
    person_answer(console, key).await
}

/// The form of `POST /api/people`.
#[derive(Debug, serde::Deserialize)]
pub struct PersonQuery {
    key: String,
}

/// `POST /api/people` with `key=KEY` in the body: the same answer as
/// `GET /api/people/{key}`, for keys that are emails, which should not be in
/// a URL (a TLS proxy in front logs URLs).
pub async fn person_by_form(State(console): State<Arc<Console>>, Form(query): Form<PersonQuery>) -> Response {
    person_answer(console, query.key).await
}

async fn person_answer(console: Arc<Console>, key: String) -> Response {
    let answer = console
        .with_store(move |console, store| {
            let Some(key) = resolve_key(store, &key)? else {
                return Ok(None);
            };
            let Some(record) = show::record_of(&console.config, store, &key, AsOf::Now)? else {
                return Ok(None);
            };
            let history = history::history_of(&console.config, store, &key)?;
            Ok(Some(PersonAnswer { record, history }))
        })
        .await;
    match answer {
        Ok(Some(a)) => ok(&a),
        // The key is not repeated: it may be an email.
        Ok(None) => refused(
            StatusCode::NOT_FOUND,
            "no person with that key or email in the store".to_owned(),
        ),
        Err(e) => failed(&e),
    }
}

/// `GET /api/runs`: the run log, oldest first.
pub async fn runs(State(console): State<Arc<Console>>) -> Response {
    let path = console.runs_path();
    match tokio::task::spawn_blocking(move || runlog::runs(&path)).await {
        Ok(Ok(runs)) => ok(&runs),
        Ok(Err(e)) => failed(&e.into()),
        Err(e) => failed(&e.into()),
    }
}

/// `by=NAME`
#[derive(Debug, Default, serde::Deserialize)]
pub struct By {
    #[serde(default)]
    by: String,
}

/// `POST /api/snapshots/{n}/approve`: `approve N --by NAME --format json`.
pub async fn approve(State(console): State<Arc<Console>>, Path(n): Path<u64>, Form(by): Form<By>) -> Response {
    let by = by.by.trim().to_owned();
    if by.is_empty() {
        return refused(
            StatusCode::BAD_REQUEST,
            "by: the approver's name is required".to_owned(),
        );
    }
    match held::approve_and_push(&console, n, by).await {
        Ok((meta, report)) => ok(&decide::approved_json(&meta, report.as_ref())),
        Err(e) => decision_failed(&e),
    }
}

/// `POST /api/snapshots/{n}/reject`: `reject N --format json`.
pub async fn reject(State(console): State<Arc<Console>>, Path(n): Path<u64>, Form(by): Form<By>) -> Response {
    match held::reject_for(&console, n, by.by.trim().to_owned()).await {
        Ok(meta) => ok(&decide::rejected_json(&meta)),
        Err(e) => decision_failed(&e),
    }
}

/// A decision on a snapshot that is not held is the caller's mistake (409).
fn decision_failed(e: &anyhow::Error) -> Response {
    use ampsync_engine::store::StoreError;
    match e.downcast_ref::<StoreError>() {
        Some(StoreError::NoSuchSnapshot(_)) => json(StatusCode::NOT_FOUND, &output::error_json(e)),
        Some(StoreError::NotHeld { .. } | StoreError::Conflict { .. }) => {
            json(StatusCode::CONFLICT, &output::error_json(e))
        }
        _ => failed(e),
    }
}

/// `POST /api/events/{seq}/retry`: `retry SEQ --format json`.
pub async fn retry(State(console): State<Arc<Console>>, Path(seq): Path<u64>) -> Response {
    match person::retry_and_push(&console, seq).await {
        Ok(report) => ok(&report),
        Err(e) => failed(&e),
    }
}
