//! Providers: where clusters come from, behind one [`Provider`] shape. `kind` renders a Kind configuration from `bootstrap/kind/`
//! and drives the `kind` binary; `capi` renders a ClusterAPI workload cluster from
//! `cluster-templates/` and drives `clusterctl`; `capi_cluster` watches and tears down the
//! ClusterAPI objects in the management cluster. The data files under `bootstrap/` are embedded
//! in the binary.

pub mod capi;
pub mod capi_cluster;
pub mod capi_workload;
pub mod clusterctl;
pub mod existing;
pub mod kind;
pub mod kind_binary;
pub mod kind_cluster;
pub mod kubeconfig;
pub mod tool;

use std::future::Future;

use crate::cluster::Target;
use crate::error::Error;
use crate::pipeline::Globals;

/// A cluster a provider made (or found): how to reach it.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The kubeconfig file and context that reach it.
    pub target: Target,
    /// Whether it existed already.
    pub reused: bool,
    /// Its name (Kind or ClusterAPI cluster name, or the context used).
    pub name: String,
}

/// Where a cluster comes from: the one shape `create-cluster`, `up` and `delete-cluster` use,
/// implemented by [`kind_cluster::KindCluster`], [`existing::Existing`] and
/// [`capi_workload::CapiWorkload`] (whose Kind management cluster is a `KindCluster`).
pub trait Provider {
    /// What deleting reports.
    type Deleted: serde::Serialize;

    /// Create the cluster, or reuse the one already there.
    fn create(&self, g: &Globals) -> impl Future<Output = Result<Provisioned, Error>>;

    /// Delete it, idempotently, saying what was removed.
    fn delete(&self, g: &Globals) -> impl Future<Output = Result<Self::Deleted, Error>>;

    /// The kubeconfig file and context that reach it.
    fn kubeconfig(&self, g: &Globals) -> Target;
}

/// The bootstrap files compiled into the binary.
#[derive(rust_embed::Embed)]
#[folder = "bootstrap/"]
pub(crate) struct Bootstrap;

/// The text of an embedded bootstrap file.
///
/// # Panics
/// If the file is missing: the set is fixed at build time and covered by tests.
pub(crate) fn bootstrap_file(path: &str) -> String {
    let file = Bootstrap::get(path).unwrap_or_else(|| panic!("bootstrap/{path} is embedded"));
    String::from_utf8(file.data.into_owned()).expect("bootstrap files are UTF-8")
}
