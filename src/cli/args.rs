//! The clap definitions: every flag and subcommand, and how each maps to a domain type.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(super) use super::service_args::{KafkaCommand, SparkCommand};

use crate::cluster::Target;
use crate::commands::cluster::ClusterSource;
use crate::commands::{SpecArgs, add, capi, cluster};
use crate::error::Error;
use crate::output::Format;
use crate::plan::MissingDeps;
use crate::profile::Profile;
use crate::provider::capi::{CapiSpec, Infrastructure};
use crate::provider::capi_workload::{CapiWorkload, Management};
use crate::provider::kind::{KindRole, KindSpec, PortMapping};
use crate::provider::kind_cluster::{KindCluster, Preflight};

/// Cloud-in-a-box analytics on Kubernetes, installed in verified phases.
#[derive(Debug, Parser)]
#[command(name = "bigtop-k8s", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub(super) global: GlobalArgs,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Args)]
pub(super) struct GlobalArgs {
    /// Kubeconfig file, or a list of them as KUBECONFIG holds it (default: $KUBECONFIG or ~/.kube/config).
    /// (A String: an empty KUBECONFIG means unset, as for kubectl; clap's path parser refuses it.)
    #[arg(long, global = true, env = "KUBECONFIG", hide_env_values = true)]
    pub(super) kubeconfig: Option<String>,
    /// Kubeconfig context (default: the current context).
    #[arg(long, global = true)]
    pub(super) context: Option<String>,
    /// Result format on stdout.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = OutputArg::Text)]
    pub(super) output: OutputArg,
    /// More log detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(super) verbose: u8,
    /// No progress output.
    #[arg(short, long, global = true)]
    pub(super) quiet: bool,
    /// Seconds to wait for a phase to become ready (and for removals to finish).
    #[arg(long, global = true, default_value_t = 300)]
    pub(super) timeout: u64,
    /// Extra addons directory (same layout as addons/) merged into the built-in catalog.
    #[arg(long, global = true, env = "BIGTOP_K8S_CATALOG")]
    pub(super) catalog_dir: Option<PathBuf>,
    /// Mirror directory holding pinned upstream artifacts, for offline use.
    #[arg(long, global = true, env = "BIGTOP_K8S_MIRROR")]
    pub(super) mirror: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum OutputArg {
    Text,
    Json,
    Yaml,
}

impl From<OutputArg> for Format {
    fn from(o: OutputArg) -> Format {
        match o {
            OutputArg::Text => Format::Text,
            OutputArg::Json => Format::Json,
            OutputArg::Yaml => Format::Yaml,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum ProfileArg {
    Laptop,
    Ci,
    Production,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Laptop => Profile::Laptop,
            ProfileArg::Ci => Profile::Ci,
            ProfileArg::Production => Profile::Production,
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct SpecFlags {
    /// Declarative spec (profile, phases, parameters).
    #[arg(short = 'f', long = "file")]
    pub(super) file: Option<PathBuf>,
    /// Sizing profile (overrides the file's).
    #[arg(long, value_enum)]
    pub(super) profile: Option<ProfileArg>,
    /// Set a parameter: --set addon.param=value (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(super) sets: Vec<String>,
}

impl From<&SpecFlags> for SpecArgs {
    fn from(f: &SpecFlags) -> SpecArgs {
        SpecArgs { file: f.file.clone(), profile: f.profile.map(Into::into), sets: f.sets.clone() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ProviderArg {
    Kind,
    Existing,
    Capi,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum InfrastructureArg {
    Docker,
    Aws,
    Vsphere,
}

impl From<InfrastructureArg> for Infrastructure {
    fn from(i: InfrastructureArg) -> Infrastructure {
        match i {
            InfrastructureArg::Docker => Infrastructure::Docker,
            InfrastructureArg::Aws => Infrastructure::Aws,
            InfrastructureArg::Vsphere => Infrastructure::Vsphere,
        }
    }
}

/// Where a ClusterAPI cluster is managed from (create and delete).
#[derive(Debug, Args)]
pub(super) struct ManagementFlags {
    /// ClusterAPI: use this existing management cluster (default: a Kind cluster <name>-mgmt).
    #[arg(long)]
    pub(super) management_kubeconfig: Option<PathBuf>,
    /// ClusterAPI: context in the management kubeconfig.
    #[arg(long, requires = "management_kubeconfig")]
    pub(super) management_context: Option<String>,
    /// ClusterAPI: namespace of the Cluster object in the management cluster.
    #[arg(long, default_value = "default")]
    pub(super) capi_namespace: String,
}

impl ManagementFlags {
    pub(super) fn management(&self, workload: &str) -> Management {
        match &self.management_kubeconfig {
            Some(path) => Management::Existing(Target { kubeconfig: Some(path.clone()), context: self.management_context.clone() }),
            None => Management::kind_for(workload),
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct CapiFlags {
    /// ClusterAPI: infrastructure provider of the workload cluster.
    #[arg(long, value_enum, default_value_t = InfrastructureArg::Docker)]
    pub(super) infrastructure: InfrastructureArg,
    /// ClusterAPI: control-plane machines (odd).
    #[arg(long, default_value_t = 1)]
    pub(super) control_plane_nodes: u32,
    /// ClusterAPI: template variable NAME=VALUE (repeatable; the environment is read too).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub(super) vars: Vec<String>,
    #[command(flatten)]
    pub(super) management: ManagementFlags,
}

#[derive(Debug, Args)]
pub(super) struct ClusterFlags {
    /// Cluster name (Kind).
    #[arg(long, default_value = "bigtop")]
    pub(super) name: String,
    /// Worker nodes besides the control plane (Kind).
    #[arg(long, default_value_t = 0)]
    pub(super) workers: u32,
    /// Kubernetes version of the Kind nodes (default: the newest pinned for our kind release).
    #[arg(long)]
    pub(super) kubernetes_version: Option<String>,
    /// Reserve this many of the workers for Spark (labelled and tainted bigtop.apache.org/spark=true).
    #[arg(long, default_value_t = 0)]
    pub(super) spark_nodes: u32,
    /// Publish a node port on 127.0.0.1: HOST:CONTAINER (repeatable).
    #[arg(long = "port", value_name = "HOST:CONTAINER", value_parser = parse_port)]
    pub(super) ports: Vec<PortMapping>,
    /// Pull images through this registry mirror (pull-through cache), e.g. http://127.0.0.1:5001.
    #[arg(long)]
    pub(super) registry_mirror: Option<String>,
    /// Go on even when preflight checks fail.
    #[arg(long)]
    pub(super) force: bool,
    /// Skip the checkpoints (where pods are simulated).
    #[arg(long)]
    pub(super) no_verify: bool,
}

fn parse_port(s: &str) -> Result<PortMapping, String> {
    let (host, container) = s.split_once(':').ok_or("expected HOST:CONTAINER, e.g. 8080:30080")?;
    let port = |p: &str| p.parse::<u16>().map_err(|_| format!("{p:?} is not a port number"));
    Ok(PortMapping { host: port(host)?, container: port(container)? })
}

impl ClusterFlags {
    pub(super) fn create_args(
        &self,
        provider: ProviderArg,
        capi_flags: Option<&CapiFlags>,
        spec: &SpecFlags,
    ) -> Result<cluster::CreateArgs, Error> {
        let spec: SpecArgs = spec.into();
        let kind = KindCluster {
            spec: KindSpec {
                name: self.name.clone(),
                workers: self.workers,
                kubernetes: self.kubernetes_version.clone(),
                ports: self.ports.clone(),
                mirror: self.registry_mirror.clone(),
                role: KindRole::Workload,
                spark_nodes: self.spark_nodes,
            },
            preflight: if self.force { Preflight::Ignore } else { Preflight::Enforce },
            profile: spec.profile.unwrap_or_default(),
        };
        let provider = match (provider, capi_flags) {
            (ProviderArg::Kind, _) => ClusterSource::Kind(kind),
            (ProviderArg::Existing, _) => ClusterSource::Existing,
            (ProviderArg::Capi, None) => return Err(Error::usage("--provider capi is for create-cluster")),
            (ProviderArg::Capi, Some(c)) => {
                let spec = CapiSpec {
                    name: self.name.clone(),
                    namespace: c.management.capi_namespace.clone(),
                    infrastructure: c.infrastructure.into(),
                    kubernetes: self.kubernetes_version.clone(),
                    control_plane_nodes: c.control_plane_nodes,
                    workers: self.workers,
                    variables: capi::parse_vars(&c.vars)?,
                };
                ClusterSource::Capi(CapiWorkload::new(spec, c.management.management(&self.name), kind))
            }
        };
        Ok(cluster::CreateArgs { provider, verify: if self.no_verify { add::Verify::Skip } else { add::Verify::Run }, spec })
    }
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Create a Kind cluster and install the lakehouse: base, then the default phases
    /// (object-storage, sql, spark), or those of --phases or -f. One command.
    Up {
        /// Phases to install after base, comma-separated (their dependencies come along);
        /// default: the catalog's default phases.
        #[arg(long, value_delimiter = ',', value_name = "PHASES")]
        phases: Vec<String>,
        #[command(flatten)]
        cluster: ClusterFlags,
        #[command(flatten)]
        spec: SpecFlags,
    },
    /// Create a cluster (Kind, ClusterAPI, or use an existing one) and install the base phase.
    CreateCluster {
        /// Where the cluster comes from.
        #[arg(long, value_enum, default_value_t = ProviderArg::Kind)]
        provider: ProviderArg,
        #[command(flatten)]
        cluster: ClusterFlags,
        #[command(flatten)]
        capi: CapiFlags,
        #[command(flatten)]
        spec: SpecFlags,
    },
    /// Delete a cluster (Kind, or ClusterAPI and its Kind management cluster) and what was
    /// created for it. Idempotent.
    DeleteCluster {
        /// Cluster name.
        #[arg(long, default_value = "bigtop")]
        name: String,
        /// How the cluster was created (kind or capi).
        #[arg(long, value_enum, default_value_t = ProviderArg::Kind)]
        provider: ProviderArg,
        #[command(flatten)]
        management: ManagementFlags,
    },
    /// List phases, addons, versions, images, parameters and resource requests.
    Phases {
        /// Profile whose defaults and requests to show.
        #[arg(long, value_enum, default_value_t = ProfileArg::Laptop)]
        profile: ProfileArg,
    },
    /// Print the exact objects a phase would apply.
    Render {
        /// Phases to render (default: those of -f).
        phases: Vec<String>,
        #[command(flatten)]
        spec: SpecFlags,
        /// Write <phase>.yaml files here instead of printing.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// List every container image the phases run (for preloading and mirroring).
    Images {
        /// Phases to list (default: every phase; each with the choice -f/--set select).
        phases: Vec<String>,
        #[command(flatten)]
        spec: SpecFlags,
    },
    /// Install phases: apply, wait until ready, run the checkpoint, record state.
    AddPhase {
        /// Phases to install (added to those of -f).
        phases: Vec<String>,
        #[command(flatten)]
        spec: SpecFlags,
        /// Also install missing dependency phases.
        #[arg(long)]
        with_deps: bool,
        /// Plan and render only; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Skip the checkpoint (where pods are simulated).
        #[arg(long)]
        no_verify: bool,
    },
    /// Delete every object of a phase and forget it.
    RemovePhase {
        /// Phases to remove.
        phases: Vec<String>,
        /// Remove even if installed phases depend on it.
        #[arg(long)]
        force: bool,
    },
    /// Issue new lake keys: give them to the server, update every copy, restart their
    /// consumers, check the new keys work and the old ones are refused.
    RotateKeys {
        /// Services whose keys to rotate (default: every service of the lake).
        services: Vec<String>,
        /// Skip the checkpoints and the old-key check (where pods are simulated).
        #[arg(long)]
        no_verify: bool,
    },
    /// Re-run checkpoints and record the evidence.
    Verify {
        /// Phases to verify (default: all installed).
        phases: Vec<String>,
    },
    /// Show installed phases, versions and last checkpoint.
    Status,
    /// Show how to reach each installed service.
    Endpoints {
        /// Open port-forwards to every endpoint and hold them until Ctrl-C.
        #[arg(long)]
        forward: bool,
    },
    /// Run one SQL statement on the sql phase's engine (Trino or Presto) and print the rows.
    Sql {
        /// The statement, e.g. "SELECT * FROM hive.sales.orders LIMIT 10".
        statement: String,
    },
    /// Spark applications on the cluster (the spark phase).
    Spark {
        #[command(subcommand)]
        command: SparkCommand,
    },
    /// Kafka topics of the streaming phase: produce records, consume them.
    Kafka {
        #[command(subcommand)]
        command: KafkaCommand,
    },
    /// Check Docker, the machine and Kubernetes access, each with its fix.
    Doctor {
        /// Profile whose budget Docker's memory and CPUs are checked against.
        #[arg(long, value_enum, default_value_t = ProfileArg::Laptop)]
        profile: ProfileArg,
    },
    /// Print a shell completion script (e.g. `bigtop-k8s completions bash > ~/.local/share/bash-completion/completions/bigtop-k8s`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page in roff (e.g. `bigtop-k8s man | man -l -`).
    Man,
}

impl Command {
    /// `add-phase`'s flags as the command's arguments.
    pub(super) fn add_args(&self) -> Option<add::AddArgs> {
        let Command::AddPhase { phases, spec, with_deps, dry_run, no_verify } = self else { return None };
        Some(add::AddArgs {
            phases: phases.clone(),
            spec: spec.into(),
            missing: if *with_deps { MissingDeps::Install } else { MissingDeps::Refuse },
            mode: if *dry_run { add::Mode::DryRun } else { add::Mode::Apply },
            verify: if *no_verify { add::Verify::Skip } else { add::Verify::Run },
        })
    }
}
