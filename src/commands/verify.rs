//! `verify`: re-run the checkpoints of installed phases and record the evidence
//! (`crate::pipeline`, checkpoint steps only).

use serde::Serialize;

use super::{Globals, SpecArgs};
use crate::error::Error;
use crate::pipeline::{self, Loaded, OnCheckpointFailure, verify_steps};
use crate::state::CheckpointRecord;

/// One phase's verification.
#[derive(Debug, Serialize)]
pub struct Verified {
    /// Phase name.
    pub phase: String,
    /// The checkpoint result.
    pub checkpoint: CheckpointRecord,
}

/// Run `verify` for `phases` (all installed phases when empty).
pub async fn run(g: &Globals, phases: &[String]) -> Result<Vec<Verified>, Error> {
    let loaded = Loaded::read(g, &SpecArgs::default())?;
    crate::plan::check_names(&loaded.catalog, phases).map_err(super::plan_error)?;
    let ctx = loaded.connect(g).await?;
    let targets: Vec<String> = if phases.is_empty() { ctx.state.keys().cloned().collect() } else { phases.to_vec() };
    if targets.is_empty() {
        return Err(Error::prerequisite("no phase is installed").with_hint("install one with `bigtop-k8s add-phase <phase>`"));
    }
    if let Some(phase) = targets.iter().find(|p| !ctx.state.contains_key(*p)) {
        return Err(Error::prerequisite(format!("phase {phase} is not installed")).with_hint(format!("bigtop-k8s add-phase {phase}")));
    }
    let outcomes = pipeline::run(&ctx, verify_steps(&targets), OnCheckpointFailure::Continue).await?;
    Ok(outcomes.into_iter().filter_map(|o| Some(Verified { checkpoint: o.checkpoint?, phase: o.phase })).collect())
}

/// Human summary of `verify`.
pub fn text(results: &Vec<Verified>) -> String {
    let line = |r: &Verified| format!("{}: passed {}", r.phase, pipeline::evidence_line(&r.checkpoint.evidence));
    results.iter().map(line).collect::<Vec<_>>().join("\n")
}
