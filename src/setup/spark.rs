//! The `spark` setup: give the spark namespace its own copy of the spark service's S3 key
//! (Secrets cannot be referenced across namespaces; the copy carries the phase's labels, so
//! `remove-phase spark` deletes it), and with `node-pool=dedicated` check that Spark nodes exist.
//!
//! Settings: `from-namespace` and `secret` (the key's Secret, copied under the same name).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use super::{Context, SetupError};

/// Label (and taint key) of nodes reserved for Spark.
pub const SPARK_NODE_LABEL: &str = "bigtop.apache.org/spark";

pub(super) async fn run(ctx: &Context<'_>, with: &BTreeMap<String, Value>) -> Result<Vec<String>, SetupError> {
    let setting = |k: &str| with.get(k).and_then(Value::as_str).ok_or_else(|| SetupError::Missing(format!("setting {k}")));
    let (from, name) = (setting("from-namespace")?, setting("secret")?);
    let source = Api::<Secret>::namespaced(ctx.client.clone(), from)
        .get_opt(name)
        .await
        .map_err(|e| SetupError::Failed(format!("cannot read Secret {from}/{name}: {}", crate::apply::error_text(&e))))?
        .ok_or_else(|| SetupError::Missing(format!("Secret {from}/{name} (install the object-storage phase first)")))?;
    let ns = &ctx.addon.namespace;
    let copy = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": ns, "labels": {
            crate::render::MANAGED_BY.0: crate::render::MANAGED_BY.1,
            crate::render::PHASE_LABEL: ctx.addon.phase, crate::render::ADDON_LABEL: ctx.addon.name}},
        "data": source.data.unwrap_or_default()});
    Api::<Secret>::namespaced(ctx.client.clone(), ns)
        .patch(name, &PatchParams::apply(crate::apply::FIELD_MANAGER).force(), &Patch::Apply(&copy))
        .await
        .map_err(|e| SetupError::Failed(format!("cannot write Secret {ns}/{name}: {}", crate::apply::error_text(&e))))?;
    let mut done = vec![format!("Secret {from}/{name} copied to {ns}")];
    if ctx.params.get("spark.node-pool").and_then(Value::as_str) == Some("dedicated") {
        let lp = ListParams::default().labels(&format!("{SPARK_NODE_LABEL}=true"));
        let nodes = Api::<Node>::all(ctx.client.clone())
            .list(&lp)
            .await
            .map_err(|e| SetupError::Failed(format!("cannot list nodes: {}", crate::apply::error_text(&e))))?;
        if nodes.items.is_empty() {
            return Err(SetupError::Failed(format!(
                "spark.node-pool=dedicated but no node is labelled {SPARK_NODE_LABEL}=true: create the cluster with --spark-nodes N, or \
                 `kubectl label node <node> {SPARK_NODE_LABEL}=true && kubectl taint node <node> {SPARK_NODE_LABEL}=true:NoSchedule`"
            )));
        }
        done.push(format!("{} Spark node(s)", nodes.items.len()));
    }
    Ok(done)
}
