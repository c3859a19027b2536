//! The `storage-and-policy` checkpoint of the base phase, run as pods in the cluster:
//! every node Ready; a PVC on the default StorageClass binds, one Job writes random bytes and
//! prints their sha256, a second Job reads the same sha256; a pod answers HTTP, a default-deny
//! NetworkPolicy blocks it, and removing the policy restores it.
//!
//! Settings: `image` (an image key of the addon with sh, sha256sum, head, timeout, wget and httpd).
//! The objects come from the addon's `runtime/checkpoint.yaml`; this module renders, applies
//! and watches them.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolumeClaim, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, ListParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

use super::{CheckpointError, Context, Evidence};
use crate::catalog::actions::StorageCheck;

const NAMESPACE: &str = "bigtop-checkpoint";
const STEP_TIMEOUT: Duration = Duration::from_secs(180);
const BYTES: u64 = 1 << 20;
const DENY_ATTEMPTS: u32 = 3;

pub(super) async fn run(ctx: &Context<'_>, s: &StorageCheck) -> Result<Evidence, CheckpointError> {
    if !ctx.addon.images.contains_key(&s.image) {
        return Err(CheckpointError::Setting(format!("image {}", s.image)));
    }
    let c = &Objects { client: ctx.client, addon: ctx.addon, image: &s.image };
    let mut evidence = Evidence::new();
    evidence.insert("nodesReady".into(), json!(nodes_ready(c.client).await?));
    // A failed run leaves its namespace for inspection; its Jobs carry the names this run uses,
    // so starting anywhere but from nothing would read the old run's results back.
    remove_namespace(c.client).await?;
    c.apply(json!({"object": "namespace"})).await?;
    let started = Instant::now();
    let (written, read) = storage_round_trip(c).await?;
    if written != read {
        return Err(CheckpointError::Failed(format!("the volume returned sha256 {read}, the writer wrote {written}")));
    }
    evidence.insert("volumeSha256".into(), json!(written));
    evidence.insert("volumeBytes".into(), json!(BYTES));
    evidence.insert("volumeMs".into(), json!(started.elapsed().as_millis() as u64));
    let started = Instant::now();
    network_policy_round_trip(c).await?;
    evidence.insert("policy".into(), json!("open, blocked by default-deny, open again"));
    evidence.insert("policyMs".into(), json!(started.elapsed().as_millis() as u64));
    let _ = Api::<Namespace>::all(c.client.clone()).delete(NAMESPACE, &DeleteParams::background()).await;
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

/// The checkpoint's objects: rendered from the addon's run-time template, then applied.
struct Objects<'a> {
    client: &'a kube::Client,
    addon: &'a crate::catalog::Addon,
    /// Key of the image in the addon's `images`.
    image: &'a str,
}

impl Objects<'_> {
    /// Render `vars.object` (with the namespace and image added) and apply what it renders.
    async fn apply(&self, mut vars: Value) -> Result<(), CheckpointError> {
        vars["namespace"] = NAMESPACE.into();
        vars["image"] = self.image.into();
        let objects = crate::render::render_runtime(self.addon, "checkpoint.yaml", &vars)
            .map_err(|e| CheckpointError::Failed(format!("{e}: {}", crate::error::root_cause(&e))))?;
        for obj in &objects {
            super::job::apply(self.client, obj).await?;
        }
        Ok(())
    }
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

async fn storage_round_trip(c: &Objects<'_>) -> Result<(String, String), CheckpointError> {
    c.apply(json!({"object": "pvc"})).await?;
    let write = format!("head -c {BYTES} /dev/urandom > /data/blob && sha256sum /data/blob");
    let written = job_output(c, "writer", &write, true).await?;
    let read = job_output(c, "reader", "sha256sum /data/blob", true).await?;
    let pvc = Api::<PersistentVolumeClaim>::namespaced(c.client.clone(), NAMESPACE).get("data").await.map_err(api("read the PVC"))?;
    if pvc.status.and_then(|s| s.phase).as_deref() != Some("Bound") {
        return Err(CheckpointError::Failed("PVC data on the default StorageClass is not Bound".into()));
    }
    let hash = |s: String| s.split_whitespace().next().unwrap_or_default().to_string();
    Ok((hash(written), hash(read)))
}

