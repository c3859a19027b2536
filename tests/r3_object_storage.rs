//! R3: the object-storage phase on a real node — real pods from the catalog's images (the
//! look-alikes imported into containerd), real volumes, NetworkPolicies enforced, checkpoints
//! through real port-forwards (API server → kubelet → pod).

mod common;

use bigtop_k8s::forward::forward;
use bigtop_k8s::remove::list_labelled;
use bigtop_k8s::s3::S3;
use common::lock;
use common::r3::*;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::json;

const NS: &str = "object-storage";

/// The sql key, read from its Secret: a client of the warehouse bucket.
async fn sql_key(client: &kube::Client) -> (String, String) {
    let secret = Api::<Secret>::namespaced(client.clone(), NS).get("s3-sql").await.expect("Secret s3-sql");
    let data = secret.data.expect("Secret data");
    let text = |k: &str| String::from_utf8(data[k].0.clone()).unwrap();
    (text("access-key"), text("secret-key"))
}

async fn s3_through_forward(client: &kube::Client, service: &str, port: u16) -> (S3, bigtop_k8s::forward::Forward) {
    let fwd = forward(client, NS, service, port, 0).await.expect("port-forward to the S3 server");
    let (access, secret) = sql_key(client).await;
    let s3 = S3::new(&format!("http://{}", fwd.local), "us-east-1", &access, &secret).unwrap();
    (s3, fwd)
}

/// Delete the server pod, wait for its StatefulSet to bring it back, and check that `verify`
/// passes and the object written before is still there.
async fn survives_pod_restart(client: &kube::Client, server: &str, service: &str, port: u16) {
    {
        let (s3, _fwd) = s3_through_forward(client, service, port).await;
        s3.put("warehouse", "r3/before-restart", b"written before the pod was deleted".to_vec()).await.expect("put");
    }
    replace_pod(client, NS, &format!("{server}-0")).await;
    run(&["verify", NS]).expect(0);
    let (s3, _fwd) = s3_through_forward(client, service, port).await;
    assert_eq!(s3.get("warehouse", "r3/before-restart").await.expect("object kept"), b"written before the pod was deleted");
    s3.delete("warehouse", "r3/before-restart").await.unwrap();
}

/// The NetworkPolicy admits a pod labelled as a lake client only in a namespace it trusts (here
/// one an administrator labelled; the phases' own namespaces carry their phase label): the same
/// pod in a stranger's namespace is refused, and so is an unlabelled pod in a trusted one. The
/// enforcer adds a new pod's address to its sets about a second after the pod starts, so each
/// probe retries for a while before it concludes.
async fn policy_admits_lake_clients_only(client: &kube::Client, service: &str, port: u16) {
    policy_enforcer("start"); // a no-op when it runs, as it should
    namespace(client, "r3-np").await;
    let url = format!("http://{service}.{NS}.svc.cluster.local:{port}/");
    // Any HTTP answer (MinIO and Garage answer 403 to an anonymous GET /) proves the path is open.
    let reach = |tries: u32| {
        format!(
            "for i in $(seq {tries}); do timeout 3 wget -q -O /dev/null {url} 2>/tmp/e; grep -q 'HTTP/' /tmp/e && exit 0; sleep 1; done; cat /tmp/e; exit 1"
        )
    };
    let labelled = json!({"bigtop.apache.org/lake-client": "true"});
    assert!(
        !pod_succeeds(client, "r3-np", "stranger-client", labelled.clone(), &reach(5)).await,
        "a labelled pod in an untrusted namespace reached {url}"
    );
    label_namespace(client, "r3-np", json!({"bigtop.apache.org/lake-client": "true"})).await;
    assert!(pod_succeeds(client, "r3-np", "lake-client", labelled, &reach(15)).await, "a labelled lake client cannot reach {url}");
    assert!(!pod_succeeds(client, "r3-np", "stranger", json!({}), &reach(5)).await, "an unlabelled pod reached {url}");
    drop_namespace(client, "r3-np").await;
}

