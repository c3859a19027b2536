//! The `sql-roundtrip` checkpoint: through the engine's REST API, (re)create the table
//! `bigtop_checkpoint.rows` in a schema located in the warehouse bucket, CTAS known rows into it,
//! SELECT them back (exactly those rows), and find the new data files in the bucket with the sql
//! service's key. The table stays: it is the lake's sample table (`bigtop-k8s sql "SELECT * FROM
//! hive.bigtop_checkpoint.rows"`) and what the spark checkpoint reads through the metastore. Each
//! run replaces it, so nothing accumulates; a failed run drops it.
//!
//! Settings: `service` and `port` of the engine, `engine` (`trino` or `presto`).

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::{Value, json};

use super::s3::{ServiceKey, read_key};
use super::{CheckpointError, Context, Evidence};
use crate::catalog::actions::SqlCheck;
use crate::forward;
use crate::s3::S3;
use crate::sql::{Client, Engine, SqlError};

/// What the round trip runs against.
pub struct Target<'a> {
    /// Engine base URL (`http://127.0.0.1:8080`).
    pub engine_url: &'a str,
    /// Its dialect.
    pub engine: Engine,
    /// S3 endpoint of the lake, for finding the data files.
    pub s3_endpoint: &'a str,
    /// The sql service's key.
    pub key: &'a ServiceKey,
    /// The warehouse bucket.
    pub bucket: &'a str,
    /// The engine's catalog of the lake (`hive`).
    pub catalog: &'a str,
}

/// The rows the checkpoint writes and must read back.
pub const ROWS: [(i64, &str); 3] = [(1, "lake"), (2, "sql"), (3, "checkpoint")];

pub(super) async fn run(ctx: &Context<'_>, s: &SqlCheck) -> Result<Evidence, CheckpointError> {
    let engine = s.engine;
    let key = read_key(ctx, &ctx.imported_lake_key()?).await?;
    let lake = ctx.lake()?;
    let bucket = lake.bucket("warehouse").map_err(|e| CheckpointError::Failed(e.to_string()))?.to_string();
    let catalog = ctx
        .contracts
        .sql_engine
        .as_ref()
        .map(|e| e.catalog.clone())
        .ok_or_else(|| CheckpointError::Failed("no phase provides the SQL engine".into()))?;
    let sql = forward::forward(ctx.client, &ctx.addon.namespace, &s.service, s.port, 0).await?;
    let lake = forward::forward(ctx.client, &lake.namespace, &lake.service, lake.port, 0).await?;
    let (engine_url, s3_endpoint) = (format!("http://{}", sql.local), format!("http://{}", lake.local));
    let mut evidence =
        roundtrip(&Target { engine_url: &engine_url, engine, s3_endpoint: &s3_endpoint, key: &key, bucket: &bucket, catalog: &catalog })
            .await?;
    evidence.insert("pod".into(), json!(sql.pod));
    Ok(evidence)
}

/// The schema and table the checkpoint keeps, as the engine's catalog names them.
pub const SCHEMA: &str = "bigtop_checkpoint";
/// The table, within [`SCHEMA`].
pub const TABLE: &str = "rows";
/// Where under the warehouse bucket the schema lives.
const PREFIX: &str = "bigtop-checkpoint/sql/";

/// The round trip itself, against any engine and S3 endpoint (port-forwards, or servers on
/// loopback). A failure drops the table, so no half-written table is left for others to read.
pub async fn roundtrip(t: &Target<'_>) -> Result<Evidence, CheckpointError> {
    let client = Client::new(t.engine_url, t.engine, "bigtop-checkpoint").map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let table = format!("{}.{SCHEMA}.{TABLE}", t.catalog);
    let result = steps(&client, t, &table).await;
    if result.is_err() {
        let _ = client.execute(&format!("DROP TABLE IF EXISTS {table}")).await;
    }
    result
}

