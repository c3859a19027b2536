//! Shared helpers for integration tests: run the real binary against the R1 control plane
//! that `tests/env/test.sh` starts, and read the cluster with kube-rs.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// R1 tests share one cluster and one state ConfigMap: run them one at a time.
static CLUSTER: Mutex<()> = Mutex::new(());

/// Take the cluster for the duration of a test.
pub fn lock() -> MutexGuard<'static, ()> {
    CLUSTER.lock().unwrap_or_else(|e| e.into_inner())
}

/// The R1 kubeconfig, or a failure that names the command to run (never a silent skip).
pub fn kubeconfig() -> PathBuf {
    match std::env::var_os("BIGTOP_R1_KUBECONFIG") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "BIGTOP_R1_KUBECONFIG is not set: run the suite with `bash tests/env/test.sh` (it builds and starts the R1 control plane)"
        ),
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/upstream`, the mirror of pinned upstream bytes.
pub fn mirror() -> PathBuf {
    std::env::var_os("BIGTOP_K8S_MIRROR").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared/upstream"))
}

/// The binary with the R1 kubeconfig, the fixture catalog and the mirror.
pub fn bigtop() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"));
    c.arg("--kubeconfig").arg(kubeconfig());
    c.arg("--catalog-dir").arg(repo().join("tests/fixtures/catalog"));
    c.env("BIGTOP_K8S_MIRROR", mirror());
    c.env_remove("KUBECONFIG").env("BIGTOP_K8S_CACHE", std::env::temp_dir().join("bigtop-k8s-test-cache"));
    c
}

/// Result of a run, with stdout and stderr as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }

    /// Panic with both streams unless the exit code is `code`.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }
}

pub fn run(args: &[&str]) -> Run {
    Run::from(bigtop().args(args).output().expect("the binary runs"))
}

pub async fn client() -> kube::Client {
    client_of(&kubeconfig()).await
}

/// A client for the cluster of the kubeconfig at `path`.
pub async fn client_of(path: &std::path::Path) -> kube::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = kube::config::Kubeconfig::read_from(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.expect("kubeconfig valid");
    kube::Client::try_from(config).expect("client")
}

/// Installed phase names from `status -o json`.
pub fn installed() -> Vec<String> {
    let out = run(&["status", "-o", "json"]).expect(0).stdout;
    let v: serde_json::Value = serde_json::from_str(&out).expect("status prints JSON");
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// Remove phases if present (test clean-up), forcing past dependents.
pub fn remove(phases: &[&str]) {
    let mut args = vec!["remove-phase", "--force"];
    args.extend_from_slice(phases);
    run(&args).expect(0);
}
pub mod capi;
pub mod fetcher;
pub mod kafka;
pub mod r3;
pub mod servers;
pub mod spark;
pub mod sql_checks;
pub mod sql_servers;

/// Route port-forwards to simulated pods of `namespace` (port `pod_port`) to a real server on
/// 127.0.0.1:`target_port`, through kwok's ClusterPortForward.
pub async fn route(client: &kube::Client, namespace: &str, pod_port: u16, target_port: u16) {
    route_many(client, namespace, &[(pod_port, target_port)]).await
}

/// Like [`route`] for several ports at once (one rule per namespace, replaced on each call).
pub async fn route_many(client: &kube::Client, namespace: &str, ports: &[(u16, u16)]) {
    use kube::api::{Api, DynamicObject, Patch, PatchParams};
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &port_forward_resource());
    let forwards: Vec<serde_json::Value> =
        ports.iter().map(|(pod, target)| serde_json::json!({"ports": [pod], "target": {"port": target, "address": "127.0.0.1"}})).collect();
    let obj = serde_json::json!({
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterPortForward", "metadata": {"name": namespace},
        "spec": {"selector": {"matchNamespaces": [namespace]}, "forwards": forwards},
    });
    api.patch(namespace, &PatchParams::apply("bigtop-tests").force(), &Patch::Apply(&obj)).await.unwrap();
    // kwok picks the rule up from its watch.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
}

fn port_forward_resource() -> kube::discovery::ApiResource {
    let gvk = kube::core::GroupVersionKind::gvk("kwok.x-k8s.io", "v1alpha1", "ClusterPortForward");
    kube::discovery::ApiResource::from_gvk_with_plural(&gvk, "clusterportforwards")
}

/// Remove the rule made by [`route`] for a namespace.
pub async fn unroute(client: &kube::Client, namespace: &str) {
    use kube::api::{Api, DeleteParams, DynamicObject};
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &port_forward_resource());
    let _ = api.delete(namespace, &DeleteParams::default()).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
}

/// A tiny HTTP server on loopback answering "hello" to every request; returns its port.
/// Needs a multi-threaded runtime when the test also blocks on a CLI process.
pub async fn serve_hello() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Read the whole request head, answer, then close gracefully (no RST).
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello").await;
                let _ = conn.shutdown().await;
                while matches!(conn.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    port
}

/// Give the test environment's `standard` class its default flag back (other tests bind PVCs with it).
pub async fn restore_standard(client: &kube::Client) {
    let api: kube::Api<k8s_openapi::api::storage::v1::StorageClass> = kube::Api::all(client.clone());
    let patch = serde_json::json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}});
    api.patch("standard", &kube::api::PatchParams::apply("bigtop-tests").force(), &kube::api::Patch::Apply(&patch)).await.unwrap();
}

/// Compare `text` with `tests/snapshots/<dir>/<name>` (write it with BLESS=1); a differing or
/// missing snapshot is pushed onto `stale`.
pub fn check_snapshot(dir: &str, name: &str, text: &str, stale: &mut Vec<String>) {
    let path = repo().join("tests/snapshots").join(dir).join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
        stale.push(path.display().to_string());
    }
}

/// The code cells of a notebook (`.ipynb` JSON), each as one string.
pub fn notebook_code_cells(ipynb: &str) -> Vec<String> {
    let nb: serde_json::Value = serde_json::from_str(ipynb).expect("the notebook is JSON");
    assert_eq!(nb["nbformat"], 4, "an nbformat 4 notebook");
    let cells = nb["cells"].as_array().expect("cells");
    cells
        .iter()
        .filter(|c| c["cell_type"] == "code")
        .map(|c| c["source"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect::<String>())
        .collect()
}
