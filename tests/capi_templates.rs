//! R0: the ClusterAPI workload clusters bigtop-k8s renders — snapshots for every infrastructure
//! with 1 and 3 control-plane machines and 0 or 2 workers — and the management Kind config.
//! Regenerate snapshots with `BLESS=1 cargo test --test capi_templates`.

mod common;

use bigtop_k8s::provider::capi::{CapiSpec, Infrastructure, Providers, render_cluster, resolve_variables};
use bigtop_k8s::provider::kind::{KindRole, KindSpec, NodeImages, render_config};
use common::capi::sample_variables;
use common::check_snapshot;

#[test]
fn rendered_workload_clusters_match_their_snapshots() {
    let providers = Providers::embedded();
    let mut stale = Vec::new();
    for infra in Infrastructure::ALL {
        for cp in [1, 3] {
            for workers in [0, 2] {
                let spec = CapiSpec {
                    name: "analytics".into(),
                    namespace: "default".into(),
                    infrastructure: infra,
                    kubernetes: None,
                    control_plane_nodes: cp,
                    workers,
                    variables: sample_variables(infra),
                };
                let vars = resolve_variables(&spec, &providers, |_| None).unwrap();
                let objects = render_cluster(&spec, &providers, &vars).unwrap();
                let kcp = objects.iter().find(|o| o["kind"] == "KubeadmControlPlane").unwrap();
                assert_eq!(kcp["spec"]["replicas"], cp);
                let md = objects.iter().find(|o| o["kind"] == "MachineDeployment").unwrap();
                assert_eq!(md["spec"]["replicas"], workers);
                let taints = &kcp["spec"]["kubeadmConfigSpec"]["initConfiguration"]["nodeRegistration"]["taints"];
                assert_eq!(taints.is_array(), workers == 0, "without workers the control plane is untainted: {taints}");
                let text = bigtop_k8s::render::to_yaml(&objects);
                // cloud-init's own template strings pass through ours untouched.
                assert_eq!(text.contains("{{ ds.meta_data"), infra != Infrastructure::Docker, "{text}");
                check_snapshot("capi", &format!("{}-{cp}cp-{workers}w.yaml", infra.name()), &text, &mut stale);
            }
        }
    }
    let mgmt = KindSpec { name: "analytics-mgmt".into(), role: KindRole::Management, ..Default::default() };
    let text = render_config(&mgmt, &NodeImages::embedded(), None).unwrap();
    assert!(text.contains("disableDefaultCNI: false") && text.contains("containerPath: /var/run/docker.sock"), "{text}");
    check_snapshot("capi", "management-kind.yaml", &text, &mut stale);
    assert!(stale.is_empty(), "differs from (or lacks) its snapshot; review and run `BLESS=1 cargo test --test capi_templates`: {stale:?}");
}
