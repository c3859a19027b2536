//! R3: the spark phase on a real node — the jar cache, the submitter pod running spark-submit
//! in cluster mode, the driver pod it launches and the executor pods the driver launches, all
//! from the catalog's image (the look-alike imported into containerd); jars fetched and
//! sha256-checked from a Maven repository inside the test namespace.

mod common;

use std::path::PathBuf;

use bigtop_k8s::remove::list_labelled;
use common::lock;
use common::r3::*;
use common::servers::render;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

const NS: &str = "spark";

/// Where build-spark.sh keeps the jars the spark phase pins.
fn jar_caches() -> Vec<PathBuf> {
    let root = PathBuf::from(std::env::var_os("BIGTOP_R2_SPARK_ROOT").expect("BIGTOP_R2_SPARK_ROOT (set by tests/env/test.sh)"));
    vec![root.join("jars"), root.join("jars/hive-4.0.1")]
}

/// A Maven repository serving every jar the rendered fetch scripts pin (the Hive client too).
fn repository() -> MavenRepository {
    let maven = MavenRepository::start();
    let objects = render("spark-k8s", &[("spark.metastore", "sql")]);
    let script = objects
        .iter()
        .filter(|o| o["kind"] == "ConfigMap")
        .find_map(|o| o["data"]["fetch-jars.sh"].as_str())
        .expect("a ConfigMap with fetch-jars.sh")
        .to_string();
    maven.serve_pins(&script, &jar_caches());
    maven
}

fn spark_pods_left(pods: &[Pod]) -> Vec<String> {
    pods.iter().filter_map(|p| p.metadata.name.clone()).filter(|n| n.contains("driver") || n.contains("exec")).collect()
}

// Two defects only real pods showed, both fixed: the AWS SDK bundle's unshaded slf4j 1.7,
// first on the class path, silenced every Spark log line; and zstd-jni, which the driver needs
// to serialise map-output statuses, could not load without libc6's libpthread.so.0 in the
// look-alike image, so the first shuffle read timed out with nothing logged.
#[tokio::test(flavor = "multi_thread")]
async fn spark_jobs_run_on_real_pods_and_the_phase_removes_completely() {
    let _guard = lock();
    let client = client().await;
    let maven = repository();
    let repository = format!("spark.maven-repository={}", maven.url);
    let _ = run(&["remove-phase", NS]);
    run(&["add-phase", "object-storage", "--profile", "laptop", "--timeout", "300"]).expect(0);
    // The checkpoint: a real submitter, driver and executor writing and reading parquet in the lake.
    let out = run(&["add-phase", NS, "--profile", "laptop", "--set", &repository, "--timeout", "900"]).expect(0);
    assert!(out.stdout.contains("checkpoint passed"), "{}", out.stdout);
    assert!(maven.log().contains("\" 200 "), "nothing was fetched from the namespace's repository:\n{}", maven.log());

    // A user's job with arguments: its exit status is the command's, its driver log is streamed.
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("args.py");
    std::fs::write(
        &job,
        "import sys\nfrom pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\n\
         n = spark.range(int(sys.argv[1])).count()\nprint(f'counted {n} for {sys.argv[2]}')\nspark.stop()\n\
         sys.exit(0 if n == int(sys.argv[1]) else 1)\n",
    )
    .unwrap();
    let job = job.to_str().unwrap();
    let ran = run(&["spark", "submit", job, "--timeout", "600", "--", "1000", "r3"]).expect(0);
    assert!(format!("{}{}", ran.stdout, ran.stderr).contains("counted 1000 for r3"), "{}\n{}", ran.stdout, ran.stderr);

    // A job that fails: non-zero, and its driver pod is kept for `kubectl logs`.
    let failing = dir.path().join("fails.py");
    std::fs::write(&failing, "raise SystemExit('the job gives up')\n").unwrap();
    let failed = run(&["spark", "submit", failing.to_str().unwrap(), "--timeout", "600"]);
    assert_ne!(failed.code, 0, "{}\n{}", failed.stdout, failed.stderr);
    let pods = Api::<Pod>::namespaced(client.clone(), NS).list(&ListParams::default()).await.unwrap().items;
    assert!(!spark_pods_left(&pods).is_empty(), "the failed job's driver pod was not kept");

    run(&["remove-phase", NS]).expect(0);
    assert_eq!(list_labelled(&client, NS).await.unwrap(), Vec::<(String, String)>::new());
    no_containers_left(NS).await;
    run(&["remove-phase", "object-storage"]).expect(0);
}
