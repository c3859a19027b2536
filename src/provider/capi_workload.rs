//! The ClusterAPI provider's lifecycle: a management cluster (a Kind cluster we create through
//! the Kind provider, or an existing one), `clusterctl init` when its providers are missing, our
//! rendered workload cluster applied to it, the wait for the control plane, the kubeconfig
//! merged where kubectl finds it; and the way back.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde::Serialize;

use super::capi::{CapiSpec, Infrastructure, Providers, check_credentials, render_cluster, resolve_variables};
use super::capi_cluster::{self, CapiClusterError, ClusterRef};
use super::kind::{KindRole, KindSpec};
use super::kind_cluster::KindCluster;
use super::{Provider, Provisioned, clusterctl, kubeconfig};
use crate::apply::Applier;
use crate::cluster::{Target, connect};
use crate::error::{Error, Exit};
use crate::fetch::Fetcher;
use crate::pipeline::{Globals, state_error};
use crate::state::{self, ClusterOrigin};

/// Which management cluster.
#[derive(Debug, Clone)]
pub enum Management {
    /// A Kind cluster of this name, created (or reused) by us and deleted with the workload.
    Kind(String),
    /// An existing cluster; never deleted by us.
    Existing(Target),
}

impl Management {
    /// The default for a workload cluster: Kind cluster `<name>-mgmt`.
    pub fn kind_for(workload: &str) -> Management {
        Management::Kind(format!("{workload}-mgmt"))
    }

    /// The kubeconfig target of the management cluster.
    pub fn target(&self, g: &Globals) -> Target {
        match self {
            Management::Kind(name) => Target { kubeconfig: g.target.kubeconfig.clone(), context: Some(format!("kind-{name}")) },
            Management::Existing(t) => t.clone(),
        }
    }
}

/// A ClusterAPI workload cluster and where it is managed from.
#[derive(Debug, Clone)]
pub struct CapiWorkload {
    /// The workload cluster's objects in the management cluster.
    pub cluster: ClusterRef,
    /// Where it is managed from.
    pub management: Management,
    /// What to create; absent when only deleting.
    pub build: Option<CapiBuild>,
}

/// The settings `create` needs.
#[derive(Debug, Clone)]
pub struct CapiBuild {
    /// The workload cluster.
    pub spec: CapiSpec,
    /// The Kind cluster settings a Kind management cluster starts from.
    pub kind: KindCluster,
}

impl CapiWorkload {
    /// The workload cluster of `spec`, to create.
    pub fn new(spec: CapiSpec, management: Management, kind: KindCluster) -> CapiWorkload {
        let cluster = ClusterRef { namespace: spec.namespace.clone(), name: spec.name.clone() };
        CapiWorkload { cluster, management, build: Some(CapiBuild { spec, kind }) }
    }

    /// The context ClusterAPI's kubeconfig Secret names (`<name>-admin@<name>`).
    fn context(&self) -> String {
        format!("{0}-admin@{0}", self.cluster.name)
    }

    /// Our Kind management cluster, when it is ours: no workers, no Spark nodes, no ports.
    fn management_kind(&self, base: Option<&KindCluster>) -> Option<KindCluster> {
        let Management::Kind(name) = &self.management else { return None };
        let base = base.cloned().unwrap_or_default();
        let spec = KindSpec { name: name.clone(), role: KindRole::Management, workers: 0, spark_nodes: 0, ports: Vec::new(), ..base.spec };
        Some(KindCluster { spec, ..base })
    }
}

impl Provider for CapiWorkload {
    type Deleted = CapiDeleted;

