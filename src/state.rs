//! State: what is installed, recorded in the cluster (ConfigMap `bigtop-system/bigtop-state`),
//! one key per phase. Each phase's key is written by server-side apply under its own field
//! manager, so phases never overwrite each other and removing a phase removes exactly its key.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Namespace of the state ConfigMap.
pub const NAMESPACE: &str = "bigtop-system";
/// Name of the state ConfigMap.
pub const CONFIGMAP: &str = "bigtop-state";

/// What `add-phase` recorded about a phase.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PhaseRecord {
    /// Addon → version.
    pub addons: BTreeMap<String, String>,
    /// Profile used.
    pub profile: String,
    /// The resolved parameters of the phase and its addons (never secrets: those are
    /// generated into Secrets, not parameters).
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
    /// sha256 of the resolved parameters.
    pub parameters_digest: String,
    /// sha256 of the rendered objects.
    pub objects_digest: String,
    /// Number of objects applied.
    pub objects: usize,
    /// When the phase was last applied (RFC 3339).
    pub applied_at: String,
    /// The last checkpoint, if one ran.
    #[serde(default)]
    pub checkpoint: Option<CheckpointRecord>,
    /// Generated Secret → fingerprint of the values the phase gave its servers
    /// (drift is refused); empty in records of earlier releases.
    #[serde(default)]
    pub credentials: BTreeMap<String, String>,
    /// Generated Secret → when `rotate-keys` last replaced it (RFC 3339).
    #[serde(default)]
    pub rotated: BTreeMap<String, String>,
}

/// The result of a checkpoint run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointRecord {
    /// Whether it passed.
    pub passed: bool,
    /// When it ran (RFC 3339).
    pub at: String,
    /// What it measured (bytes, hashes, rows, latencies) or why it failed.
    pub evidence: BTreeMap<String, Value>,
}

/// Installed phases by name.
pub type State = BTreeMap<String, PhaseRecord>;

/// Why state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// API call failed.
    #[error("cannot {action} {NAMESPACE}/{CONFIGMAP}")]
    Api {
        /// What was attempted.
        action: &'static str,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// A key holds something we did not write.
    #[error("state entry {phase} is not valid JSON")]
    Corrupt {
        /// Phase key.
        phase: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

/// Read every recorded phase; an absent ConfigMap means nothing is installed.
pub async fn load(client: &Client) -> Result<State, StateError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let cm = api.get_opt(CONFIGMAP).await.map_err(|source| StateError::Api { action: "read", source })?;
    let mut state = State::new();
    for (phase, text) in cm.and_then(|c| c.data).unwrap_or_default() {
        let record = serde_json::from_str(&text).map_err(|source| StateError::Corrupt { phase: phase.clone(), source })?;
        state.insert(phase, record);
    }
    Ok(state)
}

/// Record (or replace) one phase.
pub async fn record(client: &Client, phase: &str, rec: &PhaseRecord) -> Result<(), StateError> {
    ensure_namespace(client).await?;
    let text = serde_json::to_string(rec).expect("records always serialize");
    apply_key(client, phase, json!({ phase: text })).await
}

/// Forget one phase: applying an empty data map under its manager drops its key.
pub async fn forget(client: &Client, phase: &str) -> Result<(), StateError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    if api.get_opt(CONFIGMAP).await.map_err(|source| StateError::Api { action: "read", source })?.is_none() {
        return Ok(());
    }
    apply_key(client, phase, json!({})).await
}

async fn apply_key(client: &Client, phase: &str, data: Value) -> Result<(), StateError> {
    apply_data(client, CONFIGMAP, &format!("bigtop-k8s-state-{phase}"), data).await
}

/// Server-side apply of `data` into one of our ConfigMaps under field manager `manager`.
async fn apply_data(client: &Client, configmap: &str, manager: &str, data: Value) -> Result<(), StateError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": configmap, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "bigtop-k8s"}},
        "data": data,
    });
    // force: the keys are ours by construction; a hand edit must not wedge the tool.
    let params = PatchParams::apply(manager).force();
    api.patch(configmap, &params, &Patch::Apply(&cm)).await.map_err(|source| StateError::Api { action: "write", source })?;
    Ok(())
}

async fn ensure_namespace(client: &Client) -> Result<(), StateError> {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "bigtop-k8s"}}});
    let params = PatchParams::apply("bigtop-k8s-state").force();
    api.patch(NAMESPACE, &params, &Patch::Apply(&ns)).await.map_err(|source| StateError::Api { action: "create namespace for", source })?;
    Ok(())
}

/// The current time, RFC 3339 in UTC.
pub fn now() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default()
}

/// Name of the ConfigMap recording where the cluster came from (ClusterAPI clusters only).
pub const ORIGIN_CONFIGMAP: &str = "bigtop-cluster";

/// Where a ClusterAPI workload cluster is managed from, recorded in the workload cluster so
/// that `status` can show the management cluster's objects.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterOrigin {
    /// Infrastructure provider (`docker`, `aws`, `vsphere`).
    pub infrastructure: String,
    /// Namespace of the Cluster object in the management cluster.
    pub namespace: String,
    /// Name of the Cluster object.
    pub name: String,
    /// Kubeconfig file of the management cluster (on the machine that created it).
    pub management_kubeconfig: Option<String>,
    /// Its context.
    pub management_context: Option<String>,
}

/// Record the cluster's origin.
pub async fn record_origin(client: &Client, origin: &ClusterOrigin) -> Result<(), StateError> {
    ensure_namespace(client).await?;
    let text = serde_json::to_string(origin).expect("records always serialize");
    apply_data(client, ORIGIN_CONFIGMAP, "bigtop-k8s-origin", json!({"clusterapi": text})).await
}

/// The cluster's origin, if it was created through ClusterAPI.
pub async fn load_origin(client: &Client) -> Result<Option<ClusterOrigin>, StateError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let cm = api.get_opt(ORIGIN_CONFIGMAP).await.map_err(|source| StateError::Api { action: "read", source })?;
    let Some(text) = cm.and_then(|c| c.data).and_then(|mut d| d.remove("clusterapi")) else { return Ok(None) };
    serde_json::from_str(&text).map(Some).map_err(|source| StateError::Corrupt { phase: ORIGIN_CONFIGMAP.into(), source })
}
