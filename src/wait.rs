//! Wait: watch every applied workload until it is ready, all at once, under one caller-owned
//! deadline. On timeout or failure the error explains each object that is not ready
//! (see `diagnose`); "timed out" alone is a bug.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::try_join_all;
use kube::Client;
use kube::api::DynamicObject;
use kube::runtime::wait::await_condition;
use serde_json::Value;

use crate::apply::Applied;
use crate::diagnose::{crash_looping, explain};

/// Where an object stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Readiness {
    /// Nothing to wait for (ConfigMaps, Services, …).
    NotApplicable,
    /// Ready.
    Ready,
    /// Not yet; the text says what is missing.
    Pending(String),
    /// Will never be ready (a failed Job).
    Failed(String),
}

/// Why waiting ended without every object ready.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The deadline passed.
    #[error("not ready after {}s:\n{report}", .after.as_secs())]
    Timeout {
        /// The budget that ran out.
        after: Duration,
        /// One explanation per object that is not ready.
        report: String,
    },
    /// An object reached a terminal failure.
    #[error("{report}")]
    Failed {
        /// The explanation.
        report: String,
    },
    /// The watch itself failed.
    #[error("watching {object} failed")]
    Watch {
        /// The object.
        object: String,
        /// The cause.
        #[source]
        source: kube::runtime::wait::Error,
    },
}

/// Whether a node reports Ready=True.
pub fn node_ready(node: &k8s_openapi::api::core::v1::Node) -> bool {
    node.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Readiness of an object from its kind and status.
pub fn readiness(obj: &DynamicObject, kind: &str, ready_condition_kinds: &[String]) -> Readiness {
    let data = &obj.data;
    let status = |p: &str| data.pointer(&format!("/status/{p}")).and_then(Value::as_i64).unwrap_or(0);
    let generation = obj.metadata.generation.unwrap_or(0);
    let observed = status("observedGeneration") >= generation;
    let replicas = data.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let pending = |what: String| Readiness::Pending(if observed { what } else { "controller has not observed the latest spec".into() });
    match kind {
        // As `kubectl rollout status`: every replica updated, no old ones left, all available.
        "Deployment" => {
            let (updated, total, available) = (status("updatedReplicas"), status("replicas"), status("availableReplicas"));
            if observed && updated >= replicas && total <= updated && available >= replicas {
                Readiness::Ready
            } else {
                pending(format!("{updated}/{replicas} replicas updated, {available} available, {} old", (total - updated).max(0)))
            }
        }
        "StatefulSet" => {
            let (ready, updated) = (status("readyReplicas"), status("updatedReplicas"));
            if observed && ready >= replicas && updated >= replicas {
                Readiness::Ready
            } else {
                pending(format!("{ready}/{replicas} replicas ready, {updated} updated"))
            }
        }
        "DaemonSet" => {
            let (desired, ready, updated) = (status("desiredNumberScheduled"), status("numberReady"), status("updatedNumberScheduled"));
            if observed && ready >= desired && updated >= desired {
                Readiness::Ready
            } else {
                pending(format!("{ready}/{desired} pods ready"))
            }
        }
        "Job" => match (condition(obj, "Complete"), condition(obj, "Failed")) {
            (Some(true), _) => Readiness::Ready,
            (_, Some(true)) => Readiness::Failed(condition_message(obj, "Failed")),
            _ => Readiness::Pending(format!("{} succeeded, {} active", status("succeeded"), status("active"))),
        },
        k if ready_condition_kinds.iter().any(|r| r == k) => match condition(obj, "Ready") {
            Some(true) => Readiness::Ready,
            _ => Readiness::Pending(format!("condition Ready is not True: {}", condition_message(obj, "Ready"))),
        },
        _ => Readiness::NotApplicable,
    }
}

fn condition(obj: &DynamicObject, kind: &str) -> Option<bool> {
    find_condition(obj, kind).and_then(|c| c.get("status")).and_then(Value::as_str).map(|s| s == "True")
}

fn find_condition<'a>(obj: &'a DynamicObject, kind: &str) -> Option<&'a Value> {
    obj.data.pointer("/status/conditions")?.as_array()?.iter().find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

fn condition_message(obj: &DynamicObject, kind: &str) -> String {
    let Some(c) = find_condition(obj, kind) else { return "no such condition yet".into() };
    let field = |f: &str| c.get(f).and_then(Value::as_str).unwrap_or("").to_string();
    format!("{} {}", field("reason"), field("message")).trim().to_string()
}

