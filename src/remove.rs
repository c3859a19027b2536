//! Remove: delete every object labelled with a phase — namespaced and cluster-scoped, of any
//! kind the server serves — then wait until they are gone.

use std::time::Duration;

use futures::{StreamExt, stream};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::discovery::{ApiResource, Discovery, Scope, verbs};
use kube::{Client, ResourceExt};

use crate::apply::Applied;
use crate::render::{MANAGED_BY, PHASE_LABEL};

/// Why removal did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    /// API discovery failed.
    #[error("cannot discover the API server's resources")]
    Discovery(#[source] kube::Error),
    /// Listing or deleting failed.
    #[error("cannot {action} {object}")]
    Api {
        /// list or delete.
        action: &'static str,
        /// What.
        object: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// Objects were still there when the budget ran out.
    #[error("{} object(s) still exist after {}s: {}", .remaining.len(), .after.as_secs(), .remaining.join(", "))]
    Timeout {
        /// The budget.
        after: Duration,
        /// What remains, with finalizers.
        remaining: Vec<String>,
    },
}

/// An object with its finalizers, which are what keeps it from going away.
fn describe(found: &Applied) -> String {
    match found.object.finalizers() {
        [] => found.describe(),
        f => format!("{} (finalizers: {})", found.describe(), f.join(",")),
    }
}

/// The label selector of a phase's objects.
pub fn selector(phase: &str) -> String {
    format!("{PHASE_LABEL}={phase},{}={}", MANAGED_BY.0, MANAGED_BY.1)
}

/// Delete the phase's Jobs that this apply did not render: a setup Job is named after its
/// script, so a changed script leaves the old one behind (often Failed, always misleading).
/// Returns the names deleted; their pods go with them.
pub async fn prune_replaced_jobs(client: &Client, phase: &str, applied: &[Applied]) -> Result<Vec<String>, RemoveError> {
    let current: Vec<(Option<String>, Option<String>)> = applied
        .iter()
        .filter(|a| a.resource.kind == "Job")
        .map(|a| (a.object.metadata.namespace.clone(), a.object.metadata.name.clone()))
        .collect();
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::all(client.clone());
    let listed = jobs.list(&ListParams::default().labels(&selector(phase))).await.map_err(|source| RemoveError::Api {
        action: "list",
        object: format!("Jobs of phase {phase}"),
        source,
    })?;
    let mut pruned = Vec::new();
    for job in listed.items {
        let key = (job.metadata.namespace.clone(), job.metadata.name.clone());
        if current.contains(&key) {
            continue;
        }
        let (ns, name) = (key.0.unwrap_or_default(), key.1.unwrap_or_default());
        let api: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client.clone(), &ns);
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => pruned.push(format!("Job/{ns}/{name}")),
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(source) => return Err(RemoveError::Api { action: "delete", object: format!("Job/{ns}/{name}"), source }),
        }
    }
    Ok(pruned)
}

/// Delete everything labelled with `phase` and wait until it is gone. Returns how many objects
/// were deleted.
pub async fn remove_phase(client: &Client, phase: &str, budget: Duration) -> Result<usize, RemoveError> {
    let resources = deletable_resources(client).await?;
    let found = find(client, &resources, phase).await?;
    let count = found.len();
    // Contents before their Namespace, custom resources before their CRD.
    let rank = |f: &Applied| match f.resource.kind.as_str() {
        "CustomResourceDefinition" => 2,
        "Namespace" => 1,
        _ => 0,
    };
    for tier in 0..=2 {
        for f in found.iter().filter(|f| rank(f) == tier) {
            match f.api(client).delete(&f.object.name_any(), &DeleteParams::background()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(source) => return Err(RemoveError::Api { action: "delete", object: describe(f), source }),
            }
        }
    }
    let deadline = tokio::time::Instant::now() + budget;
    loop {
        let left = find(client, &resources, phase).await?;
        if left.is_empty() {
            return Ok(count);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(RemoveError::Timeout { after: budget, remaining: left.iter().map(describe).collect() });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every object carrying the phase label right now, as (`Kind/ns/name`, resourceVersion),
/// sorted: what `status` and the tests compare across runs.
pub async fn list_labelled(client: &Client, phase: &str) -> Result<Vec<(String, String)>, RemoveError> {
    let resources = deletable_resources(client).await?;
    let mut out: Vec<(String, String)> = find(client, &resources, phase)
        .await?
        .into_iter()
        .map(|f| (describe(&f), f.object.resource_version().unwrap_or_default()))
        .collect();
    out.sort();
    Ok(out)
}

async fn deletable_resources(client: &Client) -> Result<Vec<(ApiResource, bool)>, RemoveError> {
    let discovery = Discovery::new(client.clone()).run_aggregated().await.map_err(RemoveError::Discovery)?;
    let mut out = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            // Events never carry our labels and are the largest lists on a busy cluster.
            if ar.plural == "events" || !caps.supports_operation(verbs::LIST) || !caps.supports_operation(verbs::DELETE) {
                continue;
            }
            out.push((ar, caps.scope == Scope::Namespaced));
        }
    }
    Ok(out)
}

async fn find(client: &Client, resources: &[(ApiResource, bool)], phase: &str) -> Result<Vec<Applied>, RemoveError> {
    let params = ListParams::default().labels(&selector(phase));
    let lists: Vec<Result<Vec<Applied>, RemoveError>> = stream::iter(resources)
        .map(|(ar, namespaced)| {
            let params = params.clone();
            async move {
                let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
                match api.list(&params).await {
                    Ok(list) => {
                        Ok(list.items.into_iter().map(|object| Applied { resource: ar.clone(), namespaced: *namespaced, object }).collect())
                    }
                    // A resource removed meanwhile (its CRD was just deleted) has nothing left.
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(Vec::new()),
                    Err(source) => Err(RemoveError::Api { action: "list", object: ar.plural.clone(), source }),
                }
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut found = Vec::new();
    for list in lists {
        found.extend(list?);
    }
    Ok(found)
}
