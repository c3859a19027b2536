//! The `notebook-paragraph` checkpoint: through a port-forward to the Zeppelin server, log in as
//! the generated user, create a note whose paragraph is the addon's code (ConfigMap
//! `configmap`, key `file`) under `%spark.pyspark` followed by `checkpoint(<table>)`, run it,
//! delete the note and restart the Spark interpreter (its driver and executors go; the next
//! paragraph starts fresh ones). The evidence is checked like Jupyter's cell's.

use std::time::{Duration, Instant};

use serde_json::json;

use super::notebook::checked;
use super::spark::sql_table;
use super::{CheckpointError, Context, Evidence};
use crate::catalog::actions::ParagraphCheck;
use crate::zeppelin::{Zeppelin, ZeppelinError};

pub(super) async fn run(ctx: &Context<'_>, s: &ParagraphCheck) -> Result<Evidence, CheckpointError> {
    let ns = &ctx.addon.namespace;
    let user = crate::secrets::read_value(ctx.client, ns, &s.user.secret, &s.user.key).await.map_err(CheckpointError::Failed)?;
    let password =
        crate::secrets::read_value(ctx.client, ns, &s.password.secret, &s.password.key).await.map_err(CheckpointError::Failed)?;
    let code = ctx.configmap_value(&s.configmap, &s.file).await?;
    let conf = crate::spark::read_conf(ctx.client, ctx.addon).await.map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let table = conf.metastore.then(sql_table);
    let server = crate::forward::forward(ctx.client, ns, &s.service, s.port, 0).await?;
    let url = format!("http://{}", server.local);
    let mut evidence = roundtrip(&url, (&user, &password), &code, table.as_deref(), Duration::from_secs(s.timeout_seconds)).await?;
    evidence.insert("pod".into(), json!(server.pod));
    Ok(evidence)
}

/// The paragraph run against any Zeppelin server, checked; the note is deleted and the
/// interpreter restarted whatever happened.
pub async fn roundtrip(
    url: &str,
    (user, password): (&str, &str),
    code: &str,
    table: Option<&str>,
    deadline: Duration,
) -> Result<Evidence, CheckpointError> {
    let failed = |e: ZeppelinError| CheckpointError::Failed(e.to_string());
    let mut zeppelin = Zeppelin::new(url, deadline).map_err(failed)?;
    let version = zeppelin.version().await.map_err(failed)?;
    zeppelin.login(user, password).await.map_err(failed)?;
    let paragraph = format!("%spark.pyspark\n{code}\ncheckpoint({})\n", table.map_or("None".to_string(), |t| format!("{t:?}")));
    let started = Instant::now();
    let name = format!("bigtop-checkpoint-{}", crate::secrets::random(8, crate::catalog::Alphabet::Hex));
    let note = zeppelin.create_note(&name, &[&paragraph]).await.map_err(failed)?;
    let ran = async {
        let ids = zeppelin.paragraph_ids(&note).await?;
        let first =
            ids.first().ok_or_else(|| ZeppelinError::Protocol { url: url.into(), detail: format!("note {note} has no paragraph") })?;
        zeppelin.run_paragraph(&note, first).await
    }
    .await;
    let _ = zeppelin.delete_note(&note).await;
    let _ = zeppelin.restart_interpreter("spark").await;
    let ran = ran.map_err(failed)?;
    if !ran.succeeded() {
        return Err(CheckpointError::Failed(format!("the Zeppelin paragraph ended {}:\n{}", ran.code, tail(&ran.output))));
    }
    let silent = format!("the Zeppelin paragraph printed no BIGTOP_CHECKPOINT line; it printed:\n{}", tail(&ran.output));
    let mut evidence = checked(&ran.output, &silent)?;
    evidence.insert("zeppelinServer".into(), json!(version));
    evidence.insert("interpreterAndParagraphSeconds".into(), json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0));
    Ok(evidence)
}

/// The last lines of a paragraph's output (a Python traceback ends with the exception).
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
