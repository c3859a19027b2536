//! The user's request before anything runs: profile, phases and parameter overrides, from
//! `bigtop.yaml` and flags. Pure: the caller reads the file.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::params::{Layer, Overrides};
use crate::profile::Profile;
use crate::validation::ParamError;

/// `bigtop.yaml`: the declarative source of truth.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Sizing profile.
    #[serde(default)]
    pub profile: Option<Profile>,
    /// Phases to install.
    #[serde(default)]
    pub phases: Vec<String>,
    /// Parameter values: `addon.param: value`, or nested maps `addon: {param: value}`.
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
}

/// Why `bigtop.yaml` was rejected.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Not YAML, or not the schema.
    #[error("malformed {file}")]
    Parse {
        /// The file name as given.
        file: String,
        /// The parser's message (line and column).
        #[source]
        source: serde_saphyr::Error,
    },
    /// A parameter in the file is not valid.
    #[error("invalid parameters in {file}")]
    Parameter {
        /// The file name as given.
        file: String,
        /// The parameter problem.
        #[source]
        source: ParamError,
    },
}

/// The validated request: what to install and with which overrides.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// Sizing profile.
    pub profile: Profile,
    /// Phases named in the file (commands may add their own).
    pub phases: Vec<String>,
    /// Overrides from the file and `--set`.
    pub overrides: Overrides,
}

impl Spec {
    /// Build from an optional `bigtop.yaml` (name, contents), a profile flag and `--set` arguments.
    /// The profile flag beats the file's profile.
    ///
    /// # Errors
    /// A malformed file or a malformed `--set`. Unknown keys are caught later by `params::resolve`.
    pub fn build(file: Option<(&str, &str)>, profile: Option<Profile>, sets: &[String]) -> Result<Spec, SpecError> {
        let mut spec = Spec::default();
        if let Some((name, text)) = file {
            let parsed: SpecFile = serde_saphyr::from_str(text).map_err(|source| SpecError::Parse { file: name.to_string(), source })?;
            spec.profile = parsed.profile.unwrap_or_default();
            spec.phases = parsed.phases;
            for (key, value) in flatten(&parsed.parameters) {
                spec.overrides.set(Layer::File, &key, value);
            }
        }
        if let Some(p) = profile {
            spec.profile = p;
        }
        for arg in sets {
            spec.overrides.parse_set(arg).map_err(|source| SpecError::Parameter { file: "--set".into(), source })?;
        }
        Ok(spec)
    }
}

/// `{a: {b: 1}}` and `{a.b: 1}` both become `a.b = 1`; lists stay values.
fn flatten(map: &BTreeMap<String, Value>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (k, v) in map {
        match v {
            Value::Object(inner) => {
                let inner: BTreeMap<String, Value> = inner.clone().into_iter().collect();
                out.extend(flatten(&inner).into_iter().map(|(ik, iv)| (format!("{k}.{ik}"), iv)));
            }
            other => out.push((k.clone(), other.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn file_then_flags() {
        let file = "profile: ci\nphases: [object-storage]\nparameters:\n  minio: {storage: 9Gi}\n  minio.replicas: 1\n";
        let spec = Spec::build(Some(("bigtop.yaml", file)), None, &["minio.storage=3Gi".into()]).unwrap();
        assert_eq!(spec.profile, Profile::Ci);
        assert_eq!(spec.phases, ["object-storage"]);
        assert_eq!(spec.overrides.0["minio.storage"].1, json!("3Gi"));
        assert_eq!(spec.overrides.0["minio.replicas"].1, json!(1));
    }

    #[test]
    fn profile_flag_wins_and_unknown_fields_fail() {
        let spec = Spec::build(Some(("f", "profile: ci\n")), Some(Profile::Production), &[]).unwrap();
        assert_eq!(spec.profile, Profile::Production);
        let err = Spec::build(Some(("f", "phasez: []\n")), None, &[]).unwrap_err();
        assert!(matches!(err, SpecError::Parse { .. }));
        assert!(Spec::build(Some(("f", "profile: huge\n")), None, &[]).is_err());
    }
}
