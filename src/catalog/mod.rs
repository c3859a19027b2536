//! The catalog: phases and addons as data, read from `addons/` (embedded in the binary) and,
//! optionally, from a user directory whose addons and phases are added to the embedded ones.
//!
//! This module only parses and cross-checks the files; resolving parameters is `params`,
//! turning templates into objects is `render`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub mod actions;
pub mod patches;
pub mod provides;

use crate::validation::ParamDef;
pub use actions::{Checkpoint, Setup};
pub use provides::{LakeDecl, Provides, Uses};

/// The addon files compiled into the binary.
#[derive(rust_embed::Embed)]
#[folder = "addons/"]
struct Embedded;

/// A phase: a named group of addons installed and verified together.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PhaseDef {
    /// Phase name, e.g. `object-storage`.
    pub name: String,
    /// One line for `phases`.
    pub description: String,
    /// Phases that must be installed first.
    #[serde(default)]
    pub depends: Vec<String>,
    /// Phases that, when installed in the same run, go first (not required: the spark checkpoint
    /// reads the sql checkpoint's table when sql is there).
    #[serde(default)]
    pub after: Vec<String>,
    /// Addons always installed with the phase.
    #[serde(default)]
    pub addons: Vec<String>,
    /// A choice between alternative addon sets (e.g. MinIO or Garage).
    #[serde(default)]
    pub choice: Option<Choice>,
    /// Whether `up` installs this phase.
    #[serde(default)]
    pub default: bool,
    /// Parameters shared by the phase's addons, addressed as `<phase>.<name>`.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamDef>,
    /// Fixed data for the templates of every addon of the phase (e.g. who may access what).
    #[serde(default)]
    pub data: serde_json::Value,
    /// Contracts the phase offers later phases.
    #[serde(default)]
    pub provides: Provides,
    /// Contracts the phase takes from others.
    #[serde(default)]
    pub uses: Uses,
}

/// Alternative addon sets of a phase, selected by the parameter `<phase>.<parameter>`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Choice {
    /// The parameter name under the phase (`backend` → `object-storage.backend`).
    pub parameter: String,
    /// What the choice selects.
    pub help: String,
    /// The option used when nothing is set.
    pub default: String,
    /// Option name → addons it installs.
    pub options: BTreeMap<String, Vec<String>>,
}

/// An upstream artifact: fetched, verified by sha256, never copied into the repo.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Source {
    /// Name used by templates and messages.
    pub name: String,
    /// Where users download it from.
    pub url: String,
    /// sha256 of the exact bytes, lowercase hex.
    pub sha256: String,
    /// Path of the same bytes inside a mirror directory (`BIGTOP_K8S_MIRROR`).
    pub mirror_path: String,
    /// Whether the artifact is a manifest whose objects are applied with the addon.
    #[serde(default)]
    pub apply: bool,
}

/// A Secret whose values are generated once and read back from the cluster afterwards.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GeneratedSecret {
    /// Secret name in the addon namespace.
    pub secret: String,
    /// Keys to fill with random alphanumeric values.
    pub keys: Vec<String>,
    /// Number of random characters in each value.
    #[serde(default = "default_secret_length")]
    pub length: usize,
    /// Characters to draw from.
    #[serde(default)]
    pub alphabet: Alphabet,
    /// Fixed prefix before the random part (Garage key IDs start with `GK`).
    #[serde(default)]
    pub prefix: String,
}

/// Characters of generated values.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Alphabet {
    /// Letters and digits.
    #[default]
    Alphanumeric,
    /// Lowercase hexadecimal digits.
    Hex,
}

fn default_secret_length() -> usize {
    32
}

/// How a user reaches a service of the addon.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Endpoint {
    /// Short name, e.g. `s3` or `console`.
    pub name: String,
    /// Service in the addon namespace.
    pub service: String,
    /// Service port.
    pub port: u16,
    /// URL scheme of what is served there.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Path of the URL users open (`/lab`); empty for the root.
    #[serde(default)]
    pub path: String,
    /// A login token the URL carries (`?token=…`), from a Secret in the addon namespace.
    #[serde(default)]
    pub token: Option<SecretKeyRef>,
    /// What it is.
    pub help: String,
}

/// One key of a Secret in the addon namespace.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The Secret.
    pub secret: String,
    /// The key.
    pub key: String,
}

fn default_scheme() -> String {
    "http".into()
}

/// A Secret copied from another namespace.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Import {
    /// Namespace it comes from.
    pub namespace: String,
    /// Its name (the copy has the same name).
    pub secret: String,
}

