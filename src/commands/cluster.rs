//! `create-cluster`, `delete-cluster` and `up`: make a Kind cluster (or take an existing one),
//! install the base phase, and for `up` the default phases, ending in one summary.

use serde::Serialize;

use super::add::{self, AddArgs, Mode, PhaseOutcome, Verify};
use super::{Globals, SpecArgs};
use crate::cluster::{Target, connect};
use crate::error::Error;
use crate::fetch::Fetcher;
use crate::plan::MissingDeps;
use crate::preflight::{Host, Needs, Verdict, docker_checks};
use crate::provider::kind::{self, KindSpec, MIRRORED_REGISTRIES, NodeImages, render_config};
use crate::provider::kind_binary::{self, Kind};

/// Where the cluster comes from.
#[derive(Debug, Clone)]
pub enum Provider {
    /// A new Kind cluster on this machine's Docker.
    Kind,
    /// Whatever `--kubeconfig`/`--context` point at.
    Existing,
    /// A ClusterAPI workload cluster.
    Capi(super::capi::CapiArgs),
}

/// Whether failed preflight checks stop `create-cluster`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preflight {
    /// Stop on a failed check (the default).
    Enforce,
    /// Go on anyway (`--force`).
    Ignore,
}

/// Arguments of `create-cluster` (and the cluster part of `up`).
#[derive(Debug, Clone)]
pub struct CreateArgs {
    /// Provider.
    pub provider: Provider,
    /// The Kind cluster wanted.
    pub kind: KindSpec,
    /// Preflight policy.
    pub preflight: Preflight,
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
    let (target, reused, cluster) = match &args.provider {
        Provider::Kind => {
            let (context, reused) = create_kind(g, args).await?;
            (Target { kubeconfig: g.target.kubeconfig.clone(), context: Some(context) }, reused, args.kind.name.clone())
        }
        Provider::Existing => (g.target.clone(), true, g.target.context.clone().unwrap_or_else(|| "current context".into())),
        Provider::Capi(capi) => (super::capi::create(g, capi, args).await?, false, capi.spec.name.clone()),
    };
    let g = Globals { target: target.clone(), ..g.clone() };
    let spec = with_detected_cni(&g, args).await?;
    let phases =
        add::run(&g, &AddArgs { phases: vec!["base".into()], spec, missing: MissingDeps::Refuse, mode: Mode::Apply, verify: args.verify })
            .await?;
    Ok(Created { cluster, reused, context: target.context, kubeconfig: target.kubeconfig, phases, endpoints: Vec::new() })
}

/// Run `up`: `create-cluster`, then the default phases (or those of `-f`).
pub async fn up(g: &Globals, args: &CreateArgs) -> Result<Created, Error> {
    let mut created = create(g, args).await?;
    let g = Globals { target: Target { kubeconfig: created.kubeconfig.clone(), context: created.context.clone() }, ..g.clone() };
    let catalog = g.catalog()?;
    let defaults: Vec<String> = catalog.phases.iter().filter(|p| p.default).map(|p| p.name.clone()).collect();
    let from_file = args.spec.file.is_some();
    let phases = if from_file { Vec::new() } else { defaults };
    let more =
        add::run(&g, &AddArgs { phases, spec: args.spec.clone(), missing: MissingDeps::Install, mode: Mode::Apply, verify: args.verify })
            .await?;
    created.phases.extend(more.into_iter().filter(|p| p.phase != "base"));
    created.endpoints = super::endpoints::run(&g).await?;
    Ok(created)
}

/// Existing clusters usually have a CNI: when every node is Ready, keep it (`base.cni=none`)
/// unless the user chose.
async fn with_detected_cni(g: &Globals, args: &CreateArgs) -> Result<SpecArgs, Error> {
    let mut spec = args.spec.clone();
    // Kind and ClusterAPI clusters are created without a CNI: Canal comes with base.
    if !matches!(args.provider, Provider::Existing) || spec.sets.iter().any(|s| s.starts_with("base.cni=")) {
        return Ok(spec);
    }
    let cluster = connect(&g.target).await?;
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(cluster.client.clone());
    let list = nodes.list(&Default::default()).await.map_err(|e| Error::failure("cannot list nodes").with_source(e))?;
    if !list.items.is_empty() && list.items.iter().all(crate::wait::node_ready) {
        g.progress.note("every node is Ready, so the cluster has a CNI: keeping it (base.cni=none; override with --set base.cni=canal)");
        spec.sets.push("base.cni=none".into());
    }
    Ok(spec)
}

/// Validate, check Docker, get kind, and create the cluster unless one of that name exists.
/// Returns the kubeconfig context and whether the cluster was reused.
pub(super) async fn create_kind(g: &Globals, args: &CreateArgs) -> Result<(String, bool), Error> {
    let images = NodeImages::embedded();
    let certs_dir = args.kind.mirror.as_ref().map(|_| Fetcher::cache_root().join("kind").join(&args.kind.name).join("certs.d"));
    let config =
        render_config(&args.kind, &images, certs_dir.as_deref()).map_err(|e| Error::usage("invalid cluster settings").with_source(e))?;
    preflight(g, args).await?;
    let kind = locate_kind(g).await?;
    let context = format!("kind-{}", args.kind.name);
    let existing = kind.clusters().await.map_err(kind_error)?;
    if existing.contains(&args.kind.name) {
        g.progress.note(&format!(
            "kind cluster {} exists: reusing it (delete it first with `bigtop-k8s delete-cluster --name {}` to start over)",
            args.kind.name, args.kind.name
        ));
        return Ok((context, true));
    }
    if let (Some(dir), Some(mirror)) = (&certs_dir, &args.kind.mirror) {
        write_mirror_hosts(dir, mirror)?;
    }
    let step = g.progress.start(format!("create kind cluster {}", args.kind.name));
    kind.run(&["create", "cluster", "--name", &args.kind.name, "--config", "-", "--wait", "0s"], Some(&config))
        .await
        .map_err(kind_error)?;
    step.done(format!("context {context}"));
    Ok((context, false))
}

