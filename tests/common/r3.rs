//! R3: the real node that `tests/env/test.sh` starts (kubelet + containerd with its own
//! control plane, see `tests/env/r3-up.sh`). Tests here run the real catalog's images — the
//! look-alikes imported into the node — and reach pods only through the API server.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::json;

use super::Run;

/// The R3 kubeconfig, or a failure that names the command to run (never a silent skip).
pub fn kubeconfig() -> PathBuf {
    match std::env::var_os("BIGTOP_R3_KUBECONFIG") {
        Some(p) => PathBuf::from(p),
        None => panic!("BIGTOP_R3_KUBECONFIG is not set: run the suite with `bash tests/env/test.sh` (it builds and starts the R3 node)"),
    }
}

fn env_dir() -> PathBuf {
    std::env::var_os("BIGTOP_R3_ENV").map(PathBuf::from).unwrap_or_else(|| super::repo().join("tests/env"))
}

/// The binary against the R3 cluster with the embedded (real) catalog.
pub fn bigtop() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"));
    c.arg("--kubeconfig").arg(kubeconfig());
    c.env("BIGTOP_K8S_MIRROR", super::mirror());
    c.env_remove("KUBECONFIG").env("BIGTOP_K8S_CACHE", std::env::temp_dir().join("bigtop-k8s-test-cache"));
    c
}

pub fn run(args: &[&str]) -> Run {
    Run::from(bigtop().args(args).output().expect("the binary runs"))
}

pub async fn client() -> kube::Client {
    super::client_of(&kubeconfig()).await
}

/// Start or stop the NetworkPolicy enforcer (kube-router) of the R3 node.
pub fn policy_enforcer(action: &str) {
    let status = Command::new("bash").arg(env_dir().join("r3-policy.sh")).arg(action).status().expect("bash runs");
    assert!(status.success(), "r3-policy.sh {action} failed");
}

/// `ctr` against the R3 node's containerd; its stdout.
fn ctr(args: &str) -> String {
    let run_dir = PathBuf::from(std::env::var("RUN").expect("RUN is set by test.sh"));
    let versions = env_dir().join("versions.sh");
    let script = format!(". {} && \"$R3_BIN/ctr\" --address {}/r3/containerd.sock -n k8s.io {args}", versions.display(), run_dir.display());
    let out = Command::new("bash").arg("-c").arg(script).output().expect("bash runs");
    assert!(out.status.success(), "ctr failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into()
}

/// Containers of pods of `namespace` that containerd still runs (a task in state RUNNING).
pub fn containers_running_in(namespace: &str) -> Vec<String> {
    let ids = ctr(&format!("containers ls -q 'labels.\"io.kubernetes.pod.namespace\"=={namespace}'"));
    let ids: Vec<&str> = ids.lines().filter(|l| !l.is_empty()).collect();
    let tasks = ctr("tasks ls");
    tasks
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && f[2] == "RUNNING" && ids.contains(&f[0])).then(|| f[0].to_string())
        })
        .collect()
}

