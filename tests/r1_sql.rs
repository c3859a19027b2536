//! R1: the sql phase on the real control plane with either engine — strict apply (PostgreSQL
//! StatefulSet with its PVC, metastore and engine Deployments, the imported lake key), Ready on
//! kwok, zero changes on re-apply, clean removal, the dependency on object-storage, switching
//! engines refused while installed — and bad input. R1+R2: `verify sql` and `bigtop-k8s sql`
//! through real port-forwards to real servers started from the objects the cluster holds; then
//! R2's checks of those servers (`common::sql_checks`) on the same servers, once the cluster is
//! released: one start of the JVMs serves both rungs.

mod common;

use bigtop_k8s::remove::list_labelled;
use common::*;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

#[tokio::test]
async fn sql_phase_applies_with_either_engine_reapplies_unchanged_and_removes() {
    let _guard = lock();
    let client = client().await;
    remove(&["sql", "spark", "object-storage"]);
    let refused = run(&["add-phase", "sql", "--no-verify"]).expect(3);
    assert!(refused.stderr.contains("object-storage") && refused.stderr.contains("--with-deps"), "{}", refused.stderr);

    let out = run(&["add-phase", "sql", "--with-deps", "--no-verify"]).expect(0);
    assert!(out.stdout.contains("sql: postgres, hive-metastore, trino"), "{}", out.stdout);
    let copied = Api::<Secret>::namespaced(client.clone(), "sql").get("s3-sql").await.unwrap();
    let original = Api::<Secret>::namespaced(client.clone(), "object-storage").get("s3-sql").await.unwrap();
    assert_eq!(copied.data, original.data, "the lake key is imported, not regenerated");
    let before = list_labelled(&client, "sql").await.unwrap();
    for object in [
        "StatefulSet/sql/postgres",
        "Deployment/sql/hive-metastore",
        "Deployment/sql/trino",
        "ConfigMap/sql/trino-conf",
        "Secret/sql/s3-sql",
    ] {
        assert!(before.iter().any(|(o, _)| o == object), "{object} missing: {before:?}");
    }
    run(&["add-phase", "sql", "--no-verify"]).expect(0);
    assert_eq!(list_labelled(&client, "sql").await.unwrap(), before, "a second run changes nothing");

    let out = run(&["add-phase", "sql", "--no-verify", "--set", "sql.engine=presto"]).expect(2);
    assert!(out.stderr.contains("trino"), "switching engines is refused, naming the installed one: {}", out.stderr);
    let endpoints = run(&["endpoints"]).expect(0).stdout;
    assert!(endpoints.contains("jdbc:trino://127.0.0.1:8080/hive"), "{endpoints}");

    run(&["remove-phase", "sql"]).expect(0);
    assert!(list_labelled(&client, "sql").await.unwrap().is_empty());
    // Presto comes with the Hive 3 metastore (same Service and Deployment names).
    let out = run(&["add-phase", "sql", "--no-verify", "--set", "sql.engine=presto"]).expect(0);
    assert!(out.stdout.contains("sql: postgres, hive-metastore-3, presto"), "{}", out.stdout);
    let with_presto = list_labelled(&client, "sql").await.unwrap();
    for object in ["Deployment/sql/presto", "Deployment/sql/hive-metastore", "Service/sql/hive-metastore"] {
        assert!(with_presto.iter().any(|(o, _)| o == object), "{object} missing: {with_presto:?}");
    }
    run(&["add-phase", "sql", "--no-verify", "--set", "sql.engine=presto"]).expect(0);
    assert_eq!(list_labelled(&client, "sql").await.unwrap(), with_presto, "a second run changes nothing");
    run(&["remove-phase", "sql"]).expect(0);
    assert!(list_labelled(&client, "sql").await.unwrap().is_empty());
    remove(&["object-storage"]);
}

