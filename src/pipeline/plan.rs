//! The plan step: which phases, in which order, with which addons — and the parameters the
//! cluster implies (inferred ones), refused when an installed phase would switch addons.

use std::collections::BTreeSet;

use super::context::{Context, Loaded};
use crate::catalog::Catalog;
use crate::error::Error;
use crate::plan::{self, MissingDeps, PlanError, PlannedPhase};
use crate::state::State;

/// What an installing command asks for.
#[derive(Debug, Clone)]
pub struct Request {
    /// Phases named on the command line (added to those of `bigtop.yaml`).
    pub phases: Vec<String>,
    /// Missing dependency phases: refuse or install.
    pub missing: MissingDeps,
}

impl Request {
    /// The phases asked for, the spec's first, checked against the catalog. No cluster access.
    pub fn named(&self, loaded: &Loaded) -> Result<Vec<String>, Error> {
        let mut requested: Vec<String> = Vec::new();
        for p in loaded.spec.phases.iter().chain(&self.phases) {
            if !requested.contains(p) {
                requested.push(p.clone());
            }
        }
        if requested.is_empty() {
            let names = loaded.catalog.phase_names().join(", ");
            return Err(Error::usage("no phase named").with_hint(format!("name one: {names}")));
        }
        plan::check_names(&loaded.catalog, &requested).map_err(plan_error)?;
        Ok(requested)
    }
}

/// Order the requested phases after their dependencies, fill in inferred parameters, and refuse
/// switching an installed phase's addons.
pub async fn plan(ctx: &mut Context<'_>, requested: &[String], missing: MissingDeps) -> Result<Vec<PlannedPhase>, Error> {
    let installed: BTreeSet<String> = ctx.state.keys().cloned().collect();
    let planned = plan::plan(&ctx.catalog, requested, &installed, missing, &ctx.resolved).map_err(plan_error)?;
    // First what the user asked against what is installed: whatever else is wrong with the
    // request, an addon switch is refused as such.
    for p in &planned {
        refuse_addon_switch(&ctx.catalog, &ctx.state, p)?;
    }
    // Inferred parameters never change which addons a phase installs, so the plan stands.
    ctx.contracts = super::context::contracts(&ctx.catalog, &ctx.resolved, &ctx.state, &planned)?;
    ctx.resolved = super::inferred::infer(ctx, &planned).await?;
    ctx.contracts = super::context::contracts(&ctx.catalog, &ctx.resolved, &ctx.state, &planned)?;
    Ok(planned)
}

/// An installed phase keeps its addons: switching (e.g. MinIO to Garage) or dropping one would
/// abandon the data it holds, so it is refused with the way out. Adding one (streaming's
/// ZooKeeper) loses nothing.
fn refuse_addon_switch(catalog: &Catalog, state: &State, p: &PlannedPhase) -> Result<(), Error> {
    let Some(record) = state.get(&p.phase) else { return Ok(()) };
    let wanted: BTreeSet<&String> = p.addons.iter().collect();
    if record.addons.keys().all(|a| wanted.contains(a)) {
        return Ok(());
    }
    let def = catalog.phase(&p.phase);
    let param = def.and_then(|d| d.choice.as_ref()).map(|c| format!("{}.{}", p.phase, c.parameter)).unwrap_or_default();
    let copy = if def.is_some_and(|d| d.provides.lake.is_some()) {
        "copy the data out (any S3 client, e.g. `mc mirror`)"
    } else {
        "copy out what you keep"
    };
    Err(Error::usage(format!(
        "phase {} is installed with {}; switching to {} would leave its data behind",
        p.phase,
        record.addons.keys().cloned().collect::<Vec<_>>().join(", "),
        p.addons.join(", ")
    ))
    .with_hint(format!(
        "keep {param} as installed, or {copy}, run `bigtop-k8s remove-phase {}`, then add it again with the new choice",
        p.phase
    )))
}

/// Map planning errors to user-facing ones with the next command.
pub fn plan_error(e: PlanError) -> Error {
    match &e {
        PlanError::UnknownPhase { .. } => Error::usage("unknown phase").with_source(e).with_hint("`bigtop-k8s phases` lists the phases"),
        PlanError::MissingDependency { phase, missing } => {
            let hint = format!("run `bigtop-k8s add-phase {missing}` first, or `bigtop-k8s add-phase {phase} --with-deps`");
            Error::prerequisite(format!("phase {phase} needs {missing}")).with_source(e).with_hint(hint)
        }
    }
}
