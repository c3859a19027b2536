//! `verify`: re-run the checkpoints of installed phases and record the evidence.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::{Globals, state_error};
use crate::catalog::Catalog;
use crate::checkpoint::{self, Context};
use crate::cluster::{Cluster, connect};
use crate::error::{Error, Exit};
use crate::state::{self, CheckpointRecord, PhaseRecord};

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
    let catalog = g.catalog()?;
    crate::plan::check_names(&catalog, phases).map_err(super::add::plan_error)?;
    let cluster = connect(&g.target).await?;
    let mut state = state::load(&cluster.client).await.map_err(state_error)?;
    let targets: Vec<String> = if phases.is_empty() { state.keys().cloned().collect() } else { phases.to_vec() };
    if targets.is_empty() {
        return Err(Error::prerequisite("no phase is installed").with_hint("install one with `bigtop-k8s add-phase <phase>`"));
    }
    let mut results = Vec::new();
    let mut first_failure = None;
    for phase in targets {
        let Some(record) = state.get_mut(&phase) else {
            return Err(Error::prerequisite(format!("phase {phase} is not installed")).with_hint(format!("bigtop-k8s add-phase {phase}")));
        };
        let (checkpoint, failure) = checkpoint_phase(g, &catalog, &cluster, &phase, record).await;
        record.checkpoint = Some(checkpoint.clone());
        state::record(&cluster.client, &phase, record).await.map_err(state_error)?;
        first_failure = first_failure.or(failure);
        results.push(Verified { phase, checkpoint });
    }
    match first_failure {
        Some(e) => Err(e),
        None => Ok(results),
    }
}

/// Run every checkpoint of a phase's addons. Returns the record to store and, on failure, the
/// error to report (exit code 4).
pub async fn checkpoint_phase(
    g: &Globals,
    catalog: &Catalog,
    cluster: &Cluster,
    phase: &str,
    record: &PhaseRecord,
) -> (CheckpointRecord, Option<Error>) {
    let mut evidence = BTreeMap::new();
    for name in record.addons.keys() {
        let Some(addon) = catalog.addons.get(name) else { continue };
        let Some(def) = &addon.checkpoint else { continue };
        let step = g.progress.start(format!("checkpoint {phase}/{name} ({})", def.kind()));
        let ctx = Context { client: &cluster.client, addon, params: &record.parameters };
        let outcome = tokio::time::timeout(g.timeout, checkpoint::run(&ctx))
            .await
            .unwrap_or_else(|_| Err(checkpoint::CheckpointError::Failed(format!("no result within --timeout {}s", g.timeout.as_secs()))));
        match outcome {
            Ok(found) => {
                step.done(evidence_line(&found));
                evidence.insert(name.clone(), json!(found));
            }
            Err(e) => {
                drop(step);
                let detail = crate::error::root_cause(&e);
                let message = if detail == e.to_string() { detail.clone() } else { format!("{e}: {detail}") };
                evidence.insert(name.clone(), json!({"error": message}));
                let record = CheckpointRecord { passed: false, at: state::now(), evidence };
                let err = Error::new(Exit::Checkpoint, format!("checkpoint of {phase} ({name}) failed"))
                    .with_source(e)
                    .with_hint(format!("`bigtop-k8s status` shows the phase; re-run `bigtop-k8s verify {phase}` after fixing"));
                return (record, Some(err));
            }
        }
    }
    (CheckpointRecord { passed: true, at: state::now(), evidence }, None)
}

/// Evidence as `k=v` pairs on one line.
pub fn evidence_line(evidence: &BTreeMap<String, Value>) -> String {
    evidence
        .iter()
        .map(|(k, v)| match v {
            Value::Object(inner) => format!("{k}: {}", evidence_line(&inner.clone().into_iter().collect())),
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Human summary of `verify`.
pub fn text(results: &Vec<Verified>) -> String {
    results.iter().map(|r| format!("{}: passed {}", r.phase, evidence_line(&r.checkpoint.evidence))).collect::<Vec<_>>().join("\n")
}
