//! R3: the lakehouse on a real node — PostgreSQL, Hive Metastore, Trino or Presto, and Spark's
//! submitter, driver and executor pods, all from the catalog's images (the look-alikes imported
//! into containerd). The init containers fetch and check their jars from a Maven repository
//! inside the test namespace (the path an offline cluster takes); every checkpoint goes through
//! real port-forwards, and Spark's reads the table the sql checkpoint wrote, through the metastore;
//! so does a notebook kernel's Spark (JupyterLab, client mode) on the Trino lakehouse.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use bigtop_k8s::remove::list_labelled;
use common::lock;
use common::r3::*;
use common::servers::render;
use common::sql_servers::{config_file, sql_cache};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams};

const NS: &str = "sql";
const SPARK: &str = "spark";
const METASTORE: &str = "app.kubernetes.io/name=hive-metastore";

/// Where build-sql.sh keeps the jars the metastores' fetch scripts pin.
fn jar_caches() -> Vec<PathBuf> {
    let sql = sql_cache();
    ["hms-4.0.1/classpath", "hms-4.0.1/extra", "hms-3.1.3/classpath", "hms-3.1.3/dist"].iter().map(|d| sql.join(d)).collect()
}

/// Where build-spark.sh keeps the jars the spark phase pins for `release` (with 4.0.1, the Hive
/// 4 client among them).
fn spark_jar_caches(release: &str) -> Vec<PathBuf> {
    let root = common::spark::spark_root().with_file_name(format!("spark-{release}"));
    vec![root.join("jars"), root.join("jars/hive-4.0.1")]
}

/// The one Ready pod matching `selector` whose uid is not `old`.
async fn ready_pod(client: &kube::Client, selector: &str, old: Option<String>) -> Pod {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    for _ in 0..120 {
        let list = pods.list(&ListParams::default().labels(selector)).await.unwrap();
        let ready = list.items.into_iter().find(|p| {
            p.metadata.uid != old
                && p.metadata.deletion_timestamp.is_none()
                && p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        });
        if let Some(pod) = ready {
            return pod;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    panic!("no new Ready pod {selector} within 240 s");
}

async fn logs(client: &kube::Client, pod: &Pod, container: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let params = LogParams { container: Some(container.into()), ..LogParams::default() };
    pods.logs(pod.metadata.name.as_deref().unwrap(), &params).await.unwrap()
}

/// The checkpoint's table through the `sql` command: its three rows, ids 1 + 2 + 3.
fn checkpoint_rows_are_there() {
    let out = run(&["sql", "SELECT count(*) AS n, sum(id) AS total FROM hive.bigtop_checkpoint.rows"]).expect(0);
    let line = out.stdout.lines().find(|l| l.split_whitespace().next() == Some("3")).unwrap_or_default();
    assert!(line.split_whitespace().nth(1) == Some("6"), "expected a row `3 6`:\n{}", out.stdout);
}

/// A Maven repository serving what `metastore_addon`'s fetch script pins.
fn repository_for(metastore_addon: &str) -> MavenRepository {
    let maven = MavenRepository::start();
    let fetch_script = config_file(&render(metastore_addon, &[]), "hive-metastore-conf", "fetch-jars.sh");
    maven.serve_pins(&fetch_script, &jar_caches());
    maven
}

/// Also serve what the spark phase's fetch script pins for `release`, with `metastore`.
fn serve_spark_jars(maven: &MavenRepository, release: &str, metastore: &str) {
    let objects = render("spark-k8s", &[("spark.version", release), ("spark.metastore", metastore)]);
    let script = objects.iter().filter(|o| o["kind"] == "ConfigMap").find_map(|o| o["data"]["fetch-jars.sh"].as_str());
    maven.serve_pins(script.expect("a ConfigMap with fetch-jars.sh"), &spark_jar_caches(release));
}

/// `remove-phase spark` leaves no object and no running container.
async fn remove_spark(client: &kube::Client) {
    run(&["remove-phase", SPARK]).expect(0);
    assert_eq!(list_labelled(client, SPARK).await.unwrap(), Vec::<(String, String)>::new());
    no_containers_left(SPARK).await;
}

/// `add-phase sql` at the laptop profile, fetching from `maven`, with `extra` arguments.
fn add_sql(maven: &MavenRepository, extra: &[&str]) -> common::Run {
    let repository = format!("sql.maven-repository={}", maven.url);
    let mut args = vec!["add-phase", NS, "--profile", "laptop", "--set", &repository, "--timeout", "600"];
    args.extend_from_slice(extra);
    run(&args)
}

/// Install the sql phase on a fresh object-storage phase; the checkpoint passes, the init
/// container fetched every pinned file from the namespace's repository, the rows are there.
fn install(maven: &MavenRepository, extra: &[&str]) {
    // A phase an earlier failed test left behind would keep its pods (and fetch nothing).
    let _ = run(&["remove-phase", NS]);
    run(&["add-phase", "object-storage", "--profile", "laptop", "--timeout", "300"]).expect(0);
    let out = add_sql(maven, extra).expect(0);
    assert!(out.stdout.contains("checkpoint passed"), "{}", out.stdout);
    assert!(maven.log().contains("\" 200 "), "the init container fetched nothing from the namespace's repository:\n{}", maven.log());
    checkpoint_rows_are_there();
}

/// `remove-phase` leaves no object, volume claim or container behind.
async fn remove_completely(client: &kube::Client) {
    run(&["remove-phase", NS]).expect(0);
    assert_eq!(list_labelled(client, NS).await.unwrap(), Vec::<(String, String)>::new());
    let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), NS).list(&ListParams::default()).await;
    assert!(claims.map(|l| l.items.is_empty()).unwrap_or(true), "the database's volume claim was left");
    no_containers_left(NS).await;
    run(&["remove-phase", "object-storage"]).expect(0);
}

