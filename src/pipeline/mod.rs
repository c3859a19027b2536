//! The install pipeline. A command builds one [`Context`] (catalog, spec, parameters, cluster,
//! installed state), turns its request into a list of [`Step`]s up front — plan decides the
//! phases, `--dry-run` and `--no-verify` decide which steps are in the list — and [`run`]
//! executes the list in one loop with one failure path. kind's `create.go` and its actions are
//! the model: the list reads as what the command does.

mod checkpoint;
mod context;
pub mod inferred;
mod install;
mod plan;
mod render;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use checkpoint::evidence_line;
pub use context::{Context, Globals, Loaded, SpecArgs, contracts, load_spec, state_error};
pub use plan::{Request, plan, plan_error};
pub use render::{RenderScope, RenderedPhase, render_phase};

use crate::apply::{Applied, Applier};
use crate::error::Error;
use crate::plan::PlannedPhase;
use crate::state::{CheckpointRecord, PhaseRecord};

/// Whether to run checkpoints after installing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Run them (the default).
    Run,
    /// Skip them (`--no-verify`, e.g. where pods are simulated).
    Skip,
}

/// Whether the command changes the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Apply, wait, set up, record, verify.
    Apply,
    /// Plan and render only (`--dry-run`).
    DryRun,
}

/// What a failed checkpoint does to the rest of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCheckpointFailure {
    /// Stop: later phases build on this one (`add-phase`).
    Stop,
    /// Check the other phases too and report the first failure at the end (`verify`).
    Continue,
}

/// One step of a command, for one phase.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Refuse drifted credentials of installed phases (`crate::credentials`); the copies of
    /// the phases named here are left out, as this run copies them again.
    CheckCredentials(Vec<String>),
    /// Fetch sources, read or generate credentials, render the templates.
    Render(PlannedPhase),
    /// Server-side apply of the rendered objects; delete the phase's Jobs no longer rendered.
    Apply(String),
    /// Wait until every applied workload is ready.
    Wait(String),
    /// Run each addon's setup (idempotent).
    Setup(String),
    /// Restart the phase's workloads that read a Secret this command replaced (`rotate-keys`):
    /// they read keys only at start.
    Restart(String),
    /// Record the phase in the cluster's state.
    Record(String),
    /// Run the phase's checkpoints and record their evidence.
    Checkpoint(String),
}

/// The steps that install `planned` phases: everything for `Apply`, rendering only for a dry
/// run; checkpoints unless skipped.
pub fn install_steps(planned: &[PlannedPhase], mode: Mode, verify: Verify) -> Vec<Step> {
    let mut steps = Vec::new();
    if mode == Mode::Apply {
        steps.push(Step::CheckCredentials(planned.iter().map(|p| p.phase.clone()).collect()));
    }
    for p in planned {
        steps.push(Step::Render(p.clone()));
        if mode == Mode::DryRun {
            continue;
        }
        let phase = &p.phase;
        steps.extend([Step::Apply(phase.clone()), Step::Wait(phase.clone()), Step::Setup(phase.clone()), Step::Record(phase.clone())]);
        if verify == Verify::Run {
            steps.push(Step::Checkpoint(phase.clone()));
        }
    }
    steps
}

/// The steps of a key rotation: the lake's phase installed again with new keys (its setup gives
/// them to the server and removes the earlier ones), then each phase that copies a rotated key
/// rendered again (a fresh copy), its consumers restarted; then their checkpoints.
pub fn rotate_steps(lake: &PlannedPhase, dependents: &[PlannedPhase], verify: Verify) -> Vec<Step> {
    let rerendered = std::iter::once(lake).chain(dependents).map(|p| p.phase.clone()).collect();
    let mut steps = vec![Step::CheckCredentials(rerendered)];
    let name = &lake.phase;
    steps.extend([Step::Render(lake.clone()), Step::Apply(name.clone()), Step::Wait(name.clone()), Step::Setup(name.clone())]);
    steps.push(Step::Record(name.clone()));
    for p in dependents {
        let name = &p.phase;
        steps.extend([Step::Render(p.clone()), Step::Apply(name.clone()), Step::Restart(name.clone()), Step::Wait(name.clone())]);
        steps.push(Step::Record(name.clone()));
    }
    if verify == Verify::Run {
        steps.extend(std::iter::once(lake).chain(dependents).map(|p| Step::Checkpoint(p.phase.clone())));
    }
    steps
}

/// The steps that re-check installed phases.
pub fn verify_steps(phases: &[String]) -> Vec<Step> {
    std::iter::once(Step::CheckCredentials(Vec::new())).chain(phases.iter().cloned().map(Step::Checkpoint)).collect()
}

/// What a run did, per phase, in the order the phases were first touched.
#[derive(Debug, Serialize)]
pub struct PhaseOutcome {
    /// Phase name.
    pub phase: String,
    /// Addons installed.
    pub addons: Vec<String>,
    /// Objects applied (or that would be, with `--dry-run`).
    pub objects: usize,
    /// The checkpoint result, when one ran.
    pub checkpoint: Option<CheckpointRecord>,
}

/// What the steps hand each other while a list runs.
#[derive(Default)]
struct Run {
    /// Phases in the order steps first touched them.
    order: Vec<String>,
    phases: BTreeMap<String, PhaseRun>,
    /// Namespaces that phases earlier in a dry run would create, whose Secrets are not there yet.
    awaited: BTreeSet<String>,
    /// One view of the server's API resources per command (discovery runs once, lazily).
    applier: Option<Applier>,
    /// Checkpoint failures kept for the end (`OnCheckpointFailure::Continue`).
    failures: Vec<Error>,
}

