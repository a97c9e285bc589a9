//! `managerKey` and `managerName`: each row's manager cell resolved to that
//! person's email from the same file, once the whole file is read (managers
//! may come before or after their reports).
//!
//! Rows the import decoded wait in the arena with their cell; rows taken as
//! unchanged by their bytes keep only their cell. A report whose row is
//! unchanged had its managerEmail resolved the same way last time, so it
//! is looked at again only when its manager's row is new or changed, was
//! missing last time, or is not in the file: then its stored record is
//! read and updated if the resolution differs.

use std::collections::{HashMap, HashSet};

use ampsync_store::{EventKind, Store, StoreError};

use super::{Arena, Decided, ManagerRef};
use crate::config::Config;
use crate::diff::{self, DiffPolicy, Incoming};
use crate::index::{Lookup, StateIndex};
use crate::ingest::{FileLayout, ManagerBy};

/// The most warnings about managers shown one by one.
const MAX_WARNINGS: usize = 20;

/// How the config names managers, if it does.
pub(super) fn manager_by(config: &Config) -> Option<ManagerBy> {
    let on = |key: &str| config.mapping.fields.get(key).is_some_and(|s| !s.is_off());
    if on("managerKey") {
        Some(ManagerBy::Key)
    } else if on("managerName") {
        Some(ManagerBy::Name)
    } else {
        None
    }
}

/// The manager cells of rows taken as unchanged: (index entry, line,
/// range in `text`).
#[derive(Debug, Default)]
pub(super) struct UnchangedRefs {
    text: String,
    refs: Vec<(u32, u64, u32, u32)>,
}

impl UnchangedRefs {
    pub(super) fn push(&mut self, entry: usize, line: u64, manager: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(manager);
        self.refs.push((entry as u32, line, start, self.text.len() as u32));
    }

    fn iter(&self) -> impl Iterator<Item = (usize, u64, &str)> {
        self.refs
            .iter()
            .map(|&(entry, line, a, b)| (entry as usize, line, &self.text[a as usize..b as usize]))
    }
}

/// `managerName`: folded "first last" → the email of the one person so
/// named (`None`: several people are).
#[derive(Debug, Default)]
pub(crate) struct Names(HashMap<String, Option<String>>);

impl Names {
    /// Records that the person named `name` (folded) has `email`.
    pub(crate) fn add(&mut self, name: &str, email: &str) {
        if name.is_empty() {
            return;
        }
        self.0
            .entry(name.to_owned())
            .and_modify(|e| {
                if e.as_deref() != Some(email) {
                    *e = None;
                }
            })
            .or_insert_with(|| Some(email.to_owned()));
    }

    /// The email of the one person a manager cell names, or why there is none.
    pub(crate) fn lookup(&self, cell: &str) -> Result<&str, &'static str> {
        match self.0.get(&crate::ingest::fold_name(cell)) {
            Some(Some(email)) => Ok(email),
            Some(None) => Err("names several people in this file"),
            None => Err("names no one in this file"),
        }
    }
}

/// What resolving found.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    /// Updates of unchanged rows whose manager's email changed.
    pub updates: Vec<Decided>,
    pub warnings: Vec<String>,
}

