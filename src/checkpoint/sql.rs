//! The `sql-roundtrip` checkpoint: through the engine's REST API, create a schema located in the
//! warehouse bucket, CTAS known rows into a table, SELECT them back (exactly those rows), find
//! the table's data files in the bucket with the sql service's key, then drop what it made.
//!
//! Settings: `service` and `port` of the engine, `engine` (`trino` or `presto`).

use std::time::Instant;

use serde_json::{Value, json};

use super::s3::{ServiceKey, read_key};
use super::{CheckpointError, Context, Evidence, Settings, forward};
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

pub(super) async fn run(ctx: &Context<'_>, s: &Settings<'_>) -> Result<Evidence, CheckpointError> {
    let engine = Engine::from_name(&s.str("engine")?).ok_or_else(|| CheckpointError::Setting("engine".into()))?;
    let key = read_key(ctx, "s3-sql").await?;
    let bucket = super::warehouse_bucket(ctx.client).await?;
    let sql = forward::forward(ctx.client, &ctx.addon.namespace, &s.str("service")?, s.port("port")?, 0).await?;
    let lake = forward::forward(ctx.client, "object-storage", "s3", 9000, 0).await?;
    let (engine_url, s3_endpoint) = (format!("http://{}", sql.local), format!("http://{}", lake.local));
    let mut evidence =
        roundtrip(&Target { engine_url: &engine_url, engine, s3_endpoint: &s3_endpoint, key: &key, bucket: &bucket, catalog: "hive" })
            .await?;
    evidence.insert("pod".into(), json!(sql.pod));
    Ok(evidence)
}

/// The round trip itself, against any engine and S3 endpoint (port-forwards, or servers on
/// loopback). Cleans up what it created, also after a failure.
pub async fn roundtrip(t: &Target<'_>) -> Result<Evidence, CheckpointError> {
    let client = Client::new(t.engine_url, t.engine, "bigtop-checkpoint").map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let suffix = crate::secrets::random(8, crate::catalog::Alphabet::Hex);
    let schema = format!("{}.bigtop_check_{suffix}", t.catalog);
    let prefix = format!("bigtop-checkpoint/sql-{suffix}/");
    let result = steps(&client, t, &schema, &prefix).await;
    // Best effort: a failed step may have left the table or the schema behind.
    let _ = client.execute(&format!("DROP TABLE IF EXISTS {schema}.rows")).await;
    let _ = client.execute(&format!("DROP SCHEMA IF EXISTS {schema}")).await;
    result
}

async fn steps(client: &Client, t: &Target<'_>, schema: &str, prefix: &str) -> Result<Evidence, CheckpointError> {
    let started = Instant::now();
    let location = format!("s3a://{}/{prefix}", t.bucket);
    run_step(client, &format!("CREATE SCHEMA {schema} WITH (location = '{location}')")).await?;
    let values: Vec<String> = ROWS.iter().map(|(id, word)| format!("({id}, '{word}')")).collect();
    run_step(client, &format!("CREATE TABLE {schema}.rows AS SELECT * FROM (VALUES {}) AS t(id, word)", values.join(", "))).await?;
    let read = run_step(client, &format!("SELECT id, word FROM {schema}.rows ORDER BY id")).await?;
    let expected: Vec<Vec<Value>> = ROWS.iter().map(|(id, word)| vec![json!(id), json!(word)]).collect();
    if read.rows != expected {
        return Err(CheckpointError::Failed(format!("wrote {expected:?}, read back {:?}", read.rows)));
    }
    let sql_ms = started.elapsed().as_millis() as u64;
    let s3 =
        S3::new(t.s3_endpoint, "us-east-1", &t.key.access_key, &t.key.secret_key).map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let files =
        s3.list(t.bucket, prefix).await.map_err(|e| CheckpointError::Failed(format!("cannot list s3://{}/{prefix}: {e}", t.bucket)))?;
    if files.is_empty() {
        return Err(CheckpointError::Failed(format!("the table's rows came back but no data file is under s3://{}/{prefix}", t.bucket)));
    }
    let mut evidence = Evidence::new();
    evidence.insert("location".into(), json!(location));
    evidence.insert("rows".into(), json!(read.rows.len()));
    evidence.insert("files".into(), json!(files.len()));
    evidence.insert("bytes".into(), json!(files.iter().map(|(_, n)| n).sum::<u64>()));
    evidence.insert("sqlMs".into(), json!(sql_ms));
    Ok(evidence)
}

async fn run_step(client: &Client, statement: &str) -> Result<crate::sql::QueryResult, CheckpointError> {
    client.execute(statement).await.map_err(|e| CheckpointError::Failed(explain(statement, &e)))
}

/// The error, plus where to look when it is about the lake or the metastore.
pub fn explain(statement: &str, e: &SqlError) -> String {
    let text = e.to_string();
    let verb = statement.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    let lower = text.to_lowercase();
    let hint = if lower.contains("metastore") || lower.contains("thrift") {
        " (check the engine's hive.metastore.uri and that the metastore is up: `kubectl -n sql logs deploy/hive-metastore`)"
    } else if ["s3", "endpoint", "connect", "refused", "unknownhost", "bucket"].iter().any(|w| lower.contains(w)) {
        " (check the S3 settings: fs.s3a.endpoint in the metastore's metastore-site.xml and s3.endpoint / hive.s3.endpoint in the engine's catalog hive.properties)"
    } else {
        ""
    };
    format!("{verb} failed: {text}{hint}")
}