async fn removed_completely(client_objects: Vec<(String, String)>) {
    assert!(client_objects.is_empty(), "objects left: {client_objects:?}");
    no_containers_left(NS).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn minio_runs_on_real_pods_survives_a_restart_enforces_its_policy_and_removes_completely() {
    let _guard = lock();
    let client = client().await;
    // The setup Job runs the very script of the pod (MC unset): before the fix its mc() called
    // itself until the container was OOMKilled, and this failed.
    let out = run(&["add-phase", NS, "--timeout", "300"]).expect(0);
    assert!(out.stdout.contains("checkpoint passed") && out.stdout.contains("refusedOutside=raw"), "{}", out.stdout);

    let before = list_labelled(&client, NS).await.unwrap();
    run(&["add-phase", NS, "--no-verify"]).expect(0);
    assert_eq!(list_labelled(&client, NS).await.unwrap(), before);

    survives_pod_restart(&client, "minio", "minio", 9000).await;
    policy_admits_lake_clients_only(&client, "s3", 9000).await;

    // A changed setup script runs as a new Job; the old one is removed, not left behind.
    let changed = run(&["add-phase", NS, "--set", "object-storage.clean-bucket=clean2", "--timeout", "300"]).expect(0);
    assert!(changed.stderr.contains("removed replaced Job/object-storage/minio-setup-"), "{}", changed.stderr);
    let jobs = Api::<k8s_openapi::api::batch::v1::Job>::namespaced(client.clone(), NS).list(&Default::default()).await.unwrap();
    assert_eq!(jobs.items.len(), 1, "{:?}", jobs.items.iter().map(|j| j.metadata.name.clone()).collect::<Vec<_>>());

    run(&["remove-phase", NS]).expect(0);
    removed_completely(list_labelled(&client, NS).await.unwrap()).await;
    assert!(!installed_r3().contains(&NS.to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn garage_runs_on_real_pods_survives_a_restart_enforces_its_policy_and_removes_completely() {
    let _guard = lock();
    let client = client().await;
    let out = run(&["add-phase", NS, "--set", "object-storage.backend=garage", "--timeout", "300"]).expect(0);
    assert!(out.stdout.contains("checkpoint passed"), "{}", out.stdout);
    let before = list_labelled(&client, NS).await.unwrap();
    run(&["add-phase", NS, "--set", "object-storage.backend=garage", "--no-verify"]).expect(0);
    assert_eq!(list_labelled(&client, NS).await.unwrap(), before);

    survives_pod_restart(&client, "garage", "garage", 3900).await;
    policy_admits_lake_clients_only(&client, "s3", 9000).await;

    run(&["remove-phase", NS]).expect(0);
    removed_completely(list_labelled(&client, NS).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_keeps_dying_fails_the_wait_early_with_its_reason() {
    let _guard = lock();
    let client = client().await;
    // 24 MiB cannot hold MinIO: the kubelet OOM-kills it, or (when the node is busy and MinIO
    // merely crawls) its liveness probe kills it — restarted with back-off, killed again.
    let out = run(&["add-phase", NS, "--set", "minio.memory=24Mi", "--timeout", "600"]);
    assert_eq!(out.code, 1, "a crash loop is a failure (1), not a timeout (5)\n{}", out.stderr);
    assert!(out.stderr.contains("StatefulSet/object-storage/minio is not ready: pod minio-0: container minio restarted"), "{}", out.stderr);
    assert!(out.stderr.contains("OOMKilled") || out.stderr.contains("CrashLoopBackOff"), "{}", out.stderr);
    run(&["remove-phase", NS]).expect(0);
    removed_completely(list_labelled(&client, NS).await.unwrap()).await;
}

fn installed_r3() -> Vec<String> {
    let out = run(&["status", "-o", "json"]).expect(0).stdout;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}