/// Where a manager cell leads.
enum Target {
    /// A row of this file the import decoded and kept (an arena row).
    Row(u32),
    /// An email (`managerName`: of the one person so named).
    Email(String),
    /// A known person whose row is unchanged: their stored email.
    Stored(usize),
    /// Nobody (or several people): why.
    None(&'static str),
}

/// Resolves every waiting arena row's manager (dropping rows then found
/// unchanged) and looks again at unchanged rows whose manager moved.
#[allow(clippy::too_many_arguments)]
pub(super) fn resolve(
    store: &Store,
    by: ManagerBy,
    arena: &mut Arena,
    index: &StateIndex,
    layout: &FileLayout,
    absences: &HashMap<String, u32>,
    unchanged: &UnchangedRefs,
    names: &Names,
) -> Result<Resolved, StoreError> {
    let mut out = Resolved::default();
    let mut warn = |line: u64, cell: &str, why: &str| {
        if out.warnings.len() < MAX_WARNINGS {
            let what = match by {
                ManagerBy::Key => "managerKey",
                ManagerBy::Name => "managerName",
            };
            out.warnings.push(format!(
                "line {line}: manager {cell:?} ({what}) {why}; managerEmail left empty"
            ));
        }
    };
    // Kept rows by key (borrowed from the arena while it is not changed).
    let pending = std::mem::take(&mut arena.pending);
    let mut stored_wanted: Vec<(u32, usize)> = Vec::new();
    let mut set: Vec<(u32, ManagerRef)> = Vec::new();
    let mut emails_again: Vec<(usize, String)> = Vec::new();
    let mut stored_again: Vec<(usize, usize)> = Vec::new();
    let mut found: Vec<String> = Vec::new();
    {
        let kept: HashMap<&str, u32> = match by {
            ManagerBy::Key => (0..arena.rows.len() as u32)
                .map(|i| (arena.key(&arena.rows[i as usize]), i))
                .collect(),
            ManagerBy::Name => HashMap::new(),
        };
        let target = |cell: &str| -> Target {
            match by {
                ManagerBy::Key => match kept.get(cell) {
                    Some(&row) => Target::Row(row),
                    None => match index.claimed(cell) {
                        Some(i) => Target::Stored(i),
                        None => Target::None("is no one's key in this file"),
                    },
                },
                ManagerBy::Name => match names.lookup(cell) {
                    Ok(email) => Target::Email(email.to_owned()),
                    Err(why) => Target::None(why),
                },
            }
        };
        // Arena rows: each gets its manager's email.
        for (row, cell, line, _) in &pending {
            match target(cell) {
                Target::Row(m) => set.push((*row, ManagerRef::Row(m))),
                Target::Email(email) => {
                    set.push((*row, ManagerRef::Stored((arena.managers.len() + found.len()) as u32)));
                    found.push(email);
                }
                Target::Stored(i) => stored_wanted.push((*row, i)),
                Target::None(why) => warn(*line, cell, why),
            }
        }
        // Unchanged rows whose manager is not an unchanged row still there.
        // Many people share a manager: the managers found so are kept, so
        // a million reports cost a million lookups in a small set, not in
        // the index.
        let mut settled: HashSet<&str> = HashSet::new();
        for (entry, line, cell) in unchanged.iter() {
            if settled.contains(cell) {
                continue;
            }
            match target(cell) {
                Target::Stored(i) if !absences.contains_key(index.key(i)) => {
                    settled.insert(cell);
                }
                Target::Stored(i) => stored_again.push((entry, i)),
                Target::Row(m) => emails_again.push((entry, arena.email(&arena.rows[m as usize]).to_owned())),
                Target::Email(email) => emails_again.push((entry, email)),
                Target::None(why) => {
                    warn(line, cell, why);
                    emails_again.push((entry, String::new()));
                }
            }
        }
    }
    arena.managers.extend(found);
    for (row, to) in set {
        arena.rows[row as usize].manager = to;
    }
    let stored = store.user_states(stored_wanted.iter().map(|&(_, i)| index.key(i)))?;
    for ((row, _), state) in stored_wanted.iter().zip(stored) {
        if let Some(email) = state.as_ref().and_then(|s| s.record.get("email")) {
            arena.rows[*row as usize].manager = ManagerRef::Stored(arena.managers.len() as u32);
            arena.managers.push(email.to_owned());
        }
    }
    for (row, _, _, entry) in &pending {
        let Some(entry) = entry else { continue };
        let r = &arena.rows[*row as usize];
        let record = arena.record(layout, r);
        if !r.deactivate && index.compare(*entry, &record.hash()) == Lookup::Unchanged {
            arena.rows[*row as usize].dropped = true;
        }
    }
    arena.pending = pending;

    let mut again = emails_again;
    let emails = store.user_states(stored_again.iter().map(|&(_, i)| index.key(i)))?;
    for ((entry, _), state) in stored_again.into_iter().zip(emails) {
        let email = state.as_ref().and_then(|s| s.record.get("email")).unwrap_or_default();
        again.push((entry, email.to_owned()));
    }
    let before = store.user_states(again.iter().map(|(entry, _)| index.key(*entry)))?;
    let policy = DiffPolicy {
        deactivate_missing: false,
    };
    for ((entry, email), before) in again.into_iter().zip(before) {
        let Some(before) = before else { continue };
        if before.record.get("managerEmail").unwrap_or_default() == email {
            continue;
        }
        let mut record = before.record.clone();
        record.set("managerEmail".into(), email);
        let incoming = Incoming::Row {
            record: &record,
            deactivate: false,
        };
        if let Some(kind @ EventKind::Updated { .. }) = diff::decide(Some(&before), incoming, policy) {
            out.updates.push((index.key(entry).to_owned(), kind, index.row(entry)));
        }
    }
    Ok(out)
}
