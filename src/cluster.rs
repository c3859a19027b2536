//! Access to the Kubernetes API: build a client from `--kubeconfig`/`--context` and prove the
//! server answers before any command relies on it.

use std::path::PathBuf;
use std::time::Duration;

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::{Error, root_cause};

/// Which cluster to talk to.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Explicit kubeconfig file; otherwise `KUBECONFIG` or `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// Context name; otherwise the kubeconfig's current context.
    pub context: Option<String>,
}

/// A connected client plus what we learned while connecting.
#[derive(Clone)]
pub struct Cluster {
    /// The client.
    pub client: Client,
    /// Server version, e.g. `v1.35.4`.
    pub version: String,
    /// The server URL.
    pub server: String,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// Connect and ask the server for its version.
///
/// # Errors
/// Prerequisite errors: no kubeconfig, an unknown context, or a server that does not answer.
pub async fn connect(target: &Target) -> Result<Cluster, Error> {
    connect_within(target, PROBE_TIMEOUT).await
}

/// [`connect`], answering within `budget` (`--timeout`) when that is shorter than the usual
/// bound.
pub async fn connect_within(target: &Target, budget: Duration) -> Result<Cluster, Error> {
    let probe_timeout = budget.min(PROBE_TIMEOUT);
    crate::install_crypto_provider();
    let kubeconfig = read_kubeconfig(target)?;
    let options = KubeConfigOptions { context: target.context.clone(), ..Default::default() };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(|e| {
        Error::prerequisite("cannot use the kubeconfig")
            .with_source(e)
            .with_hint("list contexts with `kubectl config get-contexts` and pass one with --context")
    })?;
    // A shorter --timeout is enforced around the whole probe below, with its own message.
    config.connect_timeout = (probe_timeout > CONNECT_TIMEOUT).then_some(CONNECT_TIMEOUT);
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| Error::prerequisite("cannot build a Kubernetes client").with_source(e))?;
    let unreachable = |detail: String| {
        Error::prerequisite(format!("cannot reach the Kubernetes API at {server}: {detail}"))
            .with_hint("check that the cluster is running and --kubeconfig/--context point at it; `bigtop-k8s doctor` checks access")
    };
    let info = match tokio::time::timeout(probe_timeout, client.apiserver_version()).await {
        Err(_) => return Err(unreachable(format!("no answer within {}s", probe_timeout.as_secs_f32()))),
        Ok(Err(e)) => return Err(unreachable(root_cause(&e))),
        Ok(Ok(info)) => info,
    };
    Ok(Cluster { client, version: info.git_version, server })
}

fn read_kubeconfig(target: &Target) -> Result<Kubeconfig, Error> {
    let missing = |what: String| {
        Error::prerequisite(format!("no kubeconfig: {what}"))
            .with_hint("pass --kubeconfig <file>, set KUBECONFIG, or create a cluster first")
    };
    match &target.kubeconfig {
        // A list, as KUBECONFIG holds it for kubectl (`a:b`): merged, the first file to set a
        // value wins; files that do not exist are skipped.
        Some(list) if !list.exists() && std::env::split_paths(list).count() > 1 => {
            let files: Vec<PathBuf> = std::env::split_paths(list).filter(|p| p.is_file()).collect();
            if files.is_empty() {
                return Err(missing(format!("none of the files in {} exists", list.display())));
            }
            files.iter().try_fold(Kubeconfig::default(), |merged, path| {
                Kubeconfig::read_from(path)
                    .and_then(|c| merged.merge(c))
                    .map_err(|e| Error::prerequisite(format!("cannot read kubeconfig {}", path.display())).with_source(e))
            })
        }
        Some(path) if !path.exists() => Err(missing(format!("{} does not exist", path.display()))),
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| Error::prerequisite(format!("cannot read kubeconfig {}", path.display())).with_source(e)),
        None => Kubeconfig::read().map_err(|e| missing(root_cause(&e))),
    }
}
