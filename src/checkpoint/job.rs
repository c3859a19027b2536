//! The `script-job` checkpoint: the addon's run-time template renders a Job (given a fresh
//! name and the image to run); the Job's pod runs a script that ends with an evidence line,
//! `BIGTOP_CHECKPOINT {json}`, and exits non-zero when what it checked was wrong. The checkpoint
//! passes when the Job completed and the two fields `equal` names hold the same value. Also the
//! Job runner the base checkpoint uses.

use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

use super::{CheckpointError, Context, Evidence};
use crate::catalog::actions::ScriptJobCheck;

pub(super) async fn run(ctx: &Context<'_>, s: &ScriptJobCheck) -> Result<Evidence, CheckpointError> {
    if !ctx.addon.images.contains_key(&s.image) {
        return Err(CheckpointError::Setting(format!("image {}", s.image)));
    }
    let name = unique_name("bigtop-checkpoint");
    let vars = json!({"name": name, "image": s.image});
    let objects = crate::render::render_runtime(ctx.addon, &s.template, &vars)
        .map_err(|e| CheckpointError::Failed(format!("{e}: {}", crate::error::root_cause(&e))))?;
    let started = Instant::now();
    for obj in &objects {
        apply(ctx.client, obj).await?;
    }
    let ns = &ctx.addon.namespace;
    let (complete, logs) = finish(ctx.client, ns, &name, Duration::from_secs(s.timeout_seconds)).await?;
    if !complete {
        return Err(CheckpointError::Failed(format!(
            "Job {ns}/{name} failed (its pod is kept: `kubectl -n {ns} logs job/{name}`):\n{}",
            tail(&logs)
        )));
    }
    let reported = evidence_line(&logs)
        .ok_or_else(|| CheckpointError::Failed(format!("Job {ns}/{name} printed no BIGTOP_CHECKPOINT line:\n{}", tail(&logs))))?;
    check(&reported, &s.equal)?;
    let mut evidence: Evidence = reported.into_iter().collect();
    evidence.insert("jobSeconds".into(), json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0));
    Ok(evidence)
}

/// `prefix-<time>-<random>`: sortable by start, and two runs in the same second do not collide.
pub(crate) fn unique_name(prefix: &str) -> String {
    let time = crate::state::now().replace([':', 'T', 'Z', '-'], "").to_lowercase();
    format!("{prefix}-{time}-{}", crate::secrets::random(4, crate::catalog::Alphabet::Hex))
}

/// Apply one rendered object with server-side apply.
pub(super) async fn apply(client: &kube::Client, obj: &Value) -> Result<(), CheckpointError> {
    let gvk = crate::apply::gvk_of(obj).expect("rendered objects have apiVersion and kind");
    let (ar, caps) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| CheckpointError::Failed(format!("cannot discover {}: {}", gvk.kind, crate::error::error_text(&e))))?;
    crate::apply::apply_one(client, obj, ar, caps)
        .await
        .map_err(|(what, why)| CheckpointError::Failed(format!("cannot apply {what}: {why}")))?;
    Ok(())
}

/// Wait (at most `budget`) for Job `namespace/name` to complete or fail; whether it completed,
/// and the log of its pod that succeeded (or, on failure, of its last attempt) — never an
/// earlier failed retry's. Its pods carry `bigtop.apache.org/checkpoint=<name>`.
pub(super) async fn finish(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    budget: Duration,
) -> Result<(bool, String), CheckpointError> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let finished = |j: Option<&Job>| {
        j.and_then(|j| j.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True"))
    };
    let done = tokio::time::timeout(budget, await_condition(jobs, name, finished))
        .await
        .map_err(|_| {
            CheckpointError::Failed(format!(
                "Job {namespace}/{name} did not finish within {}s (`kubectl -n {namespace} describe job/{name}`, `kubectl -n {namespace} get pvc,pod`)",
                budget.as_secs()
            ))
        })?
        .map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let complete = done
        .and_then(|j| j.status)
        .and_then(|s| s.conditions)
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Complete" && c.status == "True"));
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let listed = pods.list(&ListParams::default().labels(&format!("bigtop.apache.org/checkpoint={name}"))).await;
    let mut attempts =
        listed.map_err(|e| CheckpointError::Failed(format!("cannot list checkpoint pods: {}", crate::error::error_text(&e))))?.items;
    attempts.sort_by_key(|p| {
        let succeeded = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded");
        (succeeded, p.metadata.creation_timestamp.clone())
    });
    let logs = match attempts.pop().and_then(|p| p.metadata.name) {
        Some(p) => pods
            .logs(&p, &LogParams::default())
            .await
            .map_err(|e| CheckpointError::Failed(format!("cannot read checkpoint logs: {}", crate::error::error_text(&e))))?,
        None => String::new(),
    };
    Ok((complete, logs.trim().to_string()))
}

