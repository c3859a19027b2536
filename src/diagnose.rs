//! Diagnose: explain why an object is not ready — its pods, their conditions, container
//! states, recent events and last log lines — in plain text for error messages.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Client;
use kube::api::{Api, ListParams, LogParams};
use serde_json::Value;

use crate::apply::Applied;

const LOG_LINES: i64 = 10;
const LOG_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_PODS: usize = 3;

/// A multi-line explanation of `applied`, which is not ready because of `why`.
pub async fn explain(client: &Client, applied: &Applied, why: &str) -> String {
    let mut out = format!("  {} is not ready: {why}", applied.describe());
    let ns = applied.object.metadata.namespace.clone().unwrap_or_default();
    let name = applied.object.metadata.name.clone().unwrap_or_default();
    for line in events(client, &ns, &applied.resource.kind, &name).await {
        out.push_str(&format!("\n    event: {line}"));
    }
    let Some(selector) = selector(&applied.object.data) else { return out };
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let listed = pods.list(&ListParams::default().labels(&selector)).await;
    let pods_found = match listed {
        Ok(list) => list.items,
        Err(e) => {
            out.push_str(&format!("\n    cannot list pods ({selector}): {e}"));
            return out;
        }
    };
    if pods_found.is_empty() {
        out.push_str(&format!("\n    no pods match {selector}"));
    }
    // Pods that are not running explain the most; show them first.
    let mut pods_found = pods_found;
    pods_found.sort_by_key(|p| p.status.as_ref().and_then(|s| s.phase.clone()).as_deref() == Some("Running"));
    for pod in pods_found.iter().take(MAX_PODS) {
        out.push_str(&describe_pod(client, pod).await);
    }
    out
}

/// A container of `applied`'s pods that keeps dying — OOMKilled or in CrashLoopBackOff after
/// `restarts` restarts — as "pod p: container c restarted n times (reason)"; such a pod will not
/// become ready by waiting longer.
pub async fn crash_looping(client: &Client, applied: &Applied, restarts: i32) -> Option<String> {
    let selector = selector(&applied.object.data)?;
    let ns = applied.object.metadata.namespace.clone().unwrap_or_default();
    let pods = Api::<Pod>::namespaced(client.clone(), &ns).list(&ListParams::default().labels(&selector)).await.ok()?;
    pods.items.iter().find_map(|pod| {
        let statuses = pod.status.as_ref()?;
        let all = statuses.init_container_statuses.iter().flatten().chain(statuses.container_statuses.iter().flatten());
        all.filter(|cs| cs.restart_count >= restarts).find_map(|cs| {
            let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()).and_then(|t| t.reason.clone()).unwrap_or_default();
            let waiting = cs.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.clone()).unwrap_or_default();
            (last == "OOMKilled" || waiting == "CrashLoopBackOff").then(|| {
                let pod_name = pod.metadata.name.clone().unwrap_or_default();
                let last = if last.is_empty() { "error" } else { &last };
                format!("pod {pod_name}: container {} restarted {} times (last exit: {last})", cs.name, cs.restart_count)
            })
        })
    })
}

/// `k=v,k=v` from `spec.selector.matchLabels`.
fn selector(data: &Value) -> Option<String> {
    let labels = data.pointer("/spec/selector/matchLabels")?.as_object()?;
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

async fn describe_pod(client: &Client, pod: &Pod) -> String {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let mut out = format!("\n    pod {name}: phase {}", status.phase.unwrap_or_else(|| "Unknown".into()));
    for c in status.conditions.unwrap_or_default().iter().filter(|c| c.status != "True") {
        let reason = c.reason.clone().unwrap_or_default();
        let message = c.message.clone().unwrap_or_default();
        out.push_str(&format!("\n      {}=False {reason}: {message}", c.type_));
    }
    for cs in status.container_statuses.clone().unwrap_or_default() {
        out.push_str(&format!("\n      container {}: {}", cs.name, container_state(&cs.state),));
        if cs.restart_count > 0 {
            out.push_str(&format!(" (restarted {} times)", cs.restart_count));
        }
    }
    for line in events(client, &ns, "Pod", &name).await {
        out.push_str(&format!("\n      event: {line}"));
    }
    out.push_str(&logs(client, &ns, &name, false).await);
    // A container that restarted has fresh, often empty logs; the dead one's say why it died.
    if status.container_statuses.iter().flatten().any(|cs| cs.restart_count > 0) {
        out.push_str(&logs(client, &ns, &name, true).await.replace("\n      log", "\n      previous log"));
    }
    out
}

fn container_state(state: &Option<k8s_openapi::api::core::v1::ContainerState>) -> String {
    let Some(state) = state else { return "no state reported".into() };
    if let Some(w) = &state.waiting {
        return format!("waiting {} {}", w.reason.clone().unwrap_or_default(), w.message.clone().unwrap_or_default())
            .trim_end()
            .to_string();
    }
    if let Some(t) = &state.terminated {
        return format!("terminated exit code {} {}", t.exit_code, t.reason.clone().unwrap_or_default()).trim_end().to_string();
    }
    "running".into()
}

async fn events(client: &Client, ns: &str, kind: &str, name: &str) -> Vec<String> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let fields = format!("involvedObject.kind={kind},involvedObject.name={name}");
    let Ok(list) = api.list(&ListParams::default().fields(&fields)).await else { return Vec::new() };
    let mut items = list.items;
    items.sort_by_key(|e| e.last_timestamp.clone().map(|t| t.0));
    items
        .iter()
        .rev()
        .take(5)
        .map(|e| {
            let reason = e.reason.clone().unwrap_or_default();
            let message = e.message.clone().unwrap_or_default();
            format!("{} {reason}: {}", e.type_.clone().unwrap_or_default(), message.trim())
        })
        .collect()
}

async fn logs(client: &Client, ns: &str, name: &str, previous: bool) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let params = LogParams { tail_lines: Some(LOG_LINES), previous, ..Default::default() };
    match tokio::time::timeout(LOG_TIMEOUT, pods.logs(name, &params)).await {
        Ok(Ok(text)) if text.trim().is_empty() => "\n      logs: (empty)".into(),
        Ok(Ok(text)) => text.lines().map(|l| format!("\n      log: {l}")).collect(),
        Ok(Err(e)) => format!("\n      logs unavailable: {}", crate::error::error_text(&e)),
        Err(_) => format!("\n      logs unavailable: no answer within {}s", LOG_TIMEOUT.as_secs()),
    }
}
