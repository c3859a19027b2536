//! Render: parameters, generated values and fetched manifests → Kubernetes objects. Pure and
//! deterministic; `bigtop-k8s render` prints exactly this output.
//!
//! Only our own templates go through minijinja. Upstream manifests are parsed as YAML and
//! patched structurally (labels), because some contain literal `{{ }}`.

use std::collections::BTreeMap;

use base64::Engine;
use minijinja::{Environment, UndefinedBehavior, context};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::catalog::{Addon, Catalog, GeneratedSecret};
use crate::contracts::{self, Contracts};
use crate::params::{self, Resolved};
use crate::profile::Profile;

/// Label every object carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "bigtop-k8s");
/// Label naming the phase that owns an object.
pub const PHASE_LABEL: &str = "bigtop.apache.org/phase";
/// Label naming the addon that owns an object.
pub const ADDON_LABEL: &str = "bigtop.apache.org/addon";

/// Generated credentials: secret name → key → value.
pub type Generated = BTreeMap<String, BTreeMap<String, String>>;

/// Fetched upstream bytes by source name.
pub type Fetched = BTreeMap<String, Vec<u8>>;

/// Everything rendering one addon needs.
pub struct RenderInput<'a> {
    /// The addon.
    pub addon: &'a Addon,
    /// Its parameters, by short name.
    pub params: BTreeMap<String, Value>,
    /// The phase's parameters, by short name.
    pub phase_params: BTreeMap<String, Value>,
    /// The phase's fixed data.
    pub data: &'a Value,
    /// What other phases provide (the lake, the metastore, the SQL engine).
    pub contracts: Contracts,
    /// Phases that build on this addon's phase (depend on it or run after it): whose namespaces'
    /// lake clients its NetworkPolicies admit.
    pub client_phases: Vec<String>,
    /// Generated credentials (from the cluster, or fresh).
    pub generated: Generated,
    /// Fetched upstream artifacts.
    pub fetched: Fetched,
    /// Sizing profile.
    pub profile: Profile,
    /// The catalog's shared template pieces, for `{% include %}`.
    pub includes: &'a BTreeMap<String, String>,
}

