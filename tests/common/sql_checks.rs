//! The sql servers checked with the CLI's own clients (R2): PostgreSQL, a Hive standalone
//! metastore and an engine from Maven Central — Trino 476 over Hive 4.0.1, or Presto 0.287 over
//! Hive 3.1.3 (Presto's metastore client calls get_table, which Hive 4 no longer serves) —
//! started with the very files our ConfigMaps hold (metastore-site.xml; config.properties,
//! jvm.config, node.properties and the hive catalog), rewritten only in hosts, ports and local
//! paths, against a real MinIO set up by the rendered script. The CLI's sql checkpoint runs
//! through our REST client; a catalog with a wrong S3 endpoint fails with a message that points
//! at the S3 settings; the spark phase's job (pyspark, local mode, the rendered
//! spark-defaults.conf) reads the checkpoint's table through the metastore with the Hive client
//! chosen for each engine. `r1_sql` runs these on the servers it starts behind its port-forwards.

#![allow(dead_code)]

use bigtop_k8s::checkpoint::sql::{Target, roundtrip};
use bigtop_k8s::sql::{Client, Engine};

use super::sql_servers::SqlStack;

/// Trino over Hive 4.0.1: the checkpoint passes (files under the schema's location), the table
/// stays and a second run replaces it; Spark reads it through the metastore; files no table owns
/// at its location are cleared; the metastore logs to stdout; a catalog with a wrong S3
/// endpoint fails pointing at the S3 settings.
pub async fn trino(stack: &SqlStack) {
    let target = stack.target(Engine::Trino);
    let evidence = checkpoint_passes(stack, &target).await;
    assert_eq!(evidence["table"], "hive.bigtop_checkpoint.rows");

    // The table stays for other lake clients, and a second run replaces it rather than adding rows.
    let again = roundtrip(&target).await.unwrap();
    assert!(again["files"].as_u64().unwrap() >= 1, "{again:?}");
    let client = Client::new(&stack.engine.url, Engine::Trino, "test").unwrap();
    let kept = client.execute("SELECT count(*) FROM hive.bigtop_checkpoint.rows").await.unwrap();
    assert_eq!(kept.rows, vec![vec![serde_json::json!(3)]]);
    // Spark reads the table Trino wrote, through the metastore (the Hive 4 client it fetches).
    super::spark::reads_the_sql_checkpoint_table(stack, Engine::Trino);

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

    wrong_endpoint_is_explained(stack, target).await;
}

/// Presto over Hive 3.1.3 (assembled by its pod's own steps): the checkpoint passes twice; Spark
/// reads the table through the metastore; a wrong S3 endpoint is explained.
pub async fn presto(stack: &SqlStack) {
    let target = stack.target(Engine::Presto);
    checkpoint_passes(stack, &target).await;
    let again = roundtrip(&target).await.unwrap_or_else(|e| panic!("{e}\n{}", stack.logs()));
    assert_eq!(again["rows"], 3);
    // Spark reads the table Presto wrote, through Hive 3.1.3 (Spark's built-in Hive 2.3 client).
    super::spark::reads_the_sql_checkpoint_table(stack, Engine::Presto);

    wrong_endpoint_is_explained(stack, target).await;
}

/// The checkpoint passes: its 3 rows, data files under the schema's location; its evidence.
async fn checkpoint_passes(stack: &SqlStack, target: &Target<'_>) -> bigtop_k8s::checkpoint::Evidence {
    let evidence = roundtrip(target).await.unwrap_or_else(|e| panic!("{e}\n{}", stack.logs()));
    assert_eq!(evidence["rows"], 3);
    assert!(evidence["files"].as_u64().unwrap() >= 1, "{evidence:?}");
    assert_eq!(evidence["location"], "s3a://warehouse/bigtop-checkpoint/sql/");
    evidence
}

/// The `badlake` catalog (a closed S3 endpoint) fails pointing at the S3 settings.
async fn wrong_endpoint_is_explained(stack: &SqlStack, target: Target<'_>) {
    let wrong = Target { catalog: "badlake", ..target };
    let err = roundtrip(&wrong).await.unwrap_err().to_string();
    assert!(err.contains("check the S3 settings"), "{err}\n{}", stack.logs());
}
