//! R1: the spark phase on the real control plane — strict apply, the credentials copy, zero
//! changes on re-apply, clean removal, the dependency on object-storage — and `spark submit`'s
//! objects (application ConfigMap, submitter pod, the driver pod our template yields) accepted
//! by the API server in a server-side dry run with strict validation, with and without a
//! dedicated Spark node pool. Simulated pods cannot run Spark: the job itself is R2's.

mod common;

use bigtop_k8s::remove::list_labelled;
use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Secret};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

fn app() -> String {
    repo().join("tests/fixtures/spark/wordcount.py").display().to_string()
}

fn dry_run(extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["spark", "submit", "-o", "json", "--dry-run"];
    let app = app();
    args.push(&app);
    args.extend_from_slice(extra);
    serde_json::from_str(&run(&args).expect(0).stdout).unwrap()
}

async fn label_spark_node(client: &kube::Client, on: bool) {
    let nodes: Api<Node> = Api::all(client.clone());
    let name = nodes.list(&Default::default()).await.unwrap().items[0].metadata.name.clone().unwrap();
    let value = if on { json!("true") } else { Value::Null };
    let patch = json!({"metadata": {"labels": {"bigtop.apache.org/spark": value}}});
    nodes.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
}

#[tokio::test]
async fn spark_phase_applies_copies_the_key_reapplies_unchanged_and_submit_objects_are_accepted() {
    let _guard = lock();
    let client = client().await;
    remove(&["spark", "object-storage"]);
    let refused = run(&["add-phase", "spark", "--no-verify"]).expect(3);
    assert!(refused.stderr.contains("object-storage") && refused.stderr.contains("--with-deps"), "{}", refused.stderr);

    run(&["add-phase", "spark", "--with-deps", "--no-verify"]).expect(0);
    let copied = Api::<Secret>::namespaced(client.clone(), "spark").get("s3-spark").await.unwrap();
    let original = Api::<Secret>::namespaced(client.clone(), "object-storage").get("s3-spark").await.unwrap();
    assert_eq!(copied.data, original.data);
    let before = list_labelled(&client, "spark").await.unwrap();
    assert!(before.iter().any(|(o, _)| o == "ConfigMap/spark/spark-conf"), "{before:?}");
    run(&["add-phase", "spark", "--no-verify"]).expect(0);
    assert_eq!(list_labelled(&client, "spark").await.unwrap(), before, "a second run changes nothing");

    // spark submit: what it would create passes strict server-side validation.
    let objects = dry_run(&["--driver-memory", "1g", "--", "a", "b", "a"]);
    let kinds: Vec<String> = objects.iter().map(bigtop_k8s::render::describe).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    let submitter = objects.iter().find(|o| o["metadata"]["name"].as_str().unwrap().ends_with("-submit")).unwrap();
    let cmd: Vec<&str> = submitter["spec"]["containers"][0]["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(cmd.contains(&"spark.driver.memory=1g") && cmd.ends_with(&["local:///opt/bigtop/app/wordcount.py", "a", "b", "a"]), "{cmd:?}");
    let driver = objects.iter().find(|o| o["metadata"]["labels"]["spark-role"] == "driver").unwrap();
    assert_eq!(driver["spec"]["initContainers"][0]["name"], "fetch-jars");
    assert!(driver["spec"]["tolerations"].as_array().is_none_or(|t| !t.iter().any(|t| t["key"] == "bigtop.apache.org/spark")));

    // A dedicated node pool needs Spark nodes; once one is labelled, every Spark pod goes there.
    let out = run(&["add-phase", "spark", "--no-verify", "--set", "spark.node-pool=dedicated"]).expect(1);
    assert!(out.stderr.contains("no node is labelled bigtop.apache.org/spark=true"), "{}", out.stderr);
    label_spark_node(&client, true).await;
    // Labelled nodes are found without being asked (create-cluster --spark-nodes labels them).
    let out = run(&["add-phase", "spark", "--no-verify"]).expect(0);
    assert!(out.stderr.contains("1 node(s) labelled bigtop.apache.org/spark=true: Spark runs there"), "{}", out.stderr);
    for pod in dry_run(&[]).iter().filter(|o| o["kind"] == "Pod") {
        assert_eq!(pod["spec"]["nodeSelector"]["bigtop.apache.org/spark"], "true", "{pod}");
        assert_eq!(pod["spec"]["tolerations"][0]["key"], "bigtop.apache.org/spark", "{pod}");
    }
    label_spark_node(&client, false).await;

    run(&["remove-phase", "spark"]).expect(0);
    assert!(list_labelled(&client, "spark").await.unwrap().is_empty());
    assert!(Api::<Secret>::namespaced(client.clone(), "spark").get_opt("s3-spark").await.map(|s| s.is_none()).unwrap_or(true));
    remove(&["object-storage"]);
}

#[test]
fn spark_bad_input_is_refused_with_the_next_step() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["spark", "submit", &dir.path().join("absent.py").display().to_string()]).expect(2);
    assert!(out.stderr.contains("cannot read") && out.stderr.contains("absent.py"), "{}", out.stderr);
    let r = dir.path().join("job.R");
    std::fs::write(&r, "1").unwrap();
    let out = run(&["spark", "submit", &r.display().to_string()]).expect(2);
    assert!(out.stderr.contains("unsupported file type"), "{}", out.stderr);
    let out = run(&["spark", "submit", &app(), "--driver-memory", "256m"]).expect(2);
    assert!(out.stderr.contains("at least 450 MiB"), "{}", out.stderr);
    let out = run(&["spark", "submit", &app()]).expect(3);
    assert!(
        out.stderr.contains("the spark phase is not installed") && out.stderr.contains("add-phase spark --with-deps"),
        "{}",
        out.stderr
    );
    let out = run(&["add-phase", "spark", "--with-deps", "--dry-run", "--set", "spark.version=4.1.1"]).expect(2);
    assert!(out.stderr.contains("expected one of: 4.0.1, 3.5.7"), "{}", out.stderr);
    let out = run(&["add-phase", "spark", "--with-deps", "--dry-run", "--set", "spark.executor-memory=300m"]).expect(2);
    assert!(out.stderr.contains("below the 450 MiB"), "{}", out.stderr);

    // The metastore: needs the sql phase and a release with a pinned Hive 4 client.
    let out = run(&["add-phase", "spark", "--with-deps", "--dry-run", "--set", "spark.metastore=sql"]).expect(3);
    assert!(out.stderr.contains("needs the sql phase") && out.stderr.contains("add-phase sql spark"), "{}", out.stderr);
    let out =
        run(&["add-phase", "sql", "spark", "--with-deps", "--dry-run", "--set", "spark.version=3.5.7", "--set", "spark.metastore=sql"])
            .expect(2);
    assert!(
        out.stderr.contains("Spark 3.5.7 has no Hive Metastore client") && out.stderr.contains("spark.version=4.0.1"),
        "{}",
        out.stderr
    );
    // Named together, sql goes first (the spark checkpoint reads its table) and is wired in; a
    // dry run does not need the lake's keys that the object-storage phase of the plan would make.
    let out = run(&["add-phase", "spark", "sql", "--with-deps", "--dry-run", "-o", "json"]).expect(0);
    assert!(out.stderr.contains("Spark SQL uses its Hive Metastore"), "{}", out.stderr);
    let planned: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let order: Vec<&str> = planned.iter().map(|p| p["phase"].as_str().unwrap()).collect();
    assert_eq!(order, ["object-storage", "sql", "spark"]);
    // `render` prints real objects, so it needs the keys to copy.
    run(&["add-phase", "object-storage", "--no-verify"]).expect(0);
    let conf = run(&["render", "spark", "--set", "spark.metastore=sql"]).expect(0).stdout;
    assert!(
        conf.contains("spark.hadoop.hive.metastore.uris                        thrift://hive-metastore.sql.svc.cluster.local:9083"),
        "{conf}"
    );
    remove(&["object-storage"]);
}

