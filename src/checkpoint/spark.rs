//! The `spark-job` checkpoint: submit the phase's own PySpark job (ConfigMap `configmap`, key
//! `file`) the way `bigtop-k8s spark submit` does; the job writes 1000 known rows as parquet to
//! the warehouse bucket, reads them back and prints count and sum, which must match. With the
//! metastore wired in (`spark.metastore=sql`) it also reads the sql checkpoint's table, which must
//! hold exactly the rows Trino or Presto wrote.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde_json::{Value, json};

use super::{CheckpointError, Context, Evidence, sql};
use crate::catalog::actions::SparkJobCheck;
use crate::spark::{self, App, Resources, Submission};

const ROWS: u64 = 1000;
/// Sum of i*i for i in 0..1000.
const SUM: u64 = 332_833_500;
const START_BUDGET: Duration = Duration::from_secs(300);
const RUN_BUDGET: Duration = Duration::from_secs(900);

pub(super) async fn run(ctx: &Context<'_>, s: &SparkJobCheck) -> Result<Evidence, CheckpointError> {
    let file = &s.file;
    let job = ctx.configmap_value(&s.configmap, file).await?;
    let bucket = ctx.lake()?.bucket("warehouse").map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let path = format!("s3a://{bucket}/bigtop-checkpoint/spark-{}", crate::state::now().replace(':', "-"));
    let conf = spark::read_conf(ctx.client, ctx.addon).await.map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let mut args = vec![path.clone()];
    if conf.metastore {
        args.push(sql_table());
    }
    let sub =
        Submission::new("bigtop-checkpoint", App::File { name: file.clone(), bytes: job.into_bytes() }, None, args, Resources::default());
    let mut tail = VecDeque::new();
    let outcome = spark::run(ctx.client, &sub, &conf, START_BUDGET, Some(RUN_BUDGET), |line| {
        if tail.len() == 20 {
            tail.pop_front();
        }
        tail.push_back(line.to_string());
    })
    .await
    .map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let log = || tail.iter().cloned().collect::<Vec<_>>().join("\n");
    if outcome.exit_code != 0 {
        return Err(CheckpointError::Failed(format!(
            "the Spark job exited with {} (driver pod {}/{}); its last lines:\n{}",
            outcome.exit_code,
            spark::NAMESPACE,
            outcome.driver_pod,
            log()
        )));
    }
    let reported = parse_evidence(&outcome.marked_lines)
        .ok_or_else(|| CheckpointError::Failed(format!("the job printed no BIGTOP_CHECKPOINT line:\n{}", log())))?;
    check(&reported)?;
    let mut evidence: Evidence = reported.into_iter().collect();
    evidence.insert("driverSeconds".into(), json!((outcome.seconds * 10.0).round() / 10.0));
    Ok(evidence)
}

/// The JSON after `BIGTOP_CHECKPOINT ` on the job's evidence line.
pub fn parse_evidence(lines: &[String]) -> Option<BTreeMap<String, Value>> {
    lines.iter().find_map(|l| l.strip_prefix("BIGTOP_CHECKPOINT ")).and_then(|j| serde_json::from_str(j).ok())
}

/// The sql checkpoint's table as Spark's session catalog names it (`schema.table`).
pub fn sql_table() -> String {
    format!("{}.{}", sql::SCHEMA, sql::TABLE)
}

/// The rows the job read back must be the rows it wrote; a table it read through the metastore
/// must hold exactly the sql checkpoint's rows.
pub fn check(reported: &BTreeMap<String, Value>) -> Result<(), CheckpointError> {
    let (rows, sum) = (reported.get("rows").and_then(Value::as_u64), reported.get("sum").and_then(Value::as_u64));
    if rows != Some(ROWS) || sum != Some(SUM) {
        return Err(CheckpointError::Failed(format!(
            "expected {ROWS} rows summing to {SUM}, the job read {rows:?} rows summing to {sum:?}"
        )));
    }
    let Some(table) = reported.get("table").and_then(Value::as_str) else { return Ok(()) };
    let expected: Vec<Value> = sql::ROWS.iter().map(|(id, word)| json!([id, word])).collect();
    match reported.get("tableRows") {
        Some(Value::Array(read)) if *read == expected => Ok(()),
        Some(Value::Array(read)) => {
            Err(CheckpointError::Failed(format!("through the metastore, {table} holds {read:?}; the sql checkpoint wrote {expected:?}")))
        }
        _ => Err(CheckpointError::Failed(format!(
            "the metastore has no table {table}: run `bigtop-k8s verify sql` (its checkpoint writes it), then `bigtop-k8s verify spark`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_line_and_check() {
        let lines = vec!["noise".to_string(), r#"BIGTOP_CHECKPOINT {"rows": 1000, "sum": 332833500, "path": "s3a://w/p"}"#.to_string()];
        let ev = parse_evidence(&lines).unwrap();
        assert!(check(&ev).is_ok());
        let mut wrong = ev.clone();
        wrong.insert("sum".into(), json!(1));
        assert!(check(&wrong).unwrap_err().to_string().contains("summing to Some(1)"));
        assert_eq!((0..ROWS).map(|i| i * i).sum::<u64>(), SUM);
        assert!(parse_evidence(&["x".into()]).is_none());
    }

    #[test]
    fn the_table_read_through_the_metastore_must_hold_the_sql_checkpoints_rows() {
        let mut ev = parse_evidence(&[r#"BIGTOP_CHECKPOINT {"rows": 1000, "sum": 332833500}"#.to_string()]).unwrap();
        ev.insert("table".into(), json!(sql_table()));
        ev.insert("tableRows".into(), json!([[1, "lake"], [2, "sql"], [3, "checkpoint"]]));
        assert!(check(&ev).is_ok());
        ev.insert("tableRows".into(), json!([[1, "lake"]]));
        assert!(check(&ev).unwrap_err().to_string().contains("the sql checkpoint wrote"));
        ev.insert("tableRows".into(), Value::Null);
        assert!(check(&ev).unwrap_err().to_string().contains("bigtop-k8s verify sql"));
    }
}
