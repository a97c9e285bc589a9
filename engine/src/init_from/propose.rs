//! The mapping proposed for a sample: which column feeds each Learn Amp
//! field, decided from the headers ([`catalogue`]) and then the values (a
//! `Title` of Mr/Ms is no job title; a manager column of ids is a
//! `managerKey`; a `userType` of Guest is a `[[skip]]`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::NaiveDate;

use super::catalogue::{self, Meaning, System};
use super::dates::{self, DateGuess};
use super::shape::Shape;
use super::{Mapped, Note, Proposal, Question, Replace, Skip, Source};
use crate::fields::{Field, LANGUAGES, ROLES, fold_header};

/// Words in an account-type column's values that are not people.
const NOT_PEOPLE: [&str; 7] = [
    "guest",
    "room",
    "resource",
    "serviceaccount",
    "sharedmailbox",
    "equipment",
    "bot",
];

/// Words in a team or org-unit path that are not people: fewer, since
/// "Human Resources" and "Customer Service" are teams of people.
const NOT_PEOPLE_TEAMS: [&str; 3] = ["room", "serviceaccount", "bot"];

/// Whether an account-type value (or, with `team`, a team or org unit)
/// names accounts that are not people: a guest, a room, a service account.
fn is_not_people(value: &str, team: bool) -> bool {
    let words: Vec<String> = value
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().trim_end_matches('s').to_owned())
        .collect();
    // Two words as one: "Service Accounts", "Shared mailbox".
    let pairs = words.windows(2).map(|w| format!("{}{}", w[0], w[1]));
    let list: &[&str] = if team { &NOT_PEOPLE_TEAMS } else { &NOT_PEOPLE };
    words.iter().cloned().chain(pairs).any(|w| list.contains(&w.as_str()))
}

/// Status values that mean the person has left.
const LEAVER_WORDS: [&str; 14] = [
    "inactive",
    "terminated",
    "deprovisioned",
    "suspended",
    "former",
    "left",
    "leaver",
    "deleted",
    "disabled",
    "archived",
    "exited",
    "offboarded",
    "separated",
    "withdrawn",
];

/// Status values that mean the person still works there.
const ACTIVE_WORDS: [&str; 18] = [
    "active",
    "employed",
    "current",
    "onboarding",
    "leave",
    "onleave",
    "probation",
    "provisioned",
    "staged",
    "passwordexpired",
    "lockedout",
    "recovery",
    "hired",
    "enabled",
    "preboarding",
    "notice",
    "noticeperiod",
    "garden leave",
];

/// Salutations: a `Title` column of these is not a job title.
const SALUTATIONS: [&str; 10] = ["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev"];

/// Languages written as names or regional codes → Learn Amp's codes.
const LANGUAGE_NAMES: [(&str, &str); 16] = [
    ("english", "en"),
    ("engb", "en"),
    ("enus", "en-US"),
    ("french", "fr"),
    ("frfr", "fr"),
    ("german", "de"),
    ("dede", "de"),
    ("spanish", "es"),
    ("eses", "es"),
    ("italian", "it"),
    ("itit", "it"),
    ("dutch", "nl"),
    ("nlnl", "nl"),
    ("polish", "pl"),
    ("plpl", "pl"),
    ("portuguese", "pt-PT"),
];

/// The proposal being built, and the sample it is built from.
struct Ctx<'a> {
    shape: &'a Shape,
    system: Option<&'static System>,
    meanings: Vec<Option<Meaning>>,
    /// Indexes of the rows that are people (not skipped).
    people: Vec<usize>,
    used: BTreeSet<usize>,
    p: Proposal,
}

