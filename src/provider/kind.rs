//! The Kind provider's configuration: which node image for which Kubernetes version, the pod
//! subnet Canal expects, and the rendered Kind config (`bootstrap/kind/cluster.yaml`). Pure.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, UndefinedBehavior, context};
use serde::{Deserialize, Serialize};

use super::bootstrap_file;

/// `bootstrap/kind/node-images.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NodeImages {
    /// The kind release these images were built for (and the one we download).
    pub kind_version: String,
    /// Kubernetes version used when none is asked for.
    pub default_kubernetes: String,
    /// Pod subnet: Canal's flannel network.
    pub pod_subnet: String,
    /// Kubernetes version → `kindest/node:<v>@sha256:<digest>`.
    pub images: BTreeMap<String, String>,
}

impl NodeImages {
    /// The embedded table.
    pub fn embedded() -> NodeImages {
        serde_saphyr::from_str(&bootstrap_file("kind/node-images.yaml")).expect("bootstrap/kind/node-images.yaml is valid (tested)")
    }
}

/// A host port published on 127.0.0.1 and the node port it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    /// Port on the host (127.0.0.1).
    pub host: u16,
    /// Port on the control-plane node container.
    pub container: u16,
}

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct KindSpec {
    /// Cluster name.
    pub name: String,
    /// Worker nodes besides the control plane.
    pub workers: u32,
    /// Kubernetes version (`v1.35.5`); the table's default when absent.
    pub kubernetes: Option<String>,
    /// Host ports to publish.
    pub ports: Vec<PortMapping>,
    /// Registry mirror (pull-through cache) URL, e.g. `http://127.0.0.1:5001`.
    pub mirror: Option<String>,
    /// What the cluster is for.
    pub role: KindRole,
    /// Workers (the last ones) labelled and tainted for Spark alone.
    pub spark_nodes: u32,
}

/// What a Kind cluster is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KindRole {
    /// Runs the phases: no default CNI (Canal comes with the base phase).
    #[default]
    Workload,
    /// A ClusterAPI management cluster: kind's own CNI, and the host's Docker socket for the
    /// Docker infrastructure provider.
    Management,
}

/// Registries whose pulls go through the mirror when one is set.
pub const MIRRORED_REGISTRIES: [(&str, &str); 2] = [("docker.io", "https://registry-1.docker.io"), ("quay.io", "https://quay.io")];
/// The most workers we create on one machine.
pub const MAX_WORKERS: u32 = 10;

/// Why a Kind configuration cannot be made.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum KindConfigError {
    /// No pinned node image for that version.
    #[error("no kind node image for Kubernetes {version}; supported: {supported}")]
    UnknownVersion {
        /// The version asked for.
        version: String,
        /// Supported versions.
        supported: String,
    },
    /// Kind would reject the name.
    #[error("invalid cluster name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Too many workers for one machine.
    #[error("{0} workers requested; at most {MAX_WORKERS} fit on one machine (use --provider capi to grow beyond)")]
    TooManyWorkers(u32),
    /// More Spark nodes than workers.
    #[error("{spark} Spark nodes requested but only {workers} workers: Spark nodes are workers (add --workers {spark})")]
    SparkNodes {
        /// Spark nodes asked for.
        spark: u32,
        /// Workers.
        workers: u32,
    },
    /// The mirror is not an http(s) URL.
    #[error("registry mirror {0:?} is not an http:// or https:// URL")]
    InvalidMirror(String),
}

/// Check a cluster name the way kind does (lowercase DNS-like, it prefixes container names).
pub fn validate_name(name: &str) -> Result<(), KindConfigError> {
    let bad = |reason: &str| Err(KindConfigError::InvalidName { name: name.into(), reason: reason.into() });
    if name.is_empty() || name.len() > 50 {
        return bad("must be 1 to 50 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.') {
        return bad("only lowercase letters, digits, '-' and '.' are allowed");
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return bad("must start with a letter or digit");
    }
    Ok(())
}

/// The node image for the requested (or default) Kubernetes version.
pub fn node_image<'a>(images: &'a NodeImages, kubernetes: Option<&str>) -> Result<&'a str, KindConfigError> {
    let version = kubernetes.unwrap_or(&images.default_kubernetes);
    images.images.get(version).map(String::as_str).ok_or_else(|| KindConfigError::UnknownVersion {
        version: version.into(),
        supported: images.images.keys().cloned().collect::<Vec<_>>().join(", "),
    })
}

/// Validate the spec and render the Kind configuration. `certs_dir` is where the CLI wrote the
/// mirror's hosts.toml files (only with a mirror).
pub fn render_config(spec: &KindSpec, images: &NodeImages, certs_dir: Option<&Path>) -> Result<String, KindConfigError> {
    validate_name(&spec.name)?;
    if spec.workers > MAX_WORKERS {
        return Err(KindConfigError::TooManyWorkers(spec.workers));
    }
    if spec.spark_nodes > spec.workers {
        return Err(KindConfigError::SparkNodes { spark: spec.spark_nodes, workers: spec.workers });
    }
    if let Some(m) = &spec.mirror
        && !(m.starts_with("http://") || m.starts_with("https://"))
    {
        return Err(KindConfigError::InvalidMirror(m.clone()));
    }
    let image = node_image(images, spec.kubernetes.as_deref())?;
    let certs_dir = spec.mirror.as_ref().and(certs_dir).map(|p| p.display().to_string());
    let ctx = context! {
        name => &spec.name,
        workers => spec.workers,
        image => image,
        pod_subnet => &images.pod_subnet,
        ports => minijinja::Value::from(minijinja::value::Serde(&spec.ports)),
        certs_dir => certs_dir,
        management => spec.role == KindRole::Management,
        first_spark_worker => spec.workers - spec.spark_nodes,
    };
    Ok(environment().render_str(&bootstrap_file("kind/cluster.yaml"), ctx).expect("the embedded kind template renders (tested)"))
}

/// The containerd `hosts.toml` sending pulls for `upstream` to `mirror` first.
pub fn hosts_toml(upstream: &str, mirror: &str) -> String {
    let ctx = context! { upstream => upstream, mirror => mirror };
    environment().render_str(&bootstrap_file("kind/hosts.toml"), ctx).expect("the embedded hosts template renders (tested)")
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_versions_and_limits() {
        assert!(validate_name("bigtop").is_ok());
        assert!(validate_name("Bigtop").is_err());
        assert!(validate_name("-x").is_err());
        assert!(validate_name("a_b").is_err());
        let images = NodeImages::embedded();
        assert!(node_image(&images, None).unwrap().contains(&images.default_kubernetes));
        let err = node_image(&images, Some("v1.20.0")).unwrap_err().to_string();
        assert!(err.contains("supported: v1.33.12, v1.34.8"), "{err}");
        let spec = KindSpec { name: "x".into(), workers: 11, ..Default::default() };
        assert_eq!(render_config(&spec, &images, None), Err(KindConfigError::TooManyWorkers(11)));
        let spec = KindSpec { name: "x".into(), workers: 1, spark_nodes: 2, ..Default::default() };
        assert_eq!(render_config(&spec, &images, None), Err(KindConfigError::SparkNodes { spark: 2, workers: 1 }));
        let spec = KindSpec { name: "x".into(), mirror: Some("ftp://m".into()), ..Default::default() };
        assert!(matches!(render_config(&spec, &images, None), Err(KindConfigError::InvalidMirror(_))));
    }
}
