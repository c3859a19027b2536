//! What values a parameter accepts: the declared kinds, and how a raw value (from a file or
//! `--set`) is checked and turned into its type. Pure: no I/O, no catalog.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What values a parameter accepts.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Validation {
    /// A positive Kubernetes quantity such as `512Mi`, `2Gi` or `500m` (volume sizes).
    Quantity,
    /// A positive amount of memory: a quantity in bytes (`512Mi`, `2Gi`, `1G`), never in
    /// milli-units.
    Memory,
    /// A positive amount of CPU: cores (`1`, `0.5`) or millicores (`250m`), never in byte units.
    Cpu,
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
    /// A list of registry hosts, each a DNS name with an optional `:port`.
    Hosts,
    /// A CronJob schedule: five fields of digits, `*`, `/`, `,` and `-`.
    Cron,
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

impl Validation {
    /// Every kind, as written in `addon.yaml` (docs/catalog.md documents each).
    pub const KINDS: [&'static str; 15] = [
        "quantity",
        "memory",
        "cpu",
        "int",
        "bool",
        "enum",
        "dns-label",
        "bucket-names",
        "bucket-name",
        "hosts",
        "cron",
        "absolute-path",
        "url",
        "catalog-properties",
        "jvm-memory",
    ];

    /// The kind as written in `addon.yaml`.
    pub fn kind(&self) -> &'static str {
        match self {
            Validation::Quantity => "quantity",
            Validation::Memory => "memory",
            Validation::Cpu => "cpu",
            Validation::Int { .. } => "int",
            Validation::Bool => "bool",
            Validation::Enum { .. } => "enum",
            Validation::DnsLabel => "dns-label",
            Validation::BucketNames => "bucket-names",
            Validation::BucketName => "bucket-name",
            Validation::Hosts => "hosts",
            Validation::Cron => "cron",
            Validation::AbsolutePath => "absolute-path",
            Validation::Url => "url",
            Validation::CatalogProperties { .. } => "catalog-properties",
            Validation::JvmMemory => "jvm-memory",
        }
    }
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

/// Check `raw` against `validation`, turning strings from `--set` into the declared type.
pub fn coerce(key: &str, validation: &Validation, raw: &Value) -> Result<Value, ParamError> {
    let invalid = |reason: String| ParamError::Invalid { key: key.to_string(), value: display(raw), reason };
    let text = || scalar_string(raw);
    let checked = |s: String, check: Result<(), String>| check.map(|()| Value::String(s)).map_err(invalid);
    match validation {
        Validation::Quantity => {
            let s = text();
            let ok = quantity(&s, "a quantity such as 512Mi, 2Gi or 500m", |_| true);
            checked(s, ok)
        }
        Validation::Memory => {
            let s = text();
            let ok = quantity(&s, "memory such as 256Mi or 2Gi", |suffix| suffix != "m");
            checked(s, ok)
        }
        Validation::Cpu => {
            let s = text();
            let ok = quantity(&s, "CPU such as 250m or 1", |suffix| suffix.is_empty() || suffix == "m");
            checked(s, ok)
        }
        Validation::Int { min, max } => int(raw, *min, *max).map(Value::from).map_err(invalid),
        Validation::Bool => match raw {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            _ => Err(invalid("expected true or false".into())),
        },
        Validation::Enum { values } => {
            let s = text();
            let ok = if values.contains(&s) { Ok(()) } else { Err(format!("expected one of: {}", values.join(", "))) };
            checked(s, ok)
        }
        Validation::DnsLabel => {
            let s = text();
            let ok = dns_label(&s);
            checked(s, ok)
        }
        Validation::BucketName => {
            let s = text();
            let ok = bucket_name(&s).map_err(|r| format!("not a valid S3 bucket name: {r}"));
            checked(s, ok)
        }
        Validation::CatalogProperties { removed } => catalog_properties(raw, removed).map_err(invalid),
        Validation::JvmMemory => {
            let s = text();
            let ok = jvm_memory(&s);
            checked(s, ok)
        }
        Validation::Url => {
            let s = text();
            let ok = http_url(&s);
            checked(s, ok)
        }
        Validation::AbsolutePath => {
            let s = text();
            let clean = s.starts_with('/') && !s.split('/').any(|part| part == "..") && !s.chars().any(char::is_whitespace);
            let ok = if clean { Ok(()) } else { Err("expected an absolute path without '..' or spaces".into()) };
            checked(s, ok)
        }
        Validation::BucketNames => bucket_names(raw).map_err(invalid),
        Validation::Hosts => hosts(raw).map_err(invalid),
        Validation::Cron => {
            let s = text();
            let fields: Vec<&str> = s.split_whitespace().collect();
            let ok = fields.len() == 5 && fields.iter().all(|f| f.bytes().all(|b| b.is_ascii_digit() || b"*/,-".contains(&b)));
            let ok = if ok { Ok(()) } else { Err("expected a cron schedule of five fields, e.g. \"*/10 * * * *\"".into()) };
            checked(s, ok)
        }
    }
}

/// A quantity greater than zero whose suffix `unit_ok` accepts.
fn quantity(s: &str, expected: &str, unit_ok: impl Fn(&str) -> bool) -> Result<(), String> {
    if !is_quantity(s) {
        return Err(format!("expected {expected}"));
    }
    let number = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if !unit_ok(&s[number.len()..]) {
        return Err(format!("{s} is not in the right unit: expected {expected}"));
    }
    if number.parse::<f64>().map_or(true, |n| n <= 0.0) {
        return Err(format!("must be greater than zero: expected {expected}"));
    }
    Ok(())
}

