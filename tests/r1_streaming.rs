//! R1: the streaming phase on the real control plane — strict apply (one node at the laptop
//! profile, a three-voter quorum at production), zero changes on re-apply, clean removal.
//! Simulated pods cannot run Kafka: the broker and the checkpoint's script are R2's.

mod common;

use bigtop_k8s::remove::list_labelled;
use common::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

#[tokio::test]
async fn streaming_phase_applies_reapplies_unchanged_and_removes_cleanly() {
    let _guard = lock();
    let client = client().await;
    remove(&["streaming"]);
    run(&["add-phase", "streaming", "--profile", "laptop", "--no-verify"]).expect(0);
    let before = list_labelled(&client, "streaming").await.unwrap();
    assert!(before.iter().any(|(o, _)| o == "StatefulSet/streaming/kafka"), "{before:?}");
    run(&["add-phase", "streaming", "--profile", "laptop", "--no-verify"]).expect(0);
    assert_eq!(list_labelled(&client, "streaming").await.unwrap(), before, "a second run changes nothing");

    // A StatefulSet's volume size cannot change in place: the error says what to do instead.
    let out = run(&["add-phase", "streaming", "--profile", "laptop", "--no-verify", "--set", "kafka.storage=3Gi"]).expect(1);
    assert!(
        out.stderr.contains("volume size cannot change once installed") && out.stderr.contains("remove-phase streaming"),
        "{}",
        out.stderr
    );

    // Production: three voters, each named in the quorum, topics replicated three times.
    run(&["remove-phase", "streaming"]).expect(0);
    run(&["add-phase", "streaming", "--profile", "production", "--no-verify", "--timeout", "120"]).expect(0);
    let set = Api::<StatefulSet>::namespaced(client.clone(), "streaming").get("kafka").await.unwrap();
    assert_eq!(set.spec.unwrap().replicas, Some(3));
    let conf = Api::<ConfigMap>::namespaced(client.clone(), "streaming").get("kafka-conf").await.unwrap();
    let properties = &conf.data.unwrap()["server.properties"];
    assert!(properties.contains("controller.quorum.voters=0@kafka-0.kafka-nodes.streaming.svc:9093,1@kafka-1"), "{properties}");
    assert!(properties.contains("offsets.topic.replication.factor=3\n"), "{properties}");

    run(&["remove-phase", "streaming"]).expect(0);
    assert!(list_labelled(&client, "streaming").await.unwrap().is_empty());
    let out = run(&["kafka", "consume", "events"]).expect(3);
    assert!(out.stderr.contains("the streaming phase is not installed") && out.stderr.contains("add-phase streaming"), "{}", out.stderr);
}
