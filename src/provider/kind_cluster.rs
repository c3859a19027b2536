//! The Kind provider's lifecycle: check Docker against the profile's budget, get the pinned
//! `kind`, create the cluster (or reuse the one of that name), delete it with whatever an
//! interrupted create left behind.

use serde::Serialize;

use super::kind::{self, KindSpec, MIRRORED_REGISTRIES, NodeImages, render_config};
use super::kind_binary::{self, Kind};
use super::{Provider, Provisioned};
use crate::cluster::Target;
use crate::error::Error;
use crate::fetch::Fetcher;
use crate::pipeline::Globals;
use crate::preflight::{Host, Needs, Verdict, docker_checks};
use crate::profile::Profile;

/// Whether failed preflight checks stop the create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preflight {
    /// Stop on a failed check (the default).
    #[default]
    Enforce,
    /// Go on anyway (`--force`).
    Ignore,
}

/// A Kind cluster on this machine's Docker.
#[derive(Debug, Clone, Default)]
pub struct KindCluster {
    /// The cluster wanted.
    pub spec: KindSpec,
    /// Preflight policy.
    pub preflight: Preflight,
    /// The profile whose budget Docker must hold.
    pub profile: Profile,
}

/// What deleting a Kind cluster removed.
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

impl KindCluster {
    /// The cluster named `name`, for deleting it.
    pub fn named(name: &str) -> KindCluster {
        KindCluster { spec: KindSpec { name: name.into(), ..KindSpec::default() }, ..KindCluster::default() }
    }

    fn context(&self) -> String {
        format!("kind-{}", self.spec.name)
    }
}

impl Provider for KindCluster {
    type Deleted = Deleted;

    /// Validate, check Docker, get kind, and create the cluster unless one of that name exists.
    async fn create(&self, g: &Globals) -> Result<Provisioned, Error> {
        let spec = &self.spec;
        let images = NodeImages::embedded();
        let certs_dir = spec.mirror.as_ref().map(|_| Fetcher::cache_root().join("kind").join(&spec.name).join("certs.d"));
        let config = render_config(spec, &images, certs_dir.as_deref()).map_err(|e| {
            Error::usage("invalid cluster settings")
                .with_source(e)
                .with_hint("`bigtop-k8s create-cluster --help` lists the flags and their values; the reason is above")
        })?;
        preflight(g, self).await?;
        let kind = locate_kind(g).await?;
        let provisioned = |reused| Provisioned { target: self.kubeconfig(g), reused, name: spec.name.clone() };
        if kind.clusters().await.map_err(kind_error)?.contains(&spec.name) {
            g.progress.note(&format!(
                "kind cluster {} exists: reusing it (delete it first with `bigtop-k8s delete-cluster --name {}` to start over)",
                spec.name, spec.name
            ));
            return Ok(provisioned(true));
        }
        if let (Some(dir), Some(mirror)) = (&certs_dir, &spec.mirror) {
            write_mirror_hosts(dir, mirror)?;
        }
        let step = g.progress.start(format!("create kind cluster {}", spec.name));
        kind.run(&["create", "cluster", "--name", &spec.name, "--config", "-", "--wait", "0s"], Some(&config)).await.map_err(kind_error)?;
        step.done(format!("context {}", self.context()));
        Ok(provisioned(false))
    }

    /// Idempotent; says what it removed.
    async fn delete(&self, g: &Globals) -> Result<Deleted, Error> {
        let name = &self.spec.name;
        kind::validate_name(name).map_err(|e| Error::usage("invalid cluster name").with_source(e))?;
        let existed = self.exists(g).await?;
        if existed {
            let step = g.progress.start(format!("delete kind cluster {name}"));
            locate_kind(g).await?.run(&["delete", "cluster", "--name", name], None).await.map_err(kind_error)?;
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
        Ok(Deleted { cluster: name.clone(), existed, leftover_containers, removed_kind_network, context: self.context() })
    }

    fn kubeconfig(&self, g: &Globals) -> Target {
        Target { kubeconfig: g.target.kubeconfig.clone(), context: Some(self.context()) }
    }
}

impl KindCluster {
    /// Whether kind knows the cluster.
    pub async fn exists(&self, g: &Globals) -> Result<bool, Error> {
        Ok(locate_kind(g).await?.clusters().await.map_err(kind_error)?.contains(&self.spec.name))
    }
}

async fn preflight(g: &Globals, cluster: &KindCluster) -> Result<(), Error> {
    let docker = crate::docker::connect().await.map_err(|e| {
        Error::prerequisite("Docker is needed to create a Kind cluster").with_source(e).with_hint("start Docker, then `bigtop-k8s doctor`")
    })?;
    let facts = crate::docker::facts(&docker).await.map_err(|e| Error::prerequisite("cannot read Docker's facts").with_source(e))?;
    let catalog = g.catalog()?;
    let needs = Needs::from_budget(catalog.budgets.get(cluster.profile.name()));
    let failed: Vec<String> = docker_checks(&facts, needs, Host::read(&facts.root_dir))
        .into_iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| format!("{}: {} ({})", c.name, c.detail, c.fix))
        .collect();
    if failed.is_empty() || cluster.preflight == Preflight::Ignore {
        return Ok(());
    }
    Err(Error::prerequisite(format!("preflight failed: {}", failed.join("; ")))
        .with_hint("fix the above (`bigtop-k8s doctor` lists every check), or pass --force"))
}

async fn locate_kind(g: &Globals) -> Result<Kind, Error> {
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

fn kind_error(e: kind_binary::KindError) -> Error {
    Error::failure("kind failed").with_source(e).with_hint("the output above is kind's; `bigtop-k8s doctor` checks Docker and the machine")
}

/// Human summary of deleting a Kind cluster.
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