impl<'a> RenderInput<'a> {
    /// Input for addon `name` of `catalog`: its own and its phase's parameters from `resolved`,
    /// no generated values and no fetched sources yet (see the `with_*` methods).
    ///
    /// # Panics
    /// If `name` is not an addon of `catalog` (callers take names from the catalog or a plan).
    pub fn new(catalog: &'a Catalog, name: &str, resolved: &Resolved, profile: Profile) -> RenderInput<'a> {
        let addon = &catalog.addons[name];
        let phase = catalog.phase(&addon.phase).expect("a loaded catalog is consistent");
        RenderInput {
            addon,
            params: params::of_addon(resolved, name),
            phase_params: params::of_addon(resolved, &addon.phase),
            data: &phase.data,
            // Without a cluster, as the parameters select; a catalog without a lake or
            // metastore leaves them undefined, which a template using them reports.
            contracts: contracts::of_catalog(catalog, resolved).unwrap_or_default(),
            client_phases: catalog
                .phases
                .iter()
                .filter(|p| p.depends.iter().chain(&p.after).any(|d| *d == addon.phase))
                .map(|p| p.name.clone())
                .collect(),
            generated: Generated::new(),
            fetched: Fetched::new(),
            profile,
            includes: &catalog.includes,
        }
    }

    /// Use these credentials.
    #[must_use]
    pub fn with_generated(mut self, generated: Generated) -> Self {
        self.generated = generated;
        self
    }

    /// Use stand-ins for every generated credential: `value(secret, key)`. For renders that
    /// never reach a cluster (budgets, lint, snapshots, tests).
    #[must_use]
    pub fn with_stand_ins(mut self, value: impl Fn(&GeneratedSecret, &str) -> String) -> Self {
        for g in &self.addon.generated {
            for k in &g.keys {
                self.generated.entry(g.secret.clone()).or_default().insert(k.clone(), value(g, k));
            }
        }
        self
    }

    /// Use these contracts (as planned and installed).
    #[must_use]
    pub fn with_contracts(mut self, contracts: Contracts) -> Self {
        self.contracts = contracts;
        self
    }

    /// Use these fetched sources.
    #[must_use]
    pub fn with_fetched(mut self, fetched: Fetched) -> Self {
        self.fetched = fetched;
        self
    }
}

/// Why an addon did not render.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Template syntax or an undefined variable.
    #[error("template {addon}/templates/{template} failed")]
    Template {
        /// Addon name.
        addon: String,
        /// Template file.
        template: String,
        /// minijinja's error (line and cause).
        #[source]
        source: minijinja::Error,
    },
    /// The template rendered to something that is not YAML.
    #[error("template {addon}/{template} rendered invalid YAML")]
    Yaml {
        /// Addon name.
        addon: String,
        /// Template or source name.
        template: String,
        /// The parser's message.
        #[source]
        source: serde_saphyr::Error,
    },
    /// A document without apiVersion, kind or metadata.name.
    #[error("{addon}/{template}: document {index} is not a Kubernetes object (needs apiVersion, kind, metadata.name)")]
    NotAnObject {
        /// Addon name.
        addon: String,
        /// Template or source name.
        template: String,
        /// Position of the document in the file.
        index: usize,
    },
    /// A patch of an upstream object failed.
    #[error("addon {addon}: cannot patch its upstream objects")]
    Patch {
        /// The addon.
        addon: String,
        /// Why.
        #[source]
        source: crate::catalog::patches::PatchError,
    },
    /// A source the addon declares was not fetched.
    #[error("source {0} was not fetched")]
    MissingSource(String),
    /// A run-time template the code asks for is not in the addon.
    #[error("run-time template {0} does not exist")]
    MissingTemplate(String),
}

/// Render one addon into labelled objects, in template-name order (sources first).
pub fn render_addon(input: &RenderInput) -> Result<Vec<Value>, RenderError> {
    let addon = input.addon;
    let mut objects = Vec::new();
    for source in addon.sources.iter().filter(|s| s.apply) {
        let bytes = input.fetched.get(&source.name).ok_or_else(|| RenderError::MissingSource(source.name.clone()))?;
        let text = String::from_utf8_lossy(bytes);
        objects.extend(parse_documents(&addon.name, &source.name, &text)?);
    }
    let ctx = context! {
        params => minijinja::Value::from(minijinja::value::Serde(&input.params)),
        profile => input.profile.name(),
    };
    let env = environment();
    let render = |text: &str| env.render_str(text, &ctx).map_err(|e| e.to_string());
    crate::catalog::patches::apply(&mut objects, &addon.patches, &render)
        .map_err(|source| RenderError::Patch { addon: addon.name.clone(), source })?;
    objects.extend(render_templates(input)?);
    for obj in &mut objects {
        label(obj, &addon.phase, &addon.name);
    }
    Ok(objects)
}

