//! R1 + R2: the object-storage phase on the real control plane, its checkpoint run by the CLI
//! through a real kube-rs port-forward (API server → kwok's kubelet API) to a real MinIO on
//! loopback started with the credentials the cluster holds.

mod common;

use bigtop_k8s::remove::list_labelled;
use common::servers::Minio;
use common::*;

fn rendered_from_cluster() -> Vec<serde_json::Value> {
    let out = run(&["render", "object-storage", "-o", "json"]).expect(0).stdout;
    serde_json::from_str(&out).unwrap()
}

#[tokio::test]
async fn object_storage_installs_verifies_through_a_port_forward_reapplies_unchanged_and_removes() {
    let _guard = lock();
    let client = client().await;
    run(&["add-phase", "object-storage", "--no-verify"]).expect(0);

    // The real server, with the generated credentials read back from the cluster.
    let objects = rendered_from_cluster();
    let minio = Minio::start(objects.clone());
    minio.setup();
    route(&client, "object-storage", 9000, minio.port).await;

    let verified = run(&["verify", "object-storage"]).expect(0);
    assert!(verified.stdout.contains("multipartParts=3") && verified.stdout.contains("refusedOutside=raw"), "{}", verified.stdout);
    let status: serde_json::Value = serde_json::from_str(&run(&["status", "-o", "json"]).expect(0).stdout).unwrap();
    let cp = &status["object-storage"]["checkpoint"];
    assert_eq!(cp["passed"], true);
    assert_eq!(cp["evidence"]["minio"]["bytes"], 12 << 20);
    assert_eq!(status["object-storage"]["addons"]["minio"], "RELEASE.2025-09-07T16-13-09Z");

    // Re-applying changes nothing, generated credentials included.
    let before = list_labelled(&client, "object-storage").await.unwrap();
    run(&["add-phase", "object-storage", "--no-verify"]).expect(0);
    assert_eq!(list_labelled(&client, "object-storage").await.unwrap(), before);
    assert_eq!(rendered_from_cluster(), objects);

    let endpoints = run(&["endpoints"]).expect(0).stdout;
    assert!(
        endpoints.contains("minio/s3") && endpoints.contains("kubectl -n object-storage port-forward svc/minio 9000:9000"),
        "{endpoints}"
    );

    // Switching backends while installed is refused with the way out.
    let switch = run(&["add-phase", "object-storage", "--set", "object-storage.backend=garage"]).expect(2);
    assert!(
        switch.stderr.contains("would leave its data behind") && switch.stderr.contains("remove-phase object-storage"),
        "{}",
        switch.stderr
    );
    unroute(&client, "object-storage").await;

    run(&["remove-phase", "object-storage"]).expect(0);
    assert!(list_labelled(&client, "object-storage").await.unwrap().is_empty());
}

#[tokio::test]
async fn wrong_credentials_fail_verify_with_exit_4_naming_the_secret() {
    let _guard = lock();
    let client = client().await;
    run(&["add-phase", "object-storage", "--no-verify"]).expect(0);
    // A server whose users were never created: the sql key is unknown to it.
    let minio = Minio::start(rendered_from_cluster());
    route(&client, "object-storage", 9000, minio.port).await;
    let out = run(&["verify", "object-storage"]);
    unroute(&client, "object-storage").await;
    let out = out.expect(4);
    assert!(out.stderr.contains("access denied: check Secret object-storage/s3-sql"), "{}", out.stderr);
    remove(&["object-storage"]);
}

#[test]
fn bad_object_storage_input_is_rejected_before_anything_is_applied() {
    let _guard = lock();
    let before = installed();
    let out = run(&["add-phase", "object-storage", "--set", "object-storage.backend=ceph"]).expect(2);
    assert!(out.stderr.contains("invalid value \"ceph\" for object-storage.backend: expected one of: "), "{}", out.stderr);
    let out = run(&["add-phase", "object-storage", "--set", "object-storage.raw-bucket=Raw_Data"]).expect(2);
    assert!(out.stderr.contains("not a valid S3 bucket name"), "{}", out.stderr);
    let out = run(&["add-phase", "object-storage", "--set", "object-storage.raw-bucket=192.168.1.1"]).expect(2);
    assert!(out.stderr.contains("IP address"), "{}", out.stderr);
    assert_eq!(installed(), before);
}