async fn steps(client: &Client, t: &Target<'_>, table: &str) -> Result<Evidence, CheckpointError> {
    let started = Instant::now();
    let location = format!("s3a://{}/{PREFIX}", t.bucket);
    run_step(client, &format!("CREATE SCHEMA IF NOT EXISTS {}.{SCHEMA} WITH (location = '{location}')", t.catalog)).await?;
    run_step(client, &format!("DROP TABLE IF EXISTS {table}")).await?;
    let s3 =
        S3::new(t.s3_endpoint, "us-east-1", &t.key.access_key, &t.key.secret_key).map_err(|e| CheckpointError::Failed(e.to_string()))?;
    // A fresh metastore (the sql phase re-installed, the lake kept) does not know the table, so
    // the DROP above removed nothing; files still at its location would make the engine refuse
    // a managed table there. Whatever is left under it belongs to no table.
    let table_prefix = format!("{PREFIX}{TABLE}/");
    for (orphan, _) in list(&s3, t.bucket, &table_prefix).await? {
        s3.delete(t.bucket, &orphan)
            .await
            .map_err(|e| CheckpointError::Failed(format!("cannot delete s3://{}/{orphan} (left by an earlier table): {e}", t.bucket)))?;
    }
    // Files left by an earlier run must not count as this run's.
    let before: BTreeSet<String> = list(&s3, t.bucket, PREFIX).await?.into_iter().map(|(name, _)| name).collect();
    let values: Vec<String> = ROWS.iter().map(|(id, word)| format!("({id}, '{word}')")).collect();
    run_step(client, &format!("CREATE TABLE {table} AS SELECT * FROM (VALUES {}) AS t(id, word)", values.join(", "))).await?;
    let read = run_step(client, &format!("SELECT id, word FROM {table} ORDER BY id")).await?;
    let expected: Vec<Vec<Value>> = ROWS.iter().map(|(id, word)| vec![json!(id), json!(word)]).collect();
    if read.rows != expected {
        return Err(CheckpointError::Failed(format!("wrote {expected:?}, read back {:?}", read.rows)));
    }
    let sql_ms = started.elapsed().as_millis() as u64;
    // Data files only: a key ending in / is a directory marker some engines write.
    let files: Vec<(String, u64)> =
        list(&s3, t.bucket, PREFIX).await?.into_iter().filter(|(name, _)| !before.contains(name) && !name.ends_with('/')).collect();
    if files.is_empty() {
        return Err(CheckpointError::Failed(format!(
            "the table's rows came back but no new data file is under s3://{}/{PREFIX} (check that the metastore keeps schema locations: metastore.metadata.transformer.class)",
            t.bucket
        )));
    }
    let mut evidence = Evidence::new();
    evidence.insert("table".into(), json!(table));
    evidence.insert("location".into(), json!(location));
    evidence.insert("rows".into(), json!(read.rows.len()));
    evidence.insert("files".into(), json!(files.len()));
    evidence.insert("bytes".into(), json!(files.iter().map(|(_, n)| n).sum::<u64>()));
    evidence.insert("sqlMs".into(), json!(sql_ms));
    Ok(evidence)
}

async fn list(s3: &S3, bucket: &str, prefix: &str) -> Result<Vec<(String, u64)>, CheckpointError> {
    s3.list(bucket, prefix).await.map_err(|e| CheckpointError::Failed(format!("cannot list s3://{bucket}/{prefix}: {e}")))
}

async fn run_step(client: &Client, statement: &str) -> Result<crate::sql::QueryResult, CheckpointError> {
    client.execute(statement).await.map_err(|e| CheckpointError::Failed(explain(statement, &e)))
}

/// The error, plus where to look when it is about the lake or the metastore.
pub fn explain(statement: &str, e: &SqlError) -> String {
    let text = e.to_string();
    let verb = statement.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    let lower = text.to_lowercase();
    let hint = if lower.contains("invalid method name") {
        // Found by the R2 test: Presto's metastore client (0.287) calls get_table, which Hive
        // Metastore 4 no longer serves; Trino moved to get_table_req. The phase pairs Presto
        // with Hive 3.1.3, so this means an engine pointed at another (Hive 4) metastore.
        " (the engine's metastore client speaks an older Thrift API than its metastore serves: Presto needs Hive Metastore 3, which the sql phase installs with it)"
    } else if lower.contains("path_already_exists") {
        " (files of an earlier table are at that location and no table owns them: delete them with any S3 client)"
    } else if lower.contains("metastore") || lower.contains("thrift") {
        " (check the engine's hive.metastore.uri and that the metastore is up: `kubectl -n sql logs deploy/hive-metastore`)"
    } else if ["s3", "endpoint", "connect", "refused", "unknownhost", "bucket"].iter().any(|w| lower.contains(w)) {
        " (check the S3 settings: fs.s3a.endpoint in the metastore's metastore-site.xml and s3.endpoint / hive.s3.endpoint in the engine's catalog hive.properties)"
    } else {
        ""
    };
    format!("{verb} failed: {text}{hint}")
}
