//! A person: search by key, email or name (a POST: nothing personal in a
//! URL), their record now and as of a date, their full history (which
//! file, which hash, when delivered, Learn Amp id, what Learn Amp said),
//! and a Retry button for a refused event.
//!
//! A person's page is at `/people/{id}` with an opaque id minted here when
//! the search found them; the id means nothing outside this process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ampsync_engine::clock::{format_micros, parse_time};
use ampsync_engine::learnamp::Credentials;
use ampsync_engine::replay::{PushReport, deliver};
use ampsync_engine::store::{Delivery, Store};
use ampsync_engine::{AsOf, resolve_key};
use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::Console;
use super::auth::{self, Session};
use super::page::{self, PageError, PageResult};
use crate::commands::{history, show};
use crate::output::{self, short_hex};

/// Matches a name search lists at most.
const MAX_MATCHES: usize = 20;

/// Opaque page ids for people's keys, both ways.
#[derive(Debug, Default)]
pub struct PageIds(Mutex<(HashMap<String, String>, HashMap<String, String>)>);

impl PageIds {
    /// The id of `key`'s page, minted on first use.
    fn id(&self, key: &str) -> anyhow::Result<String> {
        let mut maps = self
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("the page id table is poisoned"))?;
        if let Some(id) = maps.1.get(key) {
            return Ok(id.clone());
        }
        let mut bytes = [0u8; 12];
        getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the system: {e}"))?;
        let id = output::hex(&bytes);
        maps.0.insert(id.clone(), key.to_owned());
        maps.1.insert(key.to_owned(), id.clone());
        Ok(id)
    }

    fn key(&self, id: &str) -> Option<String> {
        self.0.lock().ok()?.0.get(id).cloned()
    }
}

#[derive(Template)]
#[template(path = "people.html")]
struct Search {
    csrf: String,
    query: String,
    searched: bool,
    matches: Vec<Match>,
}

struct Match {
    id: String,
    key: String,
    name: String,
    email: String,
    active: bool,
}

/// `GET /people`: the search form.
pub async fn search_page(Extension(session): Extension<Session>) -> PageResult {
    Ok(page::render(&Search {
        csrf: session.csrf,
        query: String::new(),
        searched: false,
        matches: Vec::new(),
    }))
}

/// The search form.
#[derive(Debug, serde::Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    q: String,
}

