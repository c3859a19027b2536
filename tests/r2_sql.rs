//! R2: the sql phase's configuration against real servers. PostgreSQL (Debian), a Hive
//! standalone metastore and an engine from Maven Central — Trino 476 over Hive 4.0.1, or Presto
//! 0.287 over Hive 3.1.3 (Presto's metastore client calls get_table, which Hive 4 no longer
//! serves) — start with the very files our ConfigMaps hold (metastore-site.xml;
//! config.properties, jvm.config, node.properties and the hive catalog), rewritten only in
//! hosts, ports and local paths, against a real MinIO set up by the rendered script; then the
//! CLI's own sql checkpoint runs through our REST client, and passes for both engines. With
//! either, a catalog with a wrong S3 endpoint fails with a message that points at the S3
//! settings. Hive 3.1.3 is assembled and started by its pod's own rendered steps. On the same
//! servers, the spark phase's job (pyspark, local mode, the rendered spark-defaults.conf) reads
//! the checkpoint's table through the metastore with the Hive client chosen for each engine.

mod common;

use bigtop_k8s::checkpoint::sql::{Target, roundtrip};
use bigtop_k8s::sql::{Client, Engine};
use common::fetcher::Fetcher;
use common::servers::render;
use common::sql_servers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trino_over_the_metastore_passes_the_sql_checkpoint_and_a_wrong_s3_endpoint_is_explained() {
    let stack = SqlStack::start(Engine::Trino);
    let target = stack.target(Engine::Trino);
    let evidence = roundtrip(&target).await.unwrap_or_else(|e| panic!("{e}\n{}", stack.logs()));
    assert_eq!(evidence["rows"], 3);
    assert!(evidence["files"].as_u64().unwrap() >= 1, "{evidence:?}");
    assert_eq!(evidence["table"], "hive.bigtop_checkpoint.rows");
    assert_eq!(evidence["location"], "s3a://warehouse/bigtop-checkpoint/sql/");

    // The table stays for other lake clients, and a second run replaces it rather than adding rows.
    let again = roundtrip(&target).await.unwrap();
    assert!(again["files"].as_u64().unwrap() >= 1, "{again:?}");
    let client = Client::new(&stack.engine.url, Engine::Trino, "test").unwrap();
    let kept = client.execute("SELECT count(*) FROM hive.bigtop_checkpoint.rows").await.unwrap();
    assert_eq!(kept.rows, vec![vec![serde_json::json!(3)]]);
    // Spark reads the table Trino wrote, through the metastore (the Hive 4 client it fetches).
    common::spark::reads_the_sql_checkpoint_table(&stack, Engine::Trino);

    // A re-installed sql phase gets a fresh metastore over the kept lake: the table is unknown
    // but files are still at its location (Trino then refuses a managed table there). Simulated:
    // drop the table, leave a file where it was.
    client.execute("DROP TABLE hive.bigtop_checkpoint.rows").await.unwrap();
    let key = &stack.sql_key;
    let s3 = bigtop_k8s::s3::S3::new(&stack.lake.endpoint, "us-east-1", &key.access_key, &key.secret_key).unwrap();
    let orphan = "bigtop-checkpoint/sql/rows/20261202_000000_orphan";
    s3.put("warehouse", orphan, b"left behind".to_vec()).await.unwrap();
    let after = roundtrip(&target).await.unwrap_or_else(|e| panic!("files no table owns must not block the checkpoint: {e}"));
    assert_eq!(after["rows"], 3);
    assert!(s3.head("warehouse", orphan).await.is_err(), "the orphan is removed");

    // The metastore logs to stdout (what `kubectl logs` shows) through the rendered
    // hive-log4j2.properties, at INFO.
    let log = std::fs::read_to_string(&stack.metastore.server.log).unwrap();
    assert!(log.contains("INFO") && log.contains("HiveMetaStore"), "metastore stdout:\n{}", stack.logs());

    let wrong = Target { catalog: "badlake", ..target };
    let err = roundtrip(&wrong).await.unwrap_err().to_string();
    assert!(err.contains("check the S3 settings"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presto_over_the_hive_3_metastore_passes_the_sql_checkpoint_and_a_wrong_s3_endpoint_is_explained() {
    // The metastore is the phase's hive-metastore-3, assembled by its pod's own steps.
    let stack = SqlStack::start(Engine::Presto);
    let target = stack.target(Engine::Presto);
    let evidence = roundtrip(&target).await.unwrap_or_else(|e| panic!("{e}\n{}", stack.logs()));
    assert_eq!(evidence["rows"], 3);
    assert!(evidence["files"].as_u64().unwrap() >= 1, "{evidence:?}");
    assert_eq!(evidence["location"], "s3a://warehouse/bigtop-checkpoint/sql/");
    let again = roundtrip(&target).await.unwrap_or_else(|e| panic!("{e}\n{}", stack.logs()));
    assert_eq!(again["rows"], 3);
    // Spark reads the table Presto wrote, through Hive 3.1.3 (Spark's built-in Hive 2.3 client).
    common::spark::reads_the_sql_checkpoint_table(&stack, Engine::Presto);

    let wrong = Target { catalog: "badlake", ..target };
    let err = roundtrip(&wrong).await.unwrap_err().to_string();
    assert!(err.contains("check the S3 settings"), "{err}\n{}", stack.logs());
}

/// The metastore pod's init step, run by BusyBox (the fetcher image) against a loopback Maven
/// repository serving the cached jars: it fetches the JDBC driver and S3A, checks sha256, does
/// nothing when they are there, and refuses bytes that do not match the pin.
#[test]
fn the_metastore_init_step_fetches_the_pinned_jars_and_refuses_other_bytes() {
    const POD_DIR: &str = "/opt/bigtop/jars";
    let cached = sql_cache().join("hms-4.0.1/classpath");
    let fetcher = Fetcher::start();
    let objects = render("hive-metastore", &[("sql.maven-repository", fetcher.maven.as_str())]);
    let script = config_file(&objects, "hive-metastore-conf", "fetch-jars.sh");
    let pins = Fetcher::pins(&script);
    assert_eq!(pins.len(), 3, "the JDBC driver and S3A (2):\n{script}");
    for pin in &pins {
        fetcher.serve(pin, &cached.join(&pin.name));
    }
    let pod = fetcher.node("pod");
    let out = fetcher.run(&script, POD_DIR, &pod, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(pins.iter().all(|p| pod.join(&p.name).exists()));
    assert!(fetcher.run(&script, POD_DIR, &pod, &[]).status.success());
    assert_eq!(fetcher.gets(), 3, "a restarted init container downloads nothing");
    fetcher.tamper(&pins[0]);
    let fresh = fetcher.node("fresh-pod");
    let out = fetcher.run(&script, POD_DIR, &fresh, &[]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains(&format!("sha256 mismatch for {}", pins[0].name)));
    assert!(std::fs::read_dir(&fresh).unwrap().next().is_none(), "nothing is kept");
}

/// The floor for `tests/bench/r3.sh` (a benchmark, not run by CI): on a lake already set up,
/// the seconds from starting PostgreSQL, the metastore and the engine by hand, with the rendered
/// configuration, to the sql checkpoint passed — what `add-phase sql` does on R3, minus
/// Kubernetes. `cargo test --test r2_sql -- --ignored --nocapture floor`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: tests/bench/r3.sh runs it"]
async fn floor_from_start_to_checkpoint() {
    for engine in [Engine::Trino, Engine::Presto] {
        let lake = common::servers::Minio::start(render("minio", &[]));
        lake.setup();
        let started = std::time::Instant::now();
        let stack = SqlStack::on_lake(lake, &SqlStack::rendered(engine), engine);
        roundtrip(&stack.target(engine)).await.unwrap_or_else(|e| panic!("{e}\n{}", stack.logs()));
        println!("BENCH floor sql ({}): {:.1} s", engine.name(), started.elapsed().as_secs_f64());
    }
}
