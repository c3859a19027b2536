//! `remove-phase`: refuse while a dependent phase is installed, delete by label, forget state.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{Globals, state_error};
use crate::cluster::connect_within;
use crate::error::Error;
use crate::plan;
use crate::state;

/// Whether to remove a phase that other installed phases depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependents {
    /// Refuse (the default).
    Refuse,
    /// Remove anyway (`--force`).
    Ignore,
}

/// What was removed.
#[derive(Debug, Serialize)]
pub struct Removed {
    /// Phase name.
    pub phase: String,
    /// Objects deleted.
    pub objects: usize,
}

/// Run `remove-phase`.
pub async fn run(g: &Globals, phases: &[String], dependents: Dependents) -> Result<Vec<Removed>, Error> {
    let catalog = g.catalog()?;
    if phases.is_empty() {
        return Err(Error::usage("no phase named").with_hint("`bigtop-k8s status` lists installed phases"));
    }
    plan::check_names(&catalog, phases).map_err(super::plan_error)?;
    let cluster = connect_within(&g.target, g.timeout).await?;
    let records = state::load(&cluster.client).await.map_err(state_error)?;
    let installed: BTreeSet<String> = records.keys().cloned().collect();
    let remaining: BTreeSet<String> = installed.iter().filter(|p| !phases.contains(p)).cloned().collect();
    if dependents == Dependents::Refuse {
        for phase in phases {
            let blockers = plan::dependents(&catalog, phase, &remaining);
            if !blockers.is_empty() {
                return Err(Error::prerequisite(format!("phase {phase} is needed by installed phase(s) {}", blockers.join(", ")))
                    .with_hint(format!("remove them first (`bigtop-k8s remove-phase {} {phase}`) or pass --force", blockers.join(" "))));
            }
        }
    }
    let mut removed = Vec::new();
    for phase in phases {
        let step = g.progress.start(format!("remove {phase}"));
        let objects = crate::remove::remove_phase(&cluster.client, phase, g.timeout).await.map_err(|e| {
            let exit = if matches!(e, crate::remove::RemoveError::Timeout { .. }) {
                crate::error::Exit::Timeout
            } else {
                crate::error::Exit::Failure
            };
            Error::new(exit, format!("cannot remove phase {phase}"))
                .with_source(e)
                .with_hint(format!("re-run `bigtop-k8s remove-phase {phase}`; objects with finalizers need their controller running"))
        })?;
        state::forget(&cluster.client, phase).await.map_err(state_error)?;
        step.done(format!("{objects} objects deleted"));
        removed.push(Removed { phase: phase.clone(), objects });
    }
    let resolved = crate::params::resolve(&catalog, Default::default(), &Default::default())
        .map_err(|e| Error::usage("invalid parameter").with_source(e))?;
    let contracts = crate::pipeline::contracts(&catalog, &resolved, &records, &[])?;
    for stale in crate::pipeline::inferred::stale_after_removal(&catalog, &contracts, &records, phases) {
        g.progress.note(&stale);
    }
    Ok(removed)
}

/// Human summary.
pub fn text(removed: &Vec<Removed>) -> String {
    removed.iter().map(|r| format!("removed {} ({} objects)", r.phase, r.objects)).collect::<Vec<_>>().join("\n")
}