/// Proposes a config for `shape`; `today` decides past and future dates.
pub(crate) fn propose(shape: &Shape, today: NaiveDate) -> Proposal {
    let system = catalogue::recognise(&shape.header);
    let mut cx = Ctx {
        shape,
        system,
        meanings: shape.header.iter().map(|h| catalogue::meaning(h)).collect(),
        people: (0..shape.rows.len()).collect(),
        used: BTreeSet::new(),
        p: Proposal {
            system: system.map(|s| s.name.to_owned()),
            rows: shape.rows.len(),
            delimiter: match shape.delimiter {
                b'\t' => "\\t".to_owned(),
                d => char::from(d).to_string(),
            },
            encoding: shape.encoding.clone(),
            skip_lines: shape.skip_lines,
            date_formats: Vec::new(),
            key: None,
            mapping: Vec::new(),
            values: BTreeMap::new(),
            replace: BTreeMap::new(),
            skip: Vec::new(),
            future_hires: None,
            unread_columns: Vec::new(),
            notes: Vec::new(),
            questions: Vec::new(),
        },
    };
    cx.shape_notes();
    cx.skip_rules();
    let learn_amp = system.is_some_and(|s| s.learn_amp);
    let email = cx.email();
    cx.key(email);
    if learn_amp {
        cx.by_name();
    } else {
        cx.names();
        cx.job_title();
        cx.teams();
        cx.one("location", Meaning::Location);
        cx.manager(email);
        cx.fields();
    }
    cx.dates(today, learn_amp);
    cx.status();
    cx.role();
    cx.language();
    cx.switch_off_names();
    cx.p.unread_columns = (0..shape.header.len())
        .filter(|i| !cx.used.contains(i))
        .map(|i| shape.header[i].clone())
        .collect();
    cx.p
}

