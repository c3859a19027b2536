//! R3: the base phase's checkpoint (PVC write and read back, default-deny block and restore) on
//! a real node. The node has no Canal and no OpenEBS provisioner (neither can be built here at
//! our pins, see docs/testing.md): storage is `local` PVs on 0777 directories, which
//! behave like OpenEBS's, and kube-router enforces the policies.

mod common;

use std::collections::BTreeMap;

use bigtop_k8s::catalog::Catalog;
use bigtop_k8s::checkpoint::{self, Context};
use common::lock;
use common::r3::*;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;

async fn base_checkpoint(client: &kube::Client) -> Result<checkpoint::Evidence, checkpoint::CheckpointError> {
    let catalog = Catalog::embedded().unwrap();
    let params = BTreeMap::new();
    let ctx = Context {
        client,
        catalog: &catalog,
        addon: &catalog.addons["openebs"],
        phase: catalog.phase("base").unwrap(),
        params: &params,
        contracts: &Default::default(),
    };
    checkpoint::run(&ctx).await
}

#[tokio::test(flavor = "multi_thread")]
async fn base_checkpoint_fails_without_enforcement_then_passes_from_a_clean_start() {
    let _guard = lock();
    let client = client().await;

    // Without an enforcer the default-deny policy blocks nothing: the checkpoint must say so.
    // (The guard restarts it however this test ends: the other R3 tests need it.)
    struct Restart;
    impl Drop for Restart {
        fn drop(&mut self) {
            policy_enforcer("start");
        }
    }
    let _restart = Restart;
    policy_enforcer("stop");
    let failed = base_checkpoint(&client).await.expect_err("policies are not enforced, the checkpoint must fail");
    assert!(failed.to_string().contains("did not block"), "{failed}");

    // That run left its namespace and Jobs behind; the next run must not read them back (before
    // the fix it reported the old "did not block" forever).
    policy_enforcer("start");
    let evidence = base_checkpoint(&client).await.expect("the checkpoint passes with policies enforced");
    assert_eq!(evidence["nodesReady"], 1);
    assert_eq!(evidence["volumeBytes"], 1 << 20);
    assert_eq!(evidence["volumeSha256"].as_str().map(str::len), Some(64));
    assert_eq!(evidence["policy"], "open, blocked by default-deny, open again");

    // Success removes the namespace (deleted in the background: wait for it).
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let gone = kube::runtime::wait::await_condition(namespaces, "bigtop-checkpoint", |o: Option<&Namespace>| o.is_none());
    tokio::time::timeout(std::time::Duration::from_secs(120), gone).await.expect("namespace removed").unwrap();
    no_containers_left("bigtop-checkpoint").await;
}
