//! R1: the streaming phase on the real control plane — strict apply (one node at the laptop
//! profile, a three-voter quorum at production; with ZooKeeper, one server or an ensemble of
//! three; with NiFi, one node clustered through ZooKeeper), zero changes on re-apply, clean
//! removal; the phase needs the lake. Simulated pods cannot run Kafka or ZooKeeper: the servers
//! and the checkpoints' scripts are R2's and R3's. NiFi's server runs only in the opt-in e2e.

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
    remove(&["streaming", "object-storage"]);
    // NiFi's flow writes into the lake: without it the phase is refused, with the way in.
    let refused = run(&["add-phase", "streaming", "--profile", "laptop", "--no-verify"]).expect(3);
    assert!(refused.stderr.contains("object-storage") && refused.stderr.contains("--with-deps"), "{}", refused.stderr);
    run(&["add-phase", "streaming", "--profile", "laptop", "--no-verify", "--with-deps"]).expect(0);
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

    // ZooKeeper (for NiFi) is an option of the phase: it adds its own objects, and a second run
    // changes nothing.
    let zk = ["add-phase", "streaming", "--profile", "laptop", "--no-verify", "--set", "streaming.stack=zookeeper"];
    run(&zk).expect(0);
    let with_zookeeper = list_labelled(&client, "streaming").await.unwrap();
    for object in ["StatefulSet/streaming/zookeeper", "Service/streaming/zookeeper-nodes", "NetworkPolicy/streaming/zookeeper"] {
        assert!(with_zookeeper.iter().any(|(o, _)| o == object), "{object} in {with_zookeeper:?}");
    }
    run(&zk).expect(0);
    assert_eq!(list_labelled(&client, "streaming").await.unwrap(), with_zookeeper, "a second run changes nothing");
    // NiFi joins on top: one node, clustered through that ZooKeeper, its login generated;
    // `endpoints` names it. A second run changes nothing.
    let nifi = ["add-phase", "streaming", "--profile", "laptop", "--no-verify", "--set", "streaming.stack=nifi"];
    run(&nifi).expect(0);
    let with_nifi = list_labelled(&client, "streaming").await.unwrap();
    for object in
        ["StatefulSet/streaming/nifi", "Service/streaming/nifi-nodes", "NetworkPolicy/streaming/nifi", "Secret/streaming/nifi-login"]
    {
        assert!(with_nifi.iter().any(|(o, _)| o == object), "{object} in {with_nifi:?}");
    }
    let node = Api::<StatefulSet>::namespaced(client.clone(), "streaming").get("nifi").await.unwrap();
    let env = node.spec.unwrap().template.spec.unwrap().containers[0].env.clone().unwrap_or_default();
    let value = |name: &str| env.iter().find(|e| e.name == name).and_then(|e| e.value.clone());
    assert_eq!(value("NIFI_ZK_CONNECT_STRING").as_deref(), Some("zookeeper.streaming.svc.cluster.local:2181"));
    assert_eq!(value("NIFI_CLUSTER_IS_NODE").as_deref(), Some("true"));
    assert_eq!(bigtop_k8s::secrets::read_value(&client, "streaming", "nifi-login", "password").await.unwrap().len(), 32);
    // The lake flow, shipped as a ConfigMap, and the lake key it writes with, copied from the
    // object-storage phase.
    let flows = Api::<ConfigMap>::namespaced(client.clone(), "streaming").get("nifi-flows").await.unwrap();
    let flow: serde_json::Value = serde_json::from_str(&flows.data.unwrap()["lake.json"]).unwrap();
    assert_eq!(flow["flowContents"]["name"], "bigtop-k8s lake");
    let copied = bigtop_k8s::secrets::read_value(&client, "streaming", "s3-streaming", "access-key").await.unwrap();
    let original = bigtop_k8s::secrets::read_value(&client, "object-storage", "s3-streaming", "access-key").await.unwrap();
    assert_eq!(copied, original);
    run(&nifi).expect(0);
    assert_eq!(list_labelled(&client, "streaming").await.unwrap(), with_nifi, "a second run changes nothing");
    let out = run(&["endpoints"]).expect(0);
    assert!(out.stdout.contains("nifi/ui") && out.stdout.contains("Secret nifi-login"), "{}", out.stdout);

    // Dropping them again would abandon their data: refused, with the way out.
    let dropped = run(&["add-phase", "streaming", "--profile", "laptop", "--no-verify"]).expect(2);
    assert!(
        dropped.stderr.contains("would leave its data behind") && dropped.stderr.contains("remove-phase streaming"),
        "{}",
        dropped.stderr
    );

    // Production: three voters, each named in the quorum, topics replicated three times; an
    // ensemble of three ZooKeeper servers.
    run(&["remove-phase", "streaming"]).expect(0);
    run(&["add-phase", "streaming", "--profile", "production", "--no-verify", "--timeout", "120", "--set", "streaming.stack=zookeeper"])
        .expect(0);
    let ensemble = Api::<StatefulSet>::namespaced(client.clone(), "streaming").get("zookeeper").await.unwrap();
    assert_eq!(ensemble.spec.unwrap().replicas, Some(3));
    let zoo = Api::<ConfigMap>::namespaced(client.clone(), "streaming").get("zookeeper-conf").await.unwrap();
    let zoo_cfg = &zoo.data.unwrap()["zoo.cfg"];
    assert!(
        zoo_cfg.contains("standaloneEnabled=false\n")
            && zoo_cfg.contains("server.3=zookeeper-2.zookeeper-nodes.streaming.svc:2888:3888;2181"),
        "{zoo_cfg}"
    );
    let set = Api::<StatefulSet>::namespaced(client.clone(), "streaming").get("kafka").await.unwrap();
    assert_eq!(set.spec.unwrap().replicas, Some(3));
    let conf = Api::<ConfigMap>::namespaced(client.clone(), "streaming").get("kafka-conf").await.unwrap();
    let properties = &conf.data.unwrap()["server.properties"];
    assert!(properties.contains("controller.quorum.voters=0@kafka-0.kafka-nodes.streaming.svc:9093,1@kafka-1"), "{properties}");
    assert!(properties.contains("offsets.topic.replication.factor=3\n"), "{properties}");

    run(&["remove-phase", "streaming"]).expect(0);
    assert!(list_labelled(&client, "streaming").await.unwrap().is_empty());
    remove(&["object-storage"]);
    let out = run(&["kafka", "consume", "events"]).expect(3);
    assert!(out.stderr.contains("the streaming phase is not installed") && out.stderr.contains("add-phase streaming"), "{}", out.stderr);
}
