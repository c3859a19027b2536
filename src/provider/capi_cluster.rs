//! A ClusterAPI workload cluster as the management cluster sees it: wait until its control plane
//! is initialised (reporting each change of its conditions, failing fast on a terminal failure),
//! read its kubeconfig Secret, delete it and wait until its machines are gone, and describe its
//! objects for `status`.

use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::Value;

use super::capi::CLUSTER_LABEL;

const POLL: Duration = Duration::from_secs(2);

/// Which workload cluster, in the management cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRef {
    /// Namespace of the Cluster object.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl std::fmt::Display for ClusterRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cluster {}/{}", self.namespace, self.name)
    }
}

/// Why waiting on, reading or deleting a workload cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum CapiClusterError {
    /// An API call failed.
    #[error("cannot {action} {cluster}: {detail}")]
    Api {
        /// What was attempted.
        action: &'static str,
        /// Which cluster.
        cluster: ClusterRef,
        /// The server's answer.
        detail: String,
    },
    /// The Cluster object does not exist.
    #[error("{0} does not exist in the management cluster")]
    NotFound(ClusterRef),
    /// ClusterAPI reports a terminal failure.
    #[error("{cluster} failed: {detail}")]
    Failed {
        /// Which cluster.
        cluster: ClusterRef,
        /// Failure message and every condition that is not True.
        detail: String,
    },
    /// The budget ran out.
    #[error("{cluster}: {what} not done within {}s; last seen: {last}", .budget.as_secs())]
    Timeout {
        /// Which cluster.
        cluster: ClusterRef,
        /// What was awaited.
        what: &'static str,
        /// The budget.
        budget: Duration,
        /// The last status summary.
        last: String,
    },
}

/// One status condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// `ControlPlaneInitialized`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// CamelCase reason.
    pub reason: String,
    /// Human message (may be empty).
    pub message: String,
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.kind, self.status)?;
        match (self.reason.is_empty(), self.message.is_empty()) {
            (true, true) => Ok(()),
            (false, true) => write!(f, " ({})", self.reason),
            (true, false) => write!(f, " ({})", self.message),
            (false, false) => write!(f, " ({}: {})", self.reason, self.message),
        }
    }
}

/// What a ClusterAPI object's status says, read from any of the v1beta2 kinds we create.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObjectStatus {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// `status.phase` when the kind has one.
    pub phase: Option<String>,
    /// v1beta2 conditions.
    pub conditions: Vec<Condition>,
    /// A terminal failure (`status.deprecated.v1beta1.failureMessage`, or phase `Failed`).
    pub failure: Option<String>,
}

impl ObjectStatus {
    /// Read the status of a stored object.
    pub fn of(obj: &Value) -> ObjectStatus {
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        let status = obj.get("status").cloned().unwrap_or(Value::Null);
        let conditions = status
            .get("conditions")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|c| Condition {
                        kind: text(c, "type"),
                        status: text(c, "status"),
                        reason: text(c, "reason"),
                        message: text(c, "message"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let phase = status.get("phase").and_then(Value::as_str).map(str::to_string);
        let legacy = status.pointer("/deprecated/v1beta1").cloned().unwrap_or(Value::Null);
        let failure = match (text(&legacy, "failureReason"), text(&legacy, "failureMessage")) {
            (r, m) if !m.is_empty() => Some(if r.is_empty() { m } else { format!("{r}: {m}") }),
            (r, _) if !r.is_empty() => Some(r),
            _ if phase.as_deref() == Some("Failed") => Some("phase Failed".into()),
            _ => None,
        };
        ObjectStatus {
            kind: text(obj, "kind"),
            name: obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().into(),
            phase,
            conditions,
            failure,
        }
    }

    /// Whether condition `kind` is True.
    pub fn is_true(&self, kind: &str) -> bool {
        self.conditions.iter().any(|c| c.kind == kind && c.status == "True")
    }

    /// One line: phase, then the conditions that are not True (those are what to act on).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.phase {
            parts.push(format!("phase {p}"));
        }
        if let Some(f) = &self.failure {
            parts.push(format!("failure {f}"));
        }
        let pending: Vec<String> = self.conditions.iter().filter(|c| c.status != "True").map(Condition::to_string).collect();
        match pending.is_empty() {
            true if self.conditions.is_empty() => parts.push("no conditions yet".into()),
            true => parts.push("all conditions True".into()),
            false => parts.push(pending.join("; ")),
        }
        parts.join("; ")
    }
}

