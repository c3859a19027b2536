//! The render step: fetch an addon's sources, read or generate its credentials, copy the
//! Secrets it imports, and render its templates into objects.

use std::collections::{BTreeMap, BTreeSet};

use kube::Client;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::contracts::Contracts;
use crate::error::Error;
use crate::fetch::Fetcher;
use crate::params::Resolved;
use crate::plan::PlannedPhase;
use crate::profile::Profile;
use crate::render::{RenderInput, render_addon};

/// A phase rendered into objects.
pub struct RenderedPhase {
    /// The plan entry.
    pub planned: PlannedPhase,
    /// Labelled objects in apply order of the templates.
    pub objects: Vec<Value>,
    /// Fingerprints of the generated Secrets rendered (`crate::credentials`).
    pub credentials: BTreeMap<String, String>,
}

/// What rendering reads besides the plan entry.
pub struct RenderScope<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// Every parameter, resolved.
    pub resolved: &'a Resolved,
    /// Sizing profile.
    pub profile: Profile,
    /// What other phases provide.
    pub contracts: &'a Contracts,
    /// Upstream artifacts.
    pub fetcher: &'a Fetcher,
    /// The cluster, for existing credentials and imported Secrets (none: fresh values, no copies).
    pub client: Option<&'a Client>,
    /// Generated Secrets (`namespace/name`) to fill with new values although they exist.
    pub fresh: &'a BTreeSet<String>,
}

/// Fetch sources, read or generate credentials, and render every addon of a planned phase.
/// `awaited`: namespaces that phases earlier in a dry run would create, whose Secrets are not
/// there yet (their copies are rendered empty instead of refused).
pub async fn render_phase(scope: &RenderScope<'_>, planned: &PlannedPhase, awaited: &BTreeSet<String>) -> Result<RenderedPhase, Error> {
    let RenderScope { catalog, resolved, profile, contracts, fetcher, client, fresh } = *scope;
    let mut objects = Vec::new();
    let mut credentials = BTreeMap::new();
    for name in &planned.addons {
        let addon = &catalog.addons[name];
        let mut fetched = crate::render::Fetched::new();
        for source in &addon.sources {
            let bytes = fetcher.fetch(source).await.map_err(|e| {
                Error::prerequisite(format!("cannot fetch {} for addon {name}", source.name)).with_source(e).with_hint(format!(
                    "for offline use put the file under a mirror directory and pass --mirror (or {})",
                    crate::fetch::MIRROR_ENV
                ))
            })?;
            fetched.insert(source.name.clone(), bytes);
        }
        let generated = crate::secrets::generated_for(client, addon, fresh)
            .await
            .map_err(|e| Error::failure(format!("cannot read the generated credentials of {name}")).with_source(e))?;
        credentials.extend(crate::credentials::fingerprints(&generated));
        let input = RenderInput::new(catalog, name, resolved, profile)
            .with_generated(generated)
            .with_fetched(fetched)
            .with_contracts(contracts.clone());
        let rendered = render_addon(&input).map_err(|e| Error::failure(format!("cannot render addon {name}")).with_source(e))?;
        objects.extend(rendered);
        if let Some(c) = client {
            // Two addons of a phase may import the same Secret: the first one's copy serves both.
            for copy in imported_secrets(c, addon, &planned.phase, awaited).await? {
                if !objects.iter().any(|o| crate::render::describe(o) == crate::render::describe(&copy)) {
                    objects.push(copy);
                }
            }
        }
    }
    Ok(RenderedPhase { planned: planned.clone(), objects, credentials })
}

/// Copies of the Secrets an addon imports, read from the cluster (without a cluster, as for an
/// offline `render`, there is nothing to copy).
async fn imported_secrets(
    client: &Client,
    addon: &crate::catalog::Addon,
    phase: &str,
    awaited: &BTreeSet<String>,
) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for import in &addon.imports {
        let data = crate::secrets::read_all(client, &import.namespace, &import.secret)
            .await
            .map_err(|e| Error::failure(format!("cannot read Secret {}/{}", import.namespace, import.secret)).with_source(e))?;
        if data.is_empty() && !awaited.contains(&import.namespace) {
            return Err(Error::prerequisite(format!(
                "phase {phase} needs Secret {}/{}, which does not exist",
                import.namespace, import.secret
            ))
            .with_hint(format!(
                "install the phase that owns namespace {} (`bigtop-k8s add-phase {phase} --with-deps`)",
                import.namespace
            )));
        }
        out.push(crate::render::secret_object(addon, &import.secret, &data));
    }
    Ok(out)
}

/// Render one planned phase for the run. Until the phase is applied, its namespaces are
/// "awaited": a later phase's copies of their Secrets render empty instead of being refused
/// (what a dry run shows).
pub(super) async fn step(ctx: &super::Context<'_>, run: &mut super::Run, planned: &PlannedPhase) -> Result<(), Error> {
    let scope = RenderScope {
        catalog: &ctx.catalog,
        resolved: &ctx.resolved,
        profile: ctx.spec.profile,
        contracts: &ctx.contracts,
        fetcher: &ctx.fetcher,
        client: Some(&ctx.cluster.client),
        fresh: &ctx.fresh,
    };
    let rendered = render_phase(&scope, planned, &run.awaited).await?;
    run.awaited.extend(namespaces(&ctx.catalog, planned));
    run.phase(&planned.phase).rendered = Some(rendered);
    Ok(())
}

/// The namespaces of a planned phase's addons.
pub(super) fn namespaces(catalog: &Catalog, planned: &PlannedPhase) -> Vec<String> {
    planned.addons.iter().map(|a| catalog.addons[a].namespace.clone()).collect()
}
