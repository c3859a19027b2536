//! R3: the streaming phase on a real node — Kafka from the look-alike of `apache/kafka:4.1.1`
//! runs the rendered start.sh, and the checkpoint's Job (the same image, labelled as a client,
//! through the NetworkPolicy) produces 1,000 records and reads them back, sha256 equal;
//! `kafka produce` and `kafka consume` go the same way, and the records outlive a node restart.

mod common;

use bigtop_k8s::remove::list_labelled;
use common::lock;
use common::r3::*;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;

const NS: &str = "streaming";

#[tokio::test(flavor = "multi_thread")]
async fn kafka_runs_on_a_real_node_passes_its_checkpoint_survives_a_restart_and_removes_completely() {
    let _guard = lock();
    let client = client().await;
    let _ = run(&["remove-phase", NS]);
    let out = run(&["add-phase", NS, "--profile", "laptop", "--timeout", "300"]).expect(0);
    assert!(out.stdout.contains("checkpoint passed") && out.stdout.contains("1000"), "{}\n{}", out.stdout, out.stderr);

    // What users reach for first: records in from a file, the same records out.
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.jsonl");
    std::fs::write(&records, "{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3}\n").unwrap();
    let out = run(&["kafka", "produce", "r3-events", records.to_str().unwrap()]).expect(0);
    assert!(out.stdout.contains("produced 3 records to topic r3-events"), "{}\n{}", out.stdout, out.stderr);
    let out = run(&["kafka", "consume", "r3-events", "--from-beginning", "--max", "3"]).expect(0);
    assert_eq!(out.stdout, "{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3}\n(3 records from topic r3-events)\n", "{}", out.stderr);

    // The node restarts on its volume: no second format, the same cluster, the records kept.
    replace_pod(&client, NS, "kafka-0").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let log = pods.logs("kafka-0", &Default::default()).await.unwrap();
    assert!(!log.contains("Formatting"), "the restarted node formatted its volume again:\n{log}");
    let out = run(&["kafka", "consume", "r3-events", "--from-beginning", "--max", "3"]).expect(0);
    assert!(out.stdout.contains("(3 records from topic r3-events)"), "the records did not survive the restart:\n{}", out.stdout);

    run(&["remove-phase", NS]).expect(0);
    assert_eq!(list_labelled(&client, NS).await.unwrap(), Vec::<(String, String)>::new());
    no_containers_left(NS).await;
}
