//! `status`: installed phases, versions and the last checkpoint, from the state ConfigMap.

use super::{Globals, state_error};
use crate::cluster::connect;
use crate::error::Error;
use crate::output::table;
use crate::state::{self, State};

/// Read the state.
pub async fn run(g: &Globals) -> Result<State, Error> {
    let cluster = connect(&g.target).await?;
    state::load(&cluster.client).await.map_err(state_error)
}

/// The state as a table.
pub fn text(state: &State) -> String {
    if state.is_empty() {
        return "no phase installed; `bigtop-k8s phases` lists them".into();
    }
    let rows: Vec<Vec<String>> = state
        .iter()
        .map(|(phase, r)| {
            let addons = r.addons.iter().map(|(a, v)| format!("{a} {v}")).collect::<Vec<_>>().join(", ");
            let check = match &r.checkpoint {
                None => "not run".to_string(),
                Some(c) => format!("{} at {}", if c.passed { "passed" } else { "FAILED" }, c.at),
            };
            let evidence = r.checkpoint.as_ref().map(|c| super::verify::evidence_line(&c.evidence)).unwrap_or_default();
            vec![phase.clone(), addons, r.profile.clone(), r.applied_at.clone(), check, evidence]
        })
        .collect();
    table(&["PHASE", "ADDONS", "PROFILE", "APPLIED", "CHECKPOINT", "EVIDENCE"], &rows)
}
