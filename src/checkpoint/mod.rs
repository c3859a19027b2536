//! Checkpoints: a real operation against a phase's service that proves it works, returning
//! evidence (bytes, hashes, latencies). Each kind is one module; `addon.yaml` picks the kind
//! and its settings.

mod base;
pub mod forward;
mod http;
pub mod s3;
pub mod spark;
pub mod sql;

use std::collections::BTreeMap;

use kube::Client;
use serde_json::Value;

use crate::catalog::Addon;

/// What a checkpoint measured.
pub type Evidence = BTreeMap<String, Value>;

/// Checkpoint kinds this binary implements.
pub const KINDS: [&str; 5] = ["http", "s3-roundtrip", "storage-and-policy", "spark-job", "sql-roundtrip"];

/// Why a checkpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The addon names a kind we do not implement.
    #[error("unknown checkpoint kind {0}")]
    UnknownKind(String),
    /// A setting in `addon.yaml` is missing or has the wrong type.
    #[error("checkpoint setting {0} is missing or invalid")]
    Setting(String),
    /// The port-forward to the service could not be opened.
    #[error("cannot reach the service through a port-forward")]
    Forward(#[from] forward::ForwardError),
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
    match def.kind.as_str() {
        "http" => http::run(ctx, &Settings(&def.with)).await,
        "s3-roundtrip" => s3::run(ctx, &Settings(&def.with)).await,
        "storage-and-policy" => base::run(ctx, &def.with).await,
        "spark-job" => spark::run(ctx, &Settings(&def.with)).await,
        "sql-roundtrip" => sql::run(ctx, &Settings(&def.with)).await,
        other => Err(CheckpointError::UnknownKind(other.into())),
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

/// Typed access to a checkpoint's `with:` settings.
pub struct Settings<'a>(pub &'a BTreeMap<String, Value>);

impl Settings<'_> {
    /// A string setting.
    pub fn str(&self, key: &str) -> Result<String, CheckpointError> {
        self.0.get(key).and_then(Value::as_str).map(str::to_string).ok_or_else(|| CheckpointError::Setting(key.into()))
    }

    /// A port setting.
    pub fn port(&self, key: &str) -> Result<u16, CheckpointError> {
        self.0.get(key).and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok()).ok_or_else(|| CheckpointError::Setting(key.into()))
    }

    /// An integer setting with a default.
    pub fn u64_or(&self, key: &str, default: u64) -> u64 {
        self.0.get(key).and_then(Value::as_u64).unwrap_or(default)
    }
}
