//! Secrets — key passphrases, API credentials — come from environment
//! variables the config names, never from the config file. One function
//! reads them, so every secret is looked up, and reported missing, alike;
//! an error names the variable and the setting, never a value.

/// A secret's variable is unset or empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the environment variable {variable} (named by `{setting}`) is not set")]
pub struct MissingSecret {
    /// The variable.
    pub variable: String,
    /// The config setting that names it, e.g. `pgp.passphrase_env`.
    pub setting: &'static str,
}

/// The secret in the environment variable `variable`, which `setting`
/// names. Unset or empty is [`MissingSecret`].
pub fn from_env(variable: &str, setting: &'static str) -> Result<String, MissingSecret> {
    from_env_with(variable, setting, |v| std::env::var(v).ok())
}

/// As [`from_env`], looking variables up through `env` (so tests need not
/// change the process environment).
pub fn from_env_with(
    variable: &str,
    setting: &'static str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String, MissingSecret> {
    env(variable).filter(|v| !v.is_empty()).ok_or_else(|| MissingSecret {
        variable: variable.to_owned(),
        setting,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unset_or_empty_variable_is_named_with_its_setting() {
        let env = |v: &str| match v {
            "SET" => Some("s3cret".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(from_env_with("SET", "pgp.passphrase_env", env), Ok("s3cret".to_owned()));
        for variable in ["EMPTY", "UNSET"] {
            let err = from_env_with(variable, "pgp.passphrase_env", env).expect_err("missing");
            assert_eq!(
                err.to_string(),
                format!("the environment variable {variable} (named by `pgp.passphrase_env`) is not set")
            );
        }
    }
}
