//! `spark submit`: run an application on the cluster's Spark with everything the spark phase
//! wired (S3A settings, credentials, node pool), following the driver's log.

use serde::Serialize;
use serde_json::Value;

use super::{Globals, SpecArgs};
use crate::error::Error;
use crate::output::Format;
use crate::pipeline::Loaded;
use crate::spark::{self, App, Outcome, Resources, SparkError, Submission};

/// Arguments of `spark submit`.
#[derive(Debug, Clone)]
pub struct SubmitArgs {
    /// `job.py`, `app.jar`, or an `s3a://`/`local://` URL.
    pub app: String,
    /// Application name (default: the file name).
    pub name: Option<String>,
    /// Main class of a jar.
    pub class: Option<String>,
    /// Application arguments.
    pub args: Vec<String>,
    /// Resource overrides.
    pub resources: Resources,
    /// Server-side dry run only.
    pub dry_run: bool,
}

/// What `spark submit` did.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Submitted {
    /// The driver ran (exit code 0).
    Ran(Outcome),
    /// The objects the API server accepted in a dry run.
    DryRun(Vec<Value>),
}

/// Run `spark submit`.
pub async fn submit(g: &Globals, args: &SubmitArgs) -> Result<Submitted, Error> {
    let app = App::from_arg(&args.app).map_err(|e| {
        Error::usage("cannot submit this application")
            .with_source(e)
            .with_hint("bigtop-k8s spark submit <job.py | app.jar --class C | s3a://bucket/app.py> [-- args…]")
    })?;
    args.resources.validate().map_err(|e| {
        Error::usage("invalid Spark resources")
            .with_source(e)
            .with_hint("`bigtop-k8s spark submit --help` lists the flags: sizes such as 512m or 2g, at least one executor")
    })?;
    let ctx = Loaded::read(g, &SpecArgs::default())?.connect(g).await?;
    let Some(provided) = ctx.contracts.spark.as_ref().filter(|s| ctx.state.contains_key(&s.phase)) else {
        let phase = ctx.contracts.spark.as_ref().map_or("spark", |s| s.phase.as_str());
        return Err(Error::prerequisite(format!("the {phase} phase is not installed"))
            .with_hint(format!("bigtop-k8s add-phase {phase} --with-deps")));
    };
    let cluster = &ctx.cluster;
    let conf = spark::read_conf(&cluster.client, &ctx.catalog.addons[&provided.addon]).await.map_err(spark_error)?;
    let default_name = args.app.rsplit('/').next().unwrap_or("app").trim_end_matches(".py").trim_end_matches(".jar").to_string();
    let name = args.name.clone().unwrap_or(default_name);
    let sub = Submission::new(&name, app, args.class.clone(), args.args.clone(), args.resources.clone());
    if args.dry_run {
        return Ok(Submitted::DryRun(spark::dry_run(&cluster.client, &sub, &conf).await.map_err(spark_error)?));
    }
    let step = g.progress.start(format!("spark submit {name} (submission {})", sub.id));
    let to_stdout = g.format == Format::Text;
    let outcome = spark::run(&cluster.client, &sub, &conf, g.timeout, None, |line| match to_stdout {
        true => println!("{line}"),
        false => eprintln!("{line}"),
    })
    .await
    .map_err(spark_error)?;
    if outcome.exit_code != 0 {
        return Err(Error::failure(format!("the driver {} exited with {}", outcome.driver_pod, outcome.exit_code)).with_hint(format!(
            "its pods are kept: `kubectl -n {} logs {}`, then delete the pods labelled {}={}",
            spark::NAMESPACE,
            outcome.driver_pod,
            spark::SUBMISSION_LABEL,
            outcome.submission
        )));
    }
    step.done(format!("driver exited 0 after {:.1}s", outcome.seconds));
    Ok(Submitted::Ran(outcome))
}

fn spark_error(e: SparkError) -> Error {
    match e {
        SparkError::NotInstalled => {
            Error::prerequisite("the spark phase is not installed").with_source(e).with_hint("bigtop-k8s add-phase spark --with-deps")
        }
        SparkError::Timeout(_) => Error::new(crate::error::Exit::Timeout, "the Spark application did not start").with_source(e),
        SparkError::DriverInit { .. } => Error::failure("spark submit failed").with_source(e).with_hint(
            "the driver's jars come from the phase's jar cache (pod spark/spark-jars-0) and spark.maven-repository: `kubectl -n spark logs spark-jars-0 -c fetch-jars`",
        ),
        _ => Error::failure("spark submit failed").with_source(e),
    }
}

/// Human summary.
pub fn text(s: &Submitted) -> String {
    match s {
        Submitted::Ran(o) => {
            format!("driver {}/{} exited 0 after {:.1}s (submission {})", spark::NAMESPACE, o.driver_pod, o.seconds, o.submission)
        }
        Submitted::DryRun(objects) => {
            let names: Vec<String> = objects.iter().map(crate::render::describe).collect();
            format!("the API server accepts (dry run): {}", names.join(", "))
        }
    }
}
