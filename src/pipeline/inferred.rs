//! Spark parameters `add-phase` reads off the cluster unless the user set them: the node pool
//! (nodes labelled for Spark mean `dedicated`) and the metastore (the sql phase installed or
//! installed in the same run means `sql`, with that phase's Hive Metastore release, when the
//! Spark release has a Hive client pinned for it); and
//! what `remove-phase` says when it takes away what one of them pointed at.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Context;
use crate::catalog::Catalog;
use crate::error::Error;
use crate::params::{Layer, Overrides, Resolved};
use crate::plan::PlannedPhase;
use crate::state::{PhaseRecord, State};

const NODE_POOL: &str = "spark.node-pool";
const METASTORE: &str = "spark.metastore";
const HIVE_METASTORE: &str = "spark.hive-metastore";

/// The resolved parameters with the inferred Spark parameters filled in; a
/// `spark.metastore=sql` the cluster or the release cannot serve is refused with the next step.
pub async fn spark_params(ctx: &Context<'_>, planned: &[PlannedPhase]) -> Result<Resolved, Error> {
    if !planned.iter().any(|p| p.phase == "spark") {
        return Ok(ctx.resolved.clone());
    }
    let mut overrides = ctx.spec.overrides.clone();
    let pool = node_pool(ctx, &mut overrides).await?;
    let metastore = metastore(ctx, planned, &mut overrides)?;
    if !pool && !metastore {
        return Ok(ctx.resolved.clone());
    }
    crate::params::resolve(&ctx.catalog, ctx.spec.profile, &overrides).map_err(|e| Error::usage("invalid parameter").with_source(e))
}

/// Nodes labelled for Spark mean `spark.node-pool=dedicated`, unless the user chose. Returns
/// whether it inferred.
async fn node_pool(ctx: &Context<'_>, overrides: &mut Overrides) -> Result<bool, Error> {
    if overrides.0.contains_key(NODE_POOL) {
        return Ok(false);
    }
    let labelled =
        crate::setup::spark::spark_nodes(&ctx.cluster.client).await.map_err(|e| Error::failure("cannot list nodes").with_source(e))?;
    if labelled == 0 {
        return Ok(false);
    }
    let label = format!("{}=true", crate::setup::spark::SPARK_NODE_LABEL);
    ctx.globals.progress.note(&format!(
        "{labelled} node(s) labelled {label}: Spark runs there ({NODE_POOL}=dedicated; override with --set {NODE_POOL}=shared)"
    ));
    overrides.set(Layer::Flag, NODE_POOL, "dedicated".into());
    Ok(true)
}

/// The sql phase (installed, or planned in this run) means `spark.metastore=sql` with that
/// phase's Hive Metastore release, when the Spark release has a Hive client pinned for it.
/// Returns whether it inferred.
fn metastore(ctx: &Context<'_>, planned: &[PlannedPhase], overrides: &mut Overrides) -> Result<bool, Error> {
    let (catalog, resolved, progress) = (&ctx.catalog, &ctx.resolved, &ctx.globals.progress);
    // The sql phase's metastore release (None: no sql phase), unless the user named one.
    let sql_metastore = sql_metastore_release(catalog, planned, &ctx.state);
    let set_release = overrides.0.get(HIVE_METASTORE).and_then(|(_, v)| v.as_str().map(str::to_string));
    let metastore_release = set_release
        .or_else(|| sql_metastore.clone())
        .unwrap_or_else(|| resolved.get(HIVE_METASTORE).and_then(Value::as_str).unwrap_or_default().to_string());
    let version = resolved.get("spark.version").and_then(Value::as_str).unwrap_or_default().to_string();
    let client = hive_client_version(catalog, &version, &metastore_release);
    let wants_sql = overrides.0.get(METASTORE).map(|(_, v)| v.as_str() == Some("sql"));
    let mut inferred = false;
    match (wants_sql, sql_metastore.is_some(), client) {
        (Some(true), _, None) => {
            return Err(Error::usage(format!(
                "Spark {version} has no Hive Metastore client pinned for the sql phase's Hive Metastore {metastore_release}"
            ))
            .with_hint(format!("use --set spark.version={}, or --set {METASTORE}=none", first_with_client(catalog, &metastore_release))));
        }
        (Some(true), false, _) => {
            return Err(Error::prerequisite(format!("{METASTORE}=sql needs the sql phase, which is not installed"))
                .with_hint("run `bigtop-k8s add-phase sql spark --with-deps`, or drop --set spark.metastore=sql"));
        }
        (None, true, Some(hive)) => {
            progress.note(&format!(
                "the sql phase is there: Spark SQL uses its Hive Metastore {metastore_release} through a Hive {hive} client ({METASTORE}=sql; override with --set {METASTORE}=none)"
            ));
            overrides.set(Layer::Flag, METASTORE, "sql".into());
            inferred = true;
        }
        (None, true, None) => progress.note(&format!(
            "Spark {version} has no pinned client for Hive Metastore {metastore_release}: Spark SQL keeps its own catalog, not the sql phase's metastore"
        )),
        _ => {}
    }
    let uses_sql = overrides.0.get(METASTORE).and_then(|(_, v)| v.as_str()) == Some("sql");
    if uses_sql
        && !overrides.0.contains_key(HIVE_METASTORE)
        && let Some(release) = sql_metastore
    {
        overrides.set(Layer::Flag, HIVE_METASTORE, release.into());
        inferred = true;
    }
    Ok(inferred)
}

/// The release of the sql phase's Hive Metastore addon: as planned in this run, else as
/// installed; None without the sql phase.
fn sql_metastore_release(catalog: &Catalog, planned: &[PlannedPhase], state: &State) -> Option<String> {
    let is_metastore = |addon: &str| addon.starts_with("hive-metastore");
    if let Some(sql) = planned.iter().find(|p| p.phase == "sql") {
        return sql.addons.iter().find(|a| is_metastore(a)).map(|a| catalog.addons[a].version.clone());
    }
    state.get("sql")?.addons.iter().find(|(a, _)| is_metastore(a)).map(|(_, version)| version.clone())
}

/// After removing `removed`: a note if the installed spark phase still uses the sql phase's
/// metastore (re-running `add-phase spark` infers `none` then).
pub fn stale_after_removal(records: &BTreeMap<String, PhaseRecord>, removed: &[String]) -> Option<String> {
    let spark = records.get("spark").filter(|_| !removed.iter().any(|p| p == "spark"))?;
    let uses_metastore = spark.parameters.get(METASTORE).and_then(Value::as_str) == Some("sql");
    (uses_metastore && removed.iter().any(|p| p == "sql")).then(|| {
        format!(
            "spark still points Spark SQL at the removed metastore ({METASTORE}=sql): run `bigtop-k8s add-phase spark` to set it up without"
        )
    })
}

/// The Hive client version the catalog pins for this Spark release and metastore release.
fn hive_client_version<'a>(catalog: &'a Catalog, spark_version: &str, metastore_release: &str) -> Option<&'a str> {
    let spark = catalog.phase("spark")?;
    spark.data["releases"][spark_version]["hive-clients"][metastore_release]["version"].as_str()
}

/// A Spark release that has one, for the hint.
fn first_with_client(catalog: &Catalog, metastore_release: &str) -> String {
    let releases = catalog.phase("spark").and_then(|p| p.data["releases"].as_object().cloned()).unwrap_or_default();
    releases.into_iter().find(|(_, r)| r["hive-clients"][metastore_release].is_object()).map(|(v, _)| v).unwrap_or_default()
}
