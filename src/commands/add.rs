//! `add-phase`: plan → render → apply → wait → record → checkpoint, phase by phase.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Globals, RenderedPhase, SpecArgs, load_spec, render_phase, state_error};
use crate::apply::Applier;
use crate::catalog::Catalog;
use crate::cluster::{Cluster, connect};
use crate::error::{Error, Exit};
use crate::params::Resolved;
use crate::plan::{self, MissingDeps, PlanError};
use crate::profile::Profile;
use crate::render::digest;
use crate::state::{self, CheckpointRecord, PhaseRecord};
use crate::wait::{WaitError, wait_ready};

/// Whether to run checkpoints after installing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Run them (the default).
    Run,
    /// Skip them (`--no-verify`, e.g. where pods are simulated).
    Skip,
}

/// Arguments of `add-phase`.
#[derive(Debug, Clone)]
pub struct AddArgs {
    /// Phases named on the command line (added to those of `bigtop.yaml`).
    pub phases: Vec<String>,
    /// Spec inputs.
    pub spec: SpecArgs,
    /// Missing dependency phases: refuse or install.
    pub missing: MissingDeps,
    /// Apply, or stop after planning and rendering.
    pub mode: Mode,
    /// Checkpoints or not.
    pub verify: Verify,
}

/// Whether `add-phase` changes the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Apply, wait, set up, record, verify.
    Apply,
    /// Plan and render only (`--dry-run`).
    DryRun,
}

/// What `add-phase` did, per phase.
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

/// Run `add-phase`.
pub async fn run(g: &Globals, args: &AddArgs) -> Result<Vec<PhaseOutcome>, Error> {
    let catalog = g.catalog()?;
    let (spec, resolved) = load_spec(&catalog, &args.spec)?;
    let mut requested: Vec<String> = Vec::new();
    for p in spec.phases.iter().chain(&args.phases) {
        if !requested.contains(p) {
            requested.push(p.clone());
        }
    }
    if requested.is_empty() {
        return Err(Error::usage("no phase named").with_hint(format!("name one: {}", catalog.phase_names().join(", "))));
    }
    plan::check_names(&catalog, &requested).map_err(plan_error)?;
    let cluster = connect(&g.target).await?;
    let state = state::load(&cluster.client).await.map_err(state_error)?;
    let installed: BTreeSet<String> = state.keys().cloned().collect();
    let planned = plan::plan(&catalog, &requested, &installed, args.missing, &resolved).map_err(plan_error)?;
    // Inferred parameters never change which addons a phase installs, so the plan stands.
    let resolved = super::inferred::spark_params(g, &catalog, &spec, resolved, &planned, &state, &cluster).await?;
    for p in &planned {
        refuse_addon_switch(&catalog, &state, p)?;
    }
    let mut outcomes = Vec::new();
    let mut installer: Option<Installer> = None;
    // A dry run applies nothing: what earlier phases would create (the lake's keys) is not there.
    let mut awaited = BTreeSet::new();
    for p in &planned {
        let rendered = render_phase(g, &catalog, Some(&cluster.client), p, &resolved, spec.profile, &awaited).await?;
        if args.mode == Mode::DryRun {
            awaited.extend(p.addons.iter().map(|a| catalog.addons[a].namespace.clone()));
            outcomes.push(PhaseOutcome {
                phase: p.phase.clone(),
                addons: p.addons.clone(),
                objects: rendered.objects.len(),
                checkpoint: None,
            });
            continue;
        }
        let installer = match &mut installer {
            Some(i) => i,
            None => {
                let applier = Applier::new(cluster.client.clone())
                    .await
                    .map_err(|e| Error::failure("cannot read the server's API resources").with_source(e))?;
                let (catalog, cluster, resolved) = (&catalog, &cluster, &resolved);
                installer.insert(Installer { g, catalog, cluster, resolved, profile: spec.profile, verify: args.verify, applier })
            }
        };
        outcomes.push(installer.install(&rendered).await?);
    }
    Ok(outcomes)
}