/// An addon: one component with its version, images, parameters and templates.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Addon {
    /// Addon name, e.g. `minio`.
    pub name: String,
    /// The phase it belongs to.
    pub phase: String,
    /// Upstream version of the component.
    pub version: String,
    /// Namespace of its namespaced objects.
    pub namespace: String,
    /// A warning `phases` prints (archived upstream, known CVEs).
    #[serde(default)]
    pub notice: Option<String>,
    /// Image references by key, always with an explicit tag or digest.
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// Pinned upstream artifacts.
    #[serde(default)]
    pub sources: Vec<Source>,
    /// Changes to the applied sources' objects.
    #[serde(default)]
    pub patches: Vec<patches::Patch>,
    /// What the patched sources' workloads request, by profile (`phases` counts it without
    /// fetching them; a test computes it from the pinned bytes).
    #[serde(default)]
    pub source_requests: BTreeMap<String, Budget>,
    /// Parameters, addressed as `<addon>.<name>`.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamDef>,
    /// Generated credentials.
    #[serde(default)]
    pub generated: Vec<GeneratedSecret>,
    /// Secrets of other phases copied into this addon's namespace at install time (a pod can
    /// only use Secrets of its own namespace), e.g. the lake key of the service.
    #[serde(default)]
    pub imports: Vec<Import>,
    /// Custom resource kinds whose `Ready` condition is waited for.
    #[serde(default)]
    pub ready_condition_kinds: Vec<String>,
    /// Services users reach.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Setup run after the addon is ready and before its checkpoint (e.g. Garage's layout,
    /// keys and buckets through its admin API).
    #[serde(default)]
    pub setup: Option<Setup>,
    /// The checkpoint proving the addon works.
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
    /// Contracts the addon offers later phases (when its phase selects it).
    #[serde(default)]
    pub provides: Provides,
    /// Template files, name → content, in name order (filled by the loader).
    #[serde(skip)]
    pub templates: Vec<(String, String)>,
    /// Templates of objects created at run time (`runtime/*.yaml`: a checkpoint's pods, a Spark
    /// submission), rendered on demand with their own variables (filled by the loader).
    #[serde(skip)]
    pub runtime: BTreeMap<String, String>,
}

/// The resource budget of the default phases under one profile (`budget.yaml`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Budget {
    /// Memory requests, as a quantity.
    pub memory: String,
    /// CPU requests, as a quantity.
    pub cpu: String,
}

/// Phases in declaration order plus addons by name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Phases in the order of `phases.yaml`.
    pub phases: Vec<PhaseDef>,
    /// Budget per profile name.
    pub budgets: BTreeMap<String, Budget>,
    /// Addons by name.
    pub addons: BTreeMap<String, Addon>,
    /// Template pieces several addons share (`include/<name>`), by name: what `{% include %}`
    /// finds.
    pub includes: BTreeMap<String, String>,
}

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A file is not valid YAML for its schema.
    #[error("cannot parse catalog file {file}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message.
        #[source]
        source: serde_saphyr::Error,
    },
    /// A file could not be read.
    #[error("cannot read catalog file {file}")]
    Read {
        /// The file.
        file: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Files parse but do not fit together.
    #[error("inconsistent catalog: {0}")]
    Inconsistent(String),
}

/// A file tree: relative path → bytes.
type Files = BTreeMap<String, Vec<u8>>;

