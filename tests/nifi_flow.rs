//! R0: the lake flow NiFi's checkpoint uploads (addons/nifi/templates/flow.yaml) holds
//! together as NiFi would load it — every service a processor names is in the group and
//! implements the API the property needs, every connection joins two of its processors, every
//! relationship is connected or auto-terminated (NiFi will not start a processor otherwise) —
//! and it agrees with the phases around it: Kafka's in-cluster listener, the lake's endpoint,
//! region and raw bucket, the checkpoint's topic parameter and prefix. No NiFi runs here: the
//! upload itself is the opt-in e2e's (tests/e2e/nifi.rs).

use std::collections::{BTreeMap, BTreeSet};

use bigtop_k8s::catalog::Catalog;
use bigtop_k8s::catalog::actions::Checkpoint;
use bigtop_k8s::params::{self, Layer, Overrides};
use bigtop_k8s::profile::Profile;
use bigtop_k8s::render::{RenderInput, render_templates};
use serde_json::Value;

/// Relationships of the processors the flow uses, and the services their properties name
/// (property → API), as read at apache/nifi tag rel/nifi-2.11.0.
fn processor_contract(kind: &str) -> (Vec<&'static str>, Vec<(&'static str, &'static str)>) {
    match kind {
        "org.apache.nifi.kafka.processors.ConsumeKafka" => (
            vec!["success", "parse failure"],
            vec![("Kafka Connection Service", "org.apache.nifi.kafka.service.api.KafkaConnectionService")],
        ),
        "org.apache.nifi.processors.aws.s3.PutS3Object" => (
            vec!["success", "failure"],
            vec![("AWS Credentials Provider Service", "org.apache.nifi.processors.aws.credentials.provider.AwsCredentialsProviderService")],
        ),
        other => panic!("the flow uses {other}, which this test does not know"),
    }
}

fn flow(overrides: &[(&str, &str)]) -> Value {
    let catalog = Catalog::embedded().unwrap();
    let mut set = Overrides::default();
    for (k, v) in overrides {
        set.set(Layer::Flag, k, Value::String(v.to_string()));
    }
    let resolved = params::resolve(&catalog, Profile::Laptop, &set).unwrap();
    let input = RenderInput::new(&catalog, "nifi", &resolved, Profile::Laptop).with_stand_ins(|g, k| format!("{}-{k}", g.secret));
    let objects = render_templates(&input).unwrap();
    let cm = objects.iter().find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "nifi-flows").expect("ConfigMap nifi-flows");
    serde_json::from_str(cm["data"]["lake.json"].as_str().unwrap()).expect("lake.json is JSON")
}

#[test]
fn the_lake_flow_holds_together_as_nifi_loads_it() {
    let definition = flow(&[]);
    assert_eq!(definition["flowEncodingVersion"], "1.0");
    let group = &definition["flowContents"];
    let id = group["identifier"].as_str().unwrap();
    let services: BTreeMap<&str, &Value> =
        group["controllerServices"].as_array().unwrap().iter().map(|s| (s["identifier"].as_str().unwrap(), s)).collect();
    let processors: BTreeMap<&str, &Value> =
        group["processors"].as_array().unwrap().iter().map(|p| (p["identifier"].as_str().unwrap(), p)).collect();
    let connections = group["connections"].as_array().unwrap();

    let mut ids = BTreeSet::new();
    for component in services.values().chain(processors.values()).chain(connections.iter().collect::<Vec<_>>().iter()) {
        assert!(ids.insert(component["identifier"].as_str().unwrap()), "identifiers are unique");
        assert_eq!(component["groupIdentifier"], id, "every component is in the group");
    }
    for service in services.values() {
        assert_eq!(service["bundle"]["version"], "2.11.0", "bundles of the pinned NiFi");
        assert_eq!(service["scheduledState"], "DISABLED", "the checkpoint enables services after giving them the key");
    }
    for (pid, p) in &processors {
        let kind = p["type"].as_str().unwrap();
        assert_eq!(p["bundle"]["version"], "2.11.0");
        let (relationships, service_properties) = processor_contract(kind);
        for (property, api) in service_properties {
            let named = p["properties"][property].as_str().unwrap_or_else(|| panic!("{kind} sets {property}"));
            let service = services.get(named).unwrap_or_else(|| panic!("{kind}'s {property} names a service of the group"));
            let apis: Vec<&str> =
                service["controllerServiceApis"].as_array().unwrap().iter().map(|a| a["type"].as_str().unwrap()).collect();
            assert!(apis.contains(&api), "{property} needs a {api}; {} provides {apis:?}", service["type"]);
        }
        let terminated: BTreeSet<&str> = p["autoTerminatedRelationships"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        for r in relationships {
            let connected = connections
                .iter()
                .any(|c| c["source"]["id"] == *pid && c["selectedRelationships"].as_array().unwrap().iter().any(|s| s == r));
            assert!(connected || terminated.contains(r), "{kind}'s relationship {r} goes nowhere: NiFi would not start it");
        }
    }
    for c in connections {
        for end in ["source", "destination"] {
            assert!(processors.contains_key(c[end]["id"].as_str().unwrap()), "the connection's {end} is a processor of the group");
            assert_eq!(c[end]["groupId"], id);
        }
    }
}

#[test]
fn the_lake_flow_agrees_with_kafka_the_lake_and_its_checkpoint() {
    let catalog = Catalog::embedded().unwrap();
    let Some(Checkpoint::NifiCluster(check)) = &catalog.addons["nifi"].checkpoint else { panic!("nifi's checkpoint is nifi-cluster") };
    let settings = check.flow.as_ref().expect("the checkpoint proves the lake flow");
    assert_eq!(settings.topic_param, "nifi.topic");

    let definition = flow(&[("nifi.topic", "clicks"), ("object-storage.raw-bucket", "landing")]);
    let group = &definition["flowContents"];
    let by_type = |suffix: &str, list: &str| {
        group[list].as_array().unwrap().iter().find(|c| c["type"].as_str().unwrap().ends_with(suffix)).unwrap().clone()
    };
    let consume = by_type(".ConsumeKafka", "processors");
    assert_eq!(consume["properties"]["Topics"], "clicks", "the topic parameter the checkpoint produces to");
    assert_eq!(consume["properties"]["Processing Strategy"], "DEMARCATOR");
    assert_eq!(consume["properties"]["Message Demarcator"], "\n", "one record per line, as the checkpoint reads them");
    let kafka = by_type(".Kafka3ConnectionService", "controllerServices");
    assert_eq!(kafka["properties"]["bootstrap.servers"], "kafka.streaming.svc:9092", "Kafka's in-cluster listener");

    let put = by_type(".PutS3Object", "processors");
    assert_eq!(put["properties"]["Bucket"], "landing", "the lake's raw bucket");
    assert_eq!(put["properties"]["Endpoint Override URL"], "http://s3.object-storage.svc.cluster.local:9000");
    assert_eq!(put["properties"]["Region"], "us-east-1");
    assert_eq!(put["properties"]["Use Path Style Access"], "true", "MinIO and Garage serve path-style");
    let key = put["properties"]["Object Key"].as_str().unwrap();
    assert!(key.starts_with(&format!("{}${{kafka.topic}}/", settings.prefix)), "objects land where the checkpoint reads: {key}");
    let aws = by_type(".AWSCredentialsProviderControllerService", "controllerServices");
    assert!(aws["properties"].get("Secret Access Key").is_none(), "no secret in the definition (the checkpoint sets it)");
}
