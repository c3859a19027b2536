//! `status`: installed phases, versions and the last checkpoint, from the state ConfigMap; for
//! ClusterAPI clusters also the management cluster's objects with their conditions.

use serde::Serialize;

use super::capi::{ManagementView, management_text, management_view};
use super::{Globals, state_error};
use crate::cluster::connect_within;
use crate::error::Error;
use crate::output::table;
use crate::state::{self, State};

/// What `status` shows.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Installed phases by name.
    #[serde(flatten)]
    pub phases: State,
    /// The ClusterAPI objects of this cluster, when it was created through ClusterAPI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clusterapi: Option<ManagementView>,
}

/// Read the state (and the management cluster's view).
pub async fn run(g: &Globals) -> Result<Status, Error> {
    let cluster = connect_within(&g.target, g.timeout).await?;
    let phases = state::load(&cluster.client).await.map_err(state_error)?;
    let clusterapi = management_view(&cluster.client).await?;
    Ok(Status { phases, clusterapi })
}

/// The state as a table.
pub fn text(status: &Status) -> String {
    let management = status.clusterapi.as_ref().map(|v| format!("{}\n\n", management_text(v))).unwrap_or_default();
    if status.phases.is_empty() {
        return format!("{management}no phase installed; `bigtop-k8s phases` lists them");
    }
    let rows: Vec<Vec<String>> = status
        .phases
        .iter()
        .map(|(phase, r)| {
            let addons = r.addons.iter().map(|(a, v)| format!("{a} {v}")).collect::<Vec<_>>().join(", ");
            let check = match &r.checkpoint {
                None => "not run".to_string(),
                Some(c) => format!("{} at {}", if c.passed { "passed" } else { "FAILED" }, c.at),
            };
            let evidence = r.checkpoint.as_ref().map(|c| crate::pipeline::evidence_line(&c.evidence)).unwrap_or_default();
            vec![phase.clone(), addons, r.profile.clone(), r.applied_at.clone(), check, evidence]
        })
        .collect();
    format!("{management}{}", table(&["PHASE", "ADDONS", "PROFILE", "APPLIED", "CHECKPOINT", "EVIDENCE"], &rows))
}
