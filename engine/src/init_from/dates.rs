//! The date format of a sample's date columns, from their values: which
//! strftime forms read every value, and whether day and month can be told
//! apart (a value with a day above 12 decides).

use chrono::NaiveDate;

/// Forms tried besides ISO 8601 (which always works), most common first.
/// Day-first comes before month-first: most exports in the HR systems
/// recognised are European.
const FORMS: [&str; 12] = [
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d.%m.%y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%b %d, %Y",
];

/// What the values of the date columns say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DateGuess {
    /// No date values at all.
    NoValues,
    /// All ISO 8601 (YYYY-MM-DD): nothing to configure.
    Iso,
    /// One form reads every value.
    Form {
        form: &'static str,
        /// A value that shows it (a day above 12, say).
        example: String,
    },
    /// Day-first and month-first both read every value: no day above 12.
    Ambiguous {
        day_first: &'static str,
        month_first: &'static str,
    },
    /// No form reads them all: these values are not read.
    Unknown { examples: Vec<String> },
}

/// Reads a date as a config with `forms` would: ISO, then each form.
pub(crate) fn parse(value: &str, forms: &[&str]) -> Option<NaiveDate> {
    let value = value.trim();
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .or_else(|| forms.iter().find_map(|f| parse_form(value, f)))
}

/// `value` in `form`, read as import reads it.
fn parse_form(value: &str, form: &str) -> Option<NaiveDate> {
    crate::ingest::date_in_form(value, form)
}

/// The form(s) that read every one of `values` (empty ones left out).
pub(crate) fn guess<'a>(values: impl IntoIterator<Item = &'a str>) -> DateGuess {
    let values: Vec<&str> = values.into_iter().map(str::trim).filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        return DateGuess::NoValues;
    }
    let not_iso: Vec<&str> = values
        .iter()
        .copied()
        .filter(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err())
        .collect();
    if not_iso.is_empty() {
        return DateGuess::Iso;
    }
    let fitting: Vec<&'static str> = FORMS
        .into_iter()
        .filter(|f| not_iso.iter().all(|v| parse_form(v, f).is_some()))
        .collect();
    match fitting.as_slice() {
        [] => DateGuess::Unknown {
            examples: not_iso
                .iter()
                .filter(|v| FORMS.iter().all(|f| parse_form(v, f).is_none()))
                .take(3)
                .map(|v| v.to_string())
                .collect(),
        },
        [day_first, month_first, ..] if is_swap(day_first, Some(month_first)) => {
            DateGuess::Ambiguous { day_first, month_first }
        }
        [form, ..] => {
            let swapped = swap(form);
            let example = not_iso
                .iter()
                .find(|v| swapped.as_deref().is_some_and(|s| parse_form(v, s).is_none()))
                .unwrap_or(&not_iso[0]);
            DateGuess::Form {
                form,
                example: example.to_string(),
            }
        }
    }
}

/// Whether `b` is `a` with day and month swapped.
fn is_swap(a: &str, b: Option<&str>) -> bool {
    b.is_some_and(|b| swap(a).as_deref() == Some(b))
}

/// The form with `%d` and `%m` swapped, if it has both.
fn swap(form: &str) -> Option<String> {
    (form.contains("%d") && form.contains("%m"))
        .then(|| form.replace("%d", "\0").replace("%m", "%d").replace('\0', "%m"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_decided_by_the_values() {
        let form = |form: &'static str, example: &str| DateGuess::Form {
            form,
            example: example.to_owned(),
        };
        let cases: Vec<(Vec<&str>, DateGuess)> = vec![
            (vec![], DateGuess::NoValues),
            (vec!["", " "], DateGuess::NoValues),
            (vec!["2012-03-01", "2020-12-31"], DateGuess::Iso),
            (vec!["03/01/2012", "23/04/2019"], form("%d/%m/%Y", "23/04/2019")),
            (vec!["03/01/2012", "04/23/2019"], form("%m/%d/%Y", "04/23/2019")),
            (vec!["03.01.2012", "23.04.2019", ""], form("%d.%m.%Y", "23.04.2019")),
            (vec!["2012-03-01", "13/01/2012"], form("%d/%m/%Y", "13/01/2012")),
            (vec!["01-Mar-2012"], form("%d-%b-%Y", "01-Mar-2012")),
            (vec!["3/1/12", "25/1/12"], form("%d/%m/%y", "25/1/12")),
            (
                vec!["03/01/2012", "04/05/2019"],
                DateGuess::Ambiguous {
                    day_first: "%d/%m/%Y",
                    month_first: "%m/%d/%Y",
                },
            ),
            (
                vec!["01/03/2012", "yesterday"],
                DateGuess::Unknown {
                    examples: vec!["yesterday".into()],
                },
            ),
        ];
        for (values, want) in cases {
            assert_eq!(guess(values.iter().copied()), want, "{values:?}");
        }
    }

    #[test]
    fn parse_reads_iso_and_the_forms() {
        let d = NaiveDate::from_ymd_opt(2012, 1, 3);
        assert_eq!(parse("2012-01-03", &[]), d);
        assert_eq!(parse("03/01/2012", &["%d/%m/%Y"]), d);
        assert_eq!(parse("03/01/12", &["%d/%m/%Y"]), None);
    }
}