async fn preflight(g: &Globals, args: &CreateArgs) -> Result<(), Error> {
    let docker = crate::docker::connect().await.map_err(|e| {
        Error::prerequisite("Docker is needed to create a Kind cluster").with_source(e).with_hint("start Docker, then `bigtop-k8s doctor`")
    })?;
    let facts = crate::docker::facts(&docker).await.map_err(|e| Error::prerequisite("cannot read Docker's facts").with_source(e))?;
    let catalog = g.catalog()?;
    let profile = args.spec.profile.unwrap_or_default();
    let needs = Needs::from_budget(catalog.budgets.get(profile.name()));
    let failed: Vec<String> = docker_checks(&facts, needs, Host::read(&facts.root_dir))
        .into_iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| format!("{}: {} ({})", c.name, c.detail, c.fix))
        .collect();
    if failed.is_empty() || args.preflight == Preflight::Ignore {
        return Ok(());
    }
    Err(Error::prerequisite(format!("preflight failed: {}", failed.join("; ")))
        .with_hint("fix the above (`bigtop-k8s doctor` lists every check), or pass --force"))
}

pub(super) async fn locate_kind(g: &Globals) -> Result<Kind, Error> {
    let images = NodeImages::embedded();
    kind_binary::locate(&images.kind_version, &Fetcher::cache_root(), g.mirror.as_deref()).await.map_err(|e| {
        Error::prerequisite("kind is not available")
            .with_source(e)
            .with_hint(format!("install kind {} on PATH, or allow the download", images.kind_version))
    })
}

fn write_mirror_hosts(dir: &std::path::Path, mirror: &str) -> Result<(), Error> {
    for (registry, upstream) in MIRRORED_REGISTRIES {
        let path = dir.join(registry).join("hosts.toml");
        std::fs::create_dir_all(path.parent().expect("has a parent"))
            .and_then(|_| std::fs::write(&path, kind::hosts_toml(upstream, mirror)))
            .map_err(|e| Error::failure(format!("cannot write {}", path.display())).with_source(e))?;
    }
    Ok(())
}

pub(super) fn kind_error(e: kind_binary::KindError) -> Error {
    Error::failure("kind failed").with_source(e).with_hint("the output above is kind's; `bigtop-k8s doctor` checks Docker and the machine")
}

/// What `delete-cluster` removed.
#[derive(Debug, Serialize)]
pub struct Deleted {
    /// Cluster name.
    pub cluster: String,
    /// Whether kind knew the cluster.
    pub existed: bool,
    /// Containers removed after kind (leftovers of an interrupted create).
    pub leftover_containers: Vec<String>,
    /// Whether the shared `kind` Docker network was removed (no container used it any more).
    pub removed_kind_network: bool,
    /// The kubeconfig context kind removed.
    pub context: String,
}

/// Run `delete-cluster`: idempotent, says what it removed.
pub async fn delete(g: &Globals, name: &str) -> Result<Deleted, Error> {
    kind::validate_name(name).map_err(|e| Error::usage("invalid cluster name").with_source(e))?;
    let kind = locate_kind(g).await?;
    let existed = kind.clusters().await.map_err(kind_error)?.iter().any(|c| c == name);
    if existed {
        let step = g.progress.start(format!("delete kind cluster {name}"));
        kind.run(&["delete", "cluster", "--name", name], None).await.map_err(kind_error)?;
        step.done("");
    }
    let docker =
        crate::docker::connect().await.map_err(|e| Error::prerequisite("Docker is needed to delete a Kind cluster").with_source(e))?;
    let leftover_containers = crate::docker::remove_cluster_containers(&docker, name)
        .await
        .map_err(|e| Error::failure("cannot remove leftover containers").with_source(e))?;
    let removed_kind_network = crate::docker::remove_kind_network_if_unused(&docker)
        .await
        .map_err(|e| Error::failure("cannot remove the kind network").with_source(e))?;
    Ok(Deleted { cluster: name.into(), existed, leftover_containers, removed_kind_network, context: format!("kind-{name}") })
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

/// Human summary of `delete-cluster`.
pub fn deleted_text(d: &Deleted) -> String {
    let mut out = match d.existed {
        true => format!("deleted kind cluster {} (containers, and kubeconfig context {})", d.cluster, d.context),
        false => format!("no kind cluster {} to delete", d.cluster),
    };
    if !d.leftover_containers.is_empty() {
        out.push_str(&format!("\nremoved leftover containers: {}", d.leftover_containers.join(", ")));
    }
    if d.removed_kind_network {
        out.push_str("\nremoved the Docker network kind (no cluster uses it any more)");
    }
    out
}
