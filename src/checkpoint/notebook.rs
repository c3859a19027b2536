//! The `notebook-cell` checkpoint: through a port-forward to the Jupyter server, log in with its
//! token, start a kernel, run the addon's cell (ConfigMap `configmap`, key `file`, followed by
//! `checkpoint(<table>)`), shut the kernel down. The cell's Spark session reads the newest
//! parquet the spark checkpoint wrote (1,000 rows, known sum) and, when the spark phase follows
//! the sql phase's metastore, the sql checkpoint's table; both are checked like the spark
//! checkpoint's own.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::spark::{check, parse_evidence, sql_table};
use super::{CheckpointError, Context, Evidence};
use crate::catalog::actions::NotebookCheck;
use crate::jupyter::{Jupyter, JupyterError};

pub(super) async fn run(ctx: &Context<'_>, s: &NotebookCheck) -> Result<Evidence, CheckpointError> {
    let ns = &ctx.addon.namespace;
    let token = crate::secrets::read_value(ctx.client, ns, &s.token.secret, &s.token.key).await.map_err(CheckpointError::Failed)?;
    let cell = ctx.configmap_value(&s.configmap, &s.file).await?;
    // Whether the notebook's Spark follows the metastore is the spark phase's setting.
    let conf = crate::spark::read_conf(ctx.client, ctx.addon).await.map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let table = conf.metastore.then(sql_table);
    let server = crate::forward::forward(ctx.client, ns, &s.service, s.port, 0).await?;
    let url = format!("http://{}", server.local);
    let mut evidence = roundtrip(&url, &token, &cell, table.as_deref(), Duration::from_secs(s.timeout_seconds)).await?;
    evidence.insert("pod".into(), json!(server.pod));
    Ok(evidence)
}

/// The cell run against any Jupyter server (a port-forward, or one on loopback), checked; the
/// kernel is shut down whatever happened.
pub async fn roundtrip(url: &str, token: &str, cell: &str, table: Option<&str>, deadline: Duration) -> Result<Evidence, CheckpointError> {
    let failed = |e: JupyterError| CheckpointError::Failed(e.to_string());
    let jupyter = Jupyter::new(url, token).map_err(failed)?;
    let version = jupyter.version().await.map_err(failed)?;
    let started = Instant::now();
    let kernel = jupyter.start_kernel("python3").await.map_err(failed)?;
    let code = format!("{cell}\ncheckpoint({})\n", table.map_or("None".to_string(), |t| format!("{t:?}")));
    let ran = jupyter.execute(&kernel, &code, deadline).await;
    let _ = jupyter.delete_kernel(&kernel).await;
    let ran = ran.map_err(failed)?;
    if let Some((name, value, tail)) = &ran.error {
        return Err(CheckpointError::Failed(format!("the notebook cell raised {name}: {value}\n{tail}")));
    }
    let mut evidence =
        checked(&ran.stdout, &format!("the notebook cell printed no BIGTOP_CHECKPOINT line; it printed:\n{}{}", ran.stdout, ran.stderr))?;
    evidence.insert("jupyterServer".into(), json!(version));
    evidence.insert("kernelAndCellSeconds".into(), json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0));
    Ok(evidence)
}

/// The evidence line a notebook's checkpoint code printed, checked like the spark
/// checkpoint's own; `silent` is the failure when there is none.
pub(super) fn checked(output: &str, silent: &str) -> Result<Evidence, CheckpointError> {
    let lines: Vec<String> = output.lines().map(str::to_string).collect();
    let reported = parse_evidence(&lines).ok_or_else(|| CheckpointError::Failed(silent.to_string()))?;
    if reported.get("path").is_none_or(Value::is_null) {
        return Err(CheckpointError::Failed(
            "the spark checkpoint's parquet is not in the lake: run `bigtop-k8s verify spark` (its checkpoint writes it), then `bigtop-k8s verify notebooks`".into(),
        ));
    }
    check(&reported)?;
    Ok(reported.into_iter().collect())
}
