//! Docker: the engine Kind runs on. Connect (honouring `DOCKER_HOST`), read what the engine
//! reports, judge it against a profile's budget (doctor's Docker checks), and find or remove
//! the containers of a Kind cluster by label.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};
use serde::Serialize;

/// Label kind puts on every node container of a cluster.
pub const KIND_CLUSTER_LABEL: &str = "io.x-k8s.kind.cluster";
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Why Docker could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// No engine answers.
    #[error("Docker is not reachable ({detail}): start Docker (Docker Desktop, or `sudo systemctl start docker`), or set DOCKER_HOST")]
    Unreachable {
        /// What the client saw.
        detail: String,
    },
    /// A call failed.
    #[error("Docker {action} failed: {detail}")]
    Call {
        /// What was attempted.
        action: String,
        /// The engine's answer.
        detail: String,
    },
}

/// What the engine reports about itself.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// Engine version.
    pub version: String,
    /// API version in use (negotiated).
    pub api_version: String,
    /// Memory available to containers, bytes.
    pub memory_bytes: u64,
    /// CPUs available to containers.
    pub cpus: u64,
    /// `1`, `2`, or empty when unknown.
    pub cgroup_version: String,
    /// Rootless engine.
    pub rootless: bool,
    /// Where images and containers live.
    pub root_dir: String,
}

/// Connect to the engine of `DOCKER_HOST` (or the platform default) and check it answers.
pub async fn connect() -> Result<Docker, DockerError> {
    let unreachable = |detail: String| DockerError::Unreachable { detail };
    let docker = Docker::connect_with_local_defaults().map_err(|e| unreachable(e.to_string()))?;
    let docker = match tokio::time::timeout(PING_TIMEOUT, docker.negotiate_version()).await {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => return Err(unreachable(crate::error::root_cause(&e))),
        Err(_) => return Err(unreachable(format!("no answer within {}s", PING_TIMEOUT.as_secs()))),
    };
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Ok(Ok(_)) => Ok(docker),
        Ok(Err(e)) => Err(unreachable(crate::error::root_cause(&e))),
        Err(_) => Err(unreachable(format!("no answer within {}s", PING_TIMEOUT.as_secs()))),
    }
}

/// Read the engine's facts.
pub async fn facts(docker: &Docker) -> Result<Facts, DockerError> {
    let call = |action: &str, e: bollard::errors::Error| DockerError::Call { action: action.into(), detail: e.to_string() };
    let info = docker.info().await.map_err(|e| call("info", e))?;
    let version = docker.version().await.map_err(|e| call("version", e))?;
    let rootless = info.security_options.iter().flatten().any(|o| o.contains("name=rootless"));
    Ok(Facts {
        version: version.version.unwrap_or_default(),
        api_version: docker.client_version().to_string(),
        memory_bytes: info.mem_total.unwrap_or(0).max(0) as u64,
        cpus: info.ncpu.unwrap_or(0).max(0) as u64,
        cgroup_version: info.cgroup_version.map(|v| v.to_string()).unwrap_or_default(),
        rootless,
        root_dir: info.docker_root_dir.unwrap_or_default(),
    })
}

/// Names of the containers (running or not) of Kind cluster `cluster`.
pub async fn cluster_containers(docker: &Docker, cluster: &str) -> Result<Vec<String>, DockerError> {
    let filters = HashMap::from([("label", vec![format!("{KIND_CLUSTER_LABEL}={cluster}")])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let list = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| DockerError::Call { action: "container list".into(), detail: e.to_string() })?;
    let mut names: Vec<String> =
        list.into_iter().filter_map(|c| c.names.and_then(|n| n.first().cloned())).map(|n| n.trim_start_matches('/').to_string()).collect();
    names.sort();
    Ok(names)
}

/// Remove every container of Kind cluster `cluster` (what `kind delete` may leave behind after
/// an interrupted create). Returns the names removed.
pub async fn remove_cluster_containers(docker: &Docker, cluster: &str) -> Result<Vec<String>, DockerError> {
    let names = cluster_containers(docker, cluster).await?;
    for name in &names {
        let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        docker
            .remove_container(name, Some(options))
            .await
            .map_err(|e| DockerError::Call { action: format!("remove of container {name}"), detail: e.to_string() })?;
    }
    Ok(names)
}

/// Name of the Docker network kind creates and all Kind clusters share.
pub const KIND_NETWORK: &str = "kind";

/// Remove the `kind` network when no container is attached any more (the last Kind cluster is
/// gone). Returns whether it was removed.
pub async fn remove_kind_network_if_unused(docker: &Docker) -> Result<bool, DockerError> {
    let call = |action: &str, e: bollard::errors::Error| DockerError::Call { action: action.into(), detail: e.to_string() };
    let network = match docker.inspect_network(KIND_NETWORK, None).await {
        Ok(n) => n,
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => return Ok(false),
        Err(e) => return Err(call("network inspect", e)),
    };
    if network.containers.is_some_and(|c| !c.is_empty()) {
        return Ok(false);
    }
    docker.remove_network(KIND_NETWORK).await.map_err(|e| call("network remove", e))?;
    Ok(true)
}