/// An installed phase keeps its addons: switching (e.g. MinIO to Garage) would abandon the data
/// the first one holds, so it is refused with the way out.
fn refuse_addon_switch(catalog: &Catalog, state: &state::State, p: &plan::PlannedPhase) -> Result<(), Error> {
    let Some(record) = state.get(&p.phase) else { return Ok(()) };
    let installed: Vec<&String> = record.addons.keys().collect();
    let wanted: BTreeSet<&String> = p.addons.iter().collect();
    if installed.iter().all(|a| wanted.contains(a)) && installed.len() == wanted.len() {
        return Ok(());
    }
    let param = catalog.phase(&p.phase).and_then(|d| d.choice.as_ref()).map(|c| format!("{}.{}", p.phase, c.parameter)).unwrap_or_default();
    Err(Error::usage(format!(
        "phase {} is installed with {}; switching to {} would leave its data behind",
        p.phase,
        record.addons.keys().cloned().collect::<Vec<_>>().join(", "),
        p.addons.join(", ")
    ))
    .with_hint(format!(
        "keep {param} as installed, or copy the data out (any S3 client, e.g. `mc mirror`), run `bigtop-k8s remove-phase {}`, then add it again with the new choice",
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

/// What installing phases shares: the cluster, the catalog, the resolved spec and one view of
/// the server's API resources (discovery runs once per command, not once per phase).
struct Installer<'a> {
    g: &'a Globals,
    catalog: &'a Catalog,
    cluster: &'a Cluster,
    resolved: &'a Resolved,
    profile: Profile,
    verify: Verify,
    applier: Applier,
}

impl Installer<'_> {
    /// apply → wait → setup → record → checkpoint for one rendered phase.
    async fn install(&mut self, rendered: &RenderedPhase) -> Result<PhaseOutcome, Error> {
        let (g, catalog, cluster) = (self.g, self.catalog, self.cluster);
        let phase = &rendered.planned.phase;
        let client = &cluster.client;
        let step = g.progress.start(format!("apply {phase}"));
        let applied = self.applier.apply_all(&rendered.objects).await.map_err(|e| {
            Error::failure(format!("cannot apply phase {phase}"))
                .with_source(e)
                .with_hint(format!("`bigtop-k8s render {phase}` shows the objects; fix the --set value or template named above"))
        })?;
        let pruned = crate::remove::prune_replaced_jobs(client, phase, &applied).await.map_err(|e| {
            Error::failure(format!("cannot remove the replaced Jobs of phase {phase}"))
                .with_source(e)
                .with_hint(format!("`kubectl get jobs -A -l {}` lists them; re-run the command", crate::remove::selector(phase)))
        })?;
        match pruned.len() {
            0 => step.done(format!("{} objects", applied.len())),
            _ => step.done(format!("{} objects; removed replaced {}", applied.len(), pruned.join(", "))),
        }

        let step = g.progress.start(format!("wait for {phase}"));
        let ready_kinds: Vec<String> =
            rendered.planned.addons.iter().flat_map(|a| catalog.addons[a].ready_condition_kinds.clone()).collect();
        wait_ready(client, &applied, &ready_kinds, g.timeout).await.map_err(|e| wait_error(phase, e))?;
        step.done("ready");

        let parameters: BTreeMap<String, serde_json::Value> =
            phase_params(self.resolved, &rendered.planned.addons, phase).into_iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        run_setups(g, catalog, cluster, &rendered.planned, &parameters).await?;

        let mut record = PhaseRecord {
            addons: rendered.planned.addons.iter().map(|a| (a.clone(), catalog.addons[a].version.clone())).collect(),
            profile: self.profile.name().into(),
            parameters_digest: digest(&parameters),
            parameters,
            objects_digest: digest(&rendered.objects),
            objects: rendered.objects.len(),
            applied_at: state::now(),
            checkpoint: None,
        };
        state::record(client, phase, &record).await.map_err(state_error)?;
        if self.verify == Verify::Run {
            let (checkpoint, failure) = super::verify::checkpoint_phase(g, catalog, cluster, phase, &record).await;
            record.checkpoint = Some(checkpoint.clone());
            state::record(client, phase, &record).await.map_err(state_error)?;
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(PhaseOutcome {
            phase: phase.clone(),
            addons: rendered.planned.addons.clone(),
            objects: applied.len(),
            checkpoint: record.checkpoint,
        })
    }
}

/// Run each addon's setup (idempotent), in install order.
async fn run_setups(
    g: &Globals,
    catalog: &Catalog,
    cluster: &Cluster,
    planned: &plan::PlannedPhase,
    params: &BTreeMap<String, serde_json::Value>,
) -> Result<(), Error> {
    let phase = catalog.phase(&planned.phase).expect("planned phases are in the catalog");
    for name in &planned.addons {
        let addon = &catalog.addons[name];
        let Some(def) = &addon.setup else { continue };
        let step = g.progress.start(format!("setup {}/{name} ({})", planned.phase, def.kind()));
        let ctx = crate::setup::Context { client: &cluster.client, addon, phase, params };
        let done = tokio::time::timeout(g.timeout, crate::setup::run(&ctx))
            .await
            .unwrap_or_else(|_| Err(crate::setup::SetupError::Failed(format!("no result within --timeout {}s", g.timeout.as_secs()))))
            .map_err(|e| {
                Error::failure(format!("setup of {}/{name} failed", planned.phase))
                    .with_source(e)
                    .with_hint(format!("re-run `bigtop-k8s add-phase {}` once the cause is fixed (setup is idempotent)", planned.phase))
            })?;
        step.done(if done.is_empty() { "nothing to change".to_string() } else { done.join("; ") });
    }
    Ok(())
}

fn wait_error(phase: &str, e: WaitError) -> Error {
    let exit = if matches!(e, WaitError::Timeout { .. }) { Exit::Timeout } else { Exit::Failure };
    Error::new(exit, format!("phase {phase} did not become ready"))
        .with_source(e)
        .with_hint(format!("fix the cause above, then re-run `bigtop-k8s add-phase {phase}` (it converges), or raise --timeout"))
}

/// The parameters that shape a phase: its choice and its addons' parameters.
fn phase_params<'a>(resolved: &'a Resolved, addons: &[String], phase: &str) -> BTreeMap<&'a String, &'a serde_json::Value> {
    resolved.iter().filter(|(k, _)| k.starts_with(&format!("{phase}.")) || addons.iter().any(|a| k.starts_with(&format!("{a}.")))).collect()
}

/// Human summary of `add-phase`.
pub fn text(outcomes: &Vec<PhaseOutcome>) -> String {
    outcomes
        .iter()
        .map(|o| {
            let check = match &o.checkpoint {
                Some(c) if c.passed => format!("checkpoint passed {}", super::verify::evidence_line(&c.evidence)),
                Some(_) => "checkpoint FAILED".into(),
                None => "checkpoint not run".into(),
            };
            format!("{}: {} ({} objects) — {check}", o.phase, o.addons.join(", "), o.objects)
        })
        .collect::<Vec<_>>()
        .join("\n")
}
