//! R1 + R2: the serverless phase on the real control plane with Knative's real webhook and
//! controller (built from knative.dev/serving v0.50.0, which is knative-v1.23.0) running beside
//! it, and a real MinIO behind the lake's port-forward. The phase applies strictly — the
//! Knative Service waits for the webhook, which defaults and admits it and refuses a bad one —
//! the controller makes the function's Revision and its Deployment (with queue-proxy), the
//! setup sets the raw bucket's notification rule through the port-forward with MinIO's root key,
//! and the function's own file, run with the Secrets the cluster copied, cleans what MinIO
//! notifies it of. Re-applying makes no new Revision; removal is clean. Kourier's routing and
//! the function's pods on a node are not here (R4; R3 not yet).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bigtop_k8s::remove::list_labelled;
use bigtop_k8s::s3::S3;
use common::servers::{Minio, Server, await_tcp, free_port};
use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, DynamicObject, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

/// Knative's webhook and controller as processes, killed on drop.
struct Knative(Vec<Child>);

impl Drop for Knative {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn knative_bin(name: &str) -> std::path::PathBuf {
    let dir = std::env::var_os("BIGTOP_R1_KNATIVE_BIN").expect("BIGTOP_R1_KNATIVE_BIN: run the suite with `bash tests/env/test.sh`");
    std::path::PathBuf::from(dir).join(name)
}

/// Once the phase's apply has made them: the webhook Service's cluster IP on loopback (R1 has no
/// kube-proxy; the API server dials that IP and checks the certificate for the Service's name),
/// then the webhook (on 443) and the controller, out of cluster with the admin kubeconfig.
async fn start_knative_when_applied(client: kube::Client, log_dir: std::path::PathBuf) -> Knative {
    let services: Api<Service> = Api::namespaced(client.clone(), "knative-serving");
    let config: Api<ConfigMap> = Api::namespaced(client, "knative-serving");
    let deadline = Instant::now() + Duration::from_secs(120);
    let ip = loop {
        let ip = services.get_opt("webhook").await.unwrap().and_then(|s| s.spec?.cluster_ip);
        if let (Some(ip), Some(_)) = (ip, config.get_opt("config-observability").await.unwrap()) {
            break ip;
        }
        assert!(Instant::now() < deadline, "the phase's apply made no webhook Service");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let added = Command::new("ip").args(["addr", "add", &format!("{ip}/32"), "dev", "lo"]).output().unwrap();
    assert!(added.status.success() || String::from_utf8_lossy(&added.stderr).contains("exists"), "{added:?}");
    let spawn = |name: &str, env: &[(&str, &str)]| {
        let log = std::fs::File::create(log_dir.join(format!("{name}.log"))).unwrap();
        Command::new(knative_bin(name))
            .args(["--kubeconfig", kubeconfig().to_str().unwrap()])
            .env("SYSTEM_NAMESPACE", "knative-serving")
            .env("CONFIG_LOGGING_NAME", "config-logging")
            .env("CONFIG_OBSERVABILITY_NAME", "config-observability")
            .env("POD_NAME", format!("{name}-r1"))
            .envs(env.iter().copied())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap()
    };
    let webhook = spawn(
        "webhook",
        &[("WEBHOOK_NAME", "webhook"), ("WEBHOOK_PORT", "443"), ("PROFILING_PORT", "18008"), ("METRICS_PROMETHEUS_PORT", "19090")],
    );
    let controller = spawn("controller", &[("PROFILING_PORT", "18009"), ("METRICS_PROMETHEUS_PORT", "19091")]);
    Knative(vec![webhook, controller])
}

fn knative_service() -> ApiResource {
    let gvk = kube::core::GroupVersionKind::gvk("serving.knative.dev", "v1", "Service");
    ApiResource::from_gvk_with_plural(&gvk, "services")
}

/// Wait up to a minute until `get` finds something.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(mut get: impl FnMut() -> F) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = get().await {
            return Some(found);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serverless_applies_with_knatives_real_webhook_and_controller_and_cleans_what_minio_notifies() {
    let _guard = lock();
    let client = client().await;
    remove(&["serverless", "object-storage"]);
    let refused = run(&["add-phase", "serverless", "--no-verify"]).expect(3);
    assert!(refused.stderr.contains("object-storage") && refused.stderr.contains("--with-deps"), "{}", refused.stderr);

    // The lake: a real MinIO with the cluster's credentials, its notification target moved to
    // the loopback port the function will listen on, behind the phase's port-forward.
    run(&["add-phase", "object-storage", "--no-verify"]).expect(0);
    let lake_objects: Vec<Value> = serde_json::from_str(&run(&["render", "object-storage", "-o", "json"]).expect(0).stdout).unwrap();
    let function_port = free_port();
    let minio = Minio::start_with_env(
        lake_objects.clone(),
        &[("MINIO_NOTIFY_WEBHOOK_ENDPOINT_CLEANER", format!("http://127.0.0.1:{function_port}/"))],
    );
    minio.setup();
    route(&client, "object-storage", 9000, minio.port).await;

    let logs = tempfile::tempdir().unwrap();
    let knative = tokio::spawn(start_knative_when_applied(client.clone(), logs.path().to_path_buf()));
    let out = run(&["add-phase", "serverless", "--no-verify", "--timeout", "300"]);
    let knative = knative.await.unwrap();
    let log = |name: &str| std::fs::read_to_string(logs.path().join(format!("{name}.log"))).unwrap_or_default();
    assert_eq!(out.code, 0, "{}\n{}\nwebhook:\n{}", out.stdout, out.stderr, log("webhook"));
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("bucket raw notifies http://cleaner.serverless.svc.cluster.local:80/"), "{said}");

    // The webhook defaulted what it admitted; the controller made the Revision's Deployment.
    let ksvcs: Api<DynamicObject> = Api::namespaced_with(client.clone(), "serverless", &knative_service());
    let ksvc = ksvcs.get("cleaner").await.unwrap().data;
    assert_eq!(ksvc["spec"]["template"]["spec"]["containerConcurrency"], 0, "defaulted by the webhook: {ksvc}");
    // Nothing of ours draws a warning either (Knative logs warnings as failed validations).
    let webhook_log = log("webhook");
    let warned: Vec<&str> = webhook_log.lines().filter(|l| l.contains("Failed the resource specific validation")).collect();
    assert!(warned.is_empty(), "{warned:?}");
    assert_eq!(ksvc["spec"]["traffic"][0]["latestRevision"], true, "{ksvc}");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "serverless");
    let deployment = eventually(|| async { deployments.get_opt("cleaner-00001-deployment").await.unwrap() }).await;
    let deployment = deployment.unwrap_or_else(|| panic!("no Deployment of the first Revision; controller:\n{}", log("controller")));
    let pod = deployment.spec.unwrap().template;
    let names: Vec<String> = pod.spec.unwrap().containers.iter().map(|c| c.name.clone()).collect();
    assert_eq!(names, ["user-container", "queue-proxy"]);
    assert_eq!(pod.metadata.unwrap().labels.unwrap()["bigtop.apache.org/lake-client"], "true", "MinIO's NetworkPolicy admits it");