/// Render only our own templates of an addon (no upstream sources), unlabelled.
pub fn render_templates(input: &RenderInput) -> Result<Vec<Value>, RenderError> {
    let addon = input.addon;
    let mut objects = Vec::new();
    let mut env = environment();
    for (name, text) in input.includes {
        env.add_template_owned(name.clone(), text.clone()).map_err(|source| RenderError::Template {
            addon: addon.name.clone(),
            template: format!("../include/{name}"),
            source,
        })?;
    }
    let ctx = context! {
        params => minijinja::Value::from(minijinja::value::Serde(&input.params)),
        phase_params => minijinja::Value::from(minijinja::value::Serde(&input.phase_params)),
        data => minijinja::Value::from(minijinja::value::Serde(input.data)),
        lake => minijinja::Value::from(minijinja::value::Serde(&input.contracts.lake)),
        metastore => minijinja::Value::from(minijinja::value::Serde(&input.contracts.metastore)),
        sql_engine => minijinja::Value::from(minijinja::value::Serde(&input.contracts.sql_engine)),
        spark => minijinja::Value::from(minijinja::value::Serde(&input.contracts.spark)),
        lake_events => minijinja::Value::from(minijinja::value::Serde(&input.contracts.lake_events)),
        client_phases => minijinja::Value::from(minijinja::value::Serde(&input.client_phases)),
        namespace => &addon.namespace,
        phase => &addon.phase,
        addon => &addon.name,
        version => &addon.version,
        images => minijinja::Value::from(minijinja::value::Serde(&addon.images)),
        generated => minijinja::Value::from(minijinja::value::Serde(&input.generated)),
        profile => input.profile.name(),
    };
    for (name, text) in &addon.templates {
        let rendered = env.render_str(text, &ctx).map_err(|source| RenderError::Template {
            addon: addon.name.clone(),
            template: name.clone(),
            source,
        })?;
        objects.extend(parse_documents(&addon.name, name, &rendered)?);
    }
    Ok(objects)
}

/// Render an addon's run-time template `name` with `vars` (plus the addon's namespace and
/// images) into labelled objects.
pub fn render_runtime(addon: &Addon, name: &str, vars: &Value) -> Result<Vec<Value>, RenderError> {
    let template = format!("runtime/{name}");
    let text = addon.runtime.get(name).ok_or_else(|| RenderError::MissingTemplate(format!("{}/{template}", addon.name)))?;
    let ctx = context! {
        vars => minijinja::Value::from(minijinja::value::Serde(vars)),
        namespace => &addon.namespace,
        images => minijinja::Value::from(minijinja::value::Serde(&addon.images)),
    };
    let rendered = environment().render_str(text, &ctx).map_err(|source| RenderError::Template {
        addon: addon.name.clone(),
        template: template.clone(),
        source,
    })?;
    let mut objects = parse_documents(&addon.name, &template, &rendered)?;
    for obj in &mut objects {
        label(obj, &addon.phase, &addon.name);
    }
    Ok(objects)
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Templates render YAML (and XML pieces inside it); HTML escaping by file name would turn the
    // `/` of a URL into `&#x2f;`.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_filter("b64", |s: String| base64::engine::general_purpose::STANDARD.encode(s));
    // Short content hash, for names that must change when their content does (setup Jobs).
    env.add_filter("sha256_8", |s: String| hex(&Sha256::digest(s.as_bytes()))[..8].to_string());
    env
}

pub(crate) fn parse_documents(addon: &str, template: &str, text: &str) -> Result<Vec<Value>, RenderError> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|source| RenderError::Yaml { addon: addon.into(), template: template.into(), source })?;
    let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    for (index, doc) in docs.iter().enumerate() {
        let named = doc.pointer("/metadata/name").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
        if doc.get("apiVersion").is_none() || doc.get("kind").is_none() || !named {
            return Err(RenderError::NotAnObject { addon: addon.into(), template: template.into(), index });
        }
    }
    Ok(docs)
}

fn label(obj: &mut Value, phase: &str, addon: &str) {
    let meta = obj.as_object_mut().and_then(|o| o.get_mut("metadata")).and_then(Value::as_object_mut);
    let Some(meta) = meta else { return };
    let labels = meta.entry("labels").or_insert_with(|| Value::Object(Map::new()));
    if !labels.is_object() {
        *labels = Value::Object(Map::new());
    }
    let labels = labels.as_object_mut().expect("made an object above");
    labels.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
    labels.insert(PHASE_LABEL.into(), phase.into());
    labels.insert(ADDON_LABEL.into(), addon.into());
}

/// A labelled Secret of `addon` holding `data` (already-known values, e.g. an imported key).
pub fn secret_object(addon: &Addon, name: &str, data: &BTreeMap<String, String>) -> Value {
    let encoded: Map<String, Value> =
        data.iter().map(|(k, v)| (k.clone(), Value::String(base64::engine::general_purpose::STANDARD.encode(v)))).collect();
    let mut obj = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": addon.namespace}, "data": encoded});
    label(&mut obj, &addon.phase, &addon.name);
    obj
}

