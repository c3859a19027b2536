//! Parameters: their declared kinds, validation, and resolution with the documented precedence
//! defaults < profile < `bigtop.yaml` < `--set`.
//!
//! Keys are `<addon>.<parameter>` for addon parameters and `<phase>.<parameter>` for a phase's
//! choice of addons. Pure: no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::Catalog;
use crate::spec::Profile;

/// What values a parameter accepts.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Validation {
    /// A Kubernetes quantity such as `512Mi`, `2Gi` or `500m`.
    Quantity,
    /// An integer within bounds.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// `true` or `false`.
    Bool,
    /// One of a fixed list.
    Enum {
        /// Accepted values.
        values: Vec<String>,
    },
    /// A DNS-1123 label (names of Kubernetes objects, users).
    DnsLabel,
    /// A list of S3 bucket names (AWS naming rules).
    BucketNames,
    /// One S3 bucket name.
    BucketName,
    /// An absolute filesystem path on the nodes.
    AbsolutePath,
    /// An `http://` or `https://` URL without a trailing slash.
    Url,
    /// Extra `key=value` lines for a connector's catalog file, as a list (or comma-separated
    /// from `--set`); keys the pinned release no longer knows are refused with their successor.
    CatalogProperties {
        /// Key prefix → what replaced it in the pinned release.
        removed: BTreeMap<String, String>,
    },
    /// A JVM memory size (`512m`, `2g`) of at least what a JVM-based server needs to start.
    JvmMemory,
}

/// Spark refuses to start with less system memory than 450 MiB (its `MemoryManager` check).
pub const JVM_MIN_MIB: u64 = 450;

/// MiB of a JVM memory size: digits and a unit k, m, g or t (Spark's and `-Xmx`'s syntax).
pub fn jvm_memory_mib(s: &str) -> Option<u64> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = digits.parse().ok()?;
    match unit.to_ascii_lowercase().as_str() {
        "k" => Some(n / 1024),
        "m" => Some(n),
        "g" => n.checked_mul(1024),
        "t" => n.checked_mul(1024 * 1024),
        _ => None,
    }
}

/// A declared parameter. (No `deny_unknown_fields`: serde cannot combine it with `flatten`;
/// the catalog lint test checks the keys instead.)
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ParamDef {
    /// Value when nothing else sets it.
    pub default: Value,
    /// Per-profile defaults (`laptop`, `ci`, `production`).
    #[serde(default)]
    pub profiles: BTreeMap<String, Value>,
    /// One line for `phases` and error messages.
    pub help: String,
    /// Accepted values.
    #[serde(flatten)]
    pub validation: Validation,
}

/// Why a parameter was rejected.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ParamError {
    /// No parameter of that name exists.
    #[error("unknown parameter {key}; valid keys: {valid}")]
    Unknown {
        /// The key as given.
        key: String,
        /// Every valid key, comma-separated.
        valid: String,
    },
    /// The value does not fit the parameter's kind.
    #[error("invalid value {value} for {key}: {reason}")]
    Invalid {
        /// The key.
        key: String,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `--set` argument without `=`.
    #[error("--set expects key=value, got {0:?}")]
    Malformed(String),
}

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

