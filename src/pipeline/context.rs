//! What every step of a command reads: the options every command shares, and the context built
//! once per command — catalog, spec, resolved parameters, then the cluster and its recorded
//! state.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use crate::catalog::Catalog;
use crate::cluster::{Cluster, Target, connect_within};
use crate::contracts::{Contracts, PhaseFacts};
use crate::error::{Error, Exit};
use crate::fetch::Fetcher;
use crate::output::Format;
use crate::params::{self, Resolved};
use crate::plan::PlannedPhase;
use crate::progress::Progress;
use crate::spec::Spec;
use crate::state::{self, State};

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
    pub profile: Option<crate::profile::Profile>,
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
        loaded.map_err(|e| {
            Error::usage("cannot load the addon catalog").with_source(e).with_hint(
                "fix the file named above; --catalog-dir takes a directory laid out like addons/ (phases.yaml, <addon>/addon.yaml, templates/)",
            )
        })
    }

    /// The fetcher for upstream artifacts.
    pub fn fetcher(&self) -> Fetcher {
        Fetcher::new(self.mirror.clone())
    }
}

/// The request read and checked without touching a cluster: catalog, spec, parameters.
pub struct Loaded {
    /// The catalog.
    pub catalog: Catalog,
    /// The user's spec.
    pub spec: Spec,
    /// Every parameter, resolved.
    pub resolved: Resolved,
}

impl Loaded {
    /// Read the catalog and the spec and resolve every parameter. No cluster access.
    pub fn read(g: &Globals, args: &SpecArgs) -> Result<Loaded, Error> {
        let catalog = g.catalog()?;
        let (spec, resolved) = load_spec(&catalog, args)?;
        Ok(Loaded { catalog, spec, resolved })
    }

    /// Connect to the cluster and read what is installed.
    pub async fn connect<'g>(self, g: &'g Globals) -> Result<Context<'g>, Error> {
        let cluster = connect_within(&g.target, g.timeout).await?;
        let state = state::load(&cluster.client).await.map_err(state_error)?;
        let contracts = contracts(&self.catalog, &self.resolved, &state, &[])?;
        let (catalog, spec, resolved, fetcher) = (self.catalog, self.spec, self.resolved, g.fetcher());
        Ok(Context { globals: g, catalog, spec, resolved, contracts, cluster, state, fetcher, fresh: Default::default() })
    }
}

/// Everything the steps of one command share, built once.
pub struct Context<'g> {
    /// Shared options (progress, timeout, target).
    pub globals: &'g Globals,
    /// The catalog.
    pub catalog: Catalog,
    /// The user's spec.
    pub spec: Spec,
    /// Every parameter, resolved (inferred ones filled in by planning).
    pub resolved: Resolved,
    /// What phases provide each other (updated by planning).
    pub contracts: Contracts,
    /// The connected cluster.
    pub cluster: Cluster,
    /// What is installed, as recorded when the command started.
    pub state: State,
    /// Upstream artifacts.
    pub fetcher: Fetcher,
    /// Generated Secrets (`namespace/name`) this command replaces with new values
    /// (`rotate-keys`); empty for every other command.
    pub fresh: BTreeSet<String>,
}

impl Context<'_> {
    /// Parameters and contracts as the installed phases recorded them, under the profile
    /// `phase` was installed with: for a command that applies installed phases again without
    /// a spec (`rotate-keys`), so nothing the user chose at install time is reverted.
    pub fn as_installed(&mut self, phase: &str) -> Result<(), Error> {
        let declared = params::declared(&self.catalog);
        let mut overrides = params::Overrides::default();
        for record in self.state.values() {
            for (key, value) in record.parameters.iter().filter(|(k, _)| declared.contains_key(*k)) {
                overrides.set(params::Layer::File, key, value.clone());
            }
        }
        let recorded = self.state.get(phase).and_then(|r| crate::profile::Profile::ALL.into_iter().find(|p| p.name() == r.profile));
        self.spec.profile = recorded.unwrap_or(self.spec.profile);
        self.resolved = params::resolve(&self.catalog, self.spec.profile, &overrides).map_err(|e| {
            Error::failure("the installed phases' recorded parameters are no longer valid")
                .with_source(e)
                .with_hint("`bigtop-k8s status -o json` shows them; add the phases again with valid values")
        })?;
        self.contracts = contracts(&self.catalog, &self.resolved, &self.state, &[])?;
        Ok(())
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
        .map_err(|e| Error::usage("invalid specification").with_source(e).with_hint("see docs/commands.md, \"bigtop.yaml\""))?;
    let resolved = params::resolve(catalog, spec.profile, &spec.overrides).map_err(|e| {
        Error::usage("invalid parameter").with_source(e).with_hint("`bigtop-k8s phases` lists every parameter with its values")
    })?;
    // Contracts are resolved again with the cluster's state; what the parameters alone get wrong
    // (two bucket roles on one bucket) is bad input before any connection.
    crate::contracts::of_catalog(catalog, &resolved).map_err(contract_error)?;
    Ok((spec, resolved))
}

/// The contracts between phases: planned phases as planned, installed ones as recorded, the
/// rest as the parameters select.
pub fn contracts(catalog: &Catalog, resolved: &Resolved, state: &State, planned: &[PlannedPhase]) -> Result<Contracts, Error> {
    let mut known: BTreeMap<String, PhaseFacts> = state
        .iter()
        .map(|(phase, r)| (phase.clone(), PhaseFacts { addons: r.addons.keys().cloned().collect(), params: r.parameters.clone() }))
        .collect();
    for p in planned {
        known.insert(p.phase.clone(), PhaseFacts { addons: p.addons.clone(), params: resolved.clone() });
    }
    crate::contracts::resolve(catalog, resolved, &known).map_err(contract_error)
}

fn contract_error(e: crate::contracts::ContractError) -> Error {
    Error::usage("invalid parameter").with_source(e).with_hint("`bigtop-k8s phases` lists every parameter with its values")
}

/// Map a state read/write failure.
pub fn state_error(e: crate::state::StateError) -> Error {
    Error::new(Exit::Failure, "cannot access the bigtop state").with_source(e)
}
