//! R3: the streaming phase on a real node — Kafka from the look-alike of `apache/kafka:4.1.1`
//! runs the rendered start.sh, and the checkpoint's Job (the same image, labelled as a client,
//! through the NetworkPolicy) produces 1,000 records and reads them back, sha256 equal;
//! `kafka produce` and `kafka consume` go the same way; Kafka's own consumer on this machine
//! reads them through `endpoints --forward`; and the records outlive a node restart.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use bigtop_k8s::remove::list_labelled;
use common::kafka::install_tools;
use common::lock;
use common::r3::*;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;

const NS: &str = "streaming";

/// `endpoints --forward` in the background; Kafka's console consumer on this machine (the R2
/// classpath) reads r3-events through it.
fn from_this_machine_through_the_forward(dir: &std::path::Path) {
    let mut forward = bigtop().args(["endpoints", "--forward"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(forward.stdout.take().unwrap()).lines();
    let line = lines
        .find(|l| l.as_ref().is_ok_and(|l| l.contains("kafka/bootstrap")))
        .expect("endpoints --forward names kafka/bootstrap")
        .unwrap();
    assert!(line.contains("kafka://127.0.0.1:9094"), "the forward is not on 9094, which the node advertises: {line}");
    let bin = install_tools(dir);
    let out = Command::new(bin.join("kafka-console-consumer.sh"))
        .args([
            "--bootstrap-server",
            "127.0.0.1:9094",
            "--topic",
            "r3-events",
            "--from-beginning",
            "--max-messages",
            "3",
            "--timeout-ms",
            "60000",
        ])
        .env("KAFKA_HEAP_OPTS", "-Xmx128m")
        .output()
        .unwrap();
    let _ = forward.kill();
    let _ = forward.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, "{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3}\n", "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_runs_on_a_real_node_passes_its_checkpoint_survives_a_restart_zookeeper_joins_and_all_removes_completely() {
    let _guard = lock();
    let client = client().await;
    let _ = run(&["remove-phase", NS]);
    // The phase needs the lake (NiFi's flow writes into it): MinIO comes first, proven too.
    let out = run(&["add-phase", NS, "--with-deps", "--profile", "laptop", "--timeout", "300"]).expect(0);
    assert!(out.stdout.contains("checkpoint passed") && out.stdout.contains("1000"), "{}\n{}", out.stdout, out.stderr);

    // What users reach for first: records in from a file, the same records out.
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.jsonl");
    std::fs::write(&records, "{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3}\n").unwrap();
    let out = run(&["kafka", "produce", "r3-events", records.to_str().unwrap()]).expect(0);
    assert!(out.stdout.contains("produced 3 records to topic r3-events"), "{}\n{}", out.stdout, out.stderr);
    let out = run(&["kafka", "consume", "r3-events", "--from-beginning", "--max", "3"]).expect(0);
    assert_eq!(out.stdout, "{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3}\n(3 records from topic r3-events)\n", "{}", out.stderr);

    // From the user's machine: `endpoints --forward` holds 127.0.0.1:9094, the node advertises
    // exactly that on its EXTERNAL listener, so Kafka's own console consumer reads the records.
    from_this_machine_through_the_forward(dir.path());

    // The node restarts on its volume: no second format, the same cluster, the records kept.
    replace_pod(&client, NS, "kafka-0").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let log = pods.logs("kafka-0", &Default::default()).await.unwrap();
    assert!(!log.contains("Formatting"), "the restarted node formatted its volume again:\n{log}");
    let out = run(&["kafka", "consume", "r3-events", "--from-beginning", "--max", "3"]).expect(0);
    assert!(out.stdout.contains("(3 records from topic r3-events)"), "the records did not survive the restart:\n{}", out.stdout);

    // ZooKeeper joins the phase (the coordination NiFi will use): its server runs the rendered
    // start.sh and zoo.cfg, is ready once it serves, and its checkpoint Job writes and reads a
    // znode through the NetworkPolicy; Kafka's checkpoint passes again beside it.
    let out = run(&["add-phase", NS, "--profile", "laptop", "--set", "streaming.stack=zookeeper", "--timeout", "300"]).expect(0);
    assert!(out.stdout.contains("checkpoint passed"), "{}\n{}", out.stdout, out.stderr);
    for evidence in ["kafka: ", "records=1000", "zookeeper: ", "znode=/bigtop-checkpoint-"] {
        assert!(out.stdout.contains(evidence), "no {evidence} in the evidence:\n{}", out.stdout);
    }

    run(&["remove-phase", NS]).expect(0);
    assert_eq!(list_labelled(&client, NS).await.unwrap(), Vec::<(String, String)>::new());
    no_containers_left(NS).await;
    run(&["remove-phase", "object-storage"]).expect(0);
}
