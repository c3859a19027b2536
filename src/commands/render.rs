//! `render`: print exactly the objects `add-phase` would apply, as YAML (or JSON), or write
//! one file per phase with `--out-dir` for GitOps and review.

use std::path::PathBuf;

use serde_json::Value;

use super::{Globals, RenderScope, SpecArgs, load_spec, render_phase};
use crate::cluster::connect_within;
use crate::error::Error;
use crate::plan::{PlannedPhase, check_names, selected_addons};

/// Render `phases`; returns (phase, objects) pairs.
pub async fn run(
    g: &Globals,
    phases: &[String],
    spec_args: &SpecArgs,
    out_dir: Option<&PathBuf>,
) -> Result<Vec<(String, Vec<Value>)>, Error> {
    let catalog = g.catalog()?;
    let (spec, resolved) = load_spec(&catalog, spec_args)?;
    let names: Vec<String> = if phases.is_empty() { spec.phases.clone() } else { phases.to_vec() };
    if names.is_empty() {
        return Err(Error::usage("no phase named").with_hint(format!("name one: {}", catalog.phase_names().join(", "))));
    }
    check_names(&catalog, &names).map_err(super::plan_error)?;
    // Existing credentials come from the cluster so the output matches what is applied;
    // without a reachable cluster they are freshly generated.
    let cluster = match connect_within(&g.target, g.timeout).await {
        Ok(c) => Some(c),
        Err(e) => {
            g.progress.note(&format!("no cluster reachable ({}): generated credentials are fresh values", e.message));
            None
        }
    };
    // What other phases provide comes from the cluster's state when there is one, so the output
    // matches what `add-phase` applies.
    let state = match &cluster {
        Some(c) => crate::state::load(&c.client).await.map_err(super::state_error)?,
        None => Default::default(),
    };
    // The phases named together count as planned, as with `add-phase`: `render sql spark
    // --set spark.metastore=sql` shows what that run applies on a cluster without sql.
    let planned: Vec<PlannedPhase> = names
        .iter()
        .map(|name| PlannedPhase { phase: name.clone(), addons: selected_addons(catalog.phase(name).expect("names checked"), &resolved) })
        .collect();
    let contracts = crate::pipeline::contracts(&catalog, &resolved, &state, &planned)?;
    let fetcher = g.fetcher();
    let client = cluster.as_ref().map(|c| &c.client);
    let fresh = Default::default();
    let scope = RenderScope {
        catalog: &catalog,
        resolved: &resolved,
        profile: spec.profile,
        contracts: &contracts,
        fetcher: &fetcher,
        client,
        fresh: &fresh,
    };
    let mut out = Vec::new();
    for planned in &planned {
        let name = &planned.phase;
        let rendered = render_phase(&scope, planned, &Default::default()).await?;
        if let Some(dir) = out_dir {
            let path = dir.join(format!("{name}.yaml"));
            std::fs::create_dir_all(dir)
                .and_then(|_| std::fs::write(&path, crate::render::to_yaml(&rendered.objects)))
                .map_err(|e| Error::failure(format!("cannot write {}", path.display())).with_source(e))?;
        }
        out.push((name.clone(), rendered.objects));
    }
    Ok(out)
}