/// `POST /people`: one match goes to their page; several are listed.
pub async fn search(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    Form(form): Form<SearchForm>,
) -> PageResult {
    if !auth::csrf_ok(&session, &form.csrf) {
        return Ok(auth::csrf_refused());
    }
    let query = form.q.trim().to_owned();
    let found = {
        let query = query.clone();
        console
            .with_store(move |console, store| {
                let keys = find(store, &query)?;
                keys.into_iter()
                    .map(|(key, name, email, active)| {
                        Ok(Match {
                            id: console.people.id(&key)?,
                            key,
                            name,
                            email,
                            active,
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .await?
    };
    if let [one] = found.as_slice() {
        return Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/people/{}", one.id))],
        )
            .into_response());
    }
    Ok(page::render(&Search {
        csrf: session.csrf,
        query,
        searched: true,
        matches: found,
    }))
}

/// People whose key or email is `query`, or whose name contains it
/// (ignoring case): (key, name, email, active).
fn find(store: &Store, query: &str) -> anyhow::Result<Vec<(String, String, String, bool)>> {
    if query.is_empty() {
        return Ok(Vec::new());
    }
    let describe = |key: &str, state: &ampsync_engine::store::UserState| {
        let r = &state.record;
        (
            key.to_owned(),
            format!(
                "{} {}",
                r.get("firstName").unwrap_or(""),
                r.get("lastName").unwrap_or("")
            )
            .trim()
            .to_owned(),
            r.get("email").unwrap_or("").to_owned(),
            state.active,
        )
    };
    if let Some(key) = resolve_key(store, query)?
        && let Some(state) = store.user_state(&key)?
    {
        return Ok(vec![describe(&key, &state)]);
    }
    let needle = query.to_lowercase();
    let mut found = Vec::new();
    store.for_each_user(|key, state| {
        if found.len() < MAX_MATCHES {
            let (k, name, email, active) = describe(key, state);
            if name.to_lowercase().contains(&needle) {
                found.push((k, name, email, active));
            }
        }
    })?;
    Ok(found)
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    csrf: String,
    id: String,
    key: String,
    now: Option<Vec<(String, String)>>,
    active: bool,
    as_of: String,
    then: Option<Option<Vec<(String, String)>>>,
    history: Vec<HistoryRow>,
}

struct HistoryRow {
    seq: u64,
    time: String,
    kind: &'static str,
    cause: String,
    file: String,
    hash: String,
    changes: Vec<String>,
    delivery: String,
    retry: bool,
}

/// `?as_of=YYYY-MM-DD` (a date is not personal).
#[derive(Debug, Default, serde::Deserialize)]
pub struct AsOfQuery {
    #[serde(default)]
    as_of: String,
}

/// A record's fields as rows, lists as their items joined.
fn fields(record: &ampsync_engine::PersonRecord) -> Vec<(String, String)> {
    record
        .record
        .iter()
        .map(|(k, v)| {
            let text = match serde_json::to_value(v) {
                Ok(serde_json::Value::String(s)) => s,
                Ok(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                    .collect::<Vec<_>>()
                    .join(" · "),
                Ok(other) => other.to_string(),
                Err(_) => String::new(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// `GET /people/{id}`.
pub async fn page(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Query(q): Query<AsOfQuery>,
) -> PageResult {
    let Some(key) = console.people.key(&id) else {
        return Err(PageError::NotFound(
            "This page is no longer known (the console restarted): search for the person again.".to_owned(),
        ));
    };
    let as_of = q.as_of.trim().to_owned();
    let at = if as_of.is_empty() {
        None
    } else {
        match parse_time(&as_of) {
            // A date means the end of that day.
            Some(t) if as_of.len() == 10 => Some(t + 86_400_000_000 - 1),
            Some(t) => Some(t),
            None => {
                return Ok((
                    StatusCode::BAD_REQUEST,
                    page::html_error("The date is not YYYY-MM-DD or an RFC 3339 time."),
                )
                    .into_response());
            }
        }
    };
    let mut person = console
        .with_store(move |console, store| {
            let now = show::record_of(&console.config, store, &key, AsOf::Now)?;
            let then = match at {
                Some(t) => Some(show::record_of(&console.config, store, &key, AsOf::Time(t))?.map(|r| fields(&r))),
                None => None,
            };
            let events = store.user_events(&key)?;
            let snapshots = output::snapshot_map(store)?;
            let approvers = history::approvers(&console.config)?;
            let history = events
                .iter()
                .map(|(e, d)| {
                    let snapshot = output::event_snapshot(e, &snapshots);
                    HistoryRow {
                        seq: e.seq,
                        time: format_micros(e.body.time),
                        kind: e.body.kind.name(),
                        cause: history::cause_text(&e.body.cause, &approvers),
                        file: snapshot.map(|s| s.source.clone()).unwrap_or_default(),
                        hash: snapshot.map(|s| short_hex(&s.file_hash)).unwrap_or_default(),
                        changes: e.body.kind.changes().iter().map(output::change_text).collect(),
                        delivery: output::delivery_text(d),
                        retry: matches!(d, Delivery::Failed { .. } | Delivery::Dead { .. }),
                    }
                })
                .collect();
            Ok(PersonPage {
                csrf: String::new(),
                id: String::new(),
                active: now.as_ref().is_some_and(|r| r.active),
                now: now.as_ref().map(fields),
                key,
                as_of: String::new(),
                then,
                history,
            })
        })
        .await?;
    person.csrf = session.csrf;
    person.id = id;
    person.as_of = as_of;
    Ok(page::render(&person))
}

/// The Retry form.
#[derive(Debug, serde::Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    csrf: String,
    /// The person page to go back to.
    #[serde(default)]
    back: String,
}

/// Marks event `seq` to send again and pushes, as `ampsync retry SEQ`.
pub async fn retry_and_push(console: &Arc<Console>, seq: u64) -> anyhow::Result<PushReport> {
    // Checked before anything changes, as `retry` does.
    let credentials = Credentials::from_env(&console.config.learnamp)?;
    let store = console
        .with_store(move |_, store| {
            anyhow::Context::context(store.retry_events(&[seq]), "marking the event to send again")?;
            Ok(store.clone())
        })
        .await?;
    Ok(deliver(&console.config, store, credentials, None, None).await?)
}

/// `POST /events/{seq}/retry`.
pub async fn retry(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    Path(seq): Path<u64>,
    Form(form): Form<RetryForm>,
) -> PageResult {
    if !auth::csrf_ok(&session, &form.csrf) {
        return Ok(auth::csrf_refused());
    }
    retry_and_push(&console, seq).await?;
    let back = if console.people.key(&form.back).is_some() {
        format!("/people/{}", form.back)
    } else {
        "/".to_owned()
    };
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response())
}
