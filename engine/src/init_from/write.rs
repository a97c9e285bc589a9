//! A [`Proposal`] written as a complete, commented `ampsync.toml`: the
//! sections `init` writes (from the same template), with `[csv]`,
//! `[mapping]` and `[[skip]]` filled in from the sample, each choice
//! commented, and each open question above the setting it is about.

use std::fmt::Write as _;

use super::{Proposal, Source};
use crate::config::CONFIG_TEMPLATE;

/// The config text for `p`.
pub(crate) fn to_toml(p: &Proposal) -> String {
    let (head, tail) = template_parts();
    let mut out = String::new();
    out.push_str("# Written by `ampsync init --from` from a sample export");
    match &p.system {
        Some(system) => {
            let _ = writeln!(out, " in {system}'s format.");
        }
        None => out.push_str(" in a format it does not know.\n"),
    }
    out.push_str("# Check it with `ampsync preview FILE`: the records as Learn Amp would get them.\n");
    if !p.questions.is_empty() {
        let _ = writeln!(
            out,
            "# {} question(s) the sample did not answer are marked QUESTION below.",
            p.questions.len()
        );
    }
    for q in p.questions.iter().filter(|q| q.setting == "system") {
        let _ = writeln!(out, "# QUESTION: {}", q.question);
    }
    out.push_str("#\n");
    out.push_str(head);

    out.push_str("[csv]\n");
    comments(&mut out, p, "csv.delimiter");
    let _ = writeln!(out, "delimiter = {}", quote(&p.delimiter.replace("\\t", "\t")));
    comments(&mut out, p, "csv.key");
    match &p.key {
        Some(key) => {
            let _ = writeln!(out, "key = {}", quote(key));
        }
        None => out.push_str("# key = \"Employee ID\"         # the column that identifies a person\n"),
    }
    out.push_str("list_separator = \",\"          # in team lists; \"\\,\" escapes it inside a name\n");
    comments(&mut out, p, "csv.encoding");
    let _ = writeln!(out, "encoding = {}", quote(&p.encoding));
    comments(&mut out, p, "csv.skip_lines");
    if p.skip_lines > 0 {
        let _ = writeln!(out, "skip_lines = {}", p.skip_lines);
    } else {
        out.push_str("# skip_lines = 0              # lines before the header\n");
    }
    comments(&mut out, p, "csv.date_formats");
    if p.date_formats.is_empty() {
        out.push_str("# date_formats = [\"%d/%m/%Y\"] # strftime forms tried in order; YYYY-MM-DD always works\n");
    } else {
        let _ = writeln!(
            out,
            "date_formats = [{}]   # tried in order; YYYY-MM-DD always works",
            p.date_formats.iter().map(|f| quote(f)).collect::<Vec<_>>().join(", ")
        );
    }
    for note in p.notes.iter().filter(|n| n.setting == "rows") {
        let _ = writeln!(out, "# {}", note.note);
    }

    out.push_str("\n# Learn Amp field = CSV column; a list: the first non-empty value wins;\n");
    out.push_str("# false: never read, even where a column has the field's name.\n");
    out.push_str("[mapping]\n");
    comments(&mut out, p, "mapping");
    for m in &p.mapping {
        comments(&mut out, p, &format!("mapping.{}", m.field));
        let value = match &m.source {
            Source::Columns(columns) if columns.len() == 1 => quote(&columns[0]),
            Source::Columns(columns) => {
                format!("[{}]", columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", "))
            }
            Source::Off(_) => "false".to_owned(),
        };
        let _ = writeln!(out, "{} = {value}", m.field);
    }
    // Questions about fields nothing was mapped to yet.
    for q in &p.questions {
        let field = q.setting.strip_prefix("mapping.").unwrap_or_default();
        if !field.is_empty() && !field.contains('.') && !p.mapping.iter().any(|m| m.field == field) {
            question(&mut out, q);
        }
    }
    if !p.unread_columns.is_empty() {
        let _ = writeln!(
            out,
            "# Not read: {}",
            p.unread_columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
        );
        out.push_str(
            "# (a column can go to Learn Amp as a custom field: [mapping.custom_fields] \"Name\" = \"Column\")\n",
        );
    }
    for (field, table) in &p.values {
        let _ = writeln!(
            out,
            "\n[mapping.values.{field}]   # the file's values -> Learn Amp's (ignoring case)"
        );
        comments(&mut out, p, &format!("mapping.values.{field}"));
        for (from, to) in table {
            let _ = writeln!(out, "{} = {}", quote(from), quote(to));
        }
    }
    for (field, replace) in &p.replace {
        let _ = writeln!(
            out,
            "\n[mapping.replace.{field}]   # a regex replace on the value as read, before translation"
        );
        comments(&mut out, p, &format!("replace.{field}"));
        let _ = writeln!(out, "pattern = {}", literal(&replace.pattern));
        let _ = writeln!(out, "with = {}", quote(&replace.with));
    }
    for skip in &p.skip {
        out.push_str("\n[[skip]]                      # rows that are not people: counted as skipped\n");
        comments(&mut out, p, &format!("skip.{}", skip.column));
        let _ = writeln!(out, "# {} row(s) of the sample", skip.rows);
        let _ = writeln!(out, "column = {}", quote(&skip.column));
        if let Some(equals) = &skip.equals {
            let _ = writeln!(
                out,
                "equals = [{}]",
                equals.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ")
            );
        }
        if let Some(matches) = &skip.matches {
            let _ = writeln!(out, "matches = {}", literal(matches));
        }
    }
    out.push('\n');

    let mut tail = tail.to_owned();
    if let Some(future) = &p.future_hires {
        let mut line = String::new();
        for q in p.questions.iter().filter(|q| q.setting == "policy.future_hires") {
            question(&mut line, q);
        }
        let _ = writeln!(
            line,
            "future_hires = {}   # or \"wait\": created on their start date",
            quote(future)
        );
        match tail.find("skip_invitation") {
            Some(at) => {
                let end = tail[at..].find('\n').map_or(tail.len(), |e| at + e + 1);
                tail.insert_str(end, &line);
            }
            None => tail.push_str(&line),
        }
    }
    out.push_str(&tail);
    out
}