#[test]
fn sql_bad_input_is_refused_with_the_next_step() {
    let _guard = lock();
    remove(&["sql"]);
    let out = run(&["add-phase", "sql", "--with-deps", "--dry-run", "--set", "sql.engine=hive"]).expect(2);
    assert!(out.stderr.contains("trino") && out.stderr.contains("presto"), "{}", out.stderr);
    let out = run(&["add-phase", "sql", "--with-deps", "--dry-run", "--set", "trino.heap-mib=512"]).expect(2);
    assert!(out.stderr.contains("trino.heap-mib") && out.stderr.contains("1024"), "{}", out.stderr);
    let out = run(&["add-phase", "sql", "--with-deps", "--dry-run", "--set", "trino.catalog-properties=hive.s3.path-style-access=true"])
        .expect(2);
    assert!(out.stderr.contains("Trino 458 removed the Hadoop S3 file system"), "{}", out.stderr);
    let out = run(&[
        "add-phase",
        "sql",
        "--with-deps",
        "--dry-run",
        "--set",
        "sql.engine=presto",
        "--set",
        "presto.catalog-properties=s3.endpoint=x",
    ])
    .expect(2);
    assert!(out.stderr.contains("hive.s3.*"), "{}", out.stderr);
    let out = run(&["sql", "SELECT 1"]).expect(3);
    assert!(out.stderr.contains("add-phase sql --with-deps"), "{}", out.stderr);
}

/// `render` with the cluster's generated credentials; `sets`: the flags the phase was added with.
fn rendered_from_cluster(phase: &str, sets: &[&str]) -> Vec<serde_json::Value> {
    let args = [&["render", phase, "-o", "json"], sets].concat();
    serde_json::from_str(&run(&args).expect(0).stdout).unwrap()
}

// Multi-threaded: the servers and routes live while the CLI runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_sql_go_through_real_port_forwards_to_real_trino_metastore_and_minio() {
    verify_and_sql_through_port_forwards(bigtop_k8s::sql::Engine::Trino).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_sql_go_through_real_port_forwards_to_real_presto_hive_3_and_minio() {
    verify_and_sql_through_port_forwards(bigtop_k8s::sql::Engine::Presto).await;
}

/// The phase installed with `engine` (simulated pods), and real servers started from the
/// objects the cluster holds behind the port-forwards the CLI opens.
async fn verify_and_sql_through_port_forwards(engine: bigtop_k8s::sql::Engine) {
    use common::sql_servers::*;
    let _guard = lock();
    let client = client().await;
    remove(&["sql", "spark", "object-storage"]);
    let choice = format!("sql.engine={}", engine.name());
    run(&["add-phase", "sql", "--with-deps", "--no-verify", "--set", &choice]).expect(0);

    // The real servers, with the credentials and files the cluster holds.
    let sql_objects = rendered_from_cluster("sql", &["--set", &choice]);
    let stack = SqlStack::from_rendered(rendered_from_cluster("object-storage", &[]), &sql_objects, engine);
    let engine_port: u16 = stack.engine.url.rsplit(':').next().unwrap().parse().unwrap();
    route(&client, "sql", 8080, engine_port).await;
    route(&client, "object-storage", 9000, stack.lake.port).await;

    let verified = run(&["verify", "sql"]).expect(0);
    assert!(verified.stdout.contains("rows=3") && verified.stdout.contains("table=hive.bigtop_checkpoint.rows"), "{}", verified.stdout);
    let status: serde_json::Value = serde_json::from_str(&run(&["status", "-o", "json"]).expect(0).stdout).unwrap();
    assert_eq!(status["sql"]["checkpoint"]["passed"], true, "{status}");

    let out = run(&["sql", "SELECT 6 * 7 AS answer, 'lake' AS word"]).expect(0);
    assert!(out.stdout.contains("answer") && out.stdout.contains("42") && out.stdout.contains("(1 row)"), "{}", out.stdout);
    // The checkpoint's table stays as the lake's sample.
    let out = run(&["sql", "SELECT word FROM hive.bigtop_checkpoint.rows ORDER BY id"]).expect(0);
    assert!(out.stdout.contains("checkpoint") && out.stdout.contains("(3 rows)"), "{}", out.stdout);
    let out = run(&["sql", "SELECT * FROM hive.no_such_schema.t"]).expect(1);
    assert!(out.stderr.contains("SCHEMA_NOT_FOUND") || out.stderr.contains("does not exist"), "{}", out.stderr);

    unroute(&client, "sql").await;
    unroute(&client, "object-storage").await;
    run(&["remove-phase", "sql", "object-storage"]).expect(0);

    // The servers outlive the phase: R2's checks run on them while the other engine's test
    // takes the cluster.
    drop(_guard);
    match engine {
        bigtop_k8s::sql::Engine::Trino => common::sql_checks::trino(&stack).await,
        bigtop_k8s::sql::Engine::Presto => common::sql_checks::presto(&stack).await,
    }
}
