//! Apply: server-side apply of rendered objects with one field manager and strict field
//! validation, in stages Namespaces → CRDs (wait Established, refresh discovery) → cluster RBAC
//! → everything else, concurrently within a stage, retrying transient failures with backoff.

use std::time::Duration;

use futures::{StreamExt, stream};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, ValidationDirective};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};
use serde_json::Value;

use crate::error::error_text;
use crate::render::describe;

/// Our one server-side apply field manager.
pub const FIELD_MANAGER: &str = "bigtop-k8s";
const PARALLEL: usize = 8;
const ATTEMPTS: u32 = 6;
/// How long an object may wait for an admission webhook that is not serving yet (a phase that
/// installs its own webhook, as Knative does, applies objects it admits in the same run).
const WEBHOOK_PATIENCE: Duration = Duration::from_secs(300);
const CRD_ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);
const DISCOVERY_RETRIES: u32 = 8;

/// An object as the server stored it, with the API resource it lives under.
#[derive(Clone, Debug)]
pub struct Applied {
    /// What the server returned.
    pub object: DynamicObject,
    /// Its API resource.
    pub resource: ApiResource,
    /// Whether it lives in a namespace.
    pub namespaced: bool,
}

impl Applied {
    /// `Kind/namespace/name` for messages.
    pub fn describe(&self) -> String {
        match self.object.namespace() {
            Some(ns) => format!("{}/{}/{}", self.resource.kind, ns, self.object.name_any()),
            None => format!("{}/{}", self.resource.kind, self.object.name_any()),
        }
    }

    /// An API handle scoped like the object.
    pub fn api(&self, client: &Client) -> Api<DynamicObject> {
        match self.object.namespace() {
            Some(ns) if self.namespaced => Api::namespaced_with(client.clone(), &ns, &self.resource),
            _ => Api::all_with(client.clone(), &self.resource),
        }
    }
}

/// Why objects could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// API discovery failed.
    #[error("cannot discover the API server's resources")]
    Discovery(#[source] kube::Error),
    /// Some objects were rejected or kept failing; every failure is listed.
    #[error("{} object(s) could not be applied:{}", .0.len(), list(.0))]
    Objects(Vec<(String, String)>),
    /// A CRD did not become Established.
    #[error("CustomResourceDefinition {name} did not become Established within {}s", CRD_ESTABLISHED_TIMEOUT.as_secs())]
    CrdNotEstablished {
        /// CRD name.
        name: String,
    },
}

fn list(failures: &[(String, String)]) -> String {
    failures.iter().map(|(obj, why)| format!("\n    {obj}: {why}")).collect()
}

/// Applies objects with a cached view of the server's API resources.
pub struct Applier {
    client: Client,
    discovery: Discovery,
}

impl Applier {
    /// Discover the server's resources.
    pub async fn new(client: Client) -> Result<Applier, ApplyError> {
        let discovery = Discovery::new(client.clone()).run_aggregated().await.map_err(ApplyError::Discovery)?;
        Ok(Applier { client, discovery })
    }

