//! The `storage-and-policy` checkpoint of the base phase, run as pods in the cluster:
//! every node Ready; a PVC on the default StorageClass binds, one Job writes random bytes and
//! prints their sha256, a second Job reads the same sha256; a pod answers HTTP, a default-deny
//! NetworkPolicy blocks it, and removing the policy restores it.
//!
//! Settings: `image` (an image key of the addon with sh, sha256sum, head, timeout, wget and httpd).

use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolumeClaim, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, ListParams, LogParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

use super::{CheckpointError, Context, Evidence};
use crate::catalog::actions::StorageCheck;

const NAMESPACE: &str = "bigtop-checkpoint";
const STEP_TIMEOUT: Duration = Duration::from_secs(180);
const BYTES: u64 = 1 << 20;
const DENY_ATTEMPTS: u32 = 3;

pub(super) async fn run(ctx: &Context<'_>, s: &StorageCheck) -> Result<Evidence, CheckpointError> {
    let key = &s.image;
    let image = ctx.addon.images.get(key).ok_or_else(|| CheckpointError::Setting(format!("image {key}")))?.clone();
    let c = ctx.client;
    let mut evidence = Evidence::new();
    evidence.insert("nodesReady".into(), json!(nodes_ready(c).await?));
    // A failed run leaves its namespace for inspection; its Jobs carry the names this run uses,
    // so starting anywhere but from nothing would read the old run's results back.
    remove_namespace(c).await?;
    apply(c, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": namespace_labels()}})).await?;
    let started = Instant::now();
    let (written, read) = storage_round_trip(c, &image).await?;
    if written != read {
        return Err(CheckpointError::Failed(format!("the volume returned sha256 {read}, the writer wrote {written}")));
    }
    evidence.insert("volumeSha256".into(), json!(written));
    evidence.insert("volumeBytes".into(), json!(BYTES));
    evidence.insert("volumeMs".into(), json!(started.elapsed().as_millis() as u64));
    let started = Instant::now();
    network_policy_round_trip(c, &image).await?;
    evidence.insert("policy".into(), json!("open, blocked by default-deny, open again"));
    evidence.insert("policyMs".into(), json!(started.elapsed().as_millis() as u64));
    let _ = Api::<Namespace>::all(c.clone()).delete(NAMESPACE, &DeleteParams::background()).await;
    Ok(evidence)
}

/// Delete the checkpoint namespace and wait until it is gone.
async fn remove_namespace(c: &kube::Client) -> Result<(), CheckpointError> {
    let namespaces: Api<Namespace> = Api::all(c.clone());
    match namespaces.delete(NAMESPACE, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
        Err(e) => return Err(api("delete the previous checkpoint namespace")(e)),
    }
    let gone = await_condition(namespaces, NAMESPACE, |o: Option<&Namespace>| o.is_none());
    tokio::time::timeout(STEP_TIMEOUT, gone)
        .await
        .map_err(|_| {
            CheckpointError::Failed(format!(
                "namespace {NAMESPACE} of an earlier run was not gone after {}s (`kubectl get all -n {NAMESPACE}`)",
                STEP_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| CheckpointError::Failed(e.to_string()))?;
    Ok(())
}

fn labels() -> Value {
    json!({"app.kubernetes.io/managed-by": "bigtop-k8s", "bigtop.apache.org/phase": "base"})
}

/// The checkpoint namespace's labels: its own, plus Pod Security `restricted` enforced.
fn namespace_labels() -> Value {
    let mut l = labels();
    l["pod-security.kubernetes.io/enforce"] = json!("restricted");
    l
}

async fn nodes_ready(c: &kube::Client) -> Result<usize, CheckpointError> {
    let nodes = Api::<Node>::all(c.clone()).list(&ListParams::default()).await.map_err(api("list nodes"))?.items;
    for n in &nodes {
        let ready = n.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
        if ready.is_none_or(|r| r.status != "True") {
            let why = ready.and_then(|r| r.message.clone()).unwrap_or_else(|| "no Ready condition".into());
            return Err(CheckpointError::Failed(format!("node {} is not Ready: {why}", n.metadata.name.clone().unwrap_or_default())));
        }
    }
    Ok(nodes.len())
}

async fn storage_round_trip(c: &kube::Client, image: &str) -> Result<(String, String), CheckpointError> {
    apply(c, json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": NAMESPACE, "labels": labels()},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}}})).await?;
    let write = format!("head -c {BYTES} /dev/urandom > /data/blob && sha256sum /data/blob");
    let written = job_output(c, "writer", image, &write, true).await?;
    let read = job_output(c, "reader", image, "sha256sum /data/blob", true).await?;
    let pvc = Api::<PersistentVolumeClaim>::namespaced(c.clone(), NAMESPACE).get("data").await.map_err(api("read the PVC"))?;
    if pvc.status.and_then(|s| s.phase).as_deref() != Some("Bound") {
        return Err(CheckpointError::Failed("PVC data on the default StorageClass is not Bound".into()));
    }
    let hash = |s: String| s.split_whitespace().next().unwrap_or_default().to_string();
    Ok((hash(written), hash(read)))
}

async fn network_policy_round_trip(c: &kube::Client, image: &str) -> Result<(), CheckpointError> {
    let mut web =
        pod_spec(image, "echo ok > /www/index.html && httpd -f -p 8080 -h /www", ("www", json!({"emptyDir": {"sizeLimit": "1Mi"}})));
    web["containers"][0]["ports"] = json!([{"containerPort": 8080}]);
    apply(c, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": NAMESPACE, "labels": {"app": "web"}}, "spec": web}))
        .await?;
    let pods: Api<Pod> = Api::namespaced(c.clone(), NAMESPACE);
    let running = await_condition(pods.clone(), "web", kube::runtime::conditions::is_pod_running());
    tokio::time::timeout(STEP_TIMEOUT, running)
        .await
        .map_err(|_| CheckpointError::Failed("pod web did not start".into()))?
        .map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let ip = pods
        .get("web")
        .await
        .map_err(api("read pod web"))?
        .status
        .and_then(|s| s.pod_ip)
        .ok_or_else(|| CheckpointError::Failed("pod web has no IP".into()))?;
    // `timeout`, not wget -T: the same bound on every busybox (-T crashes some 1.35 builds).
    let fetch = format!("timeout 5 wget -q -O - http://{ip}:8080/");
    job_output(c, "client-open", image, &fetch, true)
        .await
        .map_err(|e| CheckpointError::Failed(format!("pod-to-pod traffic fails without any policy: {e}")))?;
    apply(
        c,
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny-all", "namespace": NAMESPACE},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
    )
    .await?;
    // A CNI programs a new policy a moment after it exists: one request that got through proves
    // nothing yet, every one of several does.
    let mut blocked = false;
    for attempt in 1..=DENY_ATTEMPTS {
        if job_output(c, &format!("client-denied-{attempt}"), image, &fetch, false).await.is_err() {
            blocked = true;
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    if !blocked {
        return Err(CheckpointError::Failed(format!(
            "a default-deny NetworkPolicy did not block pod-to-pod traffic ({DENY_ATTEMPTS} tries): the CNI does not enforce policies"
        )));
    }
    Api::<NetworkPolicy>::namespaced(c.clone(), NAMESPACE)
        .delete("deny-all", &DeleteParams::default())
        .await
        .map_err(api("delete the policy"))?;
    job_output(c, "client-restored", image, &fetch, true)
        .await
        .map_err(|e| CheckpointError::Failed(format!("traffic did not come back after removing the policy: {e}")))?;
    Ok(())
}

/// A pod that meets Pod Security `restricted` (the namespace enforces it): `script` under `sh -c`
/// as nobody, read-only root, one volume mounted at `/<name>`. It stops at once when deleted
/// (busybox as PID 1 ignores SIGTERM, which would cost the full grace period).
fn pod_spec(image: &str, script: &str, (volume, source): (&str, Value)) -> Value {
    let mut volume_def = json!({"name": volume});
    volume_def.as_object_mut().expect("an object").extend(source.as_object().expect("an object").clone());
    json!({"terminationGracePeriodSeconds": 0, "automountServiceAccountToken": false,
        "securityContext": {"runAsNonRoot": true, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "run", "image": image, "command": ["sh", "-c", script],
            "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": volume, "mountPath": format!("/{volume}")}],
            "resources": {"requests": {"memory": "16Mi", "cpu": "10m"}, "limits": {"memory": "32Mi"}}}],
        "volumes": [volume_def]})
}

/// Run `script` in a Job mounting the PVC; its output when it succeeds. With `expect_success`
/// false a failure is the normal outcome (the Job gets no retries).
async fn job_output(c: &kube::Client, name: &str, image: &str, script: &str, expect_success: bool) -> Result<String, CheckpointError> {
    let volume = match name.starts_with("client") {
        true => ("scratch", json!({"emptyDir": {"sizeLimit": "1Mi"}})),
        false => ("data", json!({"persistentVolumeClaim": {"claimName": "data"}})),
    };
    let mut pod = pod_spec(image, script, volume);
    pod["restartPolicy"] = json!("Never");
    let backoff = if expect_success { 2 } else { 0 };
    apply(
        c,
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels()},
        "spec": {"backoffLimit": backoff, "template": {"metadata": {"labels": {"bigtop.apache.org/checkpoint": name}}, "spec": pod}}}),
    )
    .await?;
    let jobs: Api<Job> = Api::namespaced(c.clone(), NAMESPACE);
    let finished = |j: Option<&Job>| {
        j.and_then(|j| j.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True"))
    };
    let done = tokio::time::timeout(STEP_TIMEOUT, await_condition(jobs.clone(), name, finished))
        .await
        .map_err(|_| {
            CheckpointError::Failed(format!(
                "Job {NAMESPACE}/{name} did not finish within {}s (is the PVC Pending? `kubectl -n {NAMESPACE} describe pvc,pod`)",
                STEP_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let complete = done
        .and_then(|j| j.status)
        .and_then(|s| s.conditions)
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Complete" && c.status == "True"));
    let pods: Api<Pod> = Api::namespaced(c.clone(), NAMESPACE);
    let mut attempts = pods
        .list(&ListParams::default().labels(&format!("bigtop.apache.org/checkpoint={name}")))
        .await
        .map_err(api("list checkpoint pods"))?
        .items;
    // The evidence is the output of the attempt that succeeded (or, on failure, the last one),
    // never an earlier failed retry's.
    attempts.sort_by_key(|p| {
        let succeeded = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded");
        (succeeded, p.metadata.creation_timestamp.clone())
    });
    let logs = match attempts.pop().and_then(|p| p.metadata.name) {
        Some(p) => pods.logs(&p, &LogParams::default()).await.map_err(api("read checkpoint logs"))?,
        None => String::new(),
    };
    if complete { Ok(logs.trim().to_string()) } else { Err(CheckpointError::Failed(format!("Job {name} failed: {}", logs.trim()))) }
}

async fn apply(c: &kube::Client, obj: Value) -> Result<(), CheckpointError> {
    let gvk = crate::apply::gvk_of(&obj).expect("objects built here have apiVersion and kind");
    let (ar, caps) = kube::discovery::pinned_kind(c, &gvk).await.map_err(api("discover"))?;
    crate::apply::apply_one(c, &obj, ar, caps)
        .await
        .map_err(|(what, why)| CheckpointError::Failed(format!("cannot apply {what}: {why}")))?;
    Ok(())
}

fn api(action: &str) -> impl Fn(kube::Error) -> CheckpointError + '_ {
    move |e| CheckpointError::Failed(format!("cannot {action}: {}", crate::error::error_text(&e)))
}
