//! The command line: clap definitions and the one dispatcher. Only this module knows clap;
//! argument enums map to domain types with `From`.

use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::Target;
use crate::commands::{self, Globals, add, cluster, remove};
use crate::error::{Error, Exit};
use crate::output::{Format, print};
use crate::progress::{Mode, Progress};
use crate::provider::Provider;
use crate::provider::capi_cluster::ClusterRef;
use crate::provider::capi_workload::{self, CapiWorkload};
use crate::provider::existing::Existing;
use crate::provider::kind_cluster::{self, KindCluster};

mod args;
mod service_args;

pub use args::Cli;
use args::*;

/// Parse arguments, run the command, print its result; returns the exit code.
pub async fn run(cli: Cli) -> Exit {
    let g = &cli.global;
    init_logging(g.verbose);
    let format: Format = g.output.into();
    let globals = Globals {
        target: Target { kubeconfig: g.kubeconfig.as_deref().filter(|k| !k.is_empty()).map(PathBuf::from), context: g.context.clone() },
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
        Command::Up { phases, cluster: c, spec } => {
            print(f, &cluster::up(g, &c.create_args(ProviderArg::Kind, None, spec)?, phases).await?, cluster::created_text)
        }
        Command::CreateCluster { provider, cluster: c, capi: capi_flags, spec } => {
            print(f, &cluster::create(g, &c.create_args(*provider, Some(capi_flags), spec)?).await?, cluster::created_text)
        }
        Command::DeleteCluster { name, provider, management } => match provider {
            ProviderArg::Capi => {
                let cluster = ClusterRef { namespace: management.capi_namespace.clone(), name: name.clone() };
                let workload = CapiWorkload { cluster, management: management.management(name), build: None };
                print(f, &workload.delete(g).await?, capi_workload::deleted_text)
            }
            ProviderArg::Kind => print(f, &KindCluster::named(name).delete(g).await?, kind_cluster::deleted_text),
            ProviderArg::Existing => Existing.delete(g).await?,
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
        Command::AddPhase { .. } => print(f, &add::run(g, &command.add_args().expect("an add-phase command")).await?, add::text),
        Command::RemovePhase { phases, force } => {
            let deps = if *force { remove::Dependents::Ignore } else { remove::Dependents::Refuse };
            print(f, &remove::run(g, phases, deps).await?, remove::text);
        }
        Command::RotateKeys { services, no_verify } => {
            let verify = if *no_verify { add::Verify::Skip } else { add::Verify::Run };
            print(f, &commands::rotate::run(g, services, verify).await?, commands::rotate::text);
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
        Command::Spark { command } => print(f, &commands::spark::submit(g, &command.submit_args()).await?, commands::spark::text),
        Command::Kafka { command } => kafka(g, command).await?,
        Command::Sql { statement } => print(f, &commands::sql::run(g, statement).await?, crate::sql::table),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut <Cli as clap::CommandFactory>::command(), "bigtop-k8s", &mut std::io::stdout());
        }
        Command::Man => {
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut std::io::stdout())
                .map_err(|e| Error::failure("cannot write the manual page").with_source(e))?;
        }
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

/// `kafka produce` or `kafka consume`.
async fn kafka(g: &Globals, command: &KafkaCommand) -> Result<(), Error> {
    match command {
        KafkaCommand::Produce { topic, input } => {
            print(g.format, &commands::kafka::produce(g, topic, input).await?, commands::kafka::produced_text)
        }
        KafkaCommand::Consume { topic, from_beginning, max, idle_seconds } => {
            let args = commands::kafka::ConsumeArgs {
                topic: topic.clone(),
                from_beginning: *from_beginning,
                max: *max,
                idle_seconds: *idle_seconds,
            };
            print(g.format, &commands::kafka::consume(g, &args).await?, commands::kafka::consumed_text)
        }
    }
    Ok(())
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