    /// Look up the API resource of a kind. On a miss, discovery is refreshed a few times over
    /// about ten seconds: it lags behind a CRD's Established condition, with no condition to wait
    /// for (kube-rs documents this on `is_crd_established`).
    pub async fn resolve(&mut self, gvk: &GroupVersionKind) -> Result<Option<(ApiResource, ApiCapabilities)>, ApplyError> {
        let mut delay = Duration::from_millis(100);
        for attempt in 0..DISCOVERY_RETRIES {
            if let Some(found) = self.discovery.resolve_gvk(gvk) {
                return Ok(Some(found));
            }
            // The first refresh goes out at once; later ones back off.
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(3));
            }
            self.refresh().await?;
        }
        Ok(self.discovery.resolve_gvk(gvk))
    }

    async fn refresh(&mut self) -> Result<(), ApplyError> {
        self.discovery = Discovery::new(self.client.clone()).run_aggregated().await.map_err(ApplyError::Discovery)?;
        Ok(())
    }

    /// Apply every object, stage by stage, and return what the server stored.
    ///
    /// # Errors
    /// Lists every object that the server rejected (strict validation, unknown kinds) or that
    /// kept failing after retries.
    pub async fn apply_all(&mut self, objects: &[Value]) -> Result<Vec<Applied>, ApplyError> {
        let mut applied = Vec::new();
        for stage in Stage::ALL {
            let batch: Vec<&Value> = objects.iter().filter(|o| Stage::of(o) == stage).collect();
            if batch.is_empty() {
                continue;
            }
            let targets = self.targets(&batch).await?;
            let results: Vec<Result<Applied, (String, String)>> = stream::iter(targets)
                .map(|(obj, ar, caps)| apply_one(&self.client, obj, ar, caps))
                .buffer_unordered(PARALLEL)
                .collect()
                .await;
            let (ok, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
            let mut failed: Vec<(String, String)> = failed.into_iter().filter_map(Result::err).collect();
            if !failed.is_empty() {
                failed.sort();
                return Err(ApplyError::Objects(failed));
            }
            let ok: Vec<Applied> = ok.into_iter().filter_map(Result::ok).collect();
            if stage == Stage::Crds {
                self.establish(&ok).await?;
            }
            applied.extend(ok);
        }
        Ok(applied)
    }

    async fn targets<'a>(&mut self, batch: &[&'a Value]) -> Result<Vec<(&'a Value, ApiResource, ApiCapabilities)>, ApplyError> {
        let mut out = Vec::new();
        let mut failed = Vec::new();
        for obj in batch {
            match gvk_of(obj) {
                None => failed.push((describe(obj), "apiVersion is not group/version".to_string())),
                Some(gvk) => match self.resolve(&gvk).await? {
                    Some((ar, caps)) => out.push((*obj, ar, caps)),
                    None => failed.push((
                        describe(obj),
                        format!(
                            "the server does not serve {}/{} (missing CRD or API group)",
                            obj["apiVersion"].as_str().unwrap_or(""),
                            gvk.kind
                        ),
                    )),
                },
            }
        }
        if failed.is_empty() { Ok(out) } else { Err(ApplyError::Objects(failed)) }
    }

    /// Wait for CRDs to be Established, then refresh discovery so their kinds resolve.
    async fn establish(&mut self, crds: &[Applied]) -> Result<(), ApplyError> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        for crd in crds {
            let name = crd.object.name_any();
            let wait = await_condition(api.clone(), &name, conditions::is_crd_established());
            match tokio::time::timeout(CRD_ESTABLISHED_TIMEOUT, wait).await {
                Ok(Ok(_)) => {}
                _ => return Err(ApplyError::CrdNotEstablished { name }),
            }
        }
        self.refresh().await
    }
}

/// Server-side apply one object whose API resource is known, with the retries of
/// [`Applier::apply_all`]. The error is (object, reason).
pub async fn apply_one(client: &Client, obj: &Value, ar: ApiResource, caps: ApiCapabilities) -> Result<Applied, (String, String)> {
    let what = describe(obj);
    let namespaced = caps.scope == Scope::Namespaced;
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let api: Api<DynamicObject> = match obj.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) if namespaced => Api::namespaced_with(client.clone(), ns, &ar),
        None if namespaced => return Err((what, "namespaced kind without metadata.namespace".into())),
        _ => Api::all_with(client.clone(), &ar),
    };
    // force: bigtop-k8s owns these objects; a field someone changed by hand must not block convergence.
    let params = PatchParams { field_validation: Some(ValidationDirective::Strict), ..PatchParams::apply(FIELD_MANAGER).force() };
    let mut delay = Duration::from_millis(250);
    let started = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match api.patch(name, &params, &Patch::Apply(obj)).await {
            Ok(object) => return Ok(Applied { object, resource: ar, namespaced }),
            Err(e) if (attempt < ATTEMPTS && is_transient(&e)) || (awaits_webhook(&e) && started.elapsed() < WEBHOOK_PATIENCE) => {
                tracing::debug!(object = %what, attempt, error = %e, "retrying apply");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err((what, error_text(&e))),
        }
    }
}

