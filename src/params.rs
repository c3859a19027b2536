//! Parameters: resolution with the documented precedence defaults < profile < `bigtop.yaml` <
//! `--set`. What each value may be is `validation`.
//!
//! Keys are `<addon>.<parameter>` for addon parameters and `<phase>.<parameter>` for a phase's
//! choice of addons. Pure: no I/O.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::catalog::Catalog;
use crate::profile::Profile;
use crate::validation::{ParamDef, ParamError, Validation, coerce};

/// Where a parameter value came from, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    /// `bigtop.yaml` `parameters:`.
    File,
    /// `--set k=v`.
    Flag,
}

/// Parameter overrides from the user, by layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides(pub BTreeMap<String, (Layer, Value)>);

impl Overrides {
    /// Record `key=value`; a later call at the same or a higher layer wins.
    pub fn set(&mut self, layer: Layer, key: &str, value: Value) {
        match self.0.get(key) {
            Some((existing, _)) if *existing > layer => {}
            _ => {
                self.0.insert(key.to_string(), (layer, value));
            }
        }
    }

    /// Parse one `--set key=value`.
    pub fn parse_set(&mut self, arg: &str) -> Result<(), ParamError> {
        let (key, value) = arg.split_once('=').ok_or_else(|| ParamError::Malformed(arg.to_string()))?;
        if key.trim().is_empty() {
            return Err(ParamError::Malformed(arg.to_string()));
        }
        self.set(Layer::Flag, key.trim(), Value::String(value.to_string()));
        Ok(())
    }
}

/// Resolved values: key → value, for every parameter of the catalog.
pub type Resolved = BTreeMap<String, Value>;

/// Resolve every parameter of `catalog` under `profile` with `overrides`, validating each value.
///
/// # Errors
/// An override whose key the catalog does not declare, or any value that fails validation.
pub fn resolve(catalog: &Catalog, profile: Profile, overrides: &Overrides) -> Result<Resolved, ParamError> {
    let defs = declared(catalog);
    for key in overrides.0.keys() {
        if !defs.contains_key(key) {
            let valid = defs.keys().cloned().collect::<Vec<_>>().join(", ");
            return Err(ParamError::Unknown { key: key.clone(), valid });
        }
    }
    let mut out = Resolved::new();
    for (key, def) in &defs {
        let base = def.profiles.get(profile.name()).unwrap_or(&def.default);
        let raw = overrides.0.get(key).map(|(_, v)| v).unwrap_or(base);
        out.insert(key.clone(), coerce(key, &def.validation, raw)?);
    }
    Ok(out)
}

/// Every declared parameter by key, including each phase's choice.
pub fn declared(catalog: &Catalog) -> BTreeMap<String, ParamDef> {
    let mut defs = BTreeMap::new();
    for phase in &catalog.phases {
        if let Some(c) = &phase.choice {
            let def = ParamDef {
                default: Value::String(c.default.clone()),
                profiles: BTreeMap::new(),
                help: c.help.clone(),
                validation: Validation::Enum { values: c.options.keys().cloned().collect() },
            };
            defs.insert(format!("{}.{}", phase.name, c.parameter), def);
        }
        for (name, def) in &phase.parameters {
            defs.insert(format!("{}.{name}", phase.name), def.clone());
        }
    }
    for addon in catalog.addons.values() {
        for (name, def) in &addon.parameters {
            defs.insert(format!("{}.{name}", addon.name), def.clone());
        }
    }
    defs
}

/// The parameters of one addon (or phase), keyed by their short name.
pub fn of_addon(resolved: &Resolved, addon: &str) -> BTreeMap<String, Value> {
    let prefix = format!("{addon}.");
    resolved.iter().filter_map(|(k, v)| k.strip_prefix(&prefix).map(|short| (short.to_string(), v.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::ParamError;
    use serde_json::json;

    #[test]
    fn flag_beats_file_whatever_the_order() {
        let mut o = Overrides::default();
        o.set(Layer::Flag, "a.x", json!("flag"));
        o.set(Layer::File, "a.x", json!("file"));
        assert_eq!(o.0["a.x"].1, json!("flag"));
        assert_eq!(o.parse_set("novalue"), Err(ParamError::Malformed("novalue".into())));
    }
}
