//! R1: the notebooks phase on the real control plane — strict apply on top of spark, zero
//! changes on re-apply, the endpoint's URL with its token, a Spark release the image is not
//! built for refused before anything is applied, clean removal. Simulated pods cannot run
//! JupyterLab: the server and the checkpoint's cell are R2's (`tests/r2_spark.rs`) and R3's.

mod common;

use bigtop_k8s::remove::list_labelled;
use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

#[tokio::test]
async fn notebooks_phase_applies_reapplies_unchanged_and_removes_cleanly() {
    let _guard = lock();
    let client = client().await;
    remove(&["notebooks", "spark", "object-storage"]);
    let refused = run(&["add-phase", "notebooks", "--no-verify"]).expect(3);
    assert!(refused.stderr.contains("--with-deps"), "{}", refused.stderr);
    // The image carries Spark 4.0.1: another release is refused before anything is applied.
    let out = run(&["add-phase", "notebooks", "--with-deps", "--no-verify", "--set", "spark.version=3.5.7"]).expect(2);
    assert!(
        out.stderr.contains("the notebooks phase is built for Spark 4.0.1; the spark phase is Spark 3.5.7")
            && out.stderr.contains("--set spark.version=4.0.1"),
        "{}",
        out.stderr
    );
    assert!(list_labelled(&client, "spark").await.unwrap().is_empty(), "nothing was applied");

    run(&["add-phase", "notebooks", "--with-deps", "--profile", "laptop", "--no-verify"]).expect(0);
    let before = list_labelled(&client, "notebooks").await.unwrap();
    for object in
        ["Deployment/spark/jupyter", "Service/spark/jupyter", "PersistentVolumeClaim/spark/notebooks", "Secret/spark/notebook-token"]
    {
        assert!(before.iter().any(|(o, _)| o.starts_with(object)), "{object} in {before:?}");
    }
    let jupyter = Api::<Deployment>::namespaced(client.clone(), "spark").get("jupyter").await.unwrap();
    let pod = jupyter.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("spark"), "the drivers create executors as the spark phase's account");
    run(&["add-phase", "notebooks", "--profile", "laptop", "--no-verify"]).expect(0);
    assert_eq!(list_labelled(&client, "notebooks").await.unwrap(), before, "a second run changes nothing");

    // The URL carries the generated token.
    let token = bigtop_k8s::secrets::read_value(&client, "spark", "notebook-token", "token").await.unwrap();
    assert_eq!(token.len(), 32);
    let out = run(&["endpoints"]).expect(0);
    assert!(out.stdout.contains(&format!("http://127.0.0.1:8888/lab?token={token}")), "{}", out.stdout);

    // The spark phase cannot go while notebooks needs it; notebooks goes alone.
    run(&["remove-phase", "spark"]).expect(3);
    run(&["remove-phase", "notebooks"]).expect(0);
    assert!(list_labelled(&client, "notebooks").await.unwrap().is_empty());
    assert!(!list_labelled(&client, "spark").await.unwrap().is_empty(), "spark stays");
    remove(&["spark", "object-storage"]);
}
