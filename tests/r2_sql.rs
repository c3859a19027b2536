//! R2: the sql phase's configuration against real servers. PostgreSQL (Debian), the Hive
//! standalone metastore 4.0.1 and Trino 476 (Maven Central) start with the very files our
//! ConfigMaps hold (metastore-site.xml; config.properties, jvm.config, node.properties and the
//! hive catalog), rewritten only in hosts, ports and local paths, against a real MinIO set up by
//! the rendered script; then the CLI's own sql checkpoint runs through our REST client. A
//! catalog with a wrong S3 endpoint must fail with a message that points at the S3 settings.
//! (Presto's server tarball is not served by the registries our CI reaches: its R2 leg is open.)

mod common;

use bigtop_k8s::checkpoint::sql::{Target, roundtrip};
use bigtop_k8s::sql::{Client, Engine};
use common::servers::*;
use common::sql_servers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trino_over_the_metastore_passes_the_sql_checkpoint_and_a_wrong_s3_endpoint_is_explained() {
    let lake = Minio::start(render("minio", &[]));
    lake.setup();
    let sql_key = lake.key("sql");
    let key = (sql_key.access_key.as_str(), sql_key.secret_key.as_str());
    let pg_objects = render("postgres", &[]);
    let pg = Postgres::start(&pg_objects);
    let metastore = Metastore::start(&render("hive-metastore", &[]), &pg, &pg_objects, &lake.endpoint, key);

    let trino_objects = render("trino", &[]);
    let hive = config_file(&trino_objects, "trino-conf", "hive.properties");
    let hive = rewrite(&hive, "thrift://hive-metastore.sql.svc.cluster.local:9083", &format!("thrift://127.0.0.1:{}", metastore.port));
    let good = rewrite(&hive, "http://s3.object-storage.svc.cluster.local:9000", &lake.endpoint);
    let closed = format!("http://127.0.0.1:{}", free_port());
    let bad = rewrite(&hive, "http://s3.object-storage.svc.cluster.local:9000", &closed);
    let trino = Trino::start(&trino_objects, &[("hive.properties", good), ("badlake.properties", bad)], key);

    let target = Target {
        engine_url: &trino.url,
        engine: Engine::Trino,
        s3_endpoint: &lake.endpoint,
        key: &sql_key,
        bucket: "warehouse",
        catalog: "hive",
    };
    let evidence = roundtrip(&target).await.unwrap_or_else(|e| panic!("{e}\n--- metastore log\n{}", log_tail(&metastore.server.log)));
    assert_eq!(evidence["rows"], 3);
    assert!(evidence["files"].as_u64().unwrap() >= 1, "{evidence:?}");
    assert_eq!(evidence["table"], "hive.bigtop_checkpoint.rows");
    assert_eq!(evidence["location"], "s3a://warehouse/bigtop-checkpoint/sql/");

    // The table stays for other lake clients, and a second run replaces it rather than adding rows.
    let again = roundtrip(&target).await.unwrap();
    assert!(again["files"].as_u64().unwrap() >= 1, "{again:?}");
    let client = Client::new(&trino.url, Engine::Trino, "test").unwrap();
    let kept = client.execute("SELECT count(*) FROM hive.bigtop_checkpoint.rows").await.unwrap();
    assert_eq!(kept.rows, vec![vec![serde_json::json!(3)]]);

    let wrong = Target { catalog: "badlake", ..target };
    let err = roundtrip(&wrong).await.unwrap_err().to_string();
    assert!(err.contains("check the S3 settings"), "{err}");
}