impl Ctx<'_> {
    fn header(&self, column: usize) -> &str {
        &self.shape.header[column]
    }

    fn note(&mut self, setting: &str, note: String) {
        self.p.notes.push(Note {
            setting: setting.to_owned(),
            note,
        });
    }

    fn ask(&mut self, setting: &str, question: String, candidates: Vec<String>) {
        self.p.questions.push(Question {
            setting: setting.to_owned(),
            question,
            candidates,
        });
    }

    fn map(&mut self, field: &str, columns: &[usize]) {
        self.used.extend(columns.iter().copied());
        let columns = columns.iter().map(|&c| self.header(c).to_owned()).collect();
        self.p.mapping.push(Mapped {
            field: field.to_owned(),
            source: Source::Columns(columns),
        });
    }

    fn mapped(&self, field: &str) -> bool {
        self.p.mapping.iter().any(|m| m.field == field)
    }

    /// The columns that mean `meaning`, in file order.
    fn columns(&self, meaning: Meaning) -> Vec<usize> {
        (0..self.meanings.len())
            .filter(|&i| self.meanings[i] == Some(meaning))
            .collect()
    }

    /// The people's values in `column`, trimmed, empty ones included.
    fn values(&self, column: usize) -> impl Iterator<Item = &str> {
        self.people
            .iter()
            .map(move |&r| self.shape.rows[r].1.get(column).map_or("", |v| v.trim()))
    }

    /// The distinct non-empty values in `column`, as first written.
    fn distinct(&self, column: usize) -> Vec<String> {
        let mut seen = HashSet::new();
        self.values(column)
            .filter(|v| !v.is_empty() && seen.insert(v.to_lowercase()))
            .map(str::to_owned)
            .collect()
    }

    fn filled(&self, column: usize) -> usize {
        self.values(column).filter(|v| !v.is_empty()).count()
    }

    fn shape_notes(&mut self) {
        let shape = self.shape;
        let name = match shape.delimiter {
            b',' => "comma",
            b';' => "semicolon",
            b'\t' => "tab",
            _ => "pipe",
        };
        self.note(
            "csv.delimiter",
            format!("the header splits into {} columns on a {name}", shape.header.len()),
        );
        let encoding = if shape.encoding_guessed {
            format!(
                "not UTF-8: the bytes read best as {} (detected); check a name with accents in `ampsync preview`",
                shape.encoding
            )
        } else {
            "the file is valid UTF-8".to_owned()
        };
        self.note("csv.encoding", encoding);
        if let Some(preamble) = &shape.preamble {
            let n = shape.skip_lines;
            self.note(
                "csv.skip_lines",
                format!("{n} line(s) before the header, the first {preamble:?}"),
            );
        }
        if shape.empty_rows > 0 {
            self.note(
                "rows",
                format!("{} all-empty row(s) in the sample are ignored", shape.empty_rows),
            );
        }
        match self.system {
            Some(s) => self.note("system", format!("the header set is {}'s", s.name)),
            None => self.ask(
                "system",
                "the header set is none that ampsync knows: check the mapping below".to_owned(),
                Vec::new(),
            ),
        }
    }

    /// `[[skip]]` for rows that are not people (guests, rooms, service
    /// accounts) and a template's example row.
    fn skip_rules(&mut self) {
        let mut skipped: BTreeSet<usize> = BTreeSet::new();
        let candidates: Vec<usize> = (0..self.meanings.len())
            .filter(|&i| matches!(self.meanings[i], Some(Meaning::AccountType | Meaning::Team)))
            .collect();
        for column in candidates {
            let team = self.meanings[column] == Some(Meaning::Team);
            let not_people: Vec<String> = self
                .distinct(column)
                .into_iter()
                .filter(|v| is_not_people(v, team))
                .collect();
            if not_people.is_empty() {
                continue;
            }
            let folded: HashSet<String> = not_people.iter().map(|v| v.to_lowercase()).collect();
            let rows: Vec<usize> = (0..self.shape.rows.len())
                .filter(|&r| {
                    self.shape.rows[r]
                        .1
                        .get(column)
                        .is_some_and(|v| folded.contains(&v.trim().to_lowercase()))
                })
                .collect();
            skipped.extend(&rows);
            self.used.insert(column);
            let header = self.header(column).to_owned();
            self.note(
                &format!("skip.{header}"),
                format!("rows whose {header:?} is {} are not people", not_people.join(" or ")),
            );
            self.p.skip.push(Skip {
                column: header,
                equals: Some(not_people),
                matches: None,
                rows: rows.len(),
            });
        }
        // Accounts with neither a first nor a last name: rooms and shared
        // mailboxes in a directory's user list.
        let first = self.columns(Meaning::FirstName).first().copied();
        let last = self.columns(Meaning::LastName).first().copied();
        if let (Some(first), Some(last)) = (first, last) {
            let empty = |r: usize, c: usize| self.shape.rows[r].1.get(c).is_none_or(|v| v.trim().is_empty());
            let nameless: Vec<usize> = (0..self.shape.rows.len())
                .filter(|&r| !skipped.contains(&r) && empty(r, first))
                .collect();
            if !nameless.is_empty() && nameless.iter().all(|&r| empty(r, last)) {
                let header = self.header(first).to_owned();
                self.note(
                    &format!("skip.{header}"),
                    format!(
                        "{} row(s) have neither {header:?} nor {:?}: rooms and shared mailboxes, not people",
                        nameless.len(),
                        self.header(last)
                    ),
                );
                skipped.extend(&nameless);
                self.p.skip.push(Skip {
                    column: header,
                    equals: Some(vec![String::new()]),
                    matches: None,
                    rows: nameless.len(),
                });
            }
        }
        let examples: Vec<usize> = (0..self.shape.rows.len())
            .filter(|&r| {
                self.shape.rows[r]
                    .1
                    .first()
                    .is_some_and(|v| v.trim().to_lowercase().starts_with("example"))
            })
            .collect();
        if !examples.is_empty() {
            let header = self.header(0).to_owned();
            self.note(&format!("skip.{header}"), "the template's example row".to_owned());
            skipped.extend(&examples);
            self.p.skip.push(Skip {
                column: header,
                equals: None,
                matches: Some("^(?i)example".to_owned()),
                rows: examples.len(),
            });
        }
        self.people.retain(|r| !skipped.contains(r));
    }

    /// The email column (with a fallback column where it is empty); its
    /// index, if any.
    fn email(&mut self) -> Option<usize> {
        let share = |cx: &Ctx<'_>, c: usize| cx.values(c).filter(|v| v.contains('@')).count();
        let mut candidates: Vec<usize> = (0..self.meanings.len())
            .filter(|&i| matches!(self.meanings[i], Some(Meaning::Email | Meaning::Field(Field::Email))))
            .filter(|&i| share(self, i) > 0)
            .collect();
        candidates.sort_by_key(|&c| std::cmp::Reverse(share(self, c)));
        let logins: Vec<usize> = self
            .columns(Meaning::Login)
            .into_iter()
            .filter(|&c| share(self, c) > 0)
            .collect();
        let Some(&first) = candidates.first().or(logins.first()) else {
            let all = self.shape.header.clone();
            self.ask(
                "mapping.email",
                "no column holds email addresses: which one is the work email?".to_owned(),
                all,
            );
            return None;
        };
        let mut columns = vec![first];
        if share(self, first) < self.people.len()
            && let Some(&fallback) = candidates.iter().chain(&logins).find(|&&c| c != first)
        {
            columns.push(fallback);
            self.note(
                "mapping.email",
                format!(
                    "{:?} is empty for some people: then {:?}",
                    self.header(first),
                    self.header(fallback)
                ),
            );
        }
        self.map("email", &columns);
        Some(first)
    }

    /// `csv.key`: the first id column that is filled and unique, else email.
    fn key(&mut self, email: Option<usize>) {
        let mut candidates: Vec<usize> = self.columns(Meaning::Key);
        candidates.extend(self.columns(Meaning::Field(Field::IntegrationExternalId)));
        let unique = |cx: &Ctx<'_>, c: usize| {
            let mut seen = HashSet::new();
            cx.values(c).all(|v| !v.is_empty() && seen.insert(v.to_owned()))
        };
        let key = candidates.iter().copied().find(|&c| unique(self, c));
        match (key, email) {
            (Some(c), _) => {
                let header = self.header(c).to_owned();
                self.p.key = Some(header.clone());
                self.note(
                    "csv.key",
                    format!("{header:?} is filled and unique in every row: a person keeps it when their email changes"),
                );
                self.map("integrationExternalId", &[c]);
            }
            (None, Some(e)) => {
                let header = self.header(e).to_owned();
                self.p.key = Some(header.clone());
                let why = if candidates.is_empty() {
                    "no employee id column".to_owned()
                } else {
                    format!(
                        "{} is empty or repeated in some rows",
                        candidates
                            .iter()
                            .map(|&c| format!("{:?}", self.header(c)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                self.note(
                    "csv.key",
                    format!("{why}: people are known by their email (a changed email is a new person)"),
                );
                if let Some(&id) = candidates.iter().find(|&&c| self.filled(c) > 0) {
                    self.map("integrationExternalId", &[id]);
                }
            }
            (None, None) => {}
        }
    }

    /// Learn Amp's own formats: every column is read by its name.
    fn by_name(&mut self) {
        for (i, h) in self.shape.header.iter().enumerate() {
            if Field::from_header(h).is_some() {
                self.used.insert(i);
            }
        }
        self.note(
            "mapping",
            "Learn Amp's own format: every column is recognised by its name, no mapping needed".to_owned(),
        );
    }

    fn names(&mut self) {
        let first = self.columns(Meaning::FirstName);
        let preferred: Vec<usize> = self
            .columns(Meaning::PreferredName)
            .into_iter()
            .filter(|&c| self.filled(c) > 0)
            .collect();
        let last = self.columns(Meaning::LastName);
        let full = self.columns(Meaning::FullName);
        let mut first_columns: Vec<usize> = preferred.iter().chain(first.first()).copied().collect();
        first_columns.dedup();
        if !first_columns.is_empty() {
            if first_columns.len() > 1 {
                self.note(
                    "mapping.firstName",
                    format!(
                        "the preferred name where there is one, else {:?}",
                        self.header(first_columns[first_columns.len() - 1])
                    ),
                );
            }
            self.map("firstName", &first_columns);
        }
        if let Some(&l) = last.first() {
            self.map("lastName", &[l]);
        }
        let gaps = first.first().is_none_or(|&c| self.filled(c) < self.people.len())
            || last.first().is_none_or(|&c| self.filled(c) < self.people.len());
        if let Some(&f) = full.first()
            && gaps
        {
            self.map("name", &[f]);
            self.note(
                "mapping.name",
                "split where first or last name is missing: \"Last, First\" at the comma, else at the first space"
                    .to_owned(),
            );
        }
        for field in ["firstName", "lastName"] {
            if !self.mapped(field) && !self.mapped("name") {
                let all = self.shape.header.clone();
                self.ask(
                    &format!("mapping.{field}"),
                    format!("no {field} (nor a full-name) column: which one holds it?"),
                    all,
                );
            }
        }
    }

    fn job_title(&mut self) {
        let titles = self.columns(Meaning::Title);
        let mut job = self.columns(Meaning::JobTitle);
        for &t in &titles {
            let salutation = self
                .distinct(t)
                .iter()
                .all(|v| SALUTATIONS.contains(&v.trim_end_matches('.').to_lowercase().as_str()));
            if salutation {
                self.used.insert(t);
                let header = self.header(t).to_owned();
                self.note(
                    "mapping.jobTitle",
                    format!("{header:?} holds salutations (Mr, Ms), not job titles: it is not read"),
                );
            } else {
                job.push(t);
            }
        }
        if let Some(&j) = job.first() {
            self.map("jobTitle", &[j]);
        }
    }

    fn one(&mut self, field: &str, meaning: Meaning) {
        if let Some(&c) = self.columns(meaning).first() {
            self.map(field, &[c]);
        }
    }

    /// Department, and the primary team (a team column, else the
    /// department), cut down to the team's own name when it is a path or
    /// carries its manager's name.
    fn teams(&mut self) {
        let department = self.columns(Meaning::Department).first().copied();
        if let Some(d) = department {
            self.map("department", &[d]);
        }
        let Some(team) = self.columns(Meaning::Team).first().copied().or(department) else {
            return;
        };
        self.map("primaryTeam", &[team]);
        let values = self.distinct(team);
        let header = self.header(team).to_owned();
        let paths = values.iter().filter(|v| v.starts_with('/')).count();
        let with_names = values.iter().filter(|v| v.ends_with(')') && v.contains(" (")).count();
        if !values.is_empty() && paths * 2 > values.len() {
            self.p.replace.insert(
                "primaryTeam".to_owned(),
                Replace {
                    pattern: "^.*/".to_owned(),
                    with: String::new(),
                },
            );
            self.note(
                "replace.primaryTeam",
                format!(
                    "{header:?} holds paths such as {:?}: the team is the last part",
                    values[0]
                ),
            );
        } else if !values.is_empty() && with_names * 2 > values.len() {
            self.p.replace.insert(
                "primaryTeam".to_owned(),
                Replace {
                    pattern: r"\s*\([^()]*\)$".to_owned(),
                    with: String::new(),
                },
            );
            let example = values.iter().find(|v| v.ends_with(')')).cloned().unwrap_or_default();
            self.note(
                "replace.primaryTeam",
                format!("{header:?} holds names such as {example:?}: the part in brackets is cut"),
            );
        }
    }

    /// The manager: by email, by key or by name, as the values show.
    fn manager(&mut self, email: Option<usize>) {
        let mut columns = self.columns(Meaning::ManagerEmail);
        columns.extend(self.columns(Meaning::ManagerKey));
        columns.extend(self.columns(Meaning::Manager));
        columns.retain(|&c| self.filled(c) > 0);
        let Some(&column) = columns.first() else {
            return;
        };
        let values = self.distinct(column);
        let header = self.header(column).to_owned();
        let key_values: HashSet<String> = self
            .p
            .key
            .as_ref()
            .and_then(|k| self.shape.header.iter().position(|h| h == k))
            .map(|k| self.values(k).map(str::to_lowercase).collect())
            .unwrap_or_default();
        let emails = values.iter().filter(|v| v.contains('@')).count();
        let keys = values.iter().filter(|v| key_values.contains(&v.to_lowercase())).count();
        if emails * 2 > values.len() {
            self.map("managerEmail", &[column]);
            return;
        }
        let key_is_email = email.is_some_and(|e| self.p.key.as_deref() == Some(self.header(e)));
        if !key_is_email && keys * 2 > values.len() {
            self.map("managerKey", &[column]);
            self.note(
                "mapping.managerKey",
                format!(
                    "{header:?} holds the manager's {:?}",
                    self.p.key.clone().unwrap_or_default()
                ),
            );
            return;
        }
        // Names: matched with each person's "First Last" from the file.
        let names = self.full_names();
        let unknown: Vec<String> = values
            .iter()
            .filter(|v| !names.contains(&fold_name(v)))
            .cloned()
            .collect();
        self.map("managerName", &[column]);
        if unknown.is_empty() {
            self.note(
                "mapping.managerName",
                format!("{header:?} holds names, each one of a person in the file"),
            );
        } else {
            self.ask(
                "mapping.managerName",
                format!(
                    "{header:?} holds names, and {} of them match no person's \"First Last\" in the sample (they get a warning, no manager): is there a manager id or email column?",
                    unknown.len()
                ),
                unknown.into_iter().take(5).collect(),
            );
        }
    }

    /// Everyone's "first last" (and "last, first"), folded, from the
    /// first-name and last-name columns.
    fn full_names(&self) -> HashSet<String> {
        let mut names = HashSet::new();
        let firsts: Vec<usize> = [Meaning::FirstName, Meaning::PreferredName]
            .into_iter()
            .flat_map(|m| self.columns(m))
            .collect();
        let Some(&last) = self.columns(Meaning::LastName).first() else {
            return names;
        };
        for &r in &self.people {
            let row = &self.shape.rows[r].1;
            let l = row.get(last).map_or("", |v| v.trim());
            for &f in &firsts {
                let f = row.get(f).map_or("", |v| v.trim());
                if !f.is_empty() {
                    names.insert(fold_name(&format!("{f} {l}")));
                    names.insert(fold_name(&format!("{l}, {f}")));
                }
            }
        }
        names
    }

    /// Learn Amp fields other systems name as Learn Amp does (`Time zone`).
    fn fields(&mut self) {
        for i in 0..self.meanings.len() {
            if let Some(Meaning::Field(f)) = self.meanings[i]
                && !self.used.contains(&i)
                && !self.mapped(f.api_name())
                && !matches!(f, Field::Role | Field::Language | Field::Deactivate | Field::HireDate)
            {
                self.map(f.api_name(), &[i]);
            }
        }
    }

    /// Hire, start and leave dates: their form, and who has left or not
    /// started yet.
    fn dates(&mut self, today: NaiveDate, learn_amp: bool) {
        let mut hire = self.columns(Meaning::HireDate);
        hire.extend(self.columns(Meaning::Field(Field::HireDate)));
        let leave = self.columns(Meaning::LeaveDate);
        let all: Vec<String> = hire
            .iter()
            .chain(&leave)
            .flat_map(|&c| self.values(c).map(str::to_owned).collect::<Vec<_>>())
            .collect();
        let forms: Vec<&'static str> = match dates::guess(all.iter().map(String::as_str)) {
            DateGuess::NoValues | DateGuess::Iso => Vec::new(),
            DateGuess::Form { form, example } => {
                self.note(
                    "csv.date_formats",
                    format!("dates such as {example:?} are {}", describe(form)),
                );
                vec![form]
            }
            DateGuess::Ambiguous { day_first, month_first } => {
                let (chosen, other) = if self.system.is_some_and(|s| s.month_first) {
                    (month_first, day_first)
                } else {
                    (day_first, month_first)
                };
                self.ask(
                    "csv.date_formats",
                    format!(
                        "no date in the sample has a day above 12: are they {} (written) or {}?",
                        describe(chosen),
                        describe(other)
                    ),
                    vec![chosen.to_owned(), other.to_owned()],
                );
                vec![chosen]
            }
            DateGuess::Unknown { examples } => {
                self.ask(
                    "csv.date_formats",
                    "these dates are in no form ampsync knows: write their strftime form (e.g. \"%d %B %Y\")"
                        .to_owned(),
                    examples,
                );
                Vec::new()
            }
        };
        self.p.date_formats = forms.iter().map(|f| (*f).to_owned()).collect();
        let readable = |cx: &Ctx<'_>, c: usize| {
            cx.values(c)
                .filter(|v| !v.is_empty())
                .all(|v| dates::parse(v, &forms).is_some())
        };
        if let Some(&h) = hire.first() {
            if !readable(self, h) {
                self.p.mapping.push(Mapped {
                    field: "hireDate".to_owned(),
                    source: Source::Off(false),
                });
                self.used.insert(h);
            } else if !learn_amp {
                self.map("hireDate", &[h]);
            }
            let future = self
                .values(h)
                .filter_map(|v| dates::parse(v, &forms))
                .filter(|d| *d > today)
                .count();
            if future > 0 {
                self.map("startDate", &[h]);
                self.p.future_hires = Some("create".to_owned());
                self.ask(
                    "policy.future_hires",
                    format!(
                        "{future} person(s) start after today: create them now (\"create\", invited before their first day) or on their start date (\"wait\")?"
                    ),
                    vec!["create".to_owned(), "wait".to_owned()],
                );
            }
        }
        if let Some(&l) = leave.first()
            && readable(self, l)
        {
            let parsed: Vec<NaiveDate> = self.values(l).filter_map(|v| dates::parse(v, &forms)).collect();
            let past = parsed.iter().filter(|d| **d <= today).count();
            self.map("leaveDate", &[l]);
            let header = self.header(l).to_owned();
            self.note(
                "mapping.leaveDate",
                format!(
                    "{past} person(s) left by today by {header:?}, {} leave later",
                    parsed.len() - past
                ),
            );
        }
    }

    /// `deactivate` from a status column, with a translation of every
    /// status value the sample has.
    fn status(&mut self) {
        let column = (0..self.meanings.len()).find(|&i| {
            matches!(
                self.meanings[i],
                Some(Meaning::Status | Meaning::Enabled | Meaning::Blocked | Meaning::Field(Field::Deactivate))
            )
        });
        let Some(column) = column else {
            if !self.mapped("leaveDate") {
                self.ask(
                    "mapping.deactivate",
                    "no status or termination-date column: leavers are only those missing from the file".to_owned(),
                    Vec::new(),
                );
            }
            return;
        };
        let meaning = self.meanings[column];
        let header = self.header(column).to_owned();
        let mut table = BTreeMap::new();
        let mut unknown = Vec::new();
        let mut known = 0;
        for value in self.distinct(column) {
            let folded = fold_header(&value);
            let leaver = match meaning {
                Some(Meaning::Enabled) => match folded.as_str() {
                    "true" | "yes" | "1" => Some(false),
                    "false" | "no" | "0" => Some(true),
                    _ => None,
                },
                Some(Meaning::Blocked | Meaning::Field(Field::Deactivate)) => crate::ingest::flag(&value).ok(),
                _ if LEAVER_WORDS.contains(&folded.as_str()) => Some(true),
                _ if ACTIVE_WORDS.iter().any(|w| fold_header(w) == folded) => Some(false),
                _ => None,
            };
            // The flag reads yes/no/1/0/true/false itself: only other
            // words, or a column where TRUE means active, need a line.
            let reads_itself = crate::ingest::flag(&value).ok() == leaver;
            match leaver {
                Some(_) if reads_itself => known += 1,
                Some(l) => {
                    known += 1;
                    table.insert(value, if l { "yes" } else { "no" }.to_owned());
                }
                None => unknown.push(value),
            }
        }
        if known == 0 && !unknown.is_empty() {
            self.ask(
                "mapping.deactivate",
                format!(
                    "{header:?} holds no status ampsync knows ({}): is it whether a person has left?",
                    unknown.join(", ")
                ),
                vec![header],
            );
            return;
        }
        for value in &unknown {
            table.insert(value.clone(), "no".to_owned());
        }
        if !unknown.is_empty() {
            self.ask(
                "mapping.values.deactivate",
                format!("does a {header:?} of these mean the person has left? written as \"no\" (still there)"),
                unknown,
            );
        }
        if meaning != Some(Meaning::Field(Field::Deactivate)) || !table.is_empty() {
            self.map("deactivate", &[column]);
        } else {
            self.used.insert(column);
        }
        if !table.is_empty() {
            self.p.values.insert("deactivate".to_owned(), table);
        }
    }

    /// Learn Amp's role, with a translation of each value that is not one.
    fn role(&mut self) {
        let Some(&column) = self.columns(Meaning::Role).first() else {
            return;
        };
        let mut table = BTreeMap::new();
        let mut unknown = Vec::new();
        for value in self.distinct(column) {
            let folded = fold_header(&value);
            if ROLES.iter().any(|r| fold_header(r) == folded) || folded == "learner" {
                continue;
            }
            let role = match folded.as_str() {
                "employee" | "user" | "staff" | "member" | "standard" | "viewer" => "viewer",
                "manager" | "teamlead" | "linemanager" | "peoplemanager" | "teamleader" => "reporter",
                "administrator" | "superadmin" | "owner" => "admin",
                "hradmin" | "humanresources" | "peopleteam" | "hrmanager" => "hr",
                "contentcreator" | "author" | "editor" | "contentmanager" => "curator",
                "learningdesigner" | "designer" => "learning_designer",
                _ => {
                    unknown.push(value.clone());
                    "viewer"
                }
            };
            table.insert(value, role.to_owned());
        }
        if !self.mapped("role") && !self.system.is_some_and(|s| s.learn_amp) {
            self.map("role", &[column]);
        }
        self.used.insert(column);
        if !unknown.is_empty() {
            self.ask(
                "mapping.values.role",
                format!(
                    "which Learn Amp role ({}) is each of these? written as \"viewer\"",
                    ROLES.join(", ")
                ),
                unknown,
            );
        }
        if !table.is_empty() {
            self.p.values.insert("role".to_owned(), table);
        }
    }

    /// Learn Amp's language, with a translation of names and regional codes.
    fn language(&mut self) {
        let Some(&column) = self.columns(Meaning::Field(Field::Language)).first() else {
            return;
        };
        let mut table = BTreeMap::new();
        let mut unknown = Vec::new();
        for value in self.distinct(column) {
            if LANGUAGES.iter().any(|l| l.eq_ignore_ascii_case(&value)) {
                continue;
            }
            let folded = fold_header(&value);
            match LANGUAGE_NAMES.iter().find(|(name, _)| *name == folded) {
                Some((_, code)) => {
                    table.insert(value, (*code).to_owned());
                }
                None => unknown.push(value),
            }
        }
        if !unknown.is_empty() {
            self.ask(
                "mapping.values.language",
                format!("which Learn Amp language ({}) is each of these?", LANGUAGES.join(", ")),
                unknown,
            );
        }
        if !table.is_empty() {
            self.p.values.insert("language".to_owned(), table);
        }
    }

    /// A column the proposal does not read, but whose header Learn Amp
    /// recognises by name, would still be read: its field is switched off.
    fn switch_off_names(&mut self) {
        for i in 0..self.shape.header.len() {
            let Some(field) = Field::from_header(self.header(i)) else {
                continue;
            };
            if self.used.contains(&i) || self.mapped(field.api_name()) {
                continue;
            }
            let header = self.header(i).to_owned();
            self.p.mapping.push(Mapped {
                field: field.api_name().to_owned(),
                source: Source::Off(false),
            });
            self.note(
                &format!("mapping.{}", field.api_name()),
                format!(
                    "{header:?} has the name of Learn Amp's {} but does not hold it",
                    field.api_name()
                ),
            );
        }
    }
}

/// A name folded for matching: lower case, single spaces, composed.
fn fold_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .nfc()
        .collect::<String>()
        .to_lowercase()
}

/// A strftime form in words.
fn describe(form: &str) -> String {
    let order = match (form.find("%d"), form.find("%m").or(form.find("%b"))) {
        (Some(d), Some(m)) if d < m => "day first",
        (Some(_), Some(_)) if form.starts_with("%Y") => "year first",
        _ => "month first",
    };
    format!("{form:?} ({order})")
}

#[cfg(test)]
mod tests;