/// Whether a Cluster's control plane is initialised: the v1beta2 initialization flag, or the
/// `ControlPlaneInitialized` condition.
pub fn control_plane_initialized(cluster: &Value) -> bool {
    cluster.pointer("/status/initialization/controlPlaneInitialized").and_then(Value::as_bool) == Some(true)
        || ObjectStatus::of(cluster).is_true("ControlPlaneInitialized")
}

/// The API resource of a ClusterAPI v1beta2 kind we read.
pub fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1beta2", kind), plural)
}

fn clusters(client: &Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &resource("cluster.x-k8s.io", "Cluster", "clusters"))
}

fn machines(client: &Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &resource("cluster.x-k8s.io", "Machine", "machines"))
}

/// Objects ClusterAPI (and our templates) label with the cluster's name.
fn of_cluster(cluster: &ClusterRef) -> ListParams {
    ListParams::default().labels(&format!("{CLUSTER_LABEL}={}", cluster.name))
}

fn api_error(action: &'static str, cluster: &ClusterRef, e: &kube::Error) -> CapiClusterError {
    CapiClusterError::Api { action, cluster: cluster.clone(), detail: crate::error::error_text(e) }
}

/// Wait until the control plane is initialised (the API server answers; nodes are not Ready
/// until a CNI runs). `on_change` gets each new status summary. Fails at once on a terminal
/// failure, naming every condition that is not True.
pub async fn wait_control_plane(
    client: &Client,
    cluster: &ClusterRef,
    budget: Duration,
    mut on_change: impl FnMut(&str),
) -> Result<(), CapiClusterError> {
    let api = clusters(client, &cluster.namespace);
    let deadline = Instant::now() + budget;
    let mut last = String::from("not read yet");
    loop {
        match api.get_opt(&cluster.name).await {
            Ok(None) => return Err(CapiClusterError::NotFound(cluster.clone())),
            Ok(Some(obj)) => {
                let value = serde_json::to_value(&obj).expect("objects serialize");
                if control_plane_initialized(&value) {
                    return Ok(());
                }
                let status = ObjectStatus::of(&value);
                if status.failure.is_some() {
                    return Err(CapiClusterError::Failed { cluster: cluster.clone(), detail: status.summary() });
                }
                let summary = status.summary();
                if summary != last {
                    on_change(&summary);
                    last = summary;
                }
            }
            // A management cluster under load answers slowly at times; the deadline bounds it.
            Err(e) if crate::apply::is_transient(&e) => {}
            Err(e) => return Err(api_error("read", cluster, &e)),
        }
        if Instant::now() >= deadline {
            return Err(CapiClusterError::Timeout { cluster: cluster.clone(), what: "control plane initialisation", budget, last });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The workload cluster's admin kubeconfig: Secret `<name>-kubeconfig`, key `value`, written by
/// the control-plane provider once the control plane is initialised.
pub async fn kubeconfig(client: &Client, cluster: &ClusterRef) -> Result<String, CapiClusterError> {
    let secret = format!("{}-kubeconfig", cluster.name);
    crate::secrets::read_value(client, &cluster.namespace, &secret, "value").await.map_err(|detail| CapiClusterError::Api {
        action: "read the kubeconfig of",
        cluster: cluster.clone(),
        detail,
    })
}

/// Names of the cluster's Machines.
pub async fn machine_names(client: &Client, cluster: &ClusterRef) -> Result<Vec<String>, CapiClusterError> {
    let lp = of_cluster(cluster);
    let list = machines(client, &cluster.namespace).list(&lp).await.map_err(|e| api_error("list the machines of", cluster, &e))?;
    Ok(list.items.iter().map(|m| m.name_any()).collect())
}

/// What deleting a workload cluster did.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterDeleted {
    /// Whether the Cluster object existed.
    pub existed: bool,
    /// Machines it had when deletion started.
    pub machines: Vec<String>,
}

/// Delete the Cluster object (ClusterAPI deletes its machines and infrastructure through
/// finalizers) and wait until it and every Machine are gone. Idempotent.
pub async fn delete(
    client: &Client,
    cluster: &ClusterRef,
    budget: Duration,
    mut on_change: impl FnMut(&str),
) -> Result<ClusterDeleted, CapiClusterError> {
    let api = clusters(client, &cluster.namespace);
    let machines_before = machine_names(client, cluster).await?;
    let existed = match api.delete(&cluster.name, &DeleteParams::background()).await {
        Ok(_) => true,
        Err(kube::Error::Api(s)) if s.code == 404 => false,
        Err(e) => return Err(api_error("delete", cluster, &e)),
    };
    let deadline = Instant::now() + budget;
    let mut last = String::new();
    loop {
        let present = api.get_opt(&cluster.name).await.map_err(|e| api_error("read", cluster, &e))?.is_some();
        let left = machine_names(client, cluster).await?;
        if !present && left.is_empty() {
            return Ok(ClusterDeleted { existed, machines: machines_before });
        }
        let summary = match left.is_empty() {
            true => "Cluster object still present (finalizers)".to_string(),
            false => format!("{} machine(s) left: {}", left.len(), left.join(", ")),
        };
        if summary != last {
            on_change(&summary);
            last = summary;
        }
        if Instant::now() >= deadline {
            return Err(CapiClusterError::Timeout { cluster: cluster.clone(), what: "deletion", budget, last });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The Cluster, its control plane, machine deployments and machines, with their status.
pub async fn describe(client: &Client, cluster: &ClusterRef) -> Result<Vec<ObjectStatus>, CapiClusterError> {
    let Some(obj) = clusters(client, &cluster.namespace).get_opt(&cluster.name).await.map_err(|e| api_error("read", cluster, &e))? else {
        return Err(CapiClusterError::NotFound(cluster.clone()));
    };
    let mut out = vec![ObjectStatus::of(&serde_json::to_value(&obj).expect("objects serialize"))];
    let lp = of_cluster(cluster);
    for (group, kind, plural) in [
        ("controlplane.cluster.x-k8s.io", "KubeadmControlPlane", "kubeadmcontrolplanes"),
        ("cluster.x-k8s.io", "MachineDeployment", "machinedeployments"),
        ("cluster.x-k8s.io", "Machine", "machines"),
    ] {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &cluster.namespace, &resource(group, kind, plural));
        let list = api.list(&lp).await.map_err(|e| api_error("list the objects of", cluster, &e))?;
        for item in list.items {
            let mut value = serde_json::to_value(&item).expect("objects serialize");
            value["kind"] = kind.into();
            out.push(ObjectStatus::of(&value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_reading_and_failure_detection() {
        let cluster = json!({
            "kind": "Cluster", "metadata": {"name": "wl"},
            "status": {"phase": "Provisioning", "conditions": [
                {"type": "InfrastructureReady", "status": "True", "reason": "Ready", "message": ""},
                {"type": "ControlPlaneInitialized", "status": "False", "reason": "NotInitialized", "message": "waiting for the first machine"}
            ]}
        });
        let s = ObjectStatus::of(&cluster);
        assert!(!control_plane_initialized(&cluster) && s.failure.is_none());
        assert_eq!(s.summary(), "phase Provisioning; ControlPlaneInitialized=False (NotInitialized: waiting for the first machine)");
        let failed = json!({"kind": "Cluster", "metadata": {"name": "wl"}, "status": {"deprecated": {"v1beta1": {
            "failureReason": "CreateError", "failureMessage": "no quota for vCPUs"}}}});
        assert_eq!(ObjectStatus::of(&failed).failure.as_deref(), Some("CreateError: no quota for vCPUs"));
        let done = json!({"status": {"initialization": {"controlPlaneInitialized": true}}});
        assert!(control_plane_initialized(&done));
        assert_eq!(ObjectStatus::of(&json!({"status": {"phase": "Failed"}})).failure.as_deref(), Some("phase Failed"));
    }
}