    /// Create (or reuse) the workload cluster.
    async fn create(&self, g: &Globals) -> Result<Provisioned, Error> {
        let Some(build) = &self.build else {
            return Err(Error::usage(format!("no settings to create ClusterAPI cluster {}", self.cluster)));
        };
        let args = &build.spec;
        let providers = Providers::embedded();
        let env = |k: &str| std::env::var(k).ok();
        let infra = args.infrastructure;
        let vars = resolve_variables(args, &providers, env)
            .map_err(|e| Error::usage("invalid ClusterAPI cluster settings").with_source(e).with_hint(variables_hint(&providers, infra)))?;
        let objects =
            render_cluster(args, &providers, &vars).map_err(|e| Error::failure("cannot render the cluster template").with_source(e))?;

        if let Some(kind) = self.management_kind(Some(&build.kind)) {
            kind.create(g).await?;
        }
        let mgmt_target = self.management.target(g);
        let mgmt = connect(&mgmt_target).await?;
        init_providers(g, &providers, infra, &mgmt.client, &mgmt_target).await?;

        let step = g.progress.start(format!("apply ClusterAPI cluster {} ({} objects)", args.name, objects.len()));
        let mut applier = Applier::new(mgmt.client.clone())
            .await
            .map_err(|e| Error::failure("cannot discover the management cluster's API").with_source(e))?;
        applier.apply_all(&objects).await.map_err(|e| {
            Error::failure("the management cluster rejected the workload cluster")
                .with_source(e)
                .with_hint("check that `clusterctl init` installed the providers: `kubectl get deployments -A` on the management cluster")
        })?;
        step.done("");

        let cluster = &self.cluster;
        let budget = g.timeout.max(Duration::from_secs(providers.infra(infra).control_plane_timeout));
        let step = g.progress.start(format!("wait for the control plane of {cluster}"));
        capi_cluster::wait_control_plane(&mgmt.client, cluster, budget, |s| g.progress.note(&format!("{cluster}: {s}")))
            .await
            .map_err(|e| wait_error(e, cluster))?;
        step.done("initialised");

        let text = capi_cluster::kubeconfig(&mgmt.client, cluster)
            .await
            .map_err(|e| Error::failure("cannot read the workload kubeconfig").with_source(e))?;
        let path = kubeconfig::default_path(g.target.kubeconfig.as_deref());
        let merged = kubeconfig::read(&path)
            .and_then(|existing| kubeconfig::merge(existing, &text))
            .and_then(|(config, ctx)| kubeconfig::write(&path, &config).map(|_| ctx))
            .map_err(|e| Error::failure("cannot write the workload kubeconfig").with_source(e))?;
        g.progress.note(&format!("kubeconfig context {merged} written to {}", path.display()));

        let workload = Target { kubeconfig: Some(path), context: Some(merged) };
        let origin = ClusterOrigin {
            infrastructure: infra.name().into(),
            namespace: cluster.namespace.clone(),
            name: cluster.name.clone(),
            management_kubeconfig: mgmt_target.kubeconfig.as_ref().map(|p| p.display().to_string()),
            management_context: mgmt_target.context.clone(),
        };
        let client = connect(&workload).await?.client;
        state::record_origin(&client, &origin).await.map_err(state_error)?;
        Ok(Provisioned { target: workload, reused: false, name: cluster.name.clone() })
    }

    /// Delete the workload cluster, wait for its machines to go, then the Kind management
    /// cluster if we created it. Idempotent.
    async fn delete(&self, g: &Globals) -> Result<CapiDeleted, Error> {
        let name = &self.cluster.name;
        super::kind::validate_name(name).map_err(|e| Error::usage("invalid cluster name").with_source(e))?;
        let providers = Providers::embedded();
        let cluster = &self.cluster;
        // Our Kind management cluster may already be gone: then so is the workload.
        let ours = self.management_kind(None);
        let reachable = match &ours {
            Some(kind) => kind.exists(g).await?,
            None => true,
        };
        let mut deleted = capi_cluster::ClusterDeleted { existed: false, machines: Vec::new() };
        if reachable {
            let mgmt = connect(&self.management.target(g)).await?;
            let budget = g
                .timeout
                .max(Duration::from_secs(providers.infrastructures.values().map(|i| i.control_plane_timeout).max().unwrap_or(600)));
            let step = g.progress.start(format!("delete {cluster} and wait for its machines"));
            deleted = capi_cluster::delete(&mgmt.client, cluster, budget, |s| g.progress.note(&format!("{cluster}: {s}"))).await.map_err(
                |e| {
                    let exit = if matches!(e, CapiClusterError::Timeout { .. }) { Exit::Timeout } else { Exit::Failure };
                    Error::new(exit, format!("cannot delete {cluster}"))
                        .with_source(e)
                        .with_hint("run the same command again; `clusterctl describe cluster` shows what is stuck")
                },
            )?;
            step.done(format!("{} machine(s) removed", deleted.machines.len()));
        }
        let (context, path) = (self.context(), kubeconfig::default_path(g.target.kubeconfig.as_deref()));
        kubeconfig::read(&path)
            .map(|c| kubeconfig::remove_context(c, &context))
            .and_then(|c| kubeconfig::write(&path, &c))
            .map_err(|e| Error::failure("cannot update the kubeconfig").with_source(e))?;
        let management_deleted = match ours {
            Some(kind) => Some(kind.delete(g).await?.cluster),
            None => None,
        };
        Ok(CapiDeleted { cluster: name.clone(), existed: deleted.existed, machines: deleted.machines, context, management_deleted })
    }

