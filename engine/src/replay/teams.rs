//! Team names resolved to Learn Amp ids, once per push: every page of the
//! name lookup is read, a name two teams share is refused, and a missing
//! team is created only when the config says so.

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
#[non_exhaustive]
pub enum TeamError {
    #[error("team {0:?} does not exist in Learn Amp (set learnamp.create_missing_teams = true to create it)")]
    Unknown(String),
    #[error(
        "{} teams in Learn Amp are named {name:?} (ids {}): rename one there, or give team IDs in the file (mapping.primaryTeamExternalId / secondaryTeamExternalIds)",
        ids.len(),
        ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous { name: String, ids: Vec<u64> },
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
        let folded = name.trim().to_lowercase();
        // Holding the lock across the lookup means one lookup per team,
        // however many people name it at once.
        let mut ids = self.ids.lock().await;
        if let Some(id) = ids.get(&folded) {
            return Ok(*id);
        }
        let found = client.teams_named(name).await?;
        let id = match found.as_slice() {
            [one] => one.id,
            [] if self.create_missing => client.create_team(name.trim()).await?,
            [] => return Err(TeamError::Unknown(name.to_owned())),
            many => {
                return Err(TeamError::Ambiguous {
                    name: name.to_owned(),
                    ids: many.iter().map(|t| t.id).collect(),
                });
            }
        };
        ids.insert(folded, id);
        Ok(id)
    }
}