async fn network_policy_round_trip(c: &Objects<'_>) -> Result<(), CheckpointError> {
    c.apply(json!({"object": "web"})).await?;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), NAMESPACE);
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
    job_output(c, "client-open", &fetch, true)
        .await
        .map_err(|e| CheckpointError::Failed(format!("pod-to-pod traffic fails without any policy: {e}")))?;
    c.apply(json!({"object": "deny-all"})).await?;
    // A CNI programs a new policy a moment after it exists: one request that got through proves
    // nothing yet, every one of several does.
    let mut blocked = false;
    for attempt in 1..=DENY_ATTEMPTS {
        if job_output(c, &format!("client-denied-{attempt}"), &fetch, false).await.is_err() {
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
    Api::<NetworkPolicy>::namespaced(c.client.clone(), NAMESPACE)
        .delete("deny-all", &DeleteParams::default())
        .await
        .map_err(api("delete the policy"))?;
    job_output(c, "client-restored", &fetch, true)
        .await
        .map_err(|e| CheckpointError::Failed(format!("traffic did not come back after removing the policy: {e}")))?;
    Ok(())
}

/// Run `script` in a Job (clients with scratch space, the others with the PVC); its output when
/// it succeeds. With `expect_success` false a failure is the normal outcome (no retries).
async fn job_output(objects: &Objects<'_>, name: &str, script: &str, expect_success: bool) -> Result<String, CheckpointError> {
    let volume = if name.starts_with("client") { "scratch" } else { "data" };
    let backoff = if expect_success { 2 } else { 0 };
    objects.apply(json!({"object": "job", "name": name, "script": script, "volume": volume, "backoff": backoff})).await?;
    let (complete, logs) = super::job::finish(objects.client, NAMESPACE, name, STEP_TIMEOUT).await?;
    if complete { Ok(logs) } else { Err(CheckpointError::Failed(format!("Job {name} failed: {logs}"))) }
}

fn api(action: &str) -> impl Fn(kube::Error) -> CheckpointError + '_ {
    move |e| CheckpointError::Failed(format!("cannot {action}: {}", crate::error::error_text(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn render(vars: Value) -> Value {
        let catalog = Catalog::embedded().unwrap();
        let mut vars = vars;
        vars["namespace"] = NAMESPACE.into();
        vars["image"] = "checkpoint".into();
        let mut objects = crate::render::render_runtime(&catalog.addons["openebs"], "checkpoint.yaml", &vars).unwrap();
        assert_eq!(objects.len(), 1, "{vars}");
        objects.remove(0)
    }

    #[test]
    fn every_object_renders_restricted_and_labelled() {
        let ns = render(json!({"object": "namespace"}));
        assert_eq!(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted");
        assert_eq!(ns["metadata"]["labels"]["bigtop.apache.org/phase"], "base");
        let script = "head -c 1 /dev/urandom > /data/blob && sha256sum \"/data/blob\"";
        let writer = render(json!({"object": "job", "name": "writer", "script": script, "volume": "data", "backoff": 2}));
        let pod = &writer["spec"]["template"]["spec"];
        assert_eq!(pod["containers"][0]["command"], json!(["sh", "-c", script]));
        assert_eq!(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], "data");
        assert_eq!(pod["securityContext"]["runAsUser"], 65534);
        assert_eq!(pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!((writer["spec"]["backoffLimit"].clone(), pod["restartPolicy"].clone()), (json!(2), json!("Never")));
        let client = render(json!({"object": "job", "name": "client-open", "script": "true", "volume": "scratch", "backoff": 0}));
        assert_eq!(client["spec"]["template"]["spec"]["volumes"][0]["emptyDir"]["sizeLimit"], "1Mi");
        assert_eq!(client["spec"]["template"]["metadata"]["labels"]["bigtop.apache.org/checkpoint"], "client-open");
        let web = render(json!({"object": "web"}));
        assert_eq!(web["spec"]["containers"][0]["ports"][0]["containerPort"], 8080);
        assert_eq!(web["spec"]["containers"][0]["image"], Catalog::embedded().unwrap().addons["openebs"].images["checkpoint"]);
        assert_eq!(render(json!({"object": "deny-all"}))["spec"]["policyTypes"], json!(["Ingress"]));
        assert_eq!(render(json!({"object": "pvc"}))["spec"]["resources"]["requests"]["storage"], "16Mi");
    }
}
