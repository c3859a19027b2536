//! `images`: every container image the named phases run — in pod specs, and those named only in
//! ConfigMaps, environment variables or pod templates (the addons' `images` lists) — so users
//! can preload or mirror them and R3 can build look-alikes from the list.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{Globals, RenderScope, SpecArgs, load_spec, render_phase};
use crate::error::Error;
use crate::plan::{PlannedPhase, check_names, selected_addons};
use crate::render::ADDON_LABEL;

/// One image and who runs it.
#[derive(Debug, Serialize, PartialEq)]
pub struct ImageUse {
    /// The reference exactly as applied.
    pub image: String,
    /// Phase.
    pub phase: String,
    /// Addon.
    pub addon: String,
    /// Where it appears: `Kind/namespace/name` for pod specs, `images.<key>` for the addon's list.
    pub used_by: Vec<String>,
}

/// The images of `phases` (all phases when empty), with each phase's choice as resolved from
/// the spec and `--set`.
pub async fn run(g: &Globals, phases: &[String], spec_args: &SpecArgs) -> Result<Vec<ImageUse>, Error> {
    let catalog = g.catalog()?;
    let (spec, resolved) = load_spec(&catalog, spec_args)?;
    let names: Vec<String> =
        if phases.is_empty() { catalog.phase_names().into_iter().map(String::from).collect() } else { phases.to_vec() };
    check_names(&catalog, &names).map_err(super::plan_error)?;
    let contracts = crate::pipeline::contracts(&catalog, &resolved, &Default::default(), &[])?;
    let fetcher = g.fetcher();
    // No cluster: credentials are irrelevant here, and images are known offline.
    let scope = RenderScope {
        catalog: &catalog,
        resolved: &resolved,
        profile: spec.profile,
        contracts: &contracts,
        fetcher: &fetcher,
        client: None,
        fresh: &Default::default(),
    };
    let mut out = Vec::new();
    for name in &names {
        let def = catalog.phase(name).expect("names checked");
        let planned = PlannedPhase { phase: name.clone(), addons: selected_addons(def, &resolved) };
        let rendered = render_phase(&scope, &planned, &Default::default()).await?;
        let mut found: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for addon in &planned.addons {
            for (key, image) in &catalog.addons[addon].images {
                found.entry((addon.clone(), image.clone())).or_default().push(format!("images.{key}"));
            }
        }
        for object in &rendered.objects {
            let addon =
                object.pointer(&format!("/metadata/labels/{}", ADDON_LABEL.replace('/', "~1"))).and_then(Value::as_str).unwrap_or_default();
            let mut images = Vec::new();
            pod_images(object, &mut images);
            for image in images {
                let used = found.entry((addon.to_string(), image)).or_default();
                let by = crate::render::describe(object);
                if !used.contains(&by) {
                    used.push(by);
                }
            }
        }
        out.extend(found.into_iter().map(|((addon, image), used_by)| ImageUse { image, phase: name.clone(), addon, used_by }));
    }
    Ok(out)
}

/// Every `image` of a container or init container anywhere in `v` (pod specs sit at different
/// depths in Pods, workloads, Jobs and CronJobs).
pub fn pod_images(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for key in ["containers", "initContainers"] {
                for c in map.get(key).and_then(Value::as_array).into_iter().flatten() {
                    if let Some(image) = c.get("image").and_then(Value::as_str)
                        && !out.iter().any(|i| i == image)
                    {
                        out.push(image.to_string());
                    }
                }
            }
            map.values().for_each(|child| pod_images(child, out));
        }
        Value::Array(items) => items.iter().for_each(|child| pod_images(child, out)),
        _ => {}
    }
}

/// Human form: one image per line with its phase and addon.
pub fn text(images: &Vec<ImageUse>) -> String {
    images.iter().map(|i| format!("{}\t{}/{}\t{}", i.image, i.phase, i.addon, i.used_by.join(", "))).collect::<Vec<_>>().join("\n")
}
