//! Value normalisation: what makes two spellings of the same value one, so
//! cosmetic differences in a file cause no events.

use std::borrow::Cow;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick, is_nfkc_quick};

use crate::fields::{LANGUAGES, ROLES};

/// Appends `src` trimmed, with inner runs of whitespace folded to one space.
pub(crate) fn push_collapsed(dst: &mut String, src: &str) {
    if is_collapsed_ascii(src.as_bytes()) {
        dst.push_str(src); // The common case: nothing to fold.
        return;
    }
    let mut words = src.split_whitespace();
    if let Some(first) = words.next() {
        dst.push_str(first);
        for w in words {
            dst.push(' ');
            dst.push_str(w);
        }
    }
}

/// Appends `src` in its canonical form: Unicode NFC (identifiers: NFKC,
/// which also folds fullwidth letters and digits, with zero-width
/// characters and byte-order marks removed), then trimmed and with runs of
/// whitespace folded to one space. A control character is refused.
///
/// So the same person spelled with a composed or a decomposed `ü`, or an
/// employee ID with a stray zero-width space, is the same person.
pub(crate) fn push_canonical(dst: &mut String, src: &str, identifier: bool) -> Result<(), String> {
    if is_collapsed_ascii(src.as_bytes()) {
        dst.push_str(src); // The common case: nothing to do.
        return Ok(());
    }
    if let Some((at, c)) = src.char_indices().find(|&(_, c)| is_refused_control(c)) {
        return Err(format!(
            "contains the control character U+{:04X} (character {} of the value)",
            c as u32,
            src[..at].chars().count() + 1
        ));
    }
    if src.is_ascii() {
        push_collapsed(dst, src);
        return Ok(());
    }
    let stripped: Cow<'_, str> = if identifier && src.contains(is_invisible) {
        Cow::Owned(src.chars().filter(|&c| !is_invisible(c)).collect())
    } else {
        Cow::Borrowed(src)
    };
    let normal: Cow<'_, str> = if identifier {
        match is_nfkc_quick(stripped.chars()) {
            IsNormalized::Yes => stripped,
            _ => Cow::Owned(stripped.nfkc().collect()),
        }
    } else {
        match is_nfc_quick(stripped.chars()) {
            IsNormalized::Yes => stripped,
            _ => Cow::Owned(stripped.nfc().collect()),
        }
    };
    push_collapsed(dst, &normal);
    Ok(())
}

/// Invisible characters that only ever get into identifiers by accident:
/// zero-width space, non-joiner and joiner, word joiner, byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Control characters no field may hold: C0 but tab, line feed and carriage
/// return (whitespace, folded like a space), DEL, and C1.
fn is_refused_control(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || ('\u{7F}'..='\u{9F}').contains(&c)
}

/// True when `b` is printable ASCII with single spaces between words and
/// none around them: already in canonical form.
fn is_collapsed_ascii(b: &[u8]) -> bool {
    let mut after_space = true; // Also rejects a leading space.
    for &c in b {
        if c == b' ' {
            if after_space {
                return false;
            }
            after_space = true;
        } else if !(0x20..0x7f).contains(&c) {
            return false; // Other whitespace, a control character, or not ASCII.
        } else {
            after_space = false;
        }
    }
    !after_space || b.is_empty()
}

/// Lower-cases an email in place (already trimmed) and checks its shape.
pub(crate) fn email(value: &mut String) -> Result<(), String> {
    let written = value.clone();
    value.make_ascii_lowercase();
    if !value.is_ascii() && value.chars().any(|c| c.is_uppercase()) {
        *value = value.to_lowercase();
    }
    let valid = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
                && !value.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(format!("{written:?} is not an email address"))
    }
}

/// A role as Learn Amp names it: `learner` is `viewer`, case and spaces
/// are ignored.
pub(crate) fn role(value: &mut String) -> Result<(), String> {
    if ROLES.contains(&value.as_str()) {
        return Ok(());
    }
    let folded: String = value.to_lowercase().replace([' ', '-'], "_");
    let folded = if folded == "learner" {
        "viewer".to_owned()
    } else {
        folded
    };
    match ROLES.iter().find(|r| **r == folded) {
        Some(r) => {
            if value != r {
                value.clear();
                value.push_str(r);
            }
            Ok(())
        }
        None => Err(format!(
            "unknown role {value:?}; Learn Amp's roles are: {}, and learner",
            ROLES.join(", ")
        )),
    }
}

/// A language code as Learn Amp spells it (`en-us` → `en-US`).
pub(crate) fn language(value: &mut String) -> Result<(), String> {
    let same = |canonical: &str| {
        canonical.len() == value.len()
            && canonical
                .bytes()
                .zip(value.bytes())
                .all(|(c, v)| c.eq_ignore_ascii_case(&v) || (c == b'-' && v == b'_'))
    };
    match LANGUAGES.iter().find(|l| same(l)) {
        Some(l) => {
            if value != l {
                value.clear();
                value.push_str(l);
            }
            Ok(())
        }
        None => Err(format!(
            "unknown language {value:?}; Learn Amp's languages are: {}",
            LANGUAGES.join(", ")
        )),
    }
}