/// The JSON object after `BIGTOP_CHECKPOINT ` on the last line that has one.
fn evidence_line(logs: &str) -> Option<serde_json::Map<String, Value>> {
    logs.lines().rev().find_map(|l| l.strip_prefix("BIGTOP_CHECKPOINT ")).and_then(|j| serde_json::from_str(j).ok())
}

/// The two fields `equal` names are present and equal.
fn check(reported: &serde_json::Map<String, Value>, equal: &[String; 2]) -> Result<(), CheckpointError> {
    let [a, b] = equal;
    match (reported.get(a), reported.get(b)) {
        (Some(x), Some(y)) if x == y => Ok(()),
        (Some(x), Some(y)) => Err(CheckpointError::Failed(format!("{a} is {x} but {b} is {y}"))),
        _ => Err(CheckpointError::Failed(format!("the evidence line lacks {a} or {b}: {}", Value::Object(reported.clone())))),
    }
}

/// The last 20 lines of a log, for an error.
fn tail(logs: &str) -> String {
    let lines: Vec<&str> = logs.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn equal() -> [String; 2] {
        ["sent".into(), "received".into()]
    }

    #[test]
    fn names_are_valid_and_unique() {
        let (a, b) = (unique_name("bigtop-checkpoint"), unique_name("bigtop-checkpoint"));
        assert_ne!(a, b);
        assert!(a.len() <= 63 && a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{a}");
    }

    #[test]
    fn the_last_evidence_line_decides() {
        let logs = "noise\nBIGTOP_CHECKPOINT {\"sent\": \"a\", \"received\": \"b\"}\nBIGTOP_CHECKPOINT {\"sent\": \"c\", \"received\": \"c\", \"records\": 1000}";
        let ev = evidence_line(logs).unwrap();
        assert_eq!(ev["records"], 1000);
        assert!(check(&ev, &equal()).is_ok());
        assert!(evidence_line("BIGTOP_CHECKPOINT not json").is_none());
        assert!(evidence_line("").is_none());
    }

    #[test]
    fn unequal_or_missing_fields_fail_naming_them() {
        let ev = evidence_line("BIGTOP_CHECKPOINT {\"sent\": \"a\", \"received\": \"b\"}").unwrap();
        assert!(check(&ev, &equal()).unwrap_err().to_string().contains("sent is \"a\" but received is \"b\""));
        let ev = evidence_line("BIGTOP_CHECKPOINT {\"sent\": \"a\"}").unwrap();
        assert!(check(&ev, &equal()).unwrap_err().to_string().contains("lacks sent or received"));
    }

    #[test]
    fn the_kafka_checkpoint_job_renders_restricted_and_labelled_as_a_client() {
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        let addon = &catalog.addons["kafka"];
        let objects =
            crate::render::render_runtime(addon, "checkpoint.yaml", &json!({"name": "bigtop-checkpoint-1", "image": "server"})).unwrap();
        assert_eq!(objects.len(), 1);
        let pod = &objects[0]["spec"]["template"];
        assert_eq!(pod["metadata"]["labels"]["bigtop.apache.org/kafka-client"], "true");
        assert_eq!(pod["metadata"]["labels"]["bigtop.apache.org/checkpoint"], "bigtop-checkpoint-1");
        assert_eq!(pod["spec"]["containers"][0]["image"], addon.images["server"]);
        assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
        assert_eq!(objects[0]["metadata"]["labels"]["bigtop.apache.org/phase"], "streaming");
    }
}
