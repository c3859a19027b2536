//! Checkpoints: a real operation against a phase's service that proves it works, returning
//! evidence (bytes, hashes, latencies). Each kind is one module; `addon.yaml` picks the kind
//! and its settings.

mod base;
mod http;
mod job;
mod lake_flow;
pub mod nifi;
pub mod notebook;
pub mod paragraph;
pub mod s3;
pub mod spark;
pub mod sql;

pub(crate) use job::unique_name;

use std::collections::BTreeMap;

use kube::Client;
use serde_json::Value;

use crate::catalog::{Addon, Catalog, Checkpoint, PhaseDef};
use crate::contracts::{Contracts, Lake};

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
    /// The catalog (addons a checkpoint borrows tools from).
    pub catalog: &'a Catalog,
    /// The addon being checked.
    pub addon: &'a Addon,
    /// Its phase (for shared data such as who may access what).
    pub phase: &'a PhaseDef,
    /// The phase's resolved parameters (full keys).
    pub params: &'a BTreeMap<String, Value>,
    /// What other phases provide (the lake, the SQL engine).
    pub contracts: &'a Contracts,
}

impl Context<'_> {
    /// The lake, which checkpoints of phases on top of it read and write.
    fn lake(&self) -> Result<&Lake, CheckpointError> {
        self.contracts.lake.as_ref().ok_or_else(|| CheckpointError::Failed("no phase provides the lake".into()))
    }

    /// The text value of parameter `key` (a full key).
    fn text_param(&self, key: &str) -> Result<String, CheckpointError> {
        self.params.get(key).and_then(Value::as_str).map(str::to_string).ok_or_else(|| CheckpointError::Setting(format!("parameter {key}")))
    }

    /// The value of `key` in ConfigMap `name` of the addon's namespace (a checkpoint's script).
    async fn configmap_value(&self, name: &str, key: &str) -> Result<String, CheckpointError> {
        let ns = &self.addon.namespace;
        let cm = kube::Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(self.client.clone(), ns)
            .get(name)
            .await
            .map_err(|e| CheckpointError::Failed(format!("cannot read ConfigMap {ns}/{name}: {}", crate::error::error_text(&e))))?;
        cm.data.and_then(|mut d| d.remove(key)).ok_or_else(|| CheckpointError::Setting(format!("{name} key {key}")))
    }

    /// The Secret (in the addon's namespace) holding the copy of the lake key the addon imports.
    fn imported_lake_key(&self) -> Result<String, CheckpointError> {
        let lake = self.lake()?;
        let import = self.addon.imports.iter().find(|i| i.namespace == lake.namespace);
        import
            .map(|i| i.secret.clone())
            .ok_or_else(|| CheckpointError::Setting(format!("an import of a key Secret from namespace {}", lake.namespace)))
    }
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
        Checkpoint::ScriptJob(s) => job::run(ctx, s).await,
        Checkpoint::NotebookCell(s) => notebook::run(ctx, s).await,
        Checkpoint::NotebookParagraph(s) => paragraph::run(ctx, s).await,
        Checkpoint::NifiCluster(s) => nifi::run(ctx, s).await,
    }
}
