//! `endpoints`: how to reach each installed service — through a port-forward, which works on
//! Docker Desktop where NodePorts do not.

use serde::Serialize;

use super::{Globals, state_error};
use crate::cluster::connect_within;
use crate::error::Error;
use crate::forward::{ForwardError, forward};
use crate::output::table;
use crate::state;

/// One reachable service.
#[derive(Debug, Serialize)]
pub struct EndpointInfo {
    /// Phase.
    pub phase: String,
    /// Addon.
    pub addon: String,
    /// Endpoint name.
    pub name: String,
    /// What it is.
    pub help: String,
    /// In-cluster URL.
    pub in_cluster: String,
    /// Command that makes it reachable from this machine.
    pub forward: String,
    /// URL once forwarded.
    pub local: String,
    /// What follows host and port in the URL (path, login token).
    #[serde(skip)]
    pub tail: String,
}

/// Endpoints of every installed phase.
pub async fn run(g: &Globals) -> Result<Vec<EndpointInfo>, Error> {
    let catalog = g.catalog()?;
    let cluster = connect_within(&g.target, g.timeout).await?;
    let state = state::load(&cluster.client).await.map_err(state_error)?;
    let mut out = Vec::new();
    for (phase, record) in &state {
        for name in record.addons.keys() {
            let Some(addon) = catalog.addons.get(name) else { continue };
            for e in &addon.endpoints {
                let tail = tail(&cluster.client, &addon.namespace, e).await?;
                out.push(EndpointInfo {
                    phase: phase.clone(),
                    addon: name.clone(),
                    name: e.name.clone(),
                    help: e.help.clone(),
                    in_cluster: format!("{}://{}.{}.svc:{}", e.scheme, e.service, addon.namespace, e.port),
                    forward: format!("kubectl -n {} port-forward svc/{} {}:{}", addon.namespace, e.service, e.port, e.port),
                    local: format!("{}://127.0.0.1:{}{tail}", e.scheme, e.port),
                    tail,
                });
            }
        }
    }
    Ok(out)
}

/// Path and query of an endpoint's URL: its path and, when it has one, the login token.
async fn tail(client: &kube::Client, namespace: &str, e: &crate::catalog::Endpoint) -> Result<String, Error> {
    let Some(token) = &e.token else { return Ok(e.path.clone()) };
    let value = crate::secrets::read_value(client, namespace, &token.secret, &token.key).await.map_err(|why| {
        Error::failure(format!("cannot read the login token of endpoint {}: {why}", e.name))
            .with_hint("`bigtop-k8s status` shows whether its phase is complete; `bigtop-k8s add-phase <phase>` repairs it")
    })?;
    Ok(format!("{}?token={value}", e.path))
}

/// Open a port-forward for every endpoint (its own port on 127.0.0.1 when free, any free port
/// otherwise), print where each is, and hold them until Ctrl-C. For Docker Desktop and any
/// cluster whose Service addresses this machine cannot route.
pub async fn forward_until_interrupted(g: &Globals, endpoints: &[EndpointInfo]) -> Result<(), Error> {
    if endpoints.is_empty() {
        return Err(Error::prerequisite("no endpoints to forward: no installed phase exposes a service")
            .with_hint("`bigtop-k8s phases` lists the phases; install one with `bigtop-k8s add-phase <phase>`"));
    }
    let catalog = g.catalog()?;
    let cluster = connect_within(&g.target, g.timeout).await?;
    let mut open = Vec::new();
    for e in endpoints {
        let addon = &catalog.addons[&e.addon];
        let def = addon.endpoints.iter().find(|d| d.name == e.name).expect("listed from the catalog");
        let fwd = match forward(&cluster.client, &addon.namespace, &def.service, def.port, def.port).await {
            Ok(f) => Ok(f),
            Err(ForwardError::Listen { .. }) => forward(&cluster.client, &addon.namespace, &def.service, def.port, 0).await,
            Err(other) => Err(other),
        }
        .map_err(|err| Error::failure(format!("cannot forward {}/{}", e.addon, e.name)).with_source(err))?;
        println!("{:<20} {}://{}{}  ({})", format!("{}/{}", e.addon, e.name), def.scheme, fwd.local, e.tail, e.help);
        open.push(fwd);
    }
    g.progress.note("port-forwards are open; press Ctrl-C to close them");
    tokio::signal::ctrl_c().await.map_err(|e| Error::failure("cannot wait for Ctrl-C").with_source(e))?;
    drop(open);
    Ok(())
}

/// Endpoints as a table.
pub fn text(endpoints: &Vec<EndpointInfo>) -> String {
    if endpoints.is_empty() {
        return "no endpoints: no installed phase exposes a service".into();
    }
    let rows: Vec<Vec<String>> = endpoints
        .iter()
        .map(|e| vec![e.phase.clone(), format!("{}/{}", e.addon, e.name), e.local.clone(), e.forward.clone(), e.help.clone()])
        .collect();
    table(&["PHASE", "ENDPOINT", "LOCAL URL", "REACH IT WITH", "WHAT"], &rows)
}