/// Spark on the installed lakehouse: its checkpoint (a real submitter, driver and executor pod)
/// writes and reads parquet and reads the sql checkpoint's table through the metastore; a
/// user's job streams its log and returns its status; a failing job keeps its driver pod.
async fn spark_runs_over_the_metastore(client: &kube::Client, maven: &MavenRepository) {
    serve_spark_jars(maven, "4.0.1", "sql");
    let repository = format!("spark.maven-repository={}", maven.url);
    let out = run(&["add-phase", SPARK, "--profile", "laptop", "--set", &repository, "--timeout", "900"]).expect(0);
    assert!(out.stdout.contains("checkpoint passed"), "{}", out.stdout);
    // The evidence names the table it read: the checkpoint compared its rows with the sql ones.
    assert!(out.stdout.contains("table=bigtop_checkpoint.rows"), "the spark checkpoint did not read the sql table:\n{}", out.stdout);
    notebooks_read_the_lake(client).await;

    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("args.py");
    std::fs::write(
        &job,
        "import sys\nfrom pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\n\
         n = spark.range(int(sys.argv[1])).count()\nprint(f'counted {n} for {sys.argv[2]}')\nspark.stop()\n\
         sys.exit(0 if n == int(sys.argv[1]) else 1)\n",
    )
    .unwrap();
    let ran = run(&["spark", "submit", job.to_str().unwrap(), "--timeout", "600", "--", "1000", "r3"]).expect(0);
    assert!(format!("{}{}", ran.stdout, ran.stderr).contains("counted 1000 for r3"), "{}\n{}", ran.stdout, ran.stderr);

    let failing = dir.path().join("fails.py");
    std::fs::write(&failing, "raise SystemExit('the job gives up')\n").unwrap();
    let failed = run(&["spark", "submit", failing.to_str().unwrap(), "--timeout", "600"]);
    assert_ne!(failed.code, 0, "{}\n{}", failed.stdout, failed.stderr);
    let pods = Api::<Pod>::namespaced(client.clone(), SPARK).list(&ListParams::default()).await.unwrap().items;
    let kept = pods.iter().filter_map(|p| p.metadata.name.as_deref()).filter(|n| n.contains("driver")).count();
    assert!(kept > 0, "the failed job's driver pod was not kept");
    remove_spark(client).await;
}

