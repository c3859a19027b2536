//! R1: the base phase — Canal from the pinned upstream canal.yaml (read from the mirror) and our
//! OpenEBS LocalPV templates — on the real control plane, with strict validation.

mod common;

use bigtop_k8s::remove::list_labelled;
use common::*;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;

async fn default_classes(client: &kube::Client) -> Vec<String> {
    let api: Api<StorageClass> = Api::all(client.clone());
    let mut names: Vec<String> = api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|s| {
            s.metadata.annotations.as_ref().and_then(|a| a.get("storageclass.kubernetes.io/is-default-class")).is_some_and(|v| v == "true")
        })
        .filter_map(|s| s.metadata.name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn base_applies_canal_and_openebs_makes_one_default_class_reapplies_unchanged_and_removes() {
    let _guard = lock();
    let client = client().await;
    let out = run(&["add-phase", "base", "--no-verify"]).expect(0);
    assert!(out.stderr.contains("StorageClass standard is no longer the default"), "{}", out.stderr);
    assert_eq!(default_classes(&client).await, ["openebs-hostpath"]);

    let objects = list_labelled(&client, "base").await.unwrap();
    let names: Vec<&str> = objects.iter().map(|(o, _)| o.as_str()).collect();
    for expected in [
        "DaemonSet/kube-system/canal",
        "Deployment/kube-system/calico-kube-controllers",
        "Deployment/openebs/openebs-localpv-provisioner",
        "StorageClass/openebs-hostpath",
        "CustomResourceDefinition/networkpolicies.crd.projectcalico.org",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }

    let again = run(&["add-phase", "base", "--no-verify"]).expect(0);
    assert!(again.stderr.contains("nothing to change"), "{}", again.stderr);
    assert_eq!(list_labelled(&client, "base").await.unwrap(), objects);

    // Simulated pods never mount the volume the fake provisioner never binds: the checkpoint must
    // fail (exit 4) and say where it stood, never pass.
    let failed = run(&["verify", "base", "--timeout", "8"]).expect(4);
    assert!(failed.stderr.contains("checkpoint of base (openebs) failed"), "{}", failed.stderr);

    run(&["remove-phase", "base"]).expect(0);
    assert!(list_labelled(&client, "base").await.unwrap().is_empty());
    restore_standard(&client).await;
}

#[tokio::test]
async fn base_without_cni_installs_only_storage() {
    let _guard = lock();
    let client = client().await;
    run(&["add-phase", "base", "--no-verify", "--set", "base.cni=none"]).expect(0);
    let objects = list_labelled(&client, "base").await.unwrap();
    assert!(objects.iter().all(|(o, _)| !o.contains("canal") && !o.contains("calico")), "{objects:?}");
    assert!(objects.iter().any(|(o, _)| o == "StorageClass/openebs-hostpath"), "{objects:?}");
    run(&["remove-phase", "base"]).expect(0);
    restore_standard(&client).await;
}

#[tokio::test]
async fn create_cluster_on_an_existing_cluster_keeps_its_cni_and_installs_storage() {
    let _guard = lock();
    let client = client().await;
    let out = run(&["create-cluster", "--provider", "existing", "--no-verify"]).expect(0);
    assert!(out.stderr.contains("every node is Ready, so the cluster has a CNI"), "{}", out.stderr);
    assert!(out.stdout.contains("base: openebs"), "{}", out.stdout);
    let objects = list_labelled(&client, "base").await.unwrap();
    assert!(objects.iter().all(|(o, _)| !o.contains("canal")), "{objects:?}");
    run(&["remove-phase", "base"]).expect(0);
    restore_standard(&client).await;
}
