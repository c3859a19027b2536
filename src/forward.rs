//! Port-forwarding from a local loopback port to a ready pod behind a Service, through the
//! Kubernetes API (no NodePorts, so it works on Docker Desktop). Each accepted local
//! connection gets its own forwarded stream.

use std::net::SocketAddr;

use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Client;
use kube::api::{Api, ListParams};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Why a forward could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The Service does not exist or could not be read.
    #[error("cannot read service {namespace}/{service}")]
    Service {
        /// Namespace.
        namespace: String,
        /// Service name.
        service: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// The Service has no such port.
    #[error("service {namespace}/{service} has no port {port}")]
    NoPort {
        /// Namespace.
        namespace: String,
        /// Service name.
        service: String,
        /// The port asked for.
        port: u16,
    },
    /// No pod behind the Service is ready.
    #[error("no ready pod behind service {namespace}/{service} ({selector})")]
    NoReadyPod {
        /// Namespace.
        namespace: String,
        /// Service name.
        service: String,
        /// Its selector.
        selector: String,
    },
    /// The API server could not open a port-forward to the pod.
    #[error("cannot port-forward to pod {namespace}/{pod}:{port}")]
    PortForward {
        /// Namespace.
        namespace: String,
        /// Pod name.
        pod: String,
        /// Container port.
        port: u16,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// The local listener could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}")]
    Listen {
        /// The port asked for (0 = any).
        port: u16,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// An open forward: connect to `local` to reach `pod:pod_port`.
pub struct Forward {
    /// The local address.
    pub local: SocketAddr,
    /// The pod that receives the traffic.
    pub pod: String,
    /// The container port on that pod.
    pub pod_port: u16,
    task: JoinHandle<()>,
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Forward `127.0.0.1:local_port` (0 = any free port) to `service:port` in `namespace`.
pub async fn forward(client: &Client, namespace: &str, service: &str, port: u16, local_port: u16) -> Result<Forward, ForwardError> {
    let (pod, pod_port) = ready_pod(client, namespace, service, port).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    // Open one forward up front so a broken path fails here, with the API server's reason,
    // instead of as a reset connection later.
    let probe = pods.portforward(&pod, &[pod_port]).await.map_err(|source| ForwardError::PortForward {
        namespace: namespace.into(),
        pod: pod.clone(),
        port: pod_port,
        source,
    })?;
    drop(probe);
    let listener =
        TcpListener::bind(("127.0.0.1", local_port)).await.map_err(|source| ForwardError::Listen { port: local_port, source })?;
    let local = listener.local_addr().map_err(|source| ForwardError::Listen { port: local_port, source })?;
    let target = pod.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let pods = pods.clone();
            let target = target.clone();
            tokio::spawn(async move {
                match pods.portforward(&target, &[pod_port]).await {
                    Ok(mut pf) => {
                        if let Some(mut upstream) = pf.take_stream(pod_port) {
                            let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
                            drop(upstream);
                        }
                        let _ = pf.join().await;
                    }
                    Err(e) => tracing::warn!(pod = %target, error = %e, "port-forward failed"),
                }
            });
        }
    });
    Ok(Forward { local, pod, pod_port, task })
}

/// A Ready pod selected by the Service, and the container port its `port` maps to.
async fn ready_pod(client: &Client, namespace: &str, service: &str, port: u16) -> Result<(String, u16), ForwardError> {
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let svc = services.get(service).await.map_err(|source| ForwardError::Service {
        namespace: namespace.into(),
        service: service.into(),
        source,
    })?;
    let spec = svc.spec.unwrap_or_default();
    let no_port = || ForwardError::NoPort { namespace: namespace.into(), service: service.into(), port };
    let svc_port = spec.ports.unwrap_or_default().into_iter().find(|p| p.port == i32::from(port)).ok_or_else(no_port)?;
    let selector: String = spec.selector.unwrap_or_default().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
    let no_pod = || ForwardError::NoReadyPod { namespace: namespace.into(), service: service.into(), selector: selector.clone() };
    if selector.is_empty() {
        return Err(no_pod());
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods.list(&ListParams::default().labels(&selector)).await.map_err(|source| ForwardError::Service {
        namespace: namespace.into(),
        service: service.into(),
        source,
    })?;
    let pod = list.items.into_iter().find(is_ready).ok_or_else(no_pod)?;
    let target = match svc_port.target_port {
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n)) => n as u16,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(name)) => named_port(&pod, &name).ok_or_else(no_port)?,
        None => port,
    };
    Ok((pod.metadata.name.unwrap_or_default(), target))
}

fn is_ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    pod.metadata.deletion_timestamp.is_none() && conditions.is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn named_port(pod: &Pod, name: &str) -> Option<u16> {
    let containers = &pod.spec.as_ref()?.containers;
    containers.iter().flat_map(|c| c.ports.iter().flatten()).find(|p| p.name.as_deref() == Some(name)).map(|p| p.container_port as u16)
}