/// An ISO date (`YYYY-MM-DD`).
pub(crate) fn date(value: &str) -> Result<(), String> {
    iso_date(value)
        .map(|_| ())
        .ok_or_else(|| format!("{value:?} is not a date in the form YYYY-MM-DD"))
}

fn iso_date(value: &str) -> Option<chrono::NaiveDate> {
    let b = value.as_bytes();
    let number = |r: std::ops::Range<usize>| {
        b[r].iter()
            .try_fold(0u32, |n, d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    if !(b.len() == 10 && b[4] == b'-' && b[7] == b'-') {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)
}

/// A date in ISO form or one of `formats` (strftime, tried in order).
pub(crate) fn parse_date(value: &str, formats: &[String]) -> Result<chrono::NaiveDate, String> {
    if let Some(date) = iso_date(value) {
        return Ok(date);
    }
    formats.iter().find_map(|f| date_in_form(value, f)).ok_or_else(|| {
        let mut tried: Vec<String> = formats.iter().map(|f| format!("{f:?}")).collect();
        tried.push("ISO 8601 (YYYY-MM-DD)".into());
        let hint = if formats.is_empty() {
            "; set csv.date_formats (e.g. [\"%d/%m/%Y\"]) for other forms"
        } else {
            ""
        };
        format!(
            "{value:?} is not a date in any of the forms tried: {}{hint}",
            tried.join(", ")
        )
    })
}

/// `value` read in the strftime `form`. A four-digit-year form (`%Y`) never
/// reads a short year: chrono would take "03/01/12" under `%d/%m/%Y` as the
/// year 12, which no HR export means.
pub(crate) fn date_in_form(value: &str, form: &str) -> Option<chrono::NaiveDate> {
    use chrono::Datelike;
    let date = chrono::NaiveDate::parse_from_str(value, form).ok()?;
    (!form.contains("%Y") || date.year() >= 1000).then_some(date)
}

/// A date in ISO form or one of `formats`, rewritten in ISO form.
pub(crate) fn date_in(value: &mut String, formats: &[String]) -> Result<(), String> {
    if formats.is_empty() {
        return date(value);
    }
    let parsed = parse_date(value, formats)?;
    if iso_date(value).is_none() {
        *value = parsed.format("%Y-%m-%d").to_string();
    }
    Ok(())
}

/// A `deactivate` flag: 1/true/yes (any case) or 0/false/no/empty.
pub(crate) fn flag(value: &str) -> Result<bool, String> {
    let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(value));
    if is(&["", "0", "false", "no", "n"]) {
        Ok(false)
    } else if is(&["1", "true", "yes", "y"]) {
        Ok(true)
    } else {
        Err(format!("{value:?} is not a yes/no value (1/true/yes or 0/false/no)"))
    }
}

/// Splits a team list on `sep`, honouring `\` + `sep` as a literal
/// separator inside a name; items are whitespace-collapsed, empties dropped.
pub(crate) fn split_list(value: &str, sep: char) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&sep) {
            current.push(sep);
            chars.next();
        } else if c == sep {
            items.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    items.push(current);
    items
        .into_iter()
        .filter_map(|item| {
            let mut out = String::new();
            push_collapsed(&mut out, &item);
            (!out.is_empty()).then_some(out)
        })
        .collect()
}

