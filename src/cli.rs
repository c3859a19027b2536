//! The command line: clap definitions and the one dispatcher. Only this module knows clap;
//! argument enums map to domain types with `From`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cluster::Target;
use crate::commands::{self, Globals, SpecArgs, add, capi, cluster, remove};
use crate::error::{Error, Exit};
use crate::output::{Format, print};
use crate::plan::MissingDeps;
use crate::profile::Profile;
use crate::progress::{Mode, Progress};
use crate::provider::capi::{CapiSpec, Infrastructure};
use crate::provider::kind::{KindRole, KindSpec, PortMapping};

/// Cloud-in-a-box analytics on Kubernetes, installed in verified phases.
#[derive(Debug, Parser)]
#[command(name = "bigtop-k8s", version, about)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, global = true, env = "KUBECONFIG", hide_env_values = true)]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long, global = true)]
    context: Option<String>,
    /// Result format on stdout.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = OutputArg::Text)]
    output: OutputArg,
    /// More log detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// No progress output.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Seconds to wait for a phase to become ready (and for removals to finish).
    #[arg(long, global = true, default_value_t = 300)]
    timeout: u64,
    /// Extra addons directory (same layout as addons/) merged into the built-in catalog.
    #[arg(long, global = true, env = "BIGTOP_K8S_CATALOG")]
    catalog_dir: Option<PathBuf>,
    /// Mirror directory holding pinned upstream artifacts, for offline use.
    #[arg(long, global = true, env = "BIGTOP_K8S_MIRROR")]
    mirror: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputArg {
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
enum ProfileArg {
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
struct SpecFlags {
    /// Declarative spec (profile, phases, parameters).
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Sizing profile (overrides the file's).
    #[arg(long, value_enum)]
    profile: Option<ProfileArg>,
    /// Set a parameter: --set addon.param=value (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

impl From<&SpecFlags> for SpecArgs {
    fn from(f: &SpecFlags) -> SpecArgs {
        SpecArgs { file: f.file.clone(), profile: f.profile.map(Into::into), sets: f.sets.clone() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProviderArg {
    Kind,
    Existing,
    Capi,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum InfrastructureArg {
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
struct ManagementFlags {
    /// ClusterAPI: use this existing management cluster (default: a Kind cluster <name>-mgmt).
    #[arg(long)]
    management_kubeconfig: Option<PathBuf>,
    /// ClusterAPI: context in the management kubeconfig.
    #[arg(long, requires = "management_kubeconfig")]
    management_context: Option<String>,
    /// ClusterAPI: namespace of the Cluster object in the management cluster.
    #[arg(long, default_value = "default")]
    capi_namespace: String,
}

impl ManagementFlags {
    fn management(&self, workload: &str) -> capi::Management {
        match &self.management_kubeconfig {
            Some(path) => capi::Management::Existing(Target { kubeconfig: Some(path.clone()), context: self.management_context.clone() }),
            None => capi::Management::kind_for(workload),
        }
    }
}

#[derive(Debug, Args)]
struct CapiFlags {
    /// ClusterAPI: infrastructure provider of the workload cluster.
    #[arg(long, value_enum, default_value_t = InfrastructureArg::Docker)]
    infrastructure: InfrastructureArg,
    /// ClusterAPI: control-plane machines (odd).
    #[arg(long, default_value_t = 1)]
    control_plane_nodes: u32,
    /// ClusterAPI: template variable NAME=VALUE (repeatable; the environment is read too).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    #[command(flatten)]
    management: ManagementFlags,
}

#[derive(Debug, Args)]
struct ClusterFlags {
    /// Cluster name (Kind).
    #[arg(long, default_value = "bigtop")]
    name: String,
    /// Worker nodes besides the control plane (Kind).
    #[arg(long, default_value_t = 0)]
    workers: u32,
    /// Kubernetes version of the Kind nodes (default: the newest pinned for our kind release).
    #[arg(long)]
    kubernetes_version: Option<String>,
    /// Reserve this many of the workers for Spark (labelled and tainted bigtop.apache.org/spark=true).
    #[arg(long, default_value_t = 0)]
    spark_nodes: u32,
    /// Publish a node port on 127.0.0.1: HOST:CONTAINER (repeatable).
    #[arg(long = "port", value_name = "HOST:CONTAINER", value_parser = parse_port)]
    ports: Vec<PortMapping>,
    /// Pull images through this registry mirror (pull-through cache), e.g. http://127.0.0.1:5001.
    #[arg(long)]
    registry_mirror: Option<String>,
    /// Go on even when preflight checks fail.
    #[arg(long)]
    force: bool,
    /// Skip the checkpoints (where pods are simulated).
    #[arg(long)]
    no_verify: bool,
}

fn parse_port(s: &str) -> Result<PortMapping, String> {
    let (host, container) = s.split_once(':').ok_or("expected HOST:CONTAINER, e.g. 8080:30080")?;
    let port = |p: &str| p.parse::<u16>().map_err(|_| format!("{p:?} is not a port number"));
    Ok(PortMapping { host: port(host)?, container: port(container)? })
}

impl ClusterFlags {
    fn create_args(&self, provider: ProviderArg, capi_flags: Option<&CapiFlags>, spec: &SpecFlags) -> Result<cluster::CreateArgs, Error> {
        let provider = match (provider, capi_flags) {
            (ProviderArg::Kind, _) => cluster::Provider::Kind,
            (ProviderArg::Existing, _) => cluster::Provider::Existing,
            (ProviderArg::Capi, None) => return Err(Error::usage("--provider capi is for create-cluster")),
            (ProviderArg::Capi, Some(c)) => cluster::Provider::Capi(capi::CapiArgs {
                spec: CapiSpec {
                    name: self.name.clone(),
                    namespace: c.management.capi_namespace.clone(),
                    infrastructure: c.infrastructure.into(),
                    kubernetes: self.kubernetes_version.clone(),
                    control_plane_nodes: c.control_plane_nodes,
                    workers: self.workers,
                    variables: capi::parse_vars(&c.vars)?,
                },
                management: c.management.management(&self.name),
            }),
        };
        Ok(cluster::CreateArgs {
            provider,
            kind: KindSpec {
                name: self.name.clone(),
                workers: self.workers,
                kubernetes: self.kubernetes_version.clone(),
                ports: self.ports.clone(),
                mirror: self.registry_mirror.clone(),
                role: KindRole::Workload,
                spark_nodes: self.spark_nodes,
            },
            preflight: if self.force { cluster::Preflight::Ignore } else { cluster::Preflight::Enforce },
            verify: if self.no_verify { add::Verify::Skip } else { add::Verify::Run },
            spec: spec.into(),
        })
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a cluster and install the base phase, then the default phases: one command.
    Up {
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
    /// Check Docker, the machine and Kubernetes access, each with its fix.
    Doctor {
        /// Profile whose budget Docker's memory and CPUs are checked against.
        #[arg(long, value_enum, default_value_t = ProfileArg::Laptop)]
        profile: ProfileArg,
    },
}

#[derive(Debug, Subcommand)]
enum SparkCommand {
    /// Run an application in cluster mode with the phase's S3 settings; prints the driver's log
    /// and fails when the driver does.
    Submit {
        /// job.py or app.jar (shipped in a ConfigMap, up to 900 KiB), or an s3a:// URL.
        app: String,
        /// Arguments of the application (after --).
        #[arg(last = true)]
        args: Vec<String>,
        /// Application name (default: the file name).
        #[arg(long)]
        name: Option<String>,
        /// Main class (jars).
        #[arg(long)]
        class: Option<String>,
        /// spark.driver.memory (default: the profile's, in spark-defaults.conf).
        #[arg(long)]
        driver_memory: Option<String>,
        /// spark.executor.memory.
        #[arg(long)]
        executor_memory: Option<String>,
        /// spark.executor.instances.
        #[arg(long)]
        executors: Option<u32>,
        /// Only ask the API server to validate what would be created (server-side dry run).
        #[arg(long)]
        dry_run: bool,
    },
}

/// Parse arguments, run the command, print its result; returns the exit code.
pub async fn run(cli: Cli) -> Exit {
    let g = &cli.global;
    init_logging(g.verbose);
    let format: Format = g.output.into();
    let globals = Globals {
        target: Target { kubeconfig: g.kubeconfig.clone(), context: g.context.clone() },
        format,
        progress: Progress::new(Mode::detect(format != Format::Text, g.quiet)),
        timeout: Duration::from_secs(g.timeout),
        catalog_dir: g.catalog_dir.clone(),
        mirror: g.mirror.clone(),
    };
    match dispatch(&globals, &cli.command).await {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("{}", e.report());
            e.exit
        }
    }
}

async fn dispatch(g: &Globals, command: &Command) -> Result<Exit, Error> {
    let f = g.format;
    match command {
        Command::Up { cluster: c, spec } => {
            print(f, &cluster::up(g, &c.create_args(ProviderArg::Kind, None, spec)?).await?, cluster::created_text)
        }
        Command::CreateCluster { provider, cluster: c, capi: capi_flags, spec } => {
            print(f, &cluster::create(g, &c.create_args(*provider, Some(capi_flags), spec)?).await?, cluster::created_text)
        }
        Command::DeleteCluster { name, provider, management } => match provider {
            ProviderArg::Capi => {
                let deleted = capi::delete(g, name, &management.capi_namespace, &management.management(name)).await?;
                print(f, &deleted, capi::deleted_text)
            }
            ProviderArg::Kind => print(f, &cluster::delete(g, name).await?, cluster::deleted_text),
            ProviderArg::Existing => {
                return Err(Error::usage("bigtop-k8s never deletes an existing cluster")
                    .with_hint("remove its phases with `bigtop-k8s remove-phase`"));
            }
        },
        Command::Phases { profile } => print(f, &commands::phases::run(g, (*profile).into())?, commands::phases::text),
        Command::Render { phases, spec, out_dir } => {
            let rendered = commands::render::run(g, phases, &spec.into(), out_dir.as_ref()).await?;
            if out_dir.is_none() {
                let objects: Vec<serde_json::Value> = rendered.into_iter().flat_map(|(_, o)| o).collect();
                match f {
                    Format::Json => print(f, &objects, |_| String::new()),
                    _ => print!("{}", crate::render::to_yaml(&objects)),
                }
            }
        }
        Command::Images { phases, spec } => print(f, &commands::images::run(g, phases, &spec.into()).await?, commands::images::text),
        Command::AddPhase { phases, spec, with_deps, dry_run, no_verify } => {
            let args = add::AddArgs {
                phases: phases.clone(),
                spec: spec.into(),
                missing: if *with_deps { MissingDeps::Install } else { MissingDeps::Refuse },
                mode: if *dry_run { add::Mode::DryRun } else { add::Mode::Apply },
                verify: if *no_verify { add::Verify::Skip } else { add::Verify::Run },
            };
            print(f, &add::run(g, &args).await?, add::text);
        }
        Command::RemovePhase { phases, force } => {
            let deps = if *force { remove::Dependents::Ignore } else { remove::Dependents::Refuse };
            print(f, &remove::run(g, phases, deps).await?, remove::text);
        }
        Command::Verify { phases } => print(f, &commands::verify::run(g, phases).await?, commands::verify::text),
        Command::Status => print(f, &commands::status::run(g).await?, commands::status::text),
        Command::Endpoints { forward } => {
            let endpoints = commands::endpoints::run(g).await?;
            match forward {
                true => commands::endpoints::forward_until_interrupted(g, &endpoints).await?,
                false => print(f, &endpoints, commands::endpoints::text),
            }
        }
        Command::Spark { command: SparkCommand::Submit { app, args, name, class, driver_memory, executor_memory, executors, dry_run } } => {
            let args = commands::spark::SubmitArgs {
                app: app.clone(),
                name: name.clone(),
                class: class.clone(),
                args: args.clone(),
                resources: crate::spark::Resources {
                    driver_memory: driver_memory.clone(),
                    executor_memory: executor_memory.clone(),
                    executors: *executors,
                },
                dry_run: *dry_run,
            };
            print(f, &commands::spark::submit(g, &args).await?, commands::spark::text);
        }
        Command::Sql { statement } => print(f, &commands::sql::run(g, statement).await?, crate::sql::table),
        Command::Doctor { profile } => {
            let checks = commands::doctor::run(g, (*profile).into()).await;
            print(f, &checks, commands::doctor::text);
            if checks.iter().any(|c| c.verdict == crate::preflight::Verdict::Fail) {
                return Ok(Exit::Prerequisite);
            }
        }
    }
    Ok(Exit::Ok)
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("bigtop_k8s={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
