//! The `nifi-cluster` checkpoint: through a port-forward to NiFi's HTTPS API, a bearer token
//! for the generated single user, NiFi's version equal to the addon's pin, and its node
//! connected to the cluster it coordinates through ZooKeeper. A node that has just started
//! refuses logins and answers 409 while its cluster votes on the flow: both are retried until
//! the deadline. With the lake flow set, the flow's part follows (`lake_flow`).

use std::time::{Duration, Instant};

use serde_json::json;

use super::{CheckpointError, Context, Evidence};
use crate::catalog::actions::NifiCheck;
use crate::nifi::{ClusterSummary, Nifi, NifiError};

pub(super) async fn run(ctx: &Context<'_>, s: &NifiCheck) -> Result<Evidence, CheckpointError> {
    let ns = &ctx.addon.namespace;
    let user = crate::secrets::read_value(ctx.client, ns, &s.user.secret, &s.user.key).await.map_err(CheckpointError::Failed)?;
    let password =
        crate::secrets::read_value(ctx.client, ns, &s.password.secret, &s.password.key).await.map_err(CheckpointError::Failed)?;
    let server = crate::forward::forward(ctx.client, ns, &s.service, s.port, 0).await?;
    let url = format!("https://{}", server.local);
    let (mut evidence, nifi) = check(&url, (&user, &password), &ctx.addon.version, Duration::from_secs(s.timeout_seconds)).await?;
    evidence.insert("pod".into(), json!(server.pod));
    if let Some(flow) = &s.flow {
        evidence.extend(super::lake_flow::run(ctx, &nifi, flow).await?);
    }
    Ok(evidence)
}

/// Log in, compare the version with `pinned`, wait for the node to be connected; the evidence
/// and the logged-in client.
async fn check(url: &str, (user, password): (&str, &str), pinned: &str, deadline: Duration) -> Result<(Evidence, Nifi), CheckpointError> {
    let started = Instant::now();
    let mut nifi = Nifi::new(url, Duration::from_secs(30)).map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let (cluster, version) = loop {
        match connected(&mut nifi, user, password).await {
            Ok(done) => break done,
            Err(e) if started.elapsed() < deadline && retryable(&e) => tokio::time::sleep(Duration::from_secs(5)).await,
            Err(NifiError::Login { status, message, .. }) if status != 409 => {
                return Err(CheckpointError::AccessDenied { secret: "nifi-login".into(), detail: format!("HTTP {status}: {message}") });
            }
            Err(e) => return Err(CheckpointError::Failed(format!("NiFi's node did not join its cluster within {deadline:?}: {e}"))),
        }
    };
    if version != pinned {
        return Err(CheckpointError::Failed(format!("NiFi reports version {version}; the addon pins {pinned}")));
    }
    let evidence = Evidence::from([
        ("version".to_string(), json!(version)),
        ("clustered".to_string(), json!(cluster.clustered)),
        ("connectedNodes".to_string(), json!(format!("{} / {}", cluster.connected_nodes, cluster.total_nodes))),
        ("seconds".to_string(), json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0)),
    ]);
    Ok((evidence, nifi))
}

/// One attempt: a token, the cluster (clustered and this node connected), the version.
async fn connected(nifi: &mut Nifi, user: &str, password: &str) -> Result<(ClusterSummary, String), NifiError> {
    nifi.login(user, password).await?;
    let cluster = nifi.cluster_summary().await?;
    if !(cluster.clustered && cluster.connected) {
        return Err(NifiError::Protocol {
            url: "/flow/cluster/summary".into(),
            status: 200,
            detail: format!(
                "clustered={}, connected={} ({} of {} nodes)",
                cluster.clustered, cluster.connected, cluster.connected_nodes, cluster.total_nodes
            ),
        });
    }
    Ok((cluster, nifi.version().await?))
}

/// A node still starting: not reachable yet, 409 (cluster forming), 503, or not yet connected.
/// A refused password (400, 401, 403) is final.
fn retryable(e: &NifiError) -> bool {
    match e {
        NifiError::Unreachable { .. } => true,
        NifiError::Login { status, .. } => *status == 409,
        NifiError::Protocol { status, .. } => matches!(status, 200 | 409 | 500..=599),
    }
}