/// sha256 of a value's canonical JSON, lowercase hex.
pub fn digest(value: &impl serde::Serialize) -> String {
    let bytes = serde_json::to_vec(value).expect("serializing JSON values cannot fail");
    hex(&Sha256::digest(&bytes))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `kind/namespace/name` (or `kind/name`) of an object, for messages.
pub fn describe(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("?");
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?");
    match obj.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// Multi-document YAML of objects, as `render` prints it.
pub fn to_yaml(objects: &[Value]) -> String {
    let mut out = String::new();
    for obj in objects {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(obj).expect("JSON values always serialize to YAML"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Addon;

    fn addon(template: &str) -> Addon {
        let mut a: Addon = serde_saphyr::from_str("name: demo\nphase: p\nversion: '1'\nnamespace: ns\nimages: {app: 'x:1'}\n").unwrap();
        a.templates = vec![("a.yaml".into(), template.into())];
        a
    }

    fn render(a: &Addon, params: &BTreeMap<String, Value>) -> Result<Vec<Value>, RenderError> {
        let generated = Generated::from([("creds".into(), BTreeMap::from([("pw".into(), "s3cret".into())]))]);
        render_addon(&RenderInput {
            addon: a,
            params: params.clone(),
            phase_params: BTreeMap::new(),
            data: &Value::Null,
            contracts: Default::default(),
            client_phases: Vec::new(),
            generated,
            fetched: Fetched::new(),
            profile: Profile::Laptop,
            includes: &BTreeMap::new(),
        })
    }

    #[test]
    fn templates_include_the_shared_pieces_with_their_own_context() {
        let a = addon("{% include \"piece.yaml\" %}\ndata: {x: y}\n");
        let includes =
            BTreeMap::from([("piece.yaml".to_string(), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ addon }}}".to_string())]);
        let input = RenderInput {
            addon: &a,
            params: BTreeMap::new(),
            phase_params: BTreeMap::new(),
            data: &Value::Null,
            contracts: Default::default(),
            client_phases: Vec::new(),
            generated: Generated::new(),
            fetched: Fetched::new(),
            profile: Profile::Laptop,
            includes: &includes,
        };
        let objects = render_addon(&input).unwrap();
        assert_eq!((objects[0]["kind"].as_str(), objects[0]["metadata"]["name"].as_str()), (Some("ConfigMap"), Some("demo")));
        let missing = RenderInput { includes: &BTreeMap::new(), ..input };
        assert!(matches!(render_addon(&missing), Err(RenderError::Template { .. })));
    }

    #[test]
    fn renders_labels_and_generated_values() {
        let a = addon(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: {{ namespace }}}\ndata: {pw: {{ generated.creds.pw | b64 }}}\n---\n# empty\n",
        );
        let objs = render(&a, &BTreeMap::new()).unwrap();
        assert_eq!(objs.len(), 1);
        assert_eq!(objs[0].pointer("/data/pw").unwrap(), "czNjcmV0");
        assert_eq!(objs[0].pointer("/metadata/labels/bigtop.apache.org~1phase").unwrap(), "p");
        assert_eq!(describe(&objs[0]), "Secret/ns/creds");
        assert_eq!(digest(&objs), digest(&render(&a, &BTreeMap::new()).unwrap()));
    }

    #[test]
    fn undefined_parameter_is_an_error() {
        let a = addon("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ params.nope }}}\n");
        let err = render(&a, &BTreeMap::new()).unwrap_err();
        assert!(matches!(err, RenderError::Template { .. }), "{err:?}");
    }

    #[test]
    fn a_document_that_is_not_an_object_is_an_error() {
        let a = addon("kind: ConfigMap\nmetadata: {name: x}\n");
        assert!(matches!(render(&a, &BTreeMap::new()), Err(RenderError::NotAnObject { index: 0, .. })));
    }
}
