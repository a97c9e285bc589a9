//! Team names resolved to Learn Amp ids, once per push.

use std::collections::HashMap;

use tokio::sync::Mutex;

use crate::learnamp::{ApiError, LearnAmpClient};

/// A cache of team name → id for one run.
#[derive(Debug, Default)]
pub struct Teams {
    ids: Mutex<HashMap<String, u64>>,
    create_missing: bool,
}

/// A team that could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("team {0:?} does not exist in Learn Amp (set learnamp.create_missing_teams = true to create it)")]
    Unknown(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl Teams {
    pub fn new(create_missing: bool) -> Teams {
        Teams {
            ids: Mutex::new(HashMap::new()),
            create_missing,
        }
    }

    /// The id of team `name`, looked up (and created, if configured) once.
    pub async fn id(&self, client: &LearnAmpClient, name: &str) -> Result<u64, TeamError> {
        let folded = name.to_lowercase();
        // Holding the lock across the lookup means one request per team,
        // however many people name it at once.
        let mut ids = self.ids.lock().await;
        if let Some(id) = ids.get(&folded) {
            return Ok(*id);
        }
        let id = match client.team_id(name).await? {
            Some(id) => id,
            None if self.create_missing => client.create_team(name).await?,
            None => return Err(TeamError::Unknown(name.to_owned())),
        };
        ids.insert(folded, id);
        Ok(id)
    }
}