#[tokio::test]
async fn garage_backend_is_set_up_by_the_cli_through_port_forwards_and_verified() {
    let _guard = lock();
    let client = client().await;
    let garage_args = ["add-phase", "object-storage", "--set", "object-storage.backend=garage"];
    // Nothing listens behind the simulated pod yet: setup fails fast and says what to do.
    let dead = common::servers::free_port();
    route_many(&client, "object-storage", &[(3900, dead), (3903, dead)]).await;
    let failed = run(&garage_args).expect(1);
    assert!(failed.stderr.contains("setup of object-storage/garage failed"), "{}", failed.stderr);
    assert!(failed.stderr.contains("re-run `bigtop-k8s add-phase object-storage`"), "{}", failed.stderr);

    // The real Garage, with the secrets the cluster now holds; the re-run converges.
    let out = run(&["render", "object-storage", "--set", "object-storage.backend=garage", "-o", "json"]).expect(0).stdout;
    let garage = common::servers::Garage::start(serde_json::from_str(&out).unwrap());
    route_many(&client, "object-storage", &[(3900, garage.s3_port), (3903, garage.admin_port)]).await;
    let done = run(&garage_args).expect(0);
    assert!(done.stderr.contains("applied layout version 1") && done.stderr.contains("imported key bigtop-sql"), "{}", done.stderr);
    assert!(done.stdout.contains("checkpoint passed") && done.stdout.contains("refusedOutside=raw"), "{}", done.stdout);

    // Again: setup has nothing to change, no object moves.
    let before = list_labelled(&client, "object-storage").await.unwrap();
    let again = run(&garage_args).expect(0);
    assert!(again.stderr.contains("nothing to change"), "{}", again.stderr);
    assert_eq!(list_labelled(&client, "object-storage").await.unwrap(), before);

    // Switching to MinIO now is refused.
    let switch = run(&["add-phase", "object-storage"]).expect(2);
    assert!(switch.stderr.contains("installed with garage") && switch.stderr.contains("would leave its data behind"), "{}", switch.stderr);
    unroute(&client, "object-storage").await;
    run(&["remove-phase", "object-storage"]).expect(0);
}

/// Benchmark, not a test (run by `tests/bench/s3.sh`): the checkpoint's S3 round trip through a
/// kube-rs port-forward vs directly against the same MinIO, same process, same run.
#[tokio::test]
#[ignore = "benchmark: run with tests/bench/s3.sh"]
async fn bench_checkpoint_through_port_forward_vs_direct() {
    use bigtop_k8s::checkpoint::s3::{Target, roundtrip};
    let _guard = lock();
    let client = client().await;
    run(&["add-phase", "object-storage", "--no-verify"]).expect(0);
    let minio = Minio::start(rendered_from_cluster());
    minio.setup();
    route(&client, "object-storage", 9000, minio.port).await;
    let fwd = bigtop_k8s::forward::forward(&client, "object-storage", "minio", 9000, 0).await.unwrap();
    let through = format!("http://{}", fwd.local);
    let key = minio.key("sql");
    let rounds = 5;
    let mut results = Vec::new();
    for (name, endpoint) in [("direct", minio.endpoint.as_str()), ("port-forward", through.as_str())] {
        let t = Target { endpoint, region: "us-east-1", key: &key, bucket: "warehouse", forbidden: "raw" };
        roundtrip(&t).await.unwrap(); // warm-up
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            roundtrip(&t).await.unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        // Each round moves 12 MiB up and 12 MiB down.
        let mib_s = (rounds as f64 * 24.0) / secs;
        println!("{name:>13}: {rounds} round trips in {secs:.2}s = {mib_s:.1} MiB/s");
        results.push(mib_s);
    }
    println!("ratio port-forward / direct throughput: {:.2}", results[1] / results[0]);
    drop(fwd);
    unroute(&client, "object-storage").await;
    remove(&["object-storage"]);
}
