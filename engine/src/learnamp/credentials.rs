//! API credentials, read from the environment variables the config names.
//! The secret never appears in `Debug` output, logs or error messages.

use std::fmt;

use crate::config::LearnAmpConfig;
use crate::secret::{self, MissingSecret};

/// The OAuth client id and secret.
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    secret: String,
}

/// A credential variable that is not set (see [`crate::secret`]).
pub type MissingCredential = MissingSecret;

impl Credentials {
    /// Builds credentials from values (tests, the sandbox, the demo).
    pub fn new(client_id: impl Into<String>, secret: impl Into<String>) -> Credentials {
        Credentials {
            client_id: client_id.into(),
            secret: secret.into(),
        }
    }

    /// Reads the variables named by `learnamp.client_id_env` and
    /// `learnamp.client_secret_env`.
    pub fn from_env(config: &LearnAmpConfig) -> Result<Credentials, MissingCredential> {
        Ok(Credentials {
            client_id: secret::from_env(&config.client_id_env, "learnamp.client_id_env")?,
            secret: secret::from_env(&config.client_secret_env, "learnamp.client_secret_env")?,
        })
    }

    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_secret() {
        let c = Credentials::new("id-1", "hunter2");
        assert_eq!(
            format!("{c:?}"),
            "Credentials { client_id: \"id-1\", secret: \"<redacted>\" }"
        );
    }
}