/// Check `raw` against `validation`, turning strings from `--set` into the declared type.
pub fn coerce(key: &str, validation: &Validation, raw: &Value) -> Result<Value, ParamError> {
    let invalid = |reason: String| ParamError::Invalid { key: key.to_string(), value: display(raw), reason };
    match validation {
        Validation::Quantity => {
            let s = scalar_string(raw);
            if is_quantity(&s) { Ok(Value::String(s)) } else { Err(invalid("expected a quantity such as 512Mi, 2Gi or 500m".into())) }
        }
        Validation::Int { min, max } => {
            let n = match raw {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| invalid("expected an integer".into()))?;
            if n < *min || n > *max {
                return Err(invalid(format!("must be between {min} and {max}")));
            }
            Ok(Value::from(n))
        }
        Validation::Bool => match raw {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            _ => Err(invalid("expected true or false".into())),
        },
        Validation::Enum { values } => {
            let s = scalar_string(raw);
            if values.contains(&s) { Ok(Value::String(s)) } else { Err(invalid(format!("expected one of: {}", values.join(", ")))) }
        }
        Validation::DnsLabel => {
            let s = scalar_string(raw);
            dns_label(&s).map_err(invalid)?;
            Ok(Value::String(s))
        }
        Validation::BucketName => {
            let s = scalar_string(raw);
            bucket_name(&s).map_err(|r| invalid(format!("not a valid S3 bucket name: {r}")))?;
            Ok(Value::String(s))
        }
        Validation::CatalogProperties { removed } => {
            let entries: Vec<String> = match raw {
                Value::Array(items) => items.iter().map(scalar_string).collect(),
                other => scalar_string(other).split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_string).collect(),
            };
            for entry in &entries {
                let (k, _) = entry.split_once('=').ok_or_else(|| invalid(format!("{entry:?} is not key=value")))?;
                if k.is_empty() || !k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'_') {
                    return Err(invalid(format!("{k:?} is not a catalog property name")));
                }
                if let Some((prefix, successor)) = removed.iter().find(|(p, _)| k.starts_with(p.as_str())) {
                    return Err(invalid(format!("{k}: the {prefix}* properties do not exist in the pinned release; {successor}")));
                }
            }
            Ok(Value::Array(entries.into_iter().map(Value::String).collect()))
        }
        Validation::JvmMemory => {
            let s = scalar_string(raw);
            let mib = jvm_memory_mib(&s).ok_or_else(|| invalid("expected a JVM memory size such as 512m or 2g".into()))?;
            if mib < JVM_MIN_MIB {
                return Err(invalid(format!("{mib} MiB is below the {JVM_MIN_MIB} MiB Spark's JVM needs to start (it refuses less)")));
            }
            Ok(Value::String(s))
        }
        Validation::Url => {
            let s = scalar_string(raw);
            let parsed = url::Url::parse(&s).map_err(|e| invalid(format!("not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || s.ends_with('/') {
                return Err(invalid("expected an http:// or https:// URL without a trailing slash".into()));
            }
            Ok(Value::String(s))
        }
        Validation::AbsolutePath => {
            let s = scalar_string(raw);
            let clean = s.starts_with('/') && !s.split('/').any(|part| part == "..") && !s.chars().any(char::is_whitespace);
            if clean { Ok(Value::String(s)) } else { Err(invalid("expected an absolute path without '..' or spaces".into())) }
        }
        Validation::BucketNames => {
            let names: Vec<String> = match raw {
                Value::Array(items) => items.iter().map(scalar_string).collect(),
                Value::String(s) => s.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect(),
                _ => return Err(invalid("expected a list of bucket names".into())),
            };
            if names.is_empty() {
                return Err(invalid("at least one bucket is required".into()));
            }
            for n in &names {
                bucket_name(n).map_err(|r| invalid(format!("bucket {n:?}: {r}")))?;
            }
            Ok(Value::from(names))
        }
    }
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// A Kubernetes resource quantity (decimal number with an optional SI or binary suffix).
pub fn is_quantity(s: &str) -> bool {
    const SUFFIXES: [&str; 13] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E"];
    let number = SUFFIXES.iter().find_map(|suf| s.strip_suffix(suf)).unwrap_or(s);
    let mut parts = number.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Parse a memory quantity into bytes (binary and decimal suffixes).
pub fn quantity_bytes(s: &str) -> Option<u64> {
    const UNITS: [(&str, u64); 10] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
        ("m", 0),
        ("", 1),
    ];
    let (number, unit) = UNITS.iter().find_map(|(suf, mult)| s.strip_suffix(suf).map(|n| (n, *mult)))?;
    if unit == 0 || !is_quantity(s) {
        return None;
    }
    number.parse::<f64>().ok().map(|n| (n * unit as f64) as u64)
}

fn dns_label(s: &str) -> Result<(), String> {
    let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if s.is_empty() || s.len() > 63 || !ok_chars || s.starts_with('-') || s.ends_with('-') {
        return Err("expected a DNS-1123 label: 1-63 lowercase letters, digits or '-', not starting or ending with '-'".into());
    }
    Ok(())
}

/// The S3 bucket naming rules for general purpose buckets.
pub fn bucket_name(n: &str) -> Result<(), String> {
    if n.len() < 3 || n.len() > 63 {
        return Err("must be 3 to 63 characters long".into());
    }
    if !n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-') {
        return Err("only lowercase letters, digits, '.' and '-' are allowed".into());
    }
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge_ok(n.as_bytes()[0]) || !edge_ok(n.as_bytes()[n.len() - 1]) {
        return Err("must begin and end with a letter or digit".into());
    }
    if n.contains("..") || n.contains(".-") || n.contains("-.") {
        return Err("must not contain '..', '.-' or '-.'".into());
    }
    if n.split('.').count() == 4 && n.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err("must not be formatted as an IP address".into());
    }
    if n.starts_with("xn--") || n.starts_with("sthree-") || n.ends_with("-s3alias") || n.ends_with("--ol-s3") {
        return Err("uses a prefix or suffix reserved by S3".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities() {
        for ok in ["1", "512Mi", "2Gi", "500m", "1.5Gi", "10G"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "Gi", "1.Gi", "-1Gi", "1 Gi", "1gb", "lots"] {
            assert!(!is_quantity(bad), "{bad}");
        }
        assert_eq!(quantity_bytes("512Mi"), Some(512 << 20));
        assert_eq!(quantity_bytes("1.5Gi"), Some(3 << 29));
    }

    #[test]
    fn bucket_rules() {
        for ok in ["warehouse", "raw", "a.b-c", "123"] {
            assert!(bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "Warehouse", "-raw", "raw-", "a..b", "192.168.1.1", "xn--abc", "has_underscore", &"x".repeat(64)] {
            assert!(bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn coerce_turns_flag_strings_into_types() {
        let int = Validation::Int { min: 1, max: 5 };
        assert_eq!(coerce("a.n", &int, &json!("3")), Ok(json!(3)));
        assert!(matches!(coerce("a.n", &int, &json!("9")), Err(ParamError::Invalid { .. })));
        assert_eq!(coerce("a.b", &Validation::Bool, &json!("true")), Ok(json!(true)));
        assert_eq!(coerce("a.l", &Validation::BucketNames, &json!("raw, clean")), Ok(json!(["raw", "clean"])));
        let err = coerce("a.l", &Validation::BucketNames, &json!("raw,Bad")).unwrap_err();
        assert!(err.to_string().contains("bucket \"Bad\""), "{err}");
    }

    #[test]
    fn flag_beats_file_whatever_the_order() {
        let mut o = Overrides::default();
        o.set(Layer::Flag, "a.x", json!("flag"));
        o.set(Layer::File, "a.x", json!("file"));
        assert_eq!(o.0["a.x"].1, json!("flag"));
        assert_eq!(o.parse_set("novalue"), Err(ParamError::Malformed("novalue".into())));
    }
}