/// Wait until no container of `namespace` runs: the kubelet kills a deleted pod's containers at
/// once. (Removing the stopped ones is the kubelet's own garbage collection, once a minute: not
/// ours to wait for, and waiting for it cost CI's R3 lane up to a minute per removal.)
pub async fn no_containers_left(namespace: &str) {
    for _ in 0..75 {
        if containers_running_in(namespace).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    panic!("containers of namespace {namespace} still run after 150 s: {:?}", containers_running_in(namespace));
}

/// Run `script` under `sh -c` in a one-shot busybox pod of `namespace` with `labels`; true when
/// it exits 0. The pod is deleted afterwards.
pub async fn pod_succeeds(client: &kube::Client, namespace: &str, name: &str, labels: serde_json::Value, script: &str) -> bool {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "automountServiceAccountToken": false,
                 "containers": [{"name": "run", "image": "docker.io/library/busybox:1.37.0", "command": ["sh", "-c", script],
                                 "resources": {"requests": {"memory": "16Mi", "cpu": "10m"}, "limits": {"memory": "32Mi"}}}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.expect("create pod");
    let finished = |p: Option<&Pod>| {
        p.and_then(|p| p.status.as_ref()).and_then(|s| s.phase.as_deref()).is_some_and(|ph| ph == "Succeeded" || ph == "Failed")
    };
    let done = tokio::time::timeout(Duration::from_secs(120), await_condition(pods.clone(), name, finished))
        .await
        .expect("the pod finishes within 120 s")
        .expect("watch");
    let ok = done.and_then(|p| p.status).and_then(|s| s.phase).as_deref() == Some("Succeeded");
    pods.delete(name, &DeleteParams::default()).await.expect("delete pod");
    let _ = await_condition(pods, name, |p: Option<&Pod>| p.is_none()).await;
    ok
}

/// Delete pod `namespace/name` and wait until its controller has a new one of that name Ready.
pub async fn replace_pod(client: &kube::Client, namespace: &str, name: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let old = pods.get(name).await.unwrap().metadata.uid;
    pods.delete(name, &DeleteParams::default()).await.expect("delete the pod");
    let replaced = |p: Option<&Pod>| {
        p.is_some_and(|p| {
            p.metadata.uid != old
                && p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
    };
    tokio::time::timeout(Duration::from_secs(180), await_condition(pods, name, replaced))
        .await
        .unwrap_or_else(|_| panic!("{namespace}/{name} is not back and Ready within 180 s"))
        .unwrap();
}

/// Create a namespace for a test's own pods (deleted by [`drop_namespace`]).
pub async fn namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})).unwrap();
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => panic!("create namespace {name}: {e}"),
    }
}

/// Add `labels` to namespace `name`.
pub async fn label_namespace(client: &kube::Client, name: &str, labels: serde_json::Value) {
    let api: Api<Namespace> = Api::all(client.clone());
    let patch = json!({"metadata": {"labels": labels}});
    api.patch(name, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&patch)).await.unwrap();
}

pub async fn drop_namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(name, &DeleteParams::background()).await;
    let _ = tokio::time::timeout(Duration::from_secs(120), await_condition(api, name, |n: Option<&Namespace>| n.is_none())).await;
}

/// The node's address (r3-up.sh's NODE_IP): host processes of the test namespace listen here
/// for the pods.
pub const NODE_IP: &str = "172.31.255.1";

/// A Maven repository inside the test's network namespace on the node's address, which pods
/// reach as an offline cluster reaches its mirror: it serves the jars a rendered fetch script
/// pins, from the R2 caches, so the init containers fetch and check them as in any cluster.
pub struct MavenRepository {
    dir: tempfile::TempDir,
    _server: super::servers::Server,
    /// The URL for a phase's `maven-repository` parameter.
    pub url: String,
}

impl MavenRepository {
    pub fn start() -> MavenRepository {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo")).unwrap();
        let (server, port) = super::servers::serve_directory(&dir.path().join("repo"), NODE_IP, &dir.path().join("http.log"));
        MavenRepository { dir, _server: server, url: format!("http://{NODE_IP}:{port}") }
    }

    /// Serve every jar `script` pins, found by name in one of `caches`.
    pub fn serve_pins(&self, script: &str, caches: &[PathBuf]) {
        for pin in super::fetcher::Fetcher::pins(script) {
            let file = caches.iter().map(|c| c.join(&pin.name)).find(|f| f.exists());
            let file = file.unwrap_or_else(|| panic!("{} is in none of {caches:?}: run `bash tests/env/build-sql.sh`", pin.name));
            let served = self.dir.path().join("repo").join(&pin.path);
            std::fs::create_dir_all(served.parent().unwrap()).unwrap();
            if !served.exists() {
                std::os::unix::fs::symlink(file, served).unwrap();
            }
        }
    }

    /// The server's log: one line per request.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("http.log")).unwrap_or_default()
    }
}
