//! `add-phase`: plan → render → apply → wait → setup → record → checkpoint, phase by phase
//! (`crate::pipeline`).

use super::{Globals, SpecArgs};
use crate::error::Error;
use crate::pipeline::{self, Loaded, OnCheckpointFailure, Request, install_steps};
pub use crate::pipeline::{Mode, PhaseOutcome, Verify};
use crate::plan::MissingDeps;

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

/// Run `add-phase`.
pub async fn run(g: &Globals, args: &AddArgs) -> Result<Vec<PhaseOutcome>, Error> {
    let loaded = Loaded::read(g, &args.spec)?;
    let request = Request { phases: args.phases.clone(), missing: args.missing };
    let requested = request.named(&loaded)?;
    let mut ctx = loaded.connect(g).await?;
    let planned = pipeline::plan(&mut ctx, &requested, args.missing).await?;
    pipeline::run(&ctx, install_steps(&planned, args.mode, args.verify), OnCheckpointFailure::Stop).await
}

/// Human summary of `add-phase`.
pub fn text(outcomes: &Vec<PhaseOutcome>) -> String {
    outcomes
        .iter()
        .map(|o| {
            let check = match &o.checkpoint {
                Some(c) if c.passed => format!("checkpoint passed {}", pipeline::evidence_line(&c.evidence)),
                Some(_) => "checkpoint FAILED".into(),
                None => "checkpoint not run".into(),
            };
            format!("{}: {} ({} objects) — {check}", o.phase, o.addons.join(", "), o.objects)
        })
        .collect::<Vec<_>>()
        .join("\n")
}