/// An admission webhook that is not serving yet: its Service has no ready endpoint, its
/// certificate is not in place, or it refuses connections.
pub fn awaits_webhook(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 500 && status.message.contains("failed calling webhook"))
}

/// Conflicts, throttling, unavailable servers, internal errors (a webhook whose pod is not up
/// yet answers 500 InternalError) and dropped connections are worth retrying. A 500 without
/// that reason is how server-side apply reports a field the schema lacks: not transient.
pub fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) if status.code == 500 => status.reason == "InternalError",
        kube::Error::Api(status) => matches!(status.code, 409 | 429 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Parse `apiVersion` + `kind`.
pub fn gvk_of(obj: &Value) -> Option<GroupVersionKind> {
    let api_version = obj.get("apiVersion")?.as_str()?;
    let kind = obj.get("kind")?.as_str()?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Some(GroupVersionKind::gvk(group, version, kind))
}

/// Apply order, as kubectl and Helm do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Namespaces first: everything else lives in them.
    Namespaces,
    /// CRDs next, then wait until their kinds are served.
    Crds,
    /// Cluster-wide RBAC before the workloads that use it.
    ClusterRbac,
    /// Everything else.
    Rest,
}

impl Stage {
    /// All stages in order.
    pub const ALL: [Stage; 4] = [Stage::Namespaces, Stage::Crds, Stage::ClusterRbac, Stage::Rest];

    /// The stage an object belongs to.
    pub fn of(obj: &Value) -> Stage {
        match obj.get("kind").and_then(Value::as_str).unwrap_or_default() {
            "Namespace" => Stage::Namespaces,
            "CustomResourceDefinition" => Stage::Crds,
            "ClusterRole" | "ClusterRoleBinding" => Stage::ClusterRbac,
            _ => Stage::Rest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stages_and_gvk() {
        assert_eq!(Stage::of(&json!({"kind": "Namespace"})), Stage::Namespaces);
        assert_eq!(Stage::of(&json!({"kind": "ClusterRole"})), Stage::ClusterRbac);
        assert_eq!(Stage::of(&json!({"kind": "Deployment"})), Stage::Rest);
        let gvk = gvk_of(&json!({"apiVersion": "apps/v1", "kind": "Deployment"})).unwrap();
        assert_eq!((gvk.group.as_str(), gvk.version.as_str()), ("apps", "v1"));
        assert_eq!(gvk_of(&json!({"apiVersion": "v1", "kind": "Pod"})).unwrap().group, "");
    }

    #[test]
    fn an_unreachable_webhook_is_waited_for_and_a_refusal_is_not() {
        let status = |code: u16, reason: &str, message: &str| {
            kube::Error::Api(kube::core::Status { code, reason: reason.into(), message: message.into(), ..Default::default() }.boxed())
        };
        let unreachable = status(
            500,
            "InternalError",
            "Internal error occurred: failed calling webhook \"config.webhook.serving.knative.dev\": failed to call webhook: Post \"https://webhook.knative-serving.svc:443/config-validation?timeout=10s\": dial tcp 10.96.12.7:443: connect: connection refused",
        );
        assert!(awaits_webhook(&unreachable));
        let refused = status(
            400,
            "BadRequest",
            "admission webhook \"validation.webhook.serving.knative.dev\" denied the request: expected 0 <= 7200 <= 600: spec.template.spec.timeoutSeconds",
        );
        assert!(!awaits_webhook(&refused) && !is_transient(&refused), "a refusal is final");
    }
}
