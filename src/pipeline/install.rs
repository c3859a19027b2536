//! The steps that change the cluster: apply, wait, setup, record.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Run;
use super::context::{Context, state_error};
use crate::apply::Applier;
use crate::error::{Error, Exit};
use crate::params::Resolved;
use crate::render::digest;
use crate::state::{self, PhaseRecord};
use crate::wait::{WaitError, wait_ready};

/// Apply the phase's rendered objects and delete its Jobs that were not rendered this time
/// (a setup Job of an older script).
pub(super) async fn apply(ctx: &Context<'_>, run: &mut Run, phase: &str) -> Result<(), Error> {
    let client = &ctx.cluster.client;
    let step = ctx.globals.progress.start(format!("apply {phase}"));
    if run.applier.is_none() {
        let applier =
            Applier::new(client.clone()).await.map_err(|e| Error::failure("cannot read the server's API resources").with_source(e))?;
        run.applier = Some(applier);
    }
    let applier = run.applier.as_mut().expect("set above");
    let p = run.phases.get_mut(phase).expect("rendered before applied");
    let rendered = p.rendered.as_ref().expect("rendered before applied");
    for ns in super::render::namespaces(&ctx.catalog, &rendered.planned) {
        run.awaited.remove(&ns);
    }
    let objects = &rendered.objects;
    p.applied = applier.apply_all(objects).await.map_err(|e| {
        let hint = apply_hint(phase, &e);
        Error::failure(format!("cannot apply phase {phase}")).with_source(e).with_hint(hint)
    })?;
    let pruned = crate::remove::prune_replaced_jobs(client, phase, &p.applied).await.map_err(|e| {
        Error::failure(format!("cannot remove the replaced Jobs of phase {phase}"))
            .with_source(e)
            .with_hint(format!("`kubectl get jobs -A -l {}` lists them; re-run the command", crate::remove::selector(phase)))
    })?;
    match pruned.len() {
        0 => step.done(format!("{} objects", p.applied.len())),
        _ => step.done(format!("{} objects; removed replaced {}", p.applied.len(), pruned.join(", "))),
    }
    Ok(())
}

/// The next step after a failed apply. A StatefulSet keeps its volume templates (and selector)
/// for life, so a changed volume size can only come with a reinstall, which loses the volumes.
fn apply_hint(phase: &str, e: &crate::apply::ApplyError) -> String {
    let fixed_fields = matches!(e, crate::apply::ApplyError::Objects(failures)
        if failures.iter().any(|(o, why)| o.starts_with("StatefulSet/") && why.contains("updates to statefulset spec for fields other than")));
    match fixed_fields {
        true => format!(
            "a StatefulSet's volume size cannot change once installed: keep the value it was installed with (`bigtop-k8s status -o json` lists the parameters), or `bigtop-k8s remove-phase {phase}` (its volumes and their data go too) and add it again"
        ),
        false => format!("`bigtop-k8s render {phase}` shows the objects; fix the --set value or template named above"),
    }
}

/// Wait until the phase's workloads (and custom resources with a Ready condition) are ready.
pub(super) async fn wait(ctx: &Context<'_>, run: &mut Run, phase: &str) -> Result<(), Error> {
    let p = run.phase(phase);
    let addons = &p.rendered.as_ref().expect("rendered before waited for").planned.addons;
    let ready_kinds: Vec<String> = addons.iter().flat_map(|a| ctx.catalog.addons[a].ready_condition_kinds.clone()).collect();
    let step = ctx.globals.progress.start(format!("wait for {phase}"));
    wait_ready(&ctx.cluster.client, &p.applied, &ready_kinds, ctx.globals.timeout).await.map_err(|e| wait_error(phase, e))?;
    step.done("ready");
    Ok(())
}

/// Run each addon's setup, in install order.
pub(super) async fn setup(ctx: &Context<'_>, run: &mut Run, phase: &str) -> Result<(), Error> {
    let g = ctx.globals;
    let planned = &run.phase(phase).rendered.as_ref().expect("rendered before set up").planned;
    let def = ctx.catalog.phase(phase).expect("planned phases are in the catalog");
    let params = phase_params(&ctx.resolved, &planned.addons, phase);
    for name in &planned.addons {
        let addon = &ctx.catalog.addons[name];
        let Some(setup) = &addon.setup else { continue };
        let step = g.progress.start(format!("setup {phase}/{name} ({})", setup.kind()));
        let sctx = crate::setup::Context { client: &ctx.cluster.client, addon, phase: def, params: &params, contracts: &ctx.contracts };
        let done = tokio::time::timeout(g.timeout, crate::setup::run(&sctx))
            .await
            .unwrap_or_else(|_| Err(crate::setup::SetupError::Failed(format!("no result within --timeout {}s", g.timeout.as_secs()))))
            .map_err(|e| {
                Error::failure(format!("setup of {phase}/{name} failed"))
                    .with_source(e)
                    .with_hint(format!("re-run `bigtop-k8s add-phase {phase}` once the cause is fixed (setup is idempotent)"))
            })?;
        step.done(if done.is_empty() { "nothing to change".to_string() } else { done.join("; ") });
    }
    Ok(())
}

