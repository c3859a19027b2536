//! ClusterAPI test data shared by the template snapshots and the R1 tests.

use std::collections::BTreeMap;

use bigtop_k8s::provider::capi::Infrastructure;

/// Values for every required variable of each infrastructure (documentation addresses).
pub fn sample_variables(infra: Infrastructure) -> BTreeMap<String, String> {
    let pairs: &[(&str, &str)] = match infra {
        Infrastructure::Docker => &[],
        Infrastructure::Aws => &[("AWS_REGION", "eu-west-1")],
        Infrastructure::Vsphere => &[
            ("VSPHERE_SERVER", "vcenter.example.com"),
            ("VSPHERE_TLS_THUMBPRINT", "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67"),
            ("VSPHERE_DATACENTER", "dc1"),
            ("VSPHERE_DATASTORE", "ds1"),
            ("VSPHERE_NETWORK", "VM Network"),
            ("VSPHERE_RESOURCE_POOL", "*/Resources"),
            ("VSPHERE_FOLDER", "bigtop"),
            ("VSPHERE_TEMPLATE", "ubuntu-2404-kube-v1.35.5"),
            ("CONTROL_PLANE_ENDPOINT_IP", "192.0.2.10"),
            ("VSPHERE_SSH_AUTHORIZED_KEY", "ssh-ed25519 AAAAC3Nza example"),
        ],
    };
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
