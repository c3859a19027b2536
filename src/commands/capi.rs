//! ClusterAPI views for `status` and `--var` parsing; the provider itself is
//! `crate::provider::capi_workload`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::cluster::{Target, connect};
use crate::error::Error;
use crate::pipeline::state_error;
use crate::provider::capi_cluster::{self, ClusterRef};
use crate::state::{self, ClusterOrigin};

/// The management cluster's view of the workload cluster, for `status`.
#[derive(Debug, Serialize)]
pub struct ManagementView {
    /// Where it was created from.
    pub origin: ClusterOrigin,
    /// Cluster, control plane, machine deployments and machines; empty when unreachable.
    pub objects: Vec<capi_cluster::ObjectStatus>,
    /// Why the objects could not be read.
    pub error: Option<String>,
}

/// Read the ClusterAPI objects of the current cluster from its management cluster. `None` for
/// clusters not created through ClusterAPI. An unreachable management cluster is reported, not
/// fatal: the phases are still worth showing.
pub async fn management_view(client: &kube::Client) -> Result<Option<ManagementView>, Error> {
    let Some(origin) = state::load_origin(client).await.map_err(state_error)? else { return Ok(None) };
    let target =
        Target { kubeconfig: origin.management_kubeconfig.as_ref().map(PathBuf::from), context: origin.management_context.clone() };
    let cluster = ClusterRef { namespace: origin.namespace.clone(), name: origin.name.clone() };
    let read = async {
        let mgmt = connect(&target).await.map_err(|e| e.report())?;
        capi_cluster::describe(&mgmt.client, &cluster).await.map_err(|e| e.to_string())
    };
    let (objects, error) = match read.await {
        Ok(objects) => (objects, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    Ok(Some(ManagementView { origin, objects, error }))
}

/// `status`'s management section as text.
pub fn management_text(view: &ManagementView) -> String {
    let o = &view.origin;
    let mut out = format!(
        "ClusterAPI ({}) cluster {}/{}, managed from context {}",
        o.infrastructure,
        o.namespace,
        o.name,
        o.management_context.clone().unwrap_or_else(|| "(current)".into())
    );
    if let Some(e) = &view.error {
        out.push_str(&format!("\n  management cluster unreachable: {e}"));
    }
    let rows: Vec<Vec<String>> = view.objects.iter().map(|s| vec![s.kind.clone(), s.name.clone(), s.summary()]).collect();
    if !rows.is_empty() {
        out.push('\n');
        out.push_str(&crate::output::table(&["KIND", "NAME", "STATUS"], &rows));
    }
    out
}

/// `--var NAME=VALUE` pairs into a map.
pub fn parse_vars(pairs: &[String]) -> Result<BTreeMap<String, String>, Error> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| Error::usage(format!("--var {p:?} is not NAME=VALUE")).with_hint("e.g. --var AWS_REGION=eu-west-1"))
        })
        .collect()
}