fn int(raw: &Value, min: i64, max: i64) -> Result<i64, String> {
    let n = match raw {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or("expected an integer")?;
    if n < min || n > max {
        return Err(format!("must be between {min} and {max}"));
    }
    Ok(n)
}

fn catalog_properties(raw: &Value, removed: &BTreeMap<String, String>) -> Result<Value, String> {
    let entries: Vec<String> = match raw {
        Value::Array(items) => items.iter().map(scalar_string).collect(),
        other => scalar_string(other).split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_string).collect(),
    };
    for entry in &entries {
        let (k, _) = entry.split_once('=').ok_or_else(|| format!("{entry:?} is not key=value"))?;
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'_') {
            return Err(format!("{k:?} is not a catalog property name"));
        }
        if let Some((prefix, successor)) = removed.iter().find(|(p, _)| k.starts_with(p.as_str())) {
            return Err(format!("{k}: the {prefix}* properties do not exist in the pinned release; {successor}"));
        }
    }
    Ok(Value::Array(entries.into_iter().map(Value::String).collect()))
}

fn jvm_memory(s: &str) -> Result<(), String> {
    let mib = jvm_memory_mib(s).ok_or("expected a JVM memory size such as 512m or 2g")?;
    if mib < JVM_MIN_MIB {
        return Err(format!("{mib} MiB is below the {JVM_MIN_MIB} MiB Spark's JVM needs to start (it refuses less)"));
    }
    Ok(())
}

fn http_url(s: &str) -> Result<(), String> {
    let parsed = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || s.ends_with('/') {
        return Err("expected an http:// or https:// URL without a trailing slash".into());
    }
    Ok(())
}

fn bucket_names(raw: &Value) -> Result<Value, String> {
    let names: Vec<String> = match raw {
        Value::Array(items) => items.iter().map(scalar_string).collect(),
        Value::String(s) => s.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect(),
        _ => return Err("expected a list of bucket names".into()),
    };
    if names.is_empty() {
        return Err("at least one bucket is required".into());
    }
    for n in &names {
        bucket_name(n).map_err(|r| format!("bucket {n:?}: {r}"))?;
    }
    Ok(Value::from(names))
}

/// Registry hosts: a list, or comma-separated; each lowercase DNS labels joined by dots, with an
/// optional port.
fn hosts(raw: &Value) -> Result<Value, String> {
    let names: Vec<String> = match raw {
        Value::Array(items) => items.iter().map(scalar_string).collect(),
        Value::String(s) => s.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect(),
        _ => return Err("expected a list of registry hosts".into()),
    };
    for n in &names {
        let (host, port) = n.split_once(':').unwrap_or((n, "1"));
        let labels_ok = host.split('.').all(|l| dns_label(l).is_ok());
        if !labels_ok || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("{n:?} is not a registry host (such as docker.io or registry.local:5000)"));
        }
    }
    Ok(Value::from(names))
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
    #[test]
    fn every_kind_reads_back_as_itself() {
        for kind in Validation::KINDS {
            let fields = match kind {
                "int" => serde_json::json!({"kind": kind, "min": 0, "max": 1}),
                "enum" => serde_json::json!({"kind": kind, "values": ["a"]}),
                "catalog-properties" => serde_json::json!({"kind": kind, "removed": {}}),
                _ => serde_json::json!({"kind": kind}),
            };
            let v: Validation = serde_json::from_value(fields).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(v.kind(), kind);
        }
    }

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
    fn memory_and_cpu_are_positive_and_in_their_units() {
        let ok = |v: &Validation, x: &str| coerce("a.x", v, &json!(x)).is_ok();
        assert!(ok(&Validation::Memory, "256Mi") && ok(&Validation::Memory, "1G") && ok(&Validation::Memory, "1048576"));
        assert!(!ok(&Validation::Memory, "500m") && !ok(&Validation::Memory, "0") && !ok(&Validation::Memory, "0Mi"));
        assert!(ok(&Validation::Cpu, "250m") && ok(&Validation::Cpu, "1") && ok(&Validation::Cpu, "0.5"));
        assert!(!ok(&Validation::Cpu, "512Mi") && !ok(&Validation::Cpu, "0") && !ok(&Validation::Cpu, "0m"));
        assert!(!ok(&Validation::Quantity, "0Gi") && ok(&Validation::Quantity, "5Gi"));
        let err = coerce("minio.cpu", &Validation::Cpu, &json!("512Mi")).unwrap_err().to_string();
        assert!(err.contains("not in the right unit"), "{err}");
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
        assert_eq!(
            coerce("a.r", &Validation::Hosts, &json!("docker.io, registry.local:5000")),
            Ok(json!(["docker.io", "registry.local:5000"]))
        );
        assert_eq!(coerce("a.s", &Validation::Cron, &json!("*/10 * * * *")), Ok(json!("*/10 * * * *")));
        for bad in ["@hourly", "* * * *", "1 2 3 4 5; rm"] {
            assert!(coerce("a.s", &Validation::Cron, &json!(bad)).is_err(), "{bad}");
        }
        for bad in ["Docker.io", "registry.local:0", "a..b", "https://docker.io"] {
            assert!(coerce("a.r", &Validation::Hosts, &json!(bad)).is_err(), "{bad}");
        }
        let err = coerce("a.l", &Validation::BucketNames, &json!("raw,Bad")).unwrap_err();
        assert!(err.to_string().contains("bucket \"Bad\""), "{err}");
    }
}
