//! Parameters a phase reads off the cluster unless the user set them, as its `uses:` declares:
//! labelled nodes (Spark's dedicated node pool), and the installed or planned metastore (Spark
//! SQL's catalog, with the Hive client pinned for the metastore's release); and what
//! `remove-phase` says when it takes away a metastore a phase still follows.

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use serde_json::Value;

use super::Context;
use crate::catalog::provides::{FollowMetastore, LabelledNodes};
use crate::catalog::{Catalog, PhaseDef};
use crate::contracts::Contracts;
use crate::error::Error;
use crate::params::{Layer, Overrides, Resolved};
use crate::plan::PlannedPhase;
use crate::state::State;

/// The resolved parameters with the inferred ones filled in; a follow the cluster or the
/// release cannot serve is refused with the next step.
pub async fn infer(ctx: &Context<'_>, planned: &[PlannedPhase]) -> Result<Resolved, Error> {
    let mut overrides = ctx.spec.overrides.clone();
    let mut inferred = false;
    for (p, def) in planned.iter().filter_map(|p| Some((p, ctx.catalog.phase(&p.phase)?))) {
        for (addon, releases) in def.uses.spark_releases.iter().flatten().filter(|(a, _)| p.addons.contains(a)) {
            spark_release(ctx, def, addon, releases)?;
        }
        if let Some(nodes) = &def.uses.labelled_nodes {
            inferred |= labelled_nodes(ctx, def, nodes, &mut overrides).await?;
        }
        if let Some(follow) = &def.uses.metastore {
            inferred |= metastore(ctx, def, follow, planned, &mut overrides)?;
        }
    }
    installed_spark_users(ctx, planned)?;
    if !inferred {
        return Ok(ctx.resolved.clone());
    }
    crate::params::resolve(&ctx.catalog, ctx.spec.profile, &overrides).map_err(|e| Error::usage("invalid parameter").with_source(e))
}

/// The spark phase's release (installed, or as this run sets it) must be one the addon is built
/// for. The hint repeats a non-default choice, so the command it gives plans the same addon.
fn spark_release(ctx: &Context<'_>, def: &PhaseDef, addon: &str, releases: &[String]) -> Result<(), Error> {
    let Some(spark) = &ctx.contracts.spark else { return Ok(()) };
    if releases.contains(&spark.release) {
        return Ok(());
    }
    let key = format!("{}.version", spark.phase);
    let installed = if ctx.state.contains_key(&spark.phase) { "installed " } else { "" };
    let choice = def
        .choice
        .as_ref()
        .map(|c| (format!("{}.{}", def.name, c.parameter), &c.default))
        .and_then(|(key, default)| Some((ctx.resolved.get(&key)?.as_str()?.to_string(), key, default)))
        .filter(|(value, _, default)| value != *default)
        .map(|(value, key, _)| format!(" --set {key}={value}"))
        .unwrap_or_default();
    Err(Error::usage(format!(
        "the {} phase's {addon} is built for Spark {}; the {installed}{} phase is Spark {}",
        def.name,
        releases.join(", "),
        spark.phase,
        spark.release
    ))
    .with_hint(format!("run `bigtop-k8s add-phase {} {} --set {key}={}{choice}`", spark.phase, def.name, releases[0])))
}

/// When the spark phase is planned, an installed phase it does not replan keeps running the
/// Spark its addons are built for: a release they do not run is refused, with both ways out.
fn installed_spark_users(ctx: &Context<'_>, planned: &[PlannedPhase]) -> Result<(), Error> {
    let Some(spark) = ctx.contracts.spark.as_ref().filter(|s| planned.iter().any(|p| p.phase == s.phase)) else { return Ok(()) };
    for (name, record) in ctx.state.iter().filter(|(name, _)| !planned.iter().any(|p| &p.phase == *name)) {
        let Some(def) = ctx.catalog.phase(name) else { continue };
        for (addon, releases) in def.uses.spark_releases.iter().flatten().filter(|(a, _)| record.addons.contains_key(*a)) {
            if !releases.contains(&spark.release) {
                return Err(Error::usage(format!(
                    "the installed {name} phase's {addon} is built for Spark {}; this would make the {} phase Spark {}",
                    releases.join(", "),
                    spark.phase,
                    spark.release
                ))
                .with_hint(format!("keep --set {}.version={}, or run `bigtop-k8s remove-phase {name}` first", spark.phase, releases[0])));
            }
        }
    }
    Ok(())
}

/// Nodes labelled `<label>=true` set the parameter, unless the user chose. Returns whether it
/// inferred.
async fn labelled_nodes(ctx: &Context<'_>, def: &PhaseDef, nodes: &LabelledNodes, overrides: &mut Overrides) -> Result<bool, Error> {
    let key = format!("{}.{}", def.name, nodes.parameter);
    if overrides.0.contains_key(&key) {
        return Ok(false);
    }
    let selector = format!("{}=true", nodes.label);
    let list = Api::<Node>::all(ctx.cluster.client.clone())
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| Error::failure("cannot list nodes").with_source(e))?;
    if list.items.is_empty() {
        return Ok(false);
    }
    ctx.globals.progress.note(&format!(
        "{} node(s) labelled {selector}: {} runs there ({key}={}; override with --set {key}={})",
        list.items.len(),
        title(&def.name),
        nodes.value,
        nodes.otherwise
    ));
    overrides.set(Layer::Flag, &key, nodes.value.clone().into());
    Ok(true)
}