/// One phase's progress through the list.
#[derive(Default)]
struct PhaseRun {
    rendered: Option<RenderedPhase>,
    applied: Vec<Applied>,
    record: Option<PhaseRecord>,
}

impl Run {
    fn phase(&mut self, name: &str) -> &mut PhaseRun {
        if !self.phases.contains_key(name) {
            self.order.push(name.to_string());
        }
        self.phases.entry(name.to_string()).or_default()
    }
}

/// Run `steps` in order. The first failing step ends the run with its error; with
/// `Continue`, failed checkpoints are reported after the others ran.
pub async fn run(ctx: &Context<'_>, steps: Vec<Step>, on_failure: OnCheckpointFailure) -> Result<Vec<PhaseOutcome>, Error> {
    let mut run = Run::default();
    for step in &steps {
        match step {
            Step::CheckCredentials(rerendered) => check_credentials(ctx, rerendered).await?,
            Step::Render(planned) => render::step(ctx, &mut run, planned).await?,
            Step::Apply(phase) => install::apply(ctx, &mut run, phase).await?,
            Step::Wait(phase) => install::wait(ctx, &mut run, phase).await?,
            Step::Setup(phase) => install::setup(ctx, &mut run, phase).await?,
            Step::Restart(phase) => install::restart(ctx, &mut run, phase).await?,
            Step::Record(phase) => install::record(ctx, &mut run, phase).await?,
            Step::Checkpoint(phase) => match (checkpoint::step(ctx, &mut run, phase).await, on_failure) {
                (Err(e), OnCheckpointFailure::Continue) => run.failures.push(e),
                (result, _) => result?,
            },
        }
    }
    if !run.failures.is_empty() {
        return Err(run.failures.remove(0));
    }
    Ok(outcomes(ctx, run))
}

async fn check_credentials(ctx: &Context<'_>, rerendered: &[String]) -> Result<(), Error> {
    let exempt = crate::credentials::Exempt { secrets: ctx.fresh.clone(), copies_of: rerendered.iter().cloned().collect() };
    let found = crate::credentials::find(&ctx.cluster.client, &ctx.catalog, &ctx.state, &exempt)
        .await
        .map_err(|e| Error::failure("cannot read the installed phases' Secrets").with_source(e))?;
    match found.is_empty() {
        true => Ok(()),
        false => Err(crate::credentials::drift_error(&found, ctx.contracts.lake.as_ref())),
    }
}

fn outcomes(ctx: &Context<'_>, mut run: Run) -> Vec<PhaseOutcome> {
    let order = std::mem::take(&mut run.order);
    order
        .into_iter()
        .map(|phase| {
            let p = run.phases.remove(&phase).unwrap_or_default();
            let record = p.record.as_ref().or_else(|| ctx.state.get(&phase));
            let addons = match (&p.rendered, record) {
                (Some(r), _) => r.planned.addons.clone(),
                (None, Some(rec)) => rec.addons.keys().cloned().collect(),
                (None, None) => Vec::new(),
            };
            let objects = match (&p.rendered, p.applied.is_empty()) {
                (Some(r), true) => r.objects.len(),
                _ => p.applied.len(),
            };
            PhaseOutcome { phase, addons, objects, checkpoint: record.and_then(|r| r.checkpoint.clone()) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(names: &[&str]) -> Vec<PlannedPhase> {
        names.iter().map(|n| PlannedPhase { phase: n.to_string(), addons: vec![format!("{n}-addon")] }).collect()
    }

    #[test]
    fn flags_decide_the_list_before_anything_runs() {
        let p = planned(&["base", "sql"]);
        let all = install_steps(&p, Mode::Apply, Verify::Run);
        assert_eq!(all.len(), 13);
        assert_eq!(all[0], Step::CheckCredentials(vec!["base".into(), "sql".into()]));
        assert_eq!(
            all[1..7],
            [
                Step::Render(p[0].clone()),
                Step::Apply("base".into()),
                Step::Wait("base".into()),
                Step::Setup("base".into()),
                Step::Record("base".into()),
                Step::Checkpoint("base".into())
            ]
        );
        let unverified = install_steps(&p, Mode::Apply, Verify::Skip);
        assert!(unverified.iter().all(|s| !matches!(s, Step::Checkpoint(_))) && unverified.len() == 11);
        let dry = install_steps(&p, Mode::DryRun, Verify::Run);
        assert_eq!(dry, [Step::Render(p[0].clone()), Step::Render(p[1].clone())]);
        assert_eq!(verify_steps(&["sql".into()]), [Step::CheckCredentials(vec![]), Step::Checkpoint("sql".into())]);
    }

    #[test]
    fn a_rotation_sets_up_the_lake_before_copying_and_restarting_then_checks_both() {
        let p = planned(&["object-storage", "sql"]);
        let s = |phase: &str| phase.to_string();
        let steps = rotate_steps(&p[0], &p[1..], Verify::Run);
        assert_eq!(
            steps,
            [
                Step::CheckCredentials(vec![s("object-storage"), s("sql")]),
                Step::Render(p[0].clone()),
                Step::Apply(s("object-storage")),
                Step::Wait(s("object-storage")),
                Step::Setup(s("object-storage")),
                Step::Record(s("object-storage")),
                Step::Render(p[1].clone()),
                Step::Apply(s("sql")),
                Step::Restart(s("sql")),
                Step::Wait(s("sql")),
                Step::Record(s("sql")),
                Step::Checkpoint(s("object-storage")),
                Step::Checkpoint(s("sql")),
            ]
        );
        assert!(!rotate_steps(&p[0], &[], Verify::Skip).iter().any(|s| matches!(s, Step::Checkpoint(_) | Step::Restart(_))));
    }
}