/// Restarts after which a container that is OOMKilled or crash-looping is taken as failed: by
/// then the kubelet's back-off has spent about a minute on it.
const CRASH_RESTARTS: i32 = 3;
const CRASH_POLL: Duration = Duration::from_secs(2);

/// Resolves (with the reason) only once a pod of `applied` keeps dying; pends otherwise.
async fn crash_loop(client: &Client, applied: &Applied) -> String {
    loop {
        if let Some(why) = crash_looping(client, applied, CRASH_RESTARTS).await {
            return why;
        }
        tokio::time::sleep(CRASH_POLL).await;
    }
}

/// Wait until every applied object that has a notion of readiness is ready.
///
/// # Errors
/// A timeout, a failed Job or a pod that keeps dying, each explained object by object.
pub async fn wait_ready(client: &Client, applied: &[Applied], ready_condition_kinds: &[String], budget: Duration) -> Result<(), WaitError> {
    let waitable: Vec<&Applied> =
        applied.iter().filter(|a| readiness(&a.object, &a.resource.kind, ready_condition_kinds) != Readiness::NotApplicable).collect();
    let pending: Arc<Mutex<BTreeSet<usize>>> = Arc::new(Mutex::new((0..waitable.len()).collect()));
    let waits = waitable.iter().enumerate().map(|(i, a)| {
        let pending = pending.clone();
        async move {
            let kind = a.resource.kind.clone();
            let kinds = ready_condition_kinds.to_vec();
            let done = move |o: Option<&DynamicObject>| o.is_some_and(|o| !matches!(readiness(o, &kind, &kinds), Readiness::Pending(_)));
            let name = a.object.metadata.name.clone().unwrap_or_default();
            let ready = await_condition(a.api(client), &name, done);
            let last = tokio::select! {
                last = ready => last.map_err(|source| WaitError::Watch { object: a.describe(), source })?,
                why = crash_loop(client, a) => return Err(WaitError::Failed { report: explain(client, a, &why).await }),
            };
            if let Some(obj) = last
                && let Readiness::Failed(why) = readiness(&obj, &a.resource.kind, ready_condition_kinds)
            {
                let report = explain(client, a, &format!("failed: {why}")).await;
                return Err(WaitError::Failed { report });
            }
            pending.lock().expect("no panics while holding the lock").remove(&i);
            Ok(())
        }
    });
    match tokio::time::timeout(budget, try_join_all(waits)).await {
        Ok(result) => result.map(|_| ()),
        Err(_) => {
            let left: Vec<usize> = pending.lock().expect("no panics while holding the lock").iter().copied().collect();
            let mut report = Vec::new();
            for i in left {
                let a = waitable[i];
                let now = a.api(client).get_opt(&a.object.metadata.name.clone().unwrap_or_default()).await.ok().flatten();
                let why = match now.as_ref().map(|o| readiness(o, &a.resource.kind, ready_condition_kinds)) {
                    Some(Readiness::Pending(w)) => w,
                    Some(other) => format!("{other:?}"),
                    None => "object no longer exists".into(),
                };
                report.push(explain(client, a, &why).await);
            }
            Err(WaitError::Timeout { after: budget, report: report.join("\n") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> DynamicObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn deployment_needs_observed_generation_and_available_replicas() {
        let base = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "generation": 2},
            "spec": {"replicas": 2}, "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}});
        assert_eq!(readiness(&obj(base.clone()), "Deployment", &[]), Readiness::Pending("2/2 replicas updated, 2 available, 1 old".into()));
        let mut ready = base.clone();
        ready["status"]["replicas"] = json!(2);
        assert_eq!(readiness(&obj(ready.clone()), "Deployment", &[]), Readiness::Ready);
        ready["status"]["observedGeneration"] = json!(1);
        assert!(matches!(readiness(&obj(ready), "Deployment", &[]), Readiness::Pending(_)));
    }

    #[test]
    fn jobs_and_ready_conditions() {
        let failed = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
        assert_eq!(
            readiness(&obj(failed), "Job", &[]),
            Readiness::Failed("BackoffLimitExceeded Job has reached the specified backoff limit".into())
        );
        let cr = json!({"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "t"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(readiness(&obj(cr.clone()), "Thing", &["Thing".into()]), Readiness::Ready);
        assert_eq!(readiness(&obj(cr), "Thing", &[]), Readiness::NotApplicable);
    }
}