/// The template's text before `[csv]` and from `[policy]` on.
fn template_parts() -> (&'static str, &'static str) {
    let csv = CONFIG_TEMPLATE.find("\n[csv]").map_or(0, |i| i + 1);
    let policy = CONFIG_TEMPLATE
        .find("\n[policy]")
        .map_or(CONFIG_TEMPLATE.len(), |i| i + 1);
    (&CONFIG_TEMPLATE[..csv], &CONFIG_TEMPLATE[policy.max(csv)..])
}

/// The notes and questions about `setting`, as comment lines.
fn comments(out: &mut String, p: &Proposal, setting: &str) {
    for n in p.notes.iter().filter(|n| n.setting == setting) {
        let _ = writeln!(out, "# {}", one_line(&n.note));
    }
    for q in p.questions.iter().filter(|q| q.setting == setting) {
        question(out, q);
    }
}

fn question(out: &mut String, q: &super::Question) {
    let _ = writeln!(out, "# QUESTION: {}", one_line(&q.question));
    if !q.candidates.is_empty() {
        let _ = writeln!(
            out,
            "#   candidates: {}",
            one_line(&q.candidates.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", "))
        );
    }
}

/// A comment stays one line, whatever a header holds.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML literal string (a regex reads best without escapes), or a basic
/// one when it cannot be literal.
fn literal(s: &str) -> String {
    if s.contains('\'') || s.chars().any(char::is_control) {
        quote(s)
    } else {
        format!("'{s}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_for_toml() {
        for s in [
            "plain",
            "a \"b\"",
            "back\\slash",
            "tab\there",
            "new\nline",
            "bell\u{7}",
            "Zoë",
        ] {
            let text = format!("v = {}\nl = {}\n", quote(s), literal(s));
            let value: toml::Table = toml::from_str(&text).expect("valid TOML");
            assert_eq!(value["v"].as_str(), Some(s), "{text}");
            assert_eq!(value["l"].as_str(), Some(s), "{text}");
        }
    }

    #[test]
    fn the_template_splits_around_csv_mapping() {
        let (head, tail) = template_parts();
        assert!(head.contains("[store]") && !head.contains("\n[csv]"), "{head}");
        assert!(tail.starts_with("[policy]") && tail.contains("[learnamp]"), "{tail}");
    }
}
