//! R2: the spark phase's configuration against a real Spark. pyspark from PyPI (local mode) runs
//! the very checkpoint job our render ships, with the very spark-defaults.conf our ConfigMap
//! mounts and the hadoop-aws + AWS SDK jars the phase pins (from Maven Central, sha256-checked),
//! against a real MinIO set up by the rendered object-storage script, with the spark service's key.
//! Only what cannot be the same off-cluster differs: the master (local instead of k8s), the S3
//! endpoint's and the metastore's host:port, and the directory holding the jars. The job's read
//! through the metastore runs in `common::sql_checks` (from `r1_sql`), on the sql servers it starts anyway.

mod common;

use bigtop_k8s::checkpoint::spark::{check, parse_evidence};
use common::fetcher::Fetcher;
use common::servers::*;
use common::spark::{Local, submit};

fn lake_only(lake: &Minio) -> Local<'_> {
    Local { endpoint: &lake.endpoint, metastore: None }
}

#[test]
fn the_checkpoint_job_writes_and_reads_parquet_in_the_lake_with_the_shipped_configuration() {
    let lake = Minio::start(render("minio", &[]));
    lake.setup();
    let (code, out, err) = submit(&[], &lake_only(&lake), &lake.key("spark"), &["s3a://warehouse/bigtop-checkpoint/r2"], &[]);
    assert_eq!(code, 0, "spark-submit failed\n--- stdout\n{out}\n--- stderr\n{err}");
    let lines: Vec<String> = out.lines().map(str::to_string).collect();
    let evidence = parse_evidence(&lines).unwrap_or_else(|| panic!("no evidence line:\n{out}"));
    check(&evidence).unwrap();
    assert_eq!(evidence["path"], "s3a://warehouse/bigtop-checkpoint/r2");
    // The data really is in the bucket: a second run reads what the first wrote, then overwrites.
    let (code, out, _) = submit(&[], &lake_only(&lake), &lake.key("spark"), &["s3a://warehouse/bigtop-checkpoint/r2"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("\"rows\": 1000"), "{out}");
}

#[test]
fn the_spark_key_cannot_write_outside_the_warehouse() {
    let lake = Minio::start(render("minio", &[]));
    lake.setup();
    let (code, out, err) = submit(
        &[],
        &lake_only(&lake),
        &lake.key("spark"),
        &["s3a://raw/bigtop-checkpoint/r2"],
        &["--conf", "spark.hadoop.fs.s3a.attempts.maximum=1"],
    );
    assert_ne!(code, 0, "the spark key wrote into raw:\n{out}");
    let all = format!("{out}{err}");
    assert!(all.contains("AccessDenied") || all.contains("403"), "{all}");
}

#[test]
fn a_wrong_endpoint_fails_and_names_it() {
    let port = free_port();
    let key = bigtop_k8s::checkpoint::s3::ServiceKey { access_key: "a".into(), secret_key: "b".into(), secret_ref: "x".into() };
    let bounded = [
        "--conf",
        "spark.hadoop.fs.s3a.attempts.maximum=1",
        "--conf",
        "spark.hadoop.fs.s3a.retry.limit=1",
        "--conf",
        "spark.hadoop.fs.s3a.connection.establish.timeout=2s",
    ];
    let (code, out, err) =
        submit(&[], &Local { endpoint: &format!("http://127.0.0.1:{port}"), metastore: None }, &key, &["s3a://warehouse/x"], &bounded);
    assert_ne!(code, 0);
    let all = format!("{out}{err}");
    assert!(all.contains(&format!("127.0.0.1:{port}")), "the error names the endpoint:\n{all}");
}

/// The jar cache's and the pods' init step, run by BusyBox (the fetcher image's shell and tools)
/// against a loopback Maven repository serving the cached jars: the cache fetches every jar once
/// in the repository's layout; a pod fetches what its role needs (from the cache when told,
/// otherwise from the repository), checks sha256, downloads nothing it already holds, and
/// refuses bytes that do not match the pin.
#[test]
fn the_init_step_fetches_the_pinned_jars_checks_them_and_reuses_its_cache() {
    const POD_DIR: &str = "/opt/bigtop/jars";
    let cached = common::spark::spark_root().join("jars");
    let fetcher = Fetcher::start();
    let script = |sets: &[(&str, &str)]| {
        let mut sets = sets.to_vec();
        sets.push(("spark.maven-repository", fetcher.maven.as_str()));
        find(&render("spark-k8s", &sets), "ConfigMap", "spark-conf")["data"]["fetch-jars.sh"].as_str().unwrap().to_string()
    };
    let with_hive = script(&[("spark.metastore", "sql")]);
    let pins = Fetcher::pins(&with_hive);
    assert_eq!(pins.len(), 3, "S3A (2) and the Hive client (1):\n{with_hive}");
    for pin in &pins {
        let sub = pin.dir.strip_prefix(POD_DIR).unwrap().trim_start_matches('/');
        fetcher.serve(pin, &cached.join(sub).join(&pin.name));
    }

    let node = fetcher.node("node");
    let out = fetcher.run(&with_hive, POD_DIR, &node, &["driver"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(node.join("hadoop-aws-3.4.1.jar").exists() && node.join("hive-4.0.1/hive-exec-4.0.1.jar").exists());
    assert_eq!(fetcher.gets(), 3);
    assert!(fetcher.run(&with_hive, POD_DIR, &node, &["driver"]).status.success());
    assert_eq!(fetcher.gets(), 3, "a second run over the same directory downloads nothing");

    // Executors never talk to the metastore: no Hive client on their nodes.
    let executor_node = fetcher.node("executor-node");
    assert!(fetcher.run(&with_hive, POD_DIR, &executor_node, &["executor"]).status.success());
    assert!(executor_node.join("hadoop-aws-3.4.1.jar").exists() && !executor_node.join("hive-4.0.1").exists());

    // The jar cache: every jar in the repository's layout, then pods served from it alone.
    let cache = fetcher.node("cache");
    let before = fetcher.gets();
    let out = fetcher.run(&with_hive, POD_DIR, &cache, &["cache", &cache.display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fetcher.gets(), before + 3, "the cache downloads each jar once");
    for pin in &pins {
        assert!(cache.join(&pin.path).exists(), "{} is not in the cache", pin.path);
    }
    let (_served, cache_url) = fetcher.serve_dir(&cache);
    let pod = fetcher.node("pod-from-cache");
    let out = fetcher.run_with(&with_hive, POD_DIR, &pod, &["driver"], &[("BIGTOP_JAR_REPOSITORY", &cache_url)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(pod.join("bundle-2.24.6.jar").exists() && pod.join("hive-4.0.1/hive-exec-4.0.1.jar").exists());
    assert_eq!(fetcher.gets(), before + 3, "pods fetch from the cache, not from the repository");

    // Bytes that do not match the pin are refused and not kept.
    fetcher.tamper(&pins[0]);
    let tampered = fetcher.node("tampered-node");
    let out = fetcher.run(&script(&[]), POD_DIR, &tampered, &["driver"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("sha256 mismatch for {}", pins[0].name)), "{out:?}");
    assert!(std::fs::read_dir(&tampered).unwrap().next().is_none(), "nothing is left in the node cache");
}

/// The floor for `tests/bench/r3.sh` (a benchmark, not run by CI): the seconds the checkpoint
/// job takes in local mode with the shipped configuration against a lake already set up — what
/// `add-phase spark` does on R3, minus the pods. `cargo test --test r2_spark -- --ignored --nocapture floor`
#[test]
#[ignore = "a benchmark: tests/bench/r3.sh runs it"]
fn floor_checkpoint_job() {
    let lake = Minio::start(render("minio", &[]));
    lake.setup();
    let started = std::time::Instant::now();
    let (code, out, err) = submit(&[], &lake_only(&lake), &lake.key("spark"), &["s3a://warehouse/bigtop-checkpoint/floor"], &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    println!("BENCH floor spark: {:.1} s", started.elapsed().as_secs_f64());
}
