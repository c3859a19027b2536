//! R0: the Kind configurations bigtop-k8s renders — snapshots for 1 and 3 nodes, with and
//! without a registry mirror and port mappings, for every supported Kubernetes version — and
//! the pod subnet agreeing with the pinned canal.yaml. Regenerate snapshots with
//! `BLESS=1 cargo test --test kind_config`.

mod common;

use std::path::{Path, PathBuf};

use bigtop_k8s::provider::kind::{KindSpec, NodeImages, PortMapping, hosts_toml, render_config};
use common::check_snapshot;

#[test]
fn rendered_kind_configs_match_their_snapshots() {
    let images = NodeImages::embedded();
    let certs = PathBuf::from("/home/user/.cache/bigtop-k8s/kind/bigtop/certs.d");
    let mut stale = Vec::new();
    for version in images.images.keys() {
        for (label, workers) in [("1-node", 0), ("3-nodes", 2)] {
            for mirror in [None, Some("http://127.0.0.1:5001".to_string())] {
                let spec = KindSpec {
                    name: "bigtop".into(),
                    workers,
                    kubernetes: Some(version.clone()),
                    ports: if workers > 0 { vec![PortMapping { host: 8080, container: 30080 }] } else { vec![] },
                    mirror: mirror.clone(),
                    role: Default::default(),
                    spark_nodes: if workers > 0 { 1 } else { 0 },
                };
                let text = render_config(&spec, &images, Some(&certs)).unwrap();
                let parsed: serde_json::Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{text}\n{e}"));
                assert_eq!(parsed["networking"]["disableDefaultCNI"], true);
                assert_eq!(parsed["nodes"].as_array().unwrap().len(), 1 + workers as usize);
                let spark: Vec<&serde_json::Value> =
                    parsed["nodes"].as_array().unwrap().iter().filter(|n| n["labels"]["bigtop.apache.org/spark"] == "true").collect();
                assert_eq!(spark.len(), if workers > 0 { 1 } else { 0 }, "the last worker is reserved for Spark");
                assert!(spark.iter().all(|n| n["kubeadmConfigPatches"][0].as_str().unwrap().contains("NoSchedule")));
                assert!(parsed["nodes"][0]["image"].as_str().unwrap().contains("@sha256:"));
                let m = if mirror.is_some() { "mirror" } else { "no-mirror" };
                check_snapshot("kind", &format!("{version}-{label}-{m}.yaml"), &text, &mut stale);
            }
        }
    }
    check_snapshot("kind", "hosts-docker.io.toml", &hosts_toml("https://registry-1.docker.io", "http://127.0.0.1:5001"), &mut stale);
    assert!(stale.is_empty(), "differs from (or lacks) its snapshot; review and run `BLESS=1 cargo test --test kind_config`: {stale:?}");
}

#[test]
fn pod_subnet_is_canals_network() {
    let mirror = std::env::var_os("BIGTOP_K8S_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream"));
    let canal = std::fs::read_to_string(mirror.join("calico/v3.32.1/canal.yaml"))
        .expect("canal.yaml in the mirror directory (../shared/upstream or BIGTOP_K8S_MIRROR)");
    let network = canal
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"Network\": \""))
        .and_then(|rest| rest.split('"').next())
        .expect("canal.yaml sets a flannel Network");
    assert_eq!(NodeImages::embedded().pod_subnet, network);
}