/// The canonical form of a team list: sorted, deduplicated, joined with
/// `", "`, commas inside names escaped as `\,`.
pub(crate) fn join_list(mut items: Vec<String>) -> String {
    items.sort();
    items.dedup();
    items
        .iter()
        .map(|i| i.replace(',', "\\,"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits a full name: `Last, First` or `First Rest of name`.
pub(crate) fn split_name(name: &str) -> (String, String) {
    if let Some((last, first)) = name.split_once(',') {
        return (first.trim().to_owned(), last.trim().to_owned());
    }
    match name.split_once(' ') {
        Some((first, last)) => (first.to_owned(), last.to_owned()),
        None => (name.to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_four_digit_year_form_never_reads_a_short_year() {
        let forms = |f: &[&str]| f.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let d = chrono::NaiveDate::from_ymd_opt(2012, 1, 3);
        assert!(parse_date("03/01/12", &forms(&["%d/%m/%Y"])).is_err());
        assert_eq!(parse_date("03/01/12", &forms(&["%d/%m/%Y", "%d/%m/%y"])).ok(), d);
        assert_eq!(parse_date("03/01/2012", &forms(&["%d/%m/%y", "%d/%m/%Y"])).ok(), d);
        assert_eq!(parse_date("2012-01-03", &forms(&["%d/%m/%Y"])).ok(), d);
    }

    #[test]
    fn collapse_trims_and_folds_whitespace() {
        let mut s = String::new();
        push_collapsed(&mut s, "  Head \t of\u{a0} Sales ");
        assert_eq!(s, "Head of Sales");
    }

    #[test]
    fn the_ascii_fast_path_agrees_with_folding() {
        for input in [
            "", " ", "a", "a b", "a  b", " a", "a ", "a\tb", "a\x0bb", "a\x0cb", "a\rb", "Zoë  Ng", "a\u{a0}b",
            "x y z", "a\x01b",
        ] {
            let mut fast = String::new();
            push_collapsed(&mut fast, input);
            assert_eq!(
                fast,
                input.split_whitespace().collect::<Vec<_>>().join(" "),
                "{input:?}"
            );
        }
        for (input, want) in [("No", Ok(false)), ("", Ok(false)), ("YES", Ok(true)), ("1", Ok(true))] {
            assert_eq!(flag(input), want, "{input:?}");
        }
        assert!(flag("maybe").is_err());
    }

    fn canonical(src: &str, identifier: bool) -> Result<String, String> {
        let mut out = String::new();
        push_canonical(&mut out, src, identifier).map(|()| out)
    }

    #[test]
    fn text_is_nfc_and_identifiers_nfkc_without_invisible_characters() {
        let ok = |s: &str| Ok(s.to_owned());
        // Composed and decomposed ü are one spelling.
        assert_eq!(canonical("Mu\u{308}ller", false), ok("Müller"));
        assert_eq!(canonical("Müller", false), ok("Müller"));
        // Identifiers: a BOM, zero-width characters, fullwidth digits.
        assert_eq!(canonical("\u{FEFF}E1010", true), ok("E1010"));
        assert_eq!(canonical("E10\u{200B}10\u{2060}", true), ok("E1010"));
        assert_eq!(canonical("Ｅ１０１０", true), ok("E1010"));
        assert_eq!(canonical("ann\u{200D}@x.io", true), ok("ann@x.io"));
        // Text keeps them (a joiner can be meaningful), but is NFC.
        assert_eq!(canonical("Ｅ１", false), ok("Ｅ１"));
        assert_eq!(canonical("  Zoë \u{3000} Ng ", false), ok("Zoë Ng"));
        assert_eq!(canonical("Head\r\n of\tSales", false), ok("Head of Sales"));
    }

    #[test]
    fn control_characters_are_refused_in_any_field() {
        for (value, code) in [
            ("Dev\0ops", "U+0000 (character 4"),
            ("\u{1b}[2J", "U+001B (character 1"),
            ("a\u{7f}", "U+007F (character 2"),
            ("Zoë\u{85}", "U+0085 (character 4"),
            ("a\u{b}b", "U+000B (character 2"),
        ] {
            for identifier in [false, true] {
                let err = canonical(value, identifier).expect_err(value);
                assert!(err.contains(code), "{value:?}: {err}");
            }
        }
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        let mut e = "Ann.Lee@X.Example".to_owned();
        assert_eq!(email(&mut e), Ok(()));
        assert_eq!(e, "ann.lee@x.example");
        for bad in ["not-an-email", "a@b", "@x.com", "a@@x.com", "a b@x.com", "a@x..com"] {
            assert!(email(&mut bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_and_languages_are_canonical() {
        for (input, want) in [
            ("Learner", "viewer"),
            ("ADMIN", "admin"),
            ("Learning Designer", "learning_designer"),
        ] {
            let mut v = input.to_owned();
            assert_eq!(role(&mut v), Ok(()));
            assert_eq!(v, want);
        }
        assert!(role(&mut "superuser".to_owned()).is_err());
        let mut l = "en_us".to_owned();
        assert_eq!(language(&mut l), Ok(()));
        assert_eq!(l, "en-US");
        assert!(language(&mut "klingon".to_owned()).is_err());
        assert_eq!(date("2024-02-29"), Ok(()));
        for bad in ["2023-02-29", "2024-2-29", "29/02/2024", "2024-13-01", "２０２４-01-01"] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn team_lists_honour_escaped_separators() {
        assert_eq!(
            split_list(r"Research\, Development,Marketing", ','),
            vec!["Research, Development", "Marketing"]
        );
        assert_eq!(split_list(" a ,, b ", ','), vec!["a", "b"]);
        assert_eq!(join_list(vec!["b".into(), "a, c".into(), "b".into()]), r"a\, c, b");
    }

    #[test]
    fn names_split_into_first_and_last() {
        assert_eq!(split_name("Ana María Gómez"), ("Ana".into(), "María Gómez".into()));
        assert_eq!(split_name("Gómez, Ana María"), ("Ana María".into(), "Gómez".into()));
        assert_eq!(split_name("Cher"), ("Cher".into(), String::new()));
    }
}
