//! The ClusterAPI provider's configuration: the pinned clusterctl and provider versions
//! (`bootstrap/capi/providers.yaml`), the template variables each infrastructure needs and their
//! validation, and the rendered workload cluster (`cluster-templates/<infrastructure>.yaml`).
//! Pure: the environment is passed in as a lookup function.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use minijinja::{Environment, UndefinedBehavior, context};
use serde::Deserialize;
use serde_json::Value;

use super::bootstrap_file;
use super::kind::{NodeImages, node_image, validate_name};
use crate::render::{MANAGED_BY, RenderError, parse_documents};

/// The workload cluster templates compiled into the binary.
#[derive(rust_embed::Embed)]
#[folder = "cluster-templates/"]
struct Templates;

/// Label naming the workload cluster on every object we create for it.
pub const CLUSTER_LABEL: &str = "cluster.x-k8s.io/cluster-name";
/// Service CIDR of workload clusters (kubeadm's default).
pub const SERVICE_SUBNET: &str = "10.96.0.0/12";
/// Control-plane machines at most (etcd quorum beyond 7 only costs).
pub const MAX_CONTROL_PLANE: u32 = 7;
/// Worker machines at most in one machine deployment we create.
pub const MAX_WORKERS: u32 = 100;

/// Where the workload cluster's machines come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Infrastructure {
    /// CAPD: containers of the host's Docker (local; ClusterAPI's own test substrate).
    Docker,
    /// CAPA: EC2 instances.
    Aws,
    /// CAPV: vSphere VMs.
    Vsphere,
}

impl Infrastructure {
    /// Every infrastructure, in the order the CLI lists them.
    pub const ALL: [Infrastructure; 3] = [Infrastructure::Docker, Infrastructure::Aws, Infrastructure::Vsphere];

    /// Its name in `providers.yaml`, the template file and `clusterctl init --infrastructure`.
    pub fn name(self) -> &'static str {
        match self {
            Infrastructure::Docker => "docker",
            Infrastructure::Aws => "aws",
            Infrastructure::Vsphere => "vsphere",
        }
    }
}

/// `bootstrap/capi/providers.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Providers {
    /// The clusterctl release we drive (`v1.12.11`).
    pub clusterctl_version: String,
    /// Workload Kubernetes minor versions this ClusterAPI release supports.
    pub kubernetes_minors: MinorRange,
    /// `clusterctl init --core`.
    pub core: String,
    /// `clusterctl init --bootstrap`.
    pub bootstrap: String,
    /// `clusterctl init --control-plane`.
    pub control_plane: String,
    /// Deployments (`namespace/name`) of the core, bootstrap and control-plane providers.
    pub controllers: Vec<String>,
    /// Per infrastructure name.
    pub infrastructures: BTreeMap<String, InfraProvider>,
}

/// Inclusive range of Kubernetes 1.x minors.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinorRange {
    /// Lowest.
    pub min: u32,
    /// Highest.
    pub max: u32,
}

/// One infrastructure provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InfraProvider {
    /// The provider's controller Deployment (`namespace/name`).
    pub controller: String,
    /// Seconds to wait for the control plane, at least.
    pub control_plane_timeout: u64,
    /// `clusterctl init --infrastructure` value (`aws:v2.13.0`).
    pub provider: String,
    /// Whether the management cluster needs the host's Docker socket.
    pub needs_docker_socket: bool,
    /// Environment variables `clusterctl init` needs (credentials; never stored by us).
    pub credentials: Vec<Credential>,
    /// Template variables.
    pub variables: BTreeMap<String, Variable>,
}

/// A credential `clusterctl init` reads from the environment.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Variable name.
    pub name: String,
    /// How to obtain it.
    pub how: String,
}

/// A template variable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// What values are valid.
    pub kind: VariableKind,
    /// Used when neither `--var` nor the environment gives one; required when absent.
    #[serde(default)]
    pub default: Option<String>,
    /// One line for error messages and `--help`.
    pub help: String,
}

/// Validation of a template variable.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum VariableKind {
    /// Any single line.
    Text,
    /// `eu-west-1`.
    AwsRegion,
    /// A DNS name or IPv4 address.
    Host,
    /// `AA:BB:…` (20 bytes).
    Sha1Thumbprint,
    /// A dotted IPv4 address.
    Ipv4,
}

