//! R1: the notebooks phase on the real control plane, with each engine — strict apply on top of
//! spark, zero changes on re-apply, the endpoint, a Spark release the engine is not built for
//! refused before anything is applied, clean removal. Simulated pods cannot run JupyterLab: the
//! server and the checkpoint's cell are R2's (`tests/r2_notebooks.rs`) and R3's; Zeppelin's
//! server runs only in the opt-in e2e.

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
        out.stderr.contains("the notebooks phase's jupyter is built for Spark 4.0.1; the spark phase is Spark 3.5.7")
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

    // The notebook's Spark is the image's: the spark phase cannot move to another release
    // under it, and says how.
    let out = run(&["add-phase", "spark", "--no-verify", "--set", "spark.version=3.5.7"]).expect(2);
    assert!(
        out.stderr
            .contains("the installed notebooks phase's jupyter is built for Spark 4.0.1; this would make the spark phase Spark 3.5.7")
            && out.stderr.contains("remove-phase notebooks"),
        "{}",
        out.stderr
    );
    // The spark phase cannot go while notebooks needs it; notebooks goes alone.
    run(&["remove-phase", "spark"]).expect(3);
    run(&["remove-phase", "notebooks"]).expect(0);
    assert!(list_labelled(&client, "notebooks").await.unwrap().is_empty());
    assert!(!list_labelled(&client, "spark").await.unwrap().is_empty(), "spark stays");
    remove(&["spark", "object-storage"]);
}

/// Zeppelin: refused on Spark 4 (its image's Java 11 cannot run it) with the command that works,
/// then applied strictly on Spark 3.5.7 (the spark phase's image lends the distribution),
/// re-applied unchanged, not switched to Jupyter while installed, removed cleanly. The server
/// itself runs only in the opt-in e2e (`tests/e2e/zeppelin.rs`): no registry here serves it.
#[tokio::test]
async fn zeppelin_engine_applies_on_spark_3_reapplies_unchanged_and_removes_cleanly() {
    let _guard = lock();
    let client = client().await;
    remove(&["notebooks", "spark", "object-storage"]);
    let zeppelin = ["--set", "notebooks.engine=zeppelin"];
    let out = run(&[&["add-phase", "notebooks", "--with-deps", "--no-verify"][..], &zeppelin].concat()).expect(2);
    assert!(
        out.stderr.contains("the notebooks phase's zeppelin is built for Spark 3.5.7; the spark phase is Spark 4.0.1")
            && out.stderr.contains("--set spark.version=3.5.7 --set notebooks.engine=zeppelin"),
        "{}",
        out.stderr
    );
    assert!(list_labelled(&client, "spark").await.unwrap().is_empty(), "nothing was applied");

    let install =
        [&["add-phase", "notebooks", "--with-deps", "--profile", "laptop", "--no-verify", "--set", "spark.version=3.5.7"][..], &zeppelin]
            .concat();
    run(&install).expect(0);
    let before = list_labelled(&client, "notebooks").await.unwrap();
    for object in [
        "Deployment/spark/zeppelin",
        "Service/spark/zeppelin",
        "PersistentVolumeClaim/spark/zeppelin-notebooks",
        "Secret/spark/zeppelin-login",
        "ConfigMap/spark/zeppelin-conf",
    ] {
        assert!(before.iter().any(|(o, _)| o.starts_with(object)), "{object} in {before:?}");
    }
    assert!(!before.iter().any(|(o, _)| o.contains("jupyter")), "one engine: {before:?}");
    let deployment = Api::<Deployment>::namespaced(client.clone(), "spark").get("zeppelin").await.unwrap();
    let pod = deployment.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("spark"));
    let lends =
        pod.init_containers.unwrap_or_default().into_iter().find(|c| c.name == "spark-home").expect("the spark-home init container");
    assert_eq!(
        lends.image.as_deref(),
        Some("apache/spark:3.5.7-scala2.12-java17-python3-ubuntu"),
        "the spark phase's image of its release"
    );
    assert_eq!(bigtop_k8s::secrets::read_value(&client, "spark", "zeppelin-login", "user").await.unwrap(), "admin");
    assert_eq!(bigtop_k8s::secrets::read_value(&client, "spark", "zeppelin-login", "password").await.unwrap().len(), 32);
    run(&["add-phase", "notebooks", "--profile", "laptop", "--no-verify", "--set", "notebooks.engine=zeppelin"]).expect(0);
    assert_eq!(list_labelled(&client, "notebooks").await.unwrap(), before, "a second run changes nothing");

    // The installed engine stays: Jupyter would leave the notes behind.
    let out = run(&["add-phase", "notebooks", "--no-verify"]).expect(2);
    assert!(out.stderr.contains("phase notebooks is installed with zeppelin") && out.stderr.contains("notebooks.engine"), "{}", out.stderr);
    let out = run(&["endpoints"]).expect(0);
    assert!(out.stdout.contains("zeppelin/ui") && out.stdout.contains("Secret zeppelin-login"), "{}", out.stdout);

    run(&["remove-phase", "notebooks"]).expect(0);
    assert!(list_labelled(&client, "notebooks").await.unwrap().is_empty());
    remove(&["spark", "object-storage"]);
}
