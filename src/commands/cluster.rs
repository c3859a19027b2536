//! `create-cluster` and `up`: get a cluster from its provider (`crate::provider`), then install
//! the base phase, and for `up` the default phases too, in one plan, ending in one summary.

use std::collections::BTreeSet;

use serde::Serialize;

use super::add::{self, AddArgs, Mode, PhaseOutcome, Verify};
use super::{Globals, SpecArgs};
use crate::budget::Requests;
use crate::cluster::{Target, connect_within};
use crate::error::Error;
use crate::pipeline::{Loaded, Request, plan_error};
use crate::plan::MissingDeps;
use crate::profile::Profile;
use crate::provider::capi_workload::CapiWorkload;
use crate::provider::existing::Existing;
use crate::provider::kind_cluster::KindCluster;
use crate::provider::{Provider, Provisioned};

/// Where the cluster comes from.
#[derive(Debug, Clone)]
pub enum ClusterSource {
    /// A new Kind cluster on this machine's Docker.
    Kind(KindCluster),
    /// Whatever `--kubeconfig`/`--context` point at.
    Existing,
    /// A ClusterAPI workload cluster.
    Capi(CapiWorkload),
}

/// Arguments of `create-cluster` (and the cluster part of `up`).
#[derive(Debug, Clone)]
pub struct CreateArgs {
    /// Provider.
    pub provider: ClusterSource,
    /// Checkpoints or not.
    pub verify: Verify,
    /// Profile, `--set` and `-f` for the phases installed.
    pub spec: SpecArgs,
}

/// What `create-cluster`/`up` did.
#[derive(Debug, Serialize)]
pub struct Created {
    /// Cluster name (Kind) or the kubeconfig context used.
    pub cluster: String,
    /// Whether an existing Kind cluster of that name was reused.
    pub reused: bool,
    /// The kubeconfig context to use.
    pub context: Option<String>,
    /// The kubeconfig file holding it (ClusterAPI writes the workload's there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Phases installed, with their checkpoints.
    pub phases: Vec<PhaseOutcome>,
    /// How to reach the installed services (filled by `up`).
    pub endpoints: Vec<super::endpoints::EndpointInfo>,
}

/// Run `create-cluster`: the cluster, then the base phase.
pub async fn create(g: &Globals, args: &CreateArgs) -> Result<Created, Error> {
    install(g, args, vec!["base".into()], MissingDeps::Refuse).await
}

/// Run `up`: the cluster, then base and `chosen` (by default the catalog's default phases; with
/// `-f`, the file's), as one plan. What the phases request is shown before anything starts.
pub async fn up(g: &Globals, args: &CreateArgs, chosen: &[String]) -> Result<Created, Error> {
    // The file is read now, so bad input stops `up` before any cluster exists.
    let loaded = Loaded::read(g, &args.spec)?;
    let mut phases = vec!["base".to_string()];
    match (chosen.is_empty(), args.spec.file.is_none()) {
        (false, _) => phases.extend(chosen.iter().cloned()),
        (true, true) => phases.extend(loaded.catalog.phases.iter().filter(|p| p.default).map(|p| p.name.clone())),
        (true, false) => {}
    }
    // What the pipeline will install: the file's phases and ours, names checked, dependencies in.
    let named = Request { phases: phases.clone(), missing: MissingDeps::Install }.named(&loaded)?;
    let planned =
        crate::plan::plan(&loaded.catalog, &named, &BTreeSet::new(), MissingDeps::Install, &loaded.resolved).map_err(plan_error)?;
    let names: Vec<String> = planned.into_iter().map(|p| p.phase).collect();
    announce(g, loaded.spec.profile, &names)?;
    let mut created = install(g, args, phases, MissingDeps::Install).await?;
    let g = Globals { target: Target { kubeconfig: created.kubeconfig.clone(), context: created.context.clone() }, ..g.clone() };
    created.endpoints = super::endpoints::run(&g).await?;
    Ok(created)
}

/// Say what `up` installs and what that requests under the profile's defaults, next to the
/// profile's budget, which the Kind preflight holds Docker to.
fn announce(g: &Globals, profile: Profile, phases: &[String]) -> Result<(), Error> {
    let info = super::phases::run(g, profile)?;
    let total = info.phases.iter().filter(|p| phases.contains(&p.name)).map(|p| p.requests).fold(Requests::default(), |a, b| a + b);
    let budget = info.budget.map(|b| format!(" (the profile's budget: {} memory, {} CPU)", b.memory, b.cpu)).unwrap_or_default();
    g.progress.note(&format!("installing {} at profile {}: requests {}{budget}", phases.join(", "), profile.name(), total.human()));
    Ok(())
}

/// Get the cluster from its provider, then install `phases` in one run of the pipeline.
async fn install(g: &Globals, args: &CreateArgs, phases: Vec<String>, missing: MissingDeps) -> Result<Created, Error> {
    let Provisioned { target, reused, name } = match &args.provider {
        ClusterSource::Kind(kind) => kind.create(g).await?,
        ClusterSource::Existing => Existing.create(g).await?,
        ClusterSource::Capi(capi) => capi.create(g).await?,
    };
    let g = Globals { target: target.clone(), ..g.clone() };
    let spec = with_detected_cni(&g, args).await?;
    let phases = add::run(&g, &AddArgs { phases, spec, missing, mode: Mode::Apply, verify: args.verify }).await?;
    Ok(Created { cluster: name, reused, context: target.context, kubeconfig: target.kubeconfig, phases, endpoints: Vec::new() })
}

/// Existing clusters usually have a CNI: when every node is Ready, keep it (`base.cni=none`)
/// unless the user chose.
async fn with_detected_cni(g: &Globals, args: &CreateArgs) -> Result<SpecArgs, Error> {
    let mut spec = args.spec.clone();
    // Kind and ClusterAPI clusters are created without a CNI: Canal comes with base.
    if !matches!(args.provider, ClusterSource::Existing) || spec.sets.iter().any(|s| s.starts_with("base.cni=")) {
        return Ok(spec);
    }
    let cluster = connect_within(&g.target, g.timeout).await?;
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(cluster.client.clone());
    let list = nodes.list(&Default::default()).await.map_err(|e| Error::failure("cannot list nodes").with_source(e))?;
    if !list.items.is_empty() && list.items.iter().all(crate::wait::node_ready) {
        g.progress.note("every node is Ready, so the cluster has a CNI: keeping it (base.cni=none; override with --set base.cni=canal)");
        spec.sets.push("base.cni=none".into());
    }
    Ok(spec)
}

/// Human summary of `create-cluster`/`up`.
pub fn created_text(c: &Created) -> String {
    let how = if c.reused { "reused" } else { "created" };
    let mut out = format!("cluster {} {how}; kubectl context {}\n", c.cluster, c.context.clone().unwrap_or_default());
    out.push_str(&add::text(&c.phases));
    if !c.endpoints.is_empty() {
        out.push_str(&format!("\n\n{}", super::endpoints::text(&c.endpoints)));
    }
    out.push_str("\nnext: `bigtop-k8s status`, `bigtop-k8s endpoints --forward`");
    out
}