    fn kubeconfig(&self, g: &Globals) -> Target {
        Target { kubeconfig: Some(kubeconfig::default_path(g.target.kubeconfig.as_deref())), context: Some(self.context()) }
    }
}

fn variables_hint(providers: &Providers, infra: Infrastructure) -> String {
    let vars = &providers.infra(infra).variables;
    if vars.is_empty() {
        return format!("the {} template takes no variables", infra.name());
    }
    let names: Vec<&str> = vars.keys().map(String::as_str).collect();
    format!("pass --var NAME=VALUE or export the variable; the {} template takes {}", infra.name(), names.join(", "))
}

fn wait_error(e: CapiClusterError, cluster: &ClusterRef) -> Error {
    let exit = match e {
        CapiClusterError::Timeout { .. } => Exit::Timeout,
        _ => Exit::Failure,
    };
    Error::new(exit, format!("the control plane of {cluster} did not come up")).with_source(e).with_hint(
        "`bigtop-k8s status` on the management cluster's context lists the ClusterAPI objects; `clusterctl describe cluster` explains more",
    )
}

/// Run `clusterctl init` unless every provider controller already exists; then wait for them.
async fn init_providers(
    g: &Globals,
    providers: &Providers,
    infra: Infrastructure,
    client: &kube::Client,
    target: &Target,
) -> Result<(), Error> {
    let controllers = providers.controllers(infra);
    if missing_controllers(client, &controllers).await?.is_empty() {
        g.progress.note(&format!("ClusterAPI and the {} provider are installed: skipping clusterctl init", infra.name()));
        return Ok(());
    }
    check_credentials(infra, providers, |k| std::env::var(k).ok()).map_err(|e| {
        Error::prerequisite("missing credentials for the infrastructure provider")
            .with_source(e)
            .with_hint("export them, then run the same command again")
    })?;
    let binary = clusterctl::locate(&providers.clusterctl_version, &Fetcher::cache_root()).await.map_err(|e| {
        Error::prerequisite("clusterctl is not available").with_source(e).with_hint(format!(
            "install clusterctl {} on PATH, or Go so that bigtop-k8s can build it (`go install sigs.k8s.io/cluster-api/cmd/clusterctl@{}`)",
            providers.clusterctl_version, providers.clusterctl_version
        ))
    })?;
    let step = g.progress.start(format!("clusterctl init --infrastructure {}", infra.name()));
    let mut args = providers.init_args(infra);
    args.push("--wait-providers".into());
    let kubeconfig = kubeconfig::default_path(target.kubeconfig.as_deref());
    binary.run(&args, &kubeconfig, target.context.as_deref(), &[]).await.map_err(|e| {
        Error::failure("clusterctl init failed")
            .with_source(e)
            .with_hint("the output above is clusterctl's; fix it and run the same command again")
    })?;
    let left = missing_controllers(client, &controllers).await?;
    if !left.is_empty() {
        return Err(Error::failure(format!("after clusterctl init these controllers are missing: {}", left.join(", "))));
    }
    step.done("");
    Ok(())
}

async fn missing_controllers(client: &kube::Client, controllers: &[(String, String)]) -> Result<Vec<String>, Error> {
    let mut missing = Vec::new();
    for (ns, name) in controllers {
        let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
        let found =
            api.get_opt(name).await.map_err(|e| Error::failure("cannot read the management cluster's deployments").with_source(e))?;
        if found.is_none() {
            missing.push(format!("{ns}/{name}"));
        }
    }
    Ok(missing)
}

/// What `delete-cluster --provider capi` removed.
#[derive(Debug, Serialize)]
pub struct CapiDeleted {
    /// Workload cluster name.
    pub cluster: String,
    /// Whether the Cluster object existed.
    pub existed: bool,
    /// Machines it had.
    pub machines: Vec<String>,
    /// The kubeconfig context removed.
    pub context: String,
    /// The Kind management cluster deleted, if it was ours.
    pub management_deleted: Option<String>,
}

/// Human summary of a ClusterAPI deletion.
pub fn deleted_text(d: &CapiDeleted) -> String {
    let mut out = match d.existed {
        true => {
            format!("deleted ClusterAPI cluster {} ({} machine(s)); removed kubeconfig context {}", d.cluster, d.machines.len(), d.context)
        }
        false => format!("no ClusterAPI cluster {} to delete", d.cluster),
    };
    if let Some(m) = &d.management_deleted {
        out.push_str(&format!("\ndeleted the Kind management cluster {m}"));
    }
    out
}
