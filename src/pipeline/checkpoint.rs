//! The checkpoint step: run every checkpoint of a phase's addons, record the evidence (passed or
//! not) in the phase's state, and fail with exit 4 when one fails.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Run;
use super::context::{Context, state_error};
use crate::checkpoint;
use crate::error::{Error, Exit};
use crate::state::{self, CheckpointRecord, PhaseRecord};

/// Check `phase`: installed in this run, or as recorded when the command started.
pub(super) async fn step(ctx: &Context<'_>, run: &mut Run, phase: &str) -> Result<(), Error> {
    let p = run.phase(phase);
    let mut record = match p.record.take().or_else(|| ctx.state.get(phase).cloned()) {
        Some(r) => r,
        None => {
            return Err(Error::prerequisite(format!("phase {phase} is not installed")).with_hint(format!("bigtop-k8s add-phase {phase}")));
        }
    };
    let (checkpoint, failure) = check(ctx, phase, &record).await;
    record.checkpoint = Some(checkpoint);
    let stored = state::record(&ctx.cluster.client, phase, &record).await.map_err(state_error);
    p.record = Some(record);
    stored?;
    failure.map_or(Ok(()), Err)
}

/// Run every checkpoint of the phase's addons. Returns the record to store and, on failure, the
/// error to report.
async fn check(ctx: &Context<'_>, phase: &str, record: &PhaseRecord) -> (CheckpointRecord, Option<Error>) {
    let g = ctx.globals;
    let mut evidence = BTreeMap::new();
    for name in record.addons.keys() {
        let Some(addon) = ctx.catalog.addons.get(name) else { continue };
        let Some(def) = &addon.checkpoint else { continue };
        let step = g.progress.start(format!("checkpoint {phase}/{name} ({})", def.kind()));
        let Some(def) = ctx.catalog.phase(phase) else { continue };
        let cctx = checkpoint::Context {
            client: &ctx.cluster.client,
            catalog: &ctx.catalog,
            addon,
            phase: def,
            params: &record.parameters,
            contracts: &ctx.contracts,
        };
        let outcome = tokio::time::timeout(g.timeout, checkpoint::run(&cctx))
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