async fn spark_defaults(client: &kube::Client) -> String {
    let cm = Api::<ConfigMap>::namespaced(client.clone(), "spark").get("spark-conf").await.unwrap();
    cm.data.unwrap()["spark-defaults.conf"].clone()
}

#[tokio::test]
async fn spark_follows_the_sql_phase_metastore_in_and_out() {
    let _guard = lock();
    let client = client().await;
    remove(&["spark", "sql", "object-storage"]);
    let out = run(&["add-phase", "spark", "sql", "--with-deps", "--no-verify"]).expect(0);
    assert!(out.stderr.contains("Spark SQL uses its Hive Metastore"), "{}", out.stderr);
    let conf = spark_defaults(&client).await;
    assert!(conf.contains("spark.sql.catalogImplementation                         hive"), "{conf}");
    assert!(conf.contains("hive-4.0.1/*.jar"), "{conf}");

    let out = run(&["remove-phase", "sql"]).expect(0);
    assert!(out.stderr.contains("spark still points Spark SQL at the removed metastore"), "{}", out.stderr);
    run(&["add-phase", "spark", "--no-verify"]).expect(0);
    let conf = spark_defaults(&client).await;
    assert!(!conf.contains("catalogImplementation") && !conf.contains("metastore"), "{conf}");

    // With Presto the sql phase runs Hive Metastore 3.1.3 (read off the installed phase):
    // Spark's built-in Hive 2.3 client, nothing fetched.
    run(&["add-phase", "sql", "--no-verify", "--set", "sql.engine=presto"]).expect(0);
    let out = run(&["add-phase", "spark", "--no-verify"]).expect(0);
    assert!(out.stderr.contains("Hive Metastore 3.1.3 through a Hive 2.3.10 client"), "{}", out.stderr);
    let conf = spark_defaults(&client).await;
    assert!(conf.contains("spark.sql.hive.metastore.version                        2.3.10"), "{conf}");
    assert!(!conf.contains("spark.sql.hive.metastore.jars"), "{conf}");
    remove(&["spark", "sql", "object-storage"]);
}