impl Providers {
    /// The embedded table.
    pub fn embedded() -> Providers {
        serde_saphyr::from_str(&bootstrap_file("capi/providers.yaml")).expect("bootstrap/capi/providers.yaml is valid (tested)")
    }

    /// The entry of one infrastructure.
    ///
    /// # Panics
    /// If the embedded table lacks it (covered by tests).
    pub fn infra(&self, infra: Infrastructure) -> &InfraProvider {
        self.infrastructures.get(infra.name()).unwrap_or_else(|| panic!("providers.yaml lists {}", infra.name()))
    }

    /// Every controller Deployment an initialised management cluster has for `infra`.
    pub fn controllers(&self, infra: Infrastructure) -> Vec<(String, String)> {
        let all = self.controllers.iter().chain(std::iter::once(&self.infra(infra).controller));
        all.filter_map(|c| c.split_once('/')).map(|(ns, name)| (ns.to_string(), name.to_string())).collect()
    }

    /// Arguments of `clusterctl init` for one infrastructure, every version explicit.
    pub fn init_args(&self, infra: Infrastructure) -> Vec<String> {
        let mut args = vec!["init".to_string()];
        for (flag, value) in [
            ("--core", &self.core),
            ("--bootstrap", &self.bootstrap),
            ("--control-plane", &self.control_plane),
            ("--infrastructure", &self.infra(infra).provider),
        ] {
            args.push(flag.into());
            args.push(value.clone());
        }
        args
    }
}

/// The workload cluster the user asked for.
#[derive(Debug, Clone)]
pub struct CapiSpec {
    /// Cluster name (also the prefix of every object).
    pub name: String,
    /// Namespace of the ClusterAPI objects in the management cluster.
    pub namespace: String,
    /// Infrastructure provider.
    pub infrastructure: Infrastructure,
    /// Kubernetes version; the Kind table's default when absent.
    pub kubernetes: Option<String>,
    /// Control-plane machines (odd).
    pub control_plane_nodes: u32,
    /// Worker machines.
    pub workers: u32,
    /// `--var NAME=VALUE`.
    pub variables: BTreeMap<String, String>,
}

