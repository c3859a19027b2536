//! Providers: where clusters come from. `kind` renders a Kind configuration from `bootstrap/kind/`
//! and drives the `kind` binary; `capi` renders a ClusterAPI workload cluster from
//! `cluster-templates/` and drives `clusterctl`; `capi_cluster` watches and tears down the
//! ClusterAPI objects in the management cluster. The data files under `bootstrap/` are embedded
//! in the binary.

pub mod capi;
pub mod capi_cluster;
pub mod clusterctl;
pub mod kind;
pub mod kind_binary;
pub mod kubeconfig;
pub mod tool;

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
