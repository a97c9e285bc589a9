//! The one way to deliver: client from the config, plan from the store,
//! push. `push`, `sync`, `rollback`, `approve`, `retry` and `demo` all come
//! through here.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use ampsync_store::{Store, StoreError};

use super::plan::build;
use super::push::{Progress, PushError, PushOptions, PushReport, push};
use super::requests::CallOptions;
use crate::config::{Config, ConfigError};
use crate::learnamp::{ApiError, Credentials, LearnAmpClient};

/// Delivery that could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliverError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Push(#[from] PushError),
    #[error("planning the delivery failed: {0}")]
    Task(String),
}

/// Plans every undelivered event in `store` and pushes it to the Learn Amp
/// the config names. `stop` ends it early (the daemon's SIGTERM);
/// `progress` sees each event done.
pub async fn deliver(
    config: &Config,
    store: Arc<Store>,
    credentials: Credentials,
    stop: Option<Arc<AtomicBool>>,
    progress: Option<Progress>,
) -> Result<PushReport, DeliverError> {
    let client = Arc::new(LearnAmpClient::new(&config.client_options()?, credentials)?);
    let call = CallOptions {
        skip_invitation: config.policy.skip_invitation,
    };
    let plan = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || build(&store, call))
            .await
            .map_err(|e| DeliverError::Task(e.to_string()))??
    };
    let options = PushOptions {
        stop,
        ..PushOptions::from_config(&config.learnamp)
    };
    Ok(push(store, client, plan, options, progress).await?)
}