/// Why a workload cluster cannot be rendered, or its provider not initialised.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CapiConfigError {
    /// The name is not usable.
    #[error(transparent)]
    Name(#[from] super::kind::KindConfigError),
    /// Kubernetes version outside what ClusterAPI supports, or malformed.
    #[error("Kubernetes {version} is not supported for ClusterAPI workload clusters: {reason}")]
    Kubernetes {
        /// The version.
        version: String,
        /// Why.
        reason: String,
    },
    /// Even numbers of control-plane machines lose etcd quorum as easily as one fewer.
    #[error("{0} control-plane machines: use an odd number from 1 to {MAX_CONTROL_PLANE}")]
    ControlPlane(u32),
    /// Too many workers.
    #[error("{0} workers: at most {MAX_WORKERS} in one machine deployment")]
    Workers(u32),
    /// `--var` names a variable the template does not have.
    #[error("unknown variable {name} for the {infra} template; valid: {valid}")]
    UnknownVariable {
        /// The name given.
        name: String,
        /// Infrastructure.
        infra: &'static str,
        /// Valid names.
        valid: String,
    },
    /// Required variables without a value.
    #[error("the {infra} template needs {}", list_missing(.missing))]
    MissingVariables {
        /// Infrastructure.
        infra: &'static str,
        /// Name and help of each.
        missing: Vec<(String, String)>,
    },
    /// A variable's value is malformed.
    #[error("variable {name}={value:?} is invalid: {reason}")]
    InvalidVariable {
        /// Name.
        name: String,
        /// Value.
        value: String,
        /// Why.
        reason: String,
    },
    /// Credentials `clusterctl init` needs are not in the environment.
    #[error("clusterctl init --infrastructure {infra} needs {}", .missing.iter().map(|c| format!("{} ({})", c.name, c.how)).collect::<Vec<_>>().join("; "))]
    MissingCredentials {
        /// Infrastructure.
        infra: &'static str,
        /// What is missing and how to get it.
        missing: Vec<Credential>,
    },
    /// The embedded template failed (a bug: templates are tested).
    #[error("cluster-templates/{0}.yaml did not render: {1}")]
    Template(&'static str, String),
}

fn list_missing(missing: &[(String, String)]) -> String {
    missing.iter().map(|(n, h)| format!("{n} ({h})")).collect::<Vec<_>>().join(", ")
}

/// Validate everything about the spec that needs no cluster, and resolve the template
/// variables: `--var`, then the environment (clusterctl's own variable names), then defaults.
pub fn resolve_variables(
    spec: &CapiSpec,
    providers: &Providers,
    env: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, CapiConfigError> {
    validate_name(&spec.name)?;
    kubernetes_version(spec, providers, &NodeImages::embedded())?;
    if spec.control_plane_nodes.is_multiple_of(2) || spec.control_plane_nodes > MAX_CONTROL_PLANE {
        return Err(CapiConfigError::ControlPlane(spec.control_plane_nodes));
    }
    if spec.workers > MAX_WORKERS {
        return Err(CapiConfigError::Workers(spec.workers));
    }
    let infra = spec.infrastructure.name();
    let declared = &providers.infra(spec.infrastructure).variables;
    if let Some(unknown) = spec.variables.keys().find(|k| !declared.contains_key(*k)) {
        let valid = if declared.is_empty() { "none".into() } else { declared.keys().cloned().collect::<Vec<_>>().join(", ") };
        return Err(CapiConfigError::UnknownVariable { name: unknown.clone(), infra, valid });
    }
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, var) in declared {
        let given = spec.variables.get(name).cloned().or_else(|| env(name).filter(|v| !v.is_empty()));
        match given.or_else(|| var.default.clone()) {
            Some(value) => {
                check_variable(name, var.kind, &value)?;
                values.insert(name.clone(), value);
            }
            None => missing.push((name.clone(), var.help.clone())),
        }
    }
    if !missing.is_empty() {
        return Err(CapiConfigError::MissingVariables { infra, missing });
    }
    Ok(values)
}

/// The credentials `clusterctl init` needs for this infrastructure must be in the environment.
pub fn check_credentials(
    infra: Infrastructure,
    providers: &Providers,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(), CapiConfigError> {
    let missing: Vec<Credential> =
        providers.infra(infra).credentials.iter().filter(|c| env(&c.name).is_none_or(|v| v.is_empty())).cloned().collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(CapiConfigError::MissingCredentials { infra: infra.name(), missing }),
    }
}

/// The Kubernetes version to create: given or the Kind table's default, within ClusterAPI's
/// supported minors; the Docker provider also needs a pinned node image for it.
pub fn kubernetes_version(spec: &CapiSpec, providers: &Providers, images: &NodeImages) -> Result<String, CapiConfigError> {
    let version = spec.kubernetes.clone().unwrap_or_else(|| images.default_kubernetes.clone());
    let bad = |reason: String| CapiConfigError::Kubernetes { version: version.clone(), reason };
    let parts: Vec<&str> = version.strip_prefix("v1.").unwrap_or_default().split('.').collect();
    let minor = match parts.as_slice() {
        [minor, patch] if patch.parse::<u32>().is_ok() => minor.parse::<u32>().ok(),
        _ => None,
    };
    let Some(minor) = minor else { return Err(bad("expected v1.MINOR.PATCH, e.g. v1.35.5".into())) };
    let MinorRange { min, max } = providers.kubernetes_minors;
    if !(min..=max).contains(&minor) {
        return Err(bad(format!("ClusterAPI {} supports v1.{min} to v1.{max}", providers.clusterctl_version)));
    }
    if spec.infrastructure == Infrastructure::Docker {
        node_image(images, Some(&version)).map_err(|e| bad(e.to_string()))?;
    }
    Ok(version)
}

fn check_variable(name: &str, kind: VariableKind, value: &str) -> Result<(), CapiConfigError> {
    let invalid = |reason: &str| Err(CapiConfigError::InvalidVariable { name: name.into(), value: value.into(), reason: reason.into() });
    if value.contains('\n') {
        return invalid("must be one line");
    }
    match kind {
        VariableKind::Text => Ok(()),
        VariableKind::AwsRegion => {
            let parts: Vec<&str> = value.split('-').collect();
            let ok = parts.len() >= 3
                && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
                && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
            if ok { Ok(()) } else { invalid("expected an AWS region such as eu-west-1") }
        }
        VariableKind::Host => {
            let ok = !value.is_empty()
                && value.len() <= 253
                && value.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
            if ok { Ok(()) } else { invalid("expected a host name or IPv4 address, without scheme or path") }
        }
        VariableKind::Sha1Thumbprint => {
            let pairs: Vec<&str> = value.split(':').collect();
            let ok = pairs.len() == 20 && pairs.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
            if ok { Ok(()) } else { invalid("expected 20 colon-separated hex bytes (openssl x509 -noout -fingerprint -sha1)") }
        }
        VariableKind::Ipv4 => match value.parse::<Ipv4Addr>() {
            Ok(_) => Ok(()),
            Err(_) => invalid("expected an IPv4 address"),
        },
    }
}

/// Render the workload cluster: every object goes to the management cluster, in template order,
/// labelled as ours.
pub fn render_cluster(spec: &CapiSpec, providers: &Providers, vars: &BTreeMap<String, String>) -> Result<Vec<Value>, CapiConfigError> {
    let infra = spec.infrastructure.name();
    let images = NodeImages::embedded();
    let version = kubernetes_version(spec, providers, &images)?;
    let image = node_image(&images, Some(&version)).unwrap_or_default();
    let file = Templates::get(&format!("{infra}.yaml")).unwrap_or_else(|| panic!("cluster-templates/{infra}.yaml is embedded"));
    let text = String::from_utf8_lossy(&file.data);
    let ctx = context! {
        name => &spec.name,
        namespace => &spec.namespace,
        kubernetes_version => &version,
        control_plane_nodes => spec.control_plane_nodes,
        workers => spec.workers,
        pod_subnet => &images.pod_subnet,
        service_subnet => SERVICE_SUBNET,
        node_image => image,
        vars => vars,
    };
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let rendered = env.render_str(&text, ctx).map_err(|e| CapiConfigError::Template(infra, e.to_string()))?;
    let mut objects = parse_documents("cluster-templates", &format!("{infra}.yaml"), &rendered)
        .map_err(|e: RenderError| CapiConfigError::Template(infra, e.to_string()))?;
    for obj in &mut objects {
        let labels = &mut obj["metadata"]["labels"];
        if !labels.is_object() {
            *labels = Value::Object(Default::default());
        }
        labels[MANAGED_BY.0] = MANAGED_BY.1.into();
        labels[CLUSTER_LABEL] = spec.name.clone().into();
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(infra: Infrastructure) -> CapiSpec {
        CapiSpec {
            name: "wl".into(),
            namespace: "default".into(),
            infrastructure: infra,
            kubernetes: None,
            control_plane_nodes: 1,
            workers: 1,
            variables: BTreeMap::new(),
        }
    }

    #[test]
    fn table_lists_every_infrastructure_and_init_pins_versions() {
        let p = Providers::embedded();
        for infra in Infrastructure::ALL {
            let args = p.init_args(infra);
            assert!(args.iter().skip(1).step_by(2).all(|a| a.starts_with("--")), "{args:?}");
            assert!(args.iter().skip(2).step_by(2).all(|v| v.contains(":v")), "every provider has a version: {args:?}");
        }
        assert!(p.infra(Infrastructure::Docker).needs_docker_socket);
        assert_eq!(p.controllers(Infrastructure::Aws).len(), 4);
        assert_eq!(p.controllers(Infrastructure::Aws)[3], ("capa-system".into(), "capa-controller-manager".into()));
    }

    #[test]
    fn versions_control_planes_and_variables_are_checked() {
        let p = Providers::embedded();
        let none = |_: &str| None;
        assert!(resolve_variables(&spec(Infrastructure::Docker), &p, none).unwrap().is_empty());
        let mut s = spec(Infrastructure::Docker);
        s.kubernetes = Some("v1.36.1".into());
        assert!(resolve_variables(&s, &p, none).unwrap_err().to_string().contains("supports v1.29 to v1.35"));
        s.kubernetes = Some("1.35".into());
        assert!(matches!(resolve_variables(&s, &p, none), Err(CapiConfigError::Kubernetes { .. })));
        let mut s = spec(Infrastructure::Docker);
        s.kubernetes = Some("v1.32.0".into());
        assert!(resolve_variables(&s, &p, none).unwrap_err().to_string().contains("no kind node image"), "docker needs a node image");
        let mut s = spec(Infrastructure::Aws);
        s.kubernetes = Some("v1.32.0".into());
        assert!(matches!(resolve_variables(&s, &p, none), Err(CapiConfigError::MissingVariables { .. })), "aws needs no node image");
        for n in [0, 2, 9] {
            let s = CapiSpec { control_plane_nodes: n, ..spec(Infrastructure::Docker) };
            assert_eq!(resolve_variables(&s, &p, none), Err(CapiConfigError::ControlPlane(n)));
        }
        let mut s = spec(Infrastructure::Docker);
        s.variables.insert("AWS_REGION".into(), "eu-west-1".into());
        assert!(resolve_variables(&s, &p, none).unwrap_err().to_string().contains("valid: none"));
    }

    #[test]
    fn aws_variables_come_from_flags_then_environment_then_defaults() {
        let p = Providers::embedded();
        let err = resolve_variables(&spec(Infrastructure::Aws), &p, |_| None).unwrap_err().to_string();
        assert!(err.contains("AWS_REGION (region of the cluster") && !err.contains("AWS_SSH_KEY_NAME"), "{err}");
        let env = |k: &str| (k == "AWS_REGION").then(|| "eu-west-1".to_string());
        let vars = resolve_variables(&spec(Infrastructure::Aws), &p, env).unwrap();
        assert_eq!(vars["AWS_REGION"], "eu-west-1");
        assert_eq!(vars["AWS_SSH_KEY_NAME"], "default");
        let mut s = spec(Infrastructure::Aws);
        s.variables.insert("AWS_REGION".into(), "Frankfurt".into());
        assert!(matches!(resolve_variables(&s, &p, env), Err(CapiConfigError::InvalidVariable { .. })), "the flag wins and is checked");
    }

    #[test]
    fn variable_kinds() {
        assert!(check_variable("x", VariableKind::AwsRegion, "us-gov-west-1").is_ok());
        assert!(check_variable("x", VariableKind::AwsRegion, "eu-west").is_err());
        assert!(check_variable("x", VariableKind::Host, "vcenter.example.com").is_ok());
        assert!(check_variable("x", VariableKind::Host, "https://vcenter").is_err());
        assert!(check_variable("x", VariableKind::Ipv4, "10.0.0.5").is_ok());
        assert!(check_variable("x", VariableKind::Ipv4, "10.0.0").is_err());
        let thumb = vec!["AB"; 20].join(":");
        assert!(check_variable("x", VariableKind::Sha1Thumbprint, &thumb).is_ok());
        assert!(check_variable("x", VariableKind::Sha1Thumbprint, "AB:CD").is_err());
        assert!(check_variable("x", VariableKind::Text, "a\nb").is_err());
    }

    #[test]
    fn credentials_are_required_before_init() {
        let p = Providers::embedded();
        assert!(check_credentials(Infrastructure::Docker, &p, |_| None).is_ok());
        let err = check_credentials(Infrastructure::Aws, &p, |_| None).unwrap_err().to_string();
        assert!(err.contains("AWS_B64ENCODED_CREDENTIALS") && err.contains("clusterawsadm"), "{err}");
        let err = check_credentials(Infrastructure::Vsphere, &p, |k| (k == "VSPHERE_USERNAME").then(|| "u".into())).unwrap_err();
        assert!(err.to_string().contains("VSPHERE_PASSWORD") && !err.to_string().contains("VSPHERE_USERNAME"));
    }

    #[test]
    fn docker_cluster_uses_canals_subnet_and_the_pinned_image() {
        let p = Providers::embedded();
        let objects = render_cluster(&spec(Infrastructure::Docker), &p, &BTreeMap::new()).unwrap();
        let images = NodeImages::embedded();
        assert_eq!(objects[0]["kind"], "Cluster");
        assert_eq!(objects[0]["spec"]["clusterNetwork"]["pods"]["cidrBlocks"][0], images.pod_subnet.as_str());
        let machine = objects.iter().find(|o| o["kind"] == "DockerMachineTemplate").unwrap();
        assert!(machine["spec"]["template"]["spec"]["customImage"].as_str().unwrap().contains("@sha256:"));
        assert!(objects.iter().all(|o| o["metadata"]["labels"][CLUSTER_LABEL] == "wl"));
    }
}
