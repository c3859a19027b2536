//! The `default-storage-class` setup: make the addon's StorageClass the only default by taking
//! the default flag from every other one (kind's `standard`, a cloud's `gp2`, …).
//!
//! Settings: `storage-class` (the one that stays default).

use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

use super::{Context, SetupError};
use crate::catalog::actions::DefaultStorageClass;

const DEFAULT_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

pub(super) async fn run(ctx: &Context<'_>, s: &DefaultStorageClass) -> Result<Vec<String>, SetupError> {
    let keep = &s.storage_class;
    let api: Api<StorageClass> = Api::all(ctx.client.clone());
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| SetupError::Failed(format!("cannot list StorageClasses: {}", crate::error::error_text(&e))))?;
    let mut done = Vec::new();
    for sc in list.items {
        let name = sc.metadata.name.clone().unwrap_or_default();
        let is_default = sc.metadata.annotations.as_ref().and_then(|a| a.get(DEFAULT_ANNOTATION)).is_some_and(|v| v == "true");
        if &name == keep || !is_default {
            continue;
        }
        let patch = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name, "annotations": {DEFAULT_ANNOTATION: "false"}}});
        // force: the annotation belongs to whoever created the class; we take just this field.
        let params = PatchParams::apply(crate::apply::FIELD_MANAGER).force();
        api.patch(&name, &params, &Patch::Apply(&patch)).await.map_err(|e| {
            SetupError::Failed(format!("cannot clear the default flag of StorageClass {name}: {}", crate::error::error_text(&e)))
        })?;
        done.push(format!("StorageClass {name} is no longer the default"));
    }
    Ok(done)
}
