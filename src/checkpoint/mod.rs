//! Checkpoints: a real operation against a phase's service that proves it works, returning
//! evidence (bytes, hashes, latencies). Each kind is one module; `addon.yaml` picks the kind
//! and its settings.

mod base;
mod http;
pub mod s3;
pub mod spark;
pub mod sql;

use std::collections::BTreeMap;

use kube::Client;
use serde_json::Value;

use crate::catalog::{Addon, Checkpoint};

/// What a checkpoint measured.
pub type Evidence = BTreeMap<String, Value>;

/// Why a checkpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A setting in `addon.yaml` is missing or has the wrong type.
    #[error("checkpoint setting {0} is missing or invalid")]
    Setting(String),
    /// The port-forward to the service could not be opened.
    #[error("cannot reach the service through a port-forward")]
    Forward(#[from] crate::forward::ForwardError),
    /// The server refused the credentials or the permission.
    #[error("access denied: check Secret {secret} ({detail})")]
    AccessDenied {
        /// `namespace/name` of the Secret holding the key.
        secret: String,
        /// The server's answer.
        detail: String,
    },
    /// The operation ran and its result was wrong.
    #[error("{0}")]
    Failed(String),
}

/// Everything a checkpoint needs.
pub struct Context<'a> {
    /// API client (port-forwards, Secrets).
    pub client: &'a Client,
    /// The addon being checked.
    pub addon: &'a Addon,
    /// The phase's resolved parameters (full keys).
    pub params: &'a BTreeMap<String, Value>,
}

/// Run the addon's checkpoint.
pub async fn run(ctx: &Context<'_>) -> Result<Evidence, CheckpointError> {
    let Some(def) = &ctx.addon.checkpoint else { return Ok(Evidence::new()) };
    match def {
        Checkpoint::Http(s) => http::run(ctx, s).await,
        Checkpoint::S3Roundtrip(s) => s3::run(ctx, s).await,
        Checkpoint::StorageAndPolicy(s) => base::run(ctx, s).await,
        Checkpoint::SparkJob(s) => spark::run(ctx, s).await,
        Checkpoint::SqlRoundtrip(s) => sql::run(ctx, s).await,
    }
}

/// The warehouse bucket, from the recorded object-storage phase.
async fn warehouse_bucket(client: &kube::Client) -> Result<String, CheckpointError> {
    let state = crate::state::load(client).await.map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let bucket = state.get("object-storage").and_then(|r| r.parameters.get("object-storage.warehouse-bucket")).and_then(Value::as_str);
    bucket
        .map(str::to_string)
        .ok_or_else(|| CheckpointError::Failed("the object-storage phase is not recorded: `bigtop-k8s add-phase object-storage`".into()))
}