/// An installed or planned metastore sets the follow parameter and the release, when the
/// phase's release has a Hive client pinned for it. Returns whether it inferred.
fn metastore(
    ctx: &Context<'_>,
    def: &PhaseDef,
    follow: &FollowMetastore,
    planned: &[PlannedPhase],
    overrides: &mut Overrides,
) -> Result<bool, Error> {
    let progress = &ctx.globals.progress;
    let (switch, release_key) = (format!("{}.{}", def.name, follow.parameter), format!("{}.{}", def.name, follow.release_parameter));
    // The metastore there is (None: its phase is neither installed nor planned).
    let present = present_metastore(&ctx.contracts, planned, &ctx.state);
    let provider = ctx.contracts.metastore.as_ref().map(|m| m.phase.clone()).unwrap_or_default();
    let set_release = overrides.0.get(&release_key).and_then(|(_, v)| v.as_str().map(str::to_string));
    let release = set_release
        .or_else(|| present.clone())
        .unwrap_or_else(|| ctx.resolved.get(&release_key).and_then(Value::as_str).unwrap_or_default().to_string());
    let version = ctx.resolved.get(&format!("{}.version", def.name)).and_then(Value::as_str).unwrap_or_default().to_string();
    let client = hive_client_version(def, &version, &release);
    let wants = overrides.0.get(&switch).map(|(_, v)| v.as_str() == Some(follow.value.as_str()));
    let mut inferred = false;
    match (wants, present.is_some(), client) {
        (Some(true), _, None) => {
            return Err(Error::usage(format!(
                "{} {version} has no Hive Metastore client pinned for the {provider} phase's Hive Metastore {release}",
                title(&def.name)
            ))
            .with_hint(format!("use --set {}.version={}, or --set {switch}=none", def.name, first_with_client(def, &release))));
        }
        (Some(true), false, _) => {
            return Err(Error::prerequisite(format!("{switch}={} needs the {provider} phase, which is not installed", follow.value))
                .with_hint(format!(
                    "run `bigtop-k8s add-phase {provider} {} --with-deps`, or drop --set {switch}={}",
                    def.name, follow.value
                )));
        }
        (None, true, Some(hive)) => {
            progress.note(&format!(
                "the {provider} phase is there: {} SQL uses its Hive Metastore {release} through a Hive {hive} client ({switch}={}; override with --set {switch}=none)",
                title(&def.name),
                follow.value
            ));
            overrides.set(Layer::Flag, &switch, follow.value.clone().into());
            inferred = true;
        }
        (None, true, None) => progress.note(&format!(
            "{} {version} has no pinned client for Hive Metastore {release}: {} SQL keeps its own catalog, not the {provider} phase's metastore",
            title(&def.name),
            title(&def.name)
        )),
        _ => {}
    }
    let follows = overrides.0.get(&switch).and_then(|(_, v)| v.as_str()) == Some(follow.value.as_str());
    if follows
        && !overrides.0.contains_key(&release_key)
        && let Some(release) = present
    {
        overrides.set(Layer::Flag, &release_key, release.into());
        inferred = true;
    }
    Ok(inferred)
}

/// The release of the metastore whose phase is planned in this run or installed; None when it
/// is neither. (The contracts already reflect the planned or installed addon.)
fn present_metastore(contracts: &Contracts, planned: &[PlannedPhase], state: &State) -> Option<String> {
    let m = contracts.metastore.as_ref()?;
    let there = planned.iter().any(|p| p.phase == m.phase) || state.contains_key(&m.phase);
    there.then(|| m.release.clone())
}

/// After removing `removed`: a note for each installed phase that still follows the removed
/// metastore (re-running `add-phase` for it infers `none` then).
pub fn stale_after_removal(catalog: &Catalog, contracts: &Contracts, state: &State, removed: &[String]) -> Vec<String> {
    let Some(m) = &contracts.metastore else { return Vec::new() };
    if !removed.contains(&m.phase) {
        return Vec::new();
    }
    let mut notes = Vec::new();
    for (phase, record) in state.iter().filter(|(p, _)| !removed.contains(p)) {
        let Some(follow) = catalog.phase(phase).and_then(|d| d.uses.metastore.as_ref()) else { continue };
        let switch = format!("{phase}.{}", follow.parameter);
        if record.parameters.get(&switch).and_then(Value::as_str) == Some(follow.value.as_str()) {
            notes.push(format!(
                "{phase} still points {} SQL at the removed metastore ({switch}={}): run `bigtop-k8s add-phase {phase}` to set it up without",
                title(phase),
                follow.value
            ));
        }
    }
    notes
}

/// The Hive client version the phase's data pins for its release and the metastore release
/// (`data.releases.<version>.hive-clients.<release>`).
fn hive_client_version<'a>(def: &'a PhaseDef, version: &str, metastore_release: &str) -> Option<&'a str> {
    def.data["releases"][version]["hive-clients"][metastore_release]["version"].as_str()
}

/// A release of the phase that has one, for the hint.
fn first_with_client(def: &PhaseDef, metastore_release: &str) -> String {
    let releases = def.data["releases"].as_object().cloned().unwrap_or_default();
    releases.into_iter().find(|(_, r)| r["hive-clients"][metastore_release].is_object()).map(|(v, _)| v).unwrap_or_default()
}

/// `spark` → `Spark`, for prose.
fn title(phase: &str) -> String {
    let mut chars = phase.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