    // A Service Knative does not accept is refused by the webhook, with its reason.
    let mut bad = ksvc.clone();
    bad["metadata"] = json!({"name": "too-slow", "namespace": "serverless"});
    bad["spec"]["template"]["spec"]["timeoutSeconds"] = json!(7200);
    let bad: DynamicObject = serde_json::from_value(json!({"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": bad["metadata"], "spec": {"template": bad["spec"]["template"]}})).unwrap();
    let err = ksvcs.create(&PostParams::default(), &bad).await.unwrap_err().to_string();
    assert!(err.contains("timeoutSeconds"), "{err}");

    // The function's own file with what the cluster gave it (the copied key and token): MinIO
    // notifies it of a dirty CSV the streaming key puts into raw, and the cleaned bytes land.
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), "serverless");
    let script = configmaps.get("cleaner-function").await.unwrap().data.unwrap()["cleaner.py"].clone();
    let file = logs.path().join("cleaner.py");
    std::fs::write(&file, script).unwrap();
    let mut env = std::collections::BTreeMap::new();
    for e in ksvc["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap() {
        let value = match e["valueFrom"]["secretKeyRef"].as_object() {
            Some(r) => bigtop_k8s::secrets::read_value(&client, "serverless", r["name"].as_str().unwrap(), r["key"].as_str().unwrap())
                .await
                .unwrap(),
            None => e["value"].as_str().unwrap().to_string(),
        };
        env.insert(e["name"].as_str().unwrap().to_string(), value);
    }
    env.insert("S3_ENDPOINT".into(), minio.endpoint.clone());
    let mut python = Command::new("python3");
    python.arg(&file).envs(&env).env("PORT", function_port.to_string());
    let function = Server::start(python, &logs.path().join("function.log"));
    await_tcp(&function, function_port);
    let key = minio.key("streaming");
    let writer = S3::new(&minio.endpoint, "us-east-1", &key.access_key, &key.secret_key).unwrap();
    writer.put("raw", "r1/orders.csv", b" A ,B\n1 , 2\n1,2\nx\n".to_vec()).await.unwrap();
    let cleaner = minio.key("cleaner");
    let reader = S3::new(&minio.endpoint, "us-east-1", &cleaner.access_key, &cleaner.secret_key).unwrap();
    let cleaned = eventually(|| async { reader.get("clean", "r1/orders.csv").await.ok() }).await;
    let cleaned = cleaned.unwrap_or_else(|| {
        panic!("nothing cleaned; function:\n{}", std::fs::read_to_string(logs.path().join("function.log")).unwrap_or_default())
    });
    assert_eq!(String::from_utf8(cleaned).unwrap(), "a,b\n1,2\n");

    // Re-applying changes nothing Knative would roll out: no second Revision.
    run(&["add-phase", "serverless", "--no-verify", "--timeout", "300"]).expect(0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(deployments.get_opt("cleaner-00002-deployment").await.unwrap().is_none(), "a re-apply made a new Revision");

    run(&["remove-phase", "serverless"]).expect(0);
    assert!(list_labelled(&client, "serverless").await.unwrap().is_empty());
    drop(knative);
    unroute(&client, "object-storage").await;
    run(&["remove-phase", "object-storage"]).expect(0);
}
