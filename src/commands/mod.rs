//! Commands: one module per subcommand, each a short sequence over the pipeline stages.
//! This module holds what they share: global options, loading the catalog and the spec, and
//! rendering a planned phase.

pub mod add;
pub mod capi;
pub mod cluster;
pub mod doctor;
pub mod endpoints;
pub mod images;
pub mod inferred;
pub mod phases;
pub mod remove;
pub mod render;
pub mod spark;
pub mod sql;
pub mod status;
pub mod verify;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use kube::Client;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::cluster::Target;
use crate::error::{Error, Exit};
use crate::fetch::Fetcher;
use crate::output::Format;
use crate::params::{self, Resolved};
use crate::plan::PlannedPhase;
use crate::profile::Profile;
use crate::progress::Progress;
use crate::render::{RenderInput, render_addon};
use crate::spec::Spec;

/// Options every command shares.
#[derive(Debug, Clone)]
pub struct Globals {
    /// Which cluster.
    pub target: Target,
    /// Result format on stdout.
    pub format: Format,
    /// Progress reporter on stderr.
    pub progress: Progress,
    /// Budget for each wait.
    pub timeout: Duration,
    /// Extra addons directory merged into the embedded catalog.
    pub catalog_dir: Option<PathBuf>,
    /// Mirror directory for upstream artifacts.
    pub mirror: Option<PathBuf>,
}

/// What the user asked for: a `bigtop.yaml`, a profile and `--set` values.
#[derive(Debug, Clone, Default)]
pub struct SpecArgs {
    /// `-f bigtop.yaml`.
    pub file: Option<PathBuf>,
    /// `--profile`.
    pub profile: Option<Profile>,
    /// `--set k=v`.
    pub sets: Vec<String>,
}

impl Globals {
    /// The catalog: embedded, plus `--catalog-dir` when given.
    pub fn catalog(&self) -> Result<Catalog, Error> {
        let loaded = match &self.catalog_dir {
            Some(dir) => Catalog::with_extra_dir(dir),
            None => Catalog::embedded(),
        };
        loaded.map_err(|e| Error::usage("cannot load the addon catalog").with_source(e))
    }

    /// The fetcher for upstream artifacts.
    pub fn fetcher(&self) -> Fetcher {
        Fetcher::new(self.mirror.clone())
    }
}

/// Read and validate the spec, and resolve every parameter. No cluster access.
pub fn load_spec(catalog: &Catalog, args: &SpecArgs) -> Result<(Spec, Resolved), Error> {
    let text = match &args.file {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!("cannot read {}", path.display())).with_source(e).with_hint("pass an existing file with -f")
        })?),
        None => None,
    };
    let name = args.file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let spec = Spec::build(text.as_deref().map(|t| (name.as_str(), t)), args.profile, &args.sets)
        .map_err(|e| Error::usage("invalid specification").with_source(e).with_hint("see README.md, \"bigtop.yaml\""))?;
    let resolved = params::resolve(catalog, spec.profile, &spec.overrides).map_err(|e| {
        Error::usage("invalid parameter").with_source(e).with_hint("`bigtop-k8s phases` lists every parameter with its values")
    })?;
    Ok((spec, resolved))
}

/// A phase rendered into objects.
pub struct RenderedPhase {
    /// The plan entry.
    pub planned: PlannedPhase,
    /// Labelled objects in apply order of the templates.
    pub objects: Vec<Value>,
}

/// Fetch sources, read or generate credentials, and render every addon of a planned phase.
/// `awaited`: namespaces that phases earlier in a dry run would create, whose Secrets are not
/// there yet (their copies are rendered empty instead of refused).
pub async fn render_phase(
    globals: &Globals,
    catalog: &Catalog,
    client: Option<&Client>,
    planned: &PlannedPhase,
    resolved: &Resolved,
    profile: Profile,
    awaited: &BTreeSet<String>,
) -> Result<RenderedPhase, Error> {
    let fetcher = globals.fetcher();
    let mut objects = Vec::new();
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
        let generated = crate::secrets::generated_for(client, addon)
            .await
            .map_err(|e| Error::failure(format!("cannot read the generated credentials of {name}")).with_source(e))?;
        let input = RenderInput::new(catalog, name, resolved, profile).with_generated(generated).with_fetched(fetched);
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
    Ok(RenderedPhase { planned: planned.clone(), objects })
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

/// Map a state read/write failure.
pub fn state_error(e: crate::state::StateError) -> Error {
    Error::new(Exit::Failure, "cannot access the bigtop state").with_source(e)
}
