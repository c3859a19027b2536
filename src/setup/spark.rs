//! The `spark` setup: with `spark.node-pool=dedicated`, check that Spark nodes exist (and say
//! how to make some when none does).

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use serde_json::Value;

use super::{Context, SetupError};

/// Label (and taint key) of nodes reserved for Spark.
pub const SPARK_NODE_LABEL: &str = "bigtop.apache.org/spark";

/// How many nodes are labelled for Spark.
pub async fn spark_nodes(client: &kube::Client) -> Result<usize, kube::Error> {
    let lp = ListParams::default().labels(&format!("{SPARK_NODE_LABEL}=true"));
    Ok(Api::<Node>::all(client.clone()).list(&lp).await?.items.len())
}

pub(super) async fn run(ctx: &Context<'_>) -> Result<Vec<String>, SetupError> {
    if ctx.params.get("spark.node-pool").and_then(Value::as_str) != Some("dedicated") {
        return Ok(Vec::new());
    }
    let nodes =
        spark_nodes(ctx.client).await.map_err(|e| SetupError::Failed(format!("cannot list nodes: {}", crate::error::error_text(&e))))?;
    if nodes == 0 {
        return Err(SetupError::Failed(format!(
            "spark.node-pool=dedicated but no node is labelled {SPARK_NODE_LABEL}=true: create the cluster with --spark-nodes N, or \
             `kubectl label node <node> {SPARK_NODE_LABEL}=true && kubectl taint node <node> {SPARK_NODE_LABEL}=true:NoSchedule`"
        )));
    }
    Ok(vec![format!("{nodes} Spark node(s)")])
}
