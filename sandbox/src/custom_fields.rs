//! Custom field values on a user, as "Clearing custom field values" in the
//! docs says: entries are matched by name; a value sets the field, `null`
//! or `""` clears it; a field left out is unchanged; an unknown name is 404;
//! a field with presence validation cannot be cleared (400, value kept);
//! with custom fields disabled the whole payload is ignored.

use std::collections::BTreeMap;

use crate::{
    error::{ApiError, FieldErrors},
    settings::Settings,
};

/// Applies `sent` (name, value; in order) to a user's `fields`. On an error
/// `fields` may be half changed: the caller drops the changed user.
pub(crate) fn apply(
    settings: &Settings,
    fields: &mut BTreeMap<String, String>,
    sent: Vec<(String, String)>,
) -> Result<(), ApiError> {
    if settings.custom_fields.is_none() {
        return Ok(());
    }
    for (name, value) in sent {
        let def = settings.custom_field(&name).ok_or_else(ApiError::not_found)?;
        if !value.trim().is_empty() {
            fields.insert(name, value);
        } else if def.required {
            let mut errors = FieldErrors::default();
            errors.add("value", "can't be blank");
            errors.into_validation_result()?;
        } else {
            fields.remove(&name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CustomFieldDef;

    fn settings(defs: Option<Vec<CustomFieldDef>>) -> Settings {
        Settings {
            custom_fields: defs,
            ..Settings::default()
        }
    }

    fn sent(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn sets_clears_and_leaves_alone() {
        let company = settings(Some(vec![
            CustomFieldDef::optional("Grade"),
            CustomFieldDef::required("Cost centre"),
            CustomFieldDef::optional("Site"),
        ]));
        let mut fields = BTreeMap::new();
        apply(
            &company,
            &mut fields,
            sent(&[("Grade", "7"), ("Cost centre", "CC1"), ("Site", "Leeds")]),
        )
        .expect("known fields");
        apply(&company, &mut fields, sent(&[("Grade", "")])).expect("optional cleared");
        assert_eq!(
            fields.into_iter().collect::<Vec<_>>(),
            sent(&[("Cost centre", "CC1"), ("Site", "Leeds")])
        );
    }

    #[test]
    fn refuses_unknown_names_and_clearing_a_required_field() {
        let company = settings(Some(vec![CustomFieldDef::required("Cost centre")]));
        let mut fields = BTreeMap::new();
        let unknown = apply(&company, &mut fields, sent(&[("cost centre", "x")])).expect_err("unknown");
        assert_eq!(unknown.parts().0, axum::http::StatusCode::NOT_FOUND);
        let blank = apply(&company, &mut fields, sent(&[("Cost centre", " ")])).expect_err("required");
        assert_eq!(
            blank.parts(),
            (
                axum::http::StatusCode::BAD_REQUEST,
                &serde_json::json!({"error": "Validation failed: Value can't be blank", "fullErrors": {"value": ["can't be blank"]}})
            )
        );
    }

    #[test]
    fn ignores_everything_when_disabled() {
        let mut fields = BTreeMap::new();
        apply(&settings(None), &mut fields, sent(&[("Anything", "x")])).expect("ignored");
        assert!(fields.is_empty());
    }
}