/// JupyterLab on the same lake: its checkpoint starts a kernel through a port-forward, whose Spark
/// driver (in the notebook pod, client mode) runs an executor pod, reads the parquet the spark
/// checkpoint just wrote and the sql table through the metastore; the URL carries the token;
/// removing the phase leaves the spark phase and no notebook container.
async fn notebooks_read_the_lake(client: &kube::Client) {
    let out = run(&["add-phase", "notebooks", "--profile", "laptop", "--timeout", "600"]).expect(0);
    assert!(out.stdout.contains("checkpoint passed"), "{}", out.stdout);
    for evidence in ["rows=1000", "table=bigtop_checkpoint.rows", "master=k8s://https://kubernetes.default.svc:443"] {
        assert!(out.stdout.contains(evidence), "no {evidence} in the notebooks checkpoint's evidence:\n{}", out.stdout);
    }
    let token = bigtop_k8s::secrets::read_value(client, SPARK, "notebook-token", "token").await.unwrap();
    let endpoints = run(&["endpoints"]).expect(0);
    assert!(endpoints.stdout.contains(&format!("/lab?token={token}")), "{}", endpoints.stdout);

    // The sample notebook, as shipped, runs cell by cell in one kernel on the pods.
    let conf = Api::<ConfigMap>::namespaced(client.clone(), SPARK).get("notebook-conf").await.unwrap();
    let notebook = conf.data.unwrap()["lakehouse.ipynb"].clone();
    let lab = bigtop_k8s::forward::forward(client, SPARK, "jupyter", 8888, 0).await.unwrap();
    let jupyter = bigtop_k8s::jupyter::Jupyter::new(&format!("http://{}", lab.local), &token).unwrap();
    let kernel = jupyter.start_kernel("python3").await.unwrap();
    let mut printed = String::new();
    for cell in common::notebook_code_cells(&notebook) {
        let ran = jupyter.execute(&kernel, &cell, Duration::from_secs(300)).await.unwrap();
        assert!(ran.error.is_none(), "the sample notebook's cell\n{cell}\nraised {:?}", ran.error);
        printed.push_str(&ran.stdout);
    }
    jupyter.delete_kernel(&kernel).await.unwrap();
    drop(lab);
    assert!(printed.contains("|1000|332833500|") && printed.contains("checkpoint|"), "the sample notebook showed:\n{printed}");

    run(&["remove-phase", "notebooks"]).expect(0);
    assert!(list_labelled(client, "notebooks").await.unwrap().is_empty());
    // The notebook pod goes with its Deployment, the session's executors (notebook-…) with it.
    let pods: Api<Pod> = Api::namespaced(client.clone(), SPARK);
    let mut left = Vec::new();
    for _ in 0..120 {
        let names: Vec<String> =
            pods.list(&ListParams::default()).await.unwrap().items.into_iter().filter_map(|p| p.metadata.name).collect();
        left = names.into_iter().filter(|n| n.starts_with("jupyter-") || n.starts_with("notebook-")).collect();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(left.is_empty(), "notebook pods left after remove-phase notebooks: {left:?}");
}

/// Spark 3.5.7 (Hadoop 3.3.4: S3A through the AWS SDK v1 and its own credentials provider) on
/// its image's pods; no Hive client is pinned for it, so it keeps its own catalog (the note says
/// so) and its checkpoint is the parquet round trip through the lake.
async fn spark_3_5_runs_its_checkpoint(client: &kube::Client, maven: &MavenRepository) {
    serve_spark_jars(maven, "3.5.7", "none");
    let repository = format!("spark.maven-repository={}", maven.url);
    let out = run(&["add-phase", SPARK, "--profile", "laptop", "--set", "spark.version=3.5.7", "--set", &repository, "--timeout", "900"])
        .expect(0);
    assert!(out.stdout.contains("checkpoint passed"), "{}", out.stdout);
    assert!(out.stderr.contains("keeps its own catalog"), "no note on the metastore Spark 3.5.7 cannot use:\n{}", out.stderr);
    remove_spark(client).await;
}

// Spark runs here rather than on a lake of its own: one install of the lakehouse serves both,
// which keeps the R3 lane short. Spark found two defects only real pods show, both fixed: the
// AWS SDK bundle's unshaded slf4j 1.7, first on the class path, silenced every Spark log line;
// and zstd-jni, which the driver needs to serialise map-output statuses, could not load without
// libc6's libpthread.so.0 in the look-alike image, so the first shuffle read timed out.
#[tokio::test(flavor = "multi_thread")]
async fn trino_lakehouse_with_spark_runs_on_real_pods_rolls_restarts_reinstalls_and_removes_completely() {
    let _guard = lock();
    let client = client().await;
    let maven = repository_for("hive-metastore");
    install(&maven, &[]);

    // The metastore logs to stdout (kubectl logs), not to a file inside the container: without
    // the phase's own log4j2 configuration the one inside hive-exec wins and writes /tmp/hive.
    let metastore = ready_pod(&client, METASTORE, None).await;
    let log = logs(&client, &metastore, "metastore").await;
    assert!(log.contains("Started the new metaserver on port [9083]"), "the metastore's log is not on stdout:\n{log}");

    // A Trino roll: the new pod is Ready seconds before it accepts statements, and the
    // checkpoint right after the wait must ride that out (SERVER_STARTING_UP is retried).
    let rolled = add_sql(&maven, &["--set", "trino.heap-mib=1280"]).expect(0);
    assert!(rolled.stdout.contains("checkpoint passed"), "{}", rolled.stdout);

    // Restarting the metastore keeps the schema: the new pod's schema container finds it, and
    // the table is still known.
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let metastore = ready_pod(&client, METASTORE, None).await;
    pods.delete(metastore.metadata.name.as_deref().unwrap(), &DeleteParams::default()).await.unwrap();
    let restarted = ready_pod(&client, METASTORE, metastore.metadata.uid.clone()).await;
    let schema_log = logs(&client, &restarted, "schema").await;
    assert!(
        !schema_log.contains("Starting metastore schema initialization"),
        "a restarted metastore re-initialised its schema:\n{schema_log}"
    );
    checkpoint_rows_are_there();
    run(&["verify", NS]).expect(0);

    spark_runs_over_the_metastore(&client, &maven).await;

    // Reinstalling on the kept lake: the fresh metastore does not know the old table, whose files
    // are still in the warehouse bucket; the checkpoint must clear them, not fail forever.
    run(&["remove-phase", NS]).expect(0);
    let again = add_sql(&maven, &[]).expect(0);
    assert!(again.stdout.contains("checkpoint passed"), "{}", again.stdout);
    remove_completely(&client).await;
}

/// Presto 0.287 with Hive Metastore 3.1.3, whose pod assembles the server from the fetched
/// distribution tarball and jars on a plain Java 11 image; then a rotation of the sql key, and
/// Spark 3.5.7 on the same lake (the 4.0.1 run is the Trino test's).
#[tokio::test(flavor = "multi_thread")]
async fn presto_lakehouse_runs_on_real_pods_and_removes_completely() {
    let _guard = lock();
    let client = client().await;
    let maven = repository_for("hive-metastore-3");
    install(&maven, &["--set", "sql.engine=presto"]);
    run(&["verify", NS]).expect(0);

    // Rotation: the new sql key reaches MinIO (a new setup Job), the copy in the sql namespace
    // and, by a restart, the metastore and Presto, which read it only at start; the checkpoints
    // pass with it (the phase keeps the parameters it was installed with, the repository among
    // them) and MinIO refuses the old key.
    let metastore = ready_pod(&client, METASTORE, None).await;
    let rotated = run(&["rotate-keys", "sql", "--timeout", "600"]).expect(0);
    assert!(
        rotated.stdout.contains("sql: new key")
            && rotated.stdout.contains("copies sql/s3-sql")
            && rotated.stdout.contains("old key refused"),
        "{}\n{}",
        rotated.stdout,
        rotated.stderr
    );
    ready_pod(&client, METASTORE, metastore.metadata.uid.clone()).await;
    checkpoint_rows_are_there();
    spark_3_5_runs_its_checkpoint(&client, &maven).await;
    remove_completely(&client).await;
}