impl Catalog {
    /// The catalog compiled into the binary.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        let files: Files = Embedded::iter().filter_map(|p| Embedded::get(&p).map(|f| (p.to_string(), f.data.into_owned()))).collect();
        let catalog = Catalog::from_files(&files)?;
        catalog.check()?;
        Ok(catalog)
    }

    /// The embedded catalog plus the phases and addons of `dir` (same layout as `addons/`).
    pub fn with_extra_dir(dir: &Path) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::embedded()?;
        let extra = Catalog::from_files(&read_tree(dir, dir)?)?;
        if extra.phases.is_empty() && extra.addons.is_empty() {
            return Err(CatalogError::Inconsistent(format!(
                "{} holds no phases.yaml and no <addon>/addon.yaml: is it a catalog directory?",
                dir.display()
            )));
        }
        for phase in extra.phases {
            if catalog.phase(&phase.name).is_some() {
                return Err(CatalogError::Inconsistent(format!("phase {} exists in the embedded catalog", phase.name)));
            }
            catalog.phases.push(phase);
        }
        for (name, addon) in extra.addons {
            if catalog.addons.insert(name.clone(), addon).is_some() {
                return Err(CatalogError::Inconsistent(format!("addon {name} exists in the embedded catalog")));
            }
        }
        for (name, text) in extra.includes {
            if catalog.includes.insert(name.clone(), text).is_some() {
                return Err(CatalogError::Inconsistent(format!("include/{name} exists in the embedded catalog")));
            }
        }
        catalog.check()?;
        Ok(catalog)
    }

    fn from_files(files: &Files) -> Result<Catalog, CatalogError> {
        let phases = match files.get("phases.yaml") {
            Some(bytes) => parse::<Vec<PhaseDef>>("phases.yaml", bytes)?,
            None => Vec::new(),
        };
        let budgets = match files.get("budget.yaml") {
            Some(bytes) => parse("budget.yaml", bytes)?,
            None => BTreeMap::new(),
        };
        let mut addons = BTreeMap::new();
        for (path, bytes) in files.iter().filter(|(p, _)| p.ends_with("/addon.yaml")) {
            let mut addon: Addon = parse(path, bytes)?;
            let dir = path.trim_end_matches("addon.yaml");
            addon.templates = templates_in(files, &format!("{dir}templates/"))?;
            addon.runtime = templates_in(files, &format!("{dir}runtime/"))?.into_iter().collect();
            if format!("{}/", addon.name) != dir {
                return Err(CatalogError::Inconsistent(format!("{path} declares name {}", addon.name)));
            }
            addons.insert(addon.name.clone(), addon);
        }
        let includes = text_files(files, INCLUDE_DIR, |_| true)?.into_iter().collect();
        Ok(Catalog { phases, budgets, addons, includes })
    }

    /// Cross-references: every addon a phase names exists and belongs to it, dependencies exist,
    /// parameter keys are unique.
    fn check(&self) -> Result<(), CatalogError> {
        let bad = |m: String| Err(CatalogError::Inconsistent(m));
        for phase in &self.phases {
            for dep in phase.depends.iter().chain(&phase.after) {
                if self.phase(dep).is_none() {
                    return bad(format!("phase {} depends on unknown phase {dep}", phase.name));
                }
            }
            for addon in self.addons_of_any_choice(phase) {
                match self.addons.get(addon) {
                    None => return bad(format!("phase {} names unknown addon {addon}", phase.name)),
                    Some(a) if a.phase != phase.name => {
                        return bad(format!("addon {addon} says phase {} but is listed by {}", a.phase, phase.name));
                    }
                    Some(_) => {}
                }
            }
            if let Some(c) = &phase.choice
                && !c.options.contains_key(&c.default)
            {
                return bad(format!("phase {}: default option {} is not an option", phase.name, c.default));
            }
            if self.addons.contains_key(&phase.name) {
                return bad(format!("phase and addon share the name {}", phase.name));
            }
        }
        for addon in self.addons.values() {
            if self.phase(&addon.phase).is_none() {
                return bad(format!("addon {} belongs to unknown phase {}", addon.name, addon.phase));
            }
        }
        Ok(())
    }

    /// The phase named `name`.
    pub fn phase(&self, name: &str) -> Option<&PhaseDef> {
        self.phases.iter().find(|p| p.name == name)
    }

    /// Phase names, in catalog order.
    pub fn phase_names(&self) -> Vec<&str> {
        self.phases.iter().map(|p| p.name.as_str()).collect()
    }

    /// Every addon a phase can install, whatever the choice.
    pub fn addons_of_any_choice<'a>(&self, phase: &'a PhaseDef) -> Vec<&'a str> {
        let mut all: Vec<&str> = phase.addons.iter().map(String::as_str).collect();
        if let Some(c) = &phase.choice {
            all.extend(c.options.values().flatten().map(String::as_str));
        }
        all
    }
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<T, CatalogError> {
    serde_saphyr::from_slice(bytes).map_err(|source| CatalogError::Parse { file: file.to_string(), source })
}

/// Where shared template pieces live, beside the addons.
const INCLUDE_DIR: &str = "include/";

fn templates_in(files: &Files, prefix: &str) -> Result<Vec<(String, String)>, CatalogError> {
    text_files(files, prefix, |p| p.ends_with(".yaml"))
}

/// The UTF-8 files under `prefix` that `keep` accepts, by name relative to it.
fn text_files(files: &Files, prefix: &str, keep: impl Fn(&str) -> bool) -> Result<Vec<(String, String)>, CatalogError> {
    files
        .iter()
        .filter(|(p, _)| p.starts_with(prefix) && keep(p))
        .map(|(p, b)| {
            let text = String::from_utf8(b.clone()).map_err(|_| CatalogError::Inconsistent(format!("{p} is not UTF-8")))?;
            Ok((p.trim_start_matches(prefix).to_string(), text))
        })
        .collect()
}

fn read_tree(root: &Path, dir: &Path) -> Result<Files, CatalogError> {
    let read_err = |source| CatalogError::Read { file: dir.display().to_string(), source };
    let mut files = Files::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.is_dir() {
            files.extend(read_tree(root, &path)?);
        } else {
            let bytes = std::fs::read(&path).map_err(|source| CatalogError::Read { file: path.display().to_string(), source })?;
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            files.insert(rel, bytes);
        }
    }
    Ok(files)
}
