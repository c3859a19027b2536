//! Setup: work an addon needs after its pods are ready and before its checkpoint, done by the
//! CLI through a port-forward (Garage's layout, keys and buckets). Each kind is one module;
//! `addon.yaml` picks the kind and its settings. Every kind is idempotent.

pub mod garage;
mod notifications;
pub mod spark;
mod storage_class;

use std::collections::BTreeMap;

use kube::Client;
use serde_json::Value;

use crate::catalog::{Addon, PhaseDef, Setup};
use crate::forward::ForwardError;

/// Why a setup failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A setting, parameter or Secret value is missing.
    #[error("setup input missing: {0}")]
    Missing(String),
    /// The port-forward to the service could not be opened.
    #[error("cannot reach the service through a port-forward")]
    Forward(#[from] ForwardError),
    /// The service refused or failed a request.
    #[error("{0}")]
    Failed(String),
}

/// Everything a setup needs.
pub struct Context<'a> {
    /// API client (port-forwards, Secrets).
    pub client: &'a Client,
    /// The addon.
    pub addon: &'a Addon,
    /// Its phase (for shared data such as who may access what).
    pub phase: &'a PhaseDef,
    /// The phase's resolved parameters (full keys).
    pub params: &'a BTreeMap<String, Value>,
    /// What other phases provide (the lake).
    pub contracts: &'a crate::contracts::Contracts,
}

/// Run the addon's setup, returning what it did (one line per action).
pub async fn run(ctx: &Context<'_>) -> Result<Vec<String>, SetupError> {
    let Some(def) = &ctx.addon.setup else { return Ok(Vec::new()) };
    match def {
        Setup::GarageAdmin(s) => garage::run(ctx, s).await,
        Setup::DefaultStorageClass(s) => storage_class::run(ctx, s).await,
        Setup::Spark => spark::run(ctx).await,
        Setup::BucketNotifications => notifications::run(ctx).await,
    }
}

/// Read one key of a Secret in the addon's namespace.
pub async fn secret_value(client: &Client, namespace: &str, secret: &str, key: &str) -> Result<String, SetupError> {
    crate::secrets::read_value(client, namespace, secret, key).await.map_err(SetupError::Missing)
}