/// Restart the phase's workloads whose pods read a Secret this command replaced, as `kubectl
/// rollout restart` does (a new pod-template annotation); the wait step then waits for the
/// new pods.
pub(super) async fn restart(ctx: &Context<'_>, run: &mut Run, phase: &str) -> Result<(), Error> {
    let p = run.phase(phase);
    let replaced: Vec<&str> = ctx.fresh.iter().filter_map(|s| s.split_once('/')).map(|(_, name)| name).collect();
    let step = ctx.globals.progress.start(format!("restart {phase}"));
    let mut restarted = Vec::new();
    for a in &p.applied {
        let template = a.object.data.pointer("/spec/template/spec");
        if !template.is_some_and(|t| replaced.iter().any(|s| reads_secret(t, s))) {
            continue;
        }
        let patch = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: state::now()}}}}});
        let params = kube::api::PatchParams { field_manager: Some("bigtop-k8s-restart".into()), ..Default::default() };
        a.api(&ctx.cluster.client)
            .patch(&a.object.metadata.name.clone().unwrap_or_default(), &params, &kube::api::Patch::Merge(&patch))
            .await
            .map_err(|e| Error::failure(format!("cannot restart {}", a.describe())).with_source(e))?;
        restarted.push(a.describe());
    }
    step.done(if restarted.is_empty() { "nothing reads the new keys at start".to_string() } else { restarted.join(", ") });
    Ok(())
}

/// The pod-template annotation a restart sets.
pub const RESTARTED_AT: &str = "bigtop.apache.org/restarted-at";

/// Whether a pod spec reads Secret `name` (env, envFrom or a volume).
fn reads_secret(spec: &Value, name: &str) -> bool {
    match spec {
        Value::Object(map) => map.iter().any(|(k, v)| match k.as_str() {
            "secretKeyRef" | "secretRef" => v["name"] == name,
            "secret" => v["secretName"] == name,
            _ => reads_secret(v, name),
        }),
        Value::Array(items) => items.iter().any(|v| reads_secret(v, name)),
        _ => false,
    }
}

/// Record the phase: its addons, profile, parameters and what was applied.
pub(super) async fn record(ctx: &Context<'_>, run: &mut Run, phase: &str) -> Result<(), Error> {
    let p = run.phase(phase);
    let rendered = p.rendered.as_ref().expect("rendered before recorded");
    let parameters = phase_params(&ctx.resolved, &rendered.planned.addons, phase);
    let mut rotated = ctx.state.get(phase).map(|r| r.rotated.clone()).unwrap_or_default();
    for addon in &rendered.planned.addons {
        let ns = &ctx.catalog.addons[addon].namespace;
        let replaced = rendered.credentials.keys().filter(|s| ctx.fresh.contains(&format!("{ns}/{s}")));
        rotated.extend(replaced.map(|s| (s.clone(), state::now())));
    }
    let record = PhaseRecord {
        addons: rendered.planned.addons.iter().map(|a| (a.clone(), ctx.catalog.addons[a].version.clone())).collect(),
        profile: ctx.spec.profile.name().into(),
        parameters_digest: digest(&parameters),
        parameters,
        objects_digest: digest(&rendered.objects),
        objects: rendered.objects.len(),
        applied_at: state::now(),
        checkpoint: None,
        credentials: rendered.credentials.clone(),
        rotated,
    };
    state::record(&ctx.cluster.client, phase, &record).await.map_err(state_error)?;
    p.record = Some(record);
    Ok(())
}

fn wait_error(phase: &str, e: WaitError) -> Error {
    let exit = if matches!(e, WaitError::Timeout { .. }) { Exit::Timeout } else { Exit::Failure };
    Error::new(exit, format!("phase {phase} did not become ready"))
        .with_source(e)
        .with_hint(format!("fix the cause above, then re-run `bigtop-k8s add-phase {phase}` (it converges), or raise --timeout"))
}

/// The parameters that shape a phase: its choice and its addons' parameters.
fn phase_params(resolved: &Resolved, addons: &[String], phase: &str) -> BTreeMap<String, Value> {
    let owned = |k: &String| k.starts_with(&format!("{phase}.")) || addons.iter().any(|a| k.starts_with(&format!("{a}.")));
    resolved.iter().filter(|(k, _)| owned(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_reads_a_secret_through_env_env_from_or_a_volume() {
        let env =
            serde_json::json!({"containers": [{"env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "s3-sql", "key": "k"}}}]}]});
        let env_from = serde_json::json!({"containers": [{"envFrom": [{"secretRef": {"name": "s3-sql"}}]}]});
        let volume = serde_json::json!({"volumes": [{"name": "v", "secret": {"secretName": "s3-sql"}}]});
        for spec in [&env, &env_from, &volume] {
            assert!(reads_secret(spec, "s3-sql") && !reads_secret(spec, "s3-spark"), "{spec}");
        }
        assert!(!reads_secret(&serde_json::json!({"containers": [{"name": "s3-sql"}]}), "s3-sql"));
    }
}
