//! `phases`: the catalog — phases, addons, versions, images, notices, parameters, and what each
//! phase requests from the scheduler under the chosen profile, against the profile's budget.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::Globals;
use crate::budget::{self, Requests};
use crate::catalog::Catalog;
use crate::error::Error;
use crate::params::{self, Resolved};
use crate::plan::selected_addons;
use crate::profile::Profile;
use crate::render::{RenderInput, render_templates};

/// One phase as `phases` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseInfo {
    /// Name.
    pub name: String,
    /// One line.
    pub description: String,
    /// Dependencies.
    pub depends: Vec<String>,
    /// Whether `up` installs it.
    pub default: bool,
    /// Addons installed with the default choice.
    pub addons: Vec<AddonInfo>,
    /// Requests of the default addons under the profile.
    pub requests: Requests,
    /// The phase's other choices (e.g. `sql.engine=presto`): what each installs instead.
    pub alternatives: Vec<Alternative>,
}

/// Another option of a phase's choice.
#[derive(Debug, Serialize)]
pub struct Alternative {
    /// The setting that selects it, `<phase>.<parameter>=<option>`.
    pub set: String,
    /// Its addons.
    pub addons: Vec<AddonInfo>,
    /// Their requests under the profile.
    pub requests: Requests,
}

/// One addon as `phases` shows it.
#[derive(Debug, Serialize)]
pub struct AddonInfo {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Images.
    pub images: Vec<String>,
    /// Warning about the upstream.
    pub notice: Option<String>,
}

/// The whole catalog view.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogInfo {
    /// Profile the requests are computed for.
    pub profile: String,
    /// Phases.
    pub phases: Vec<PhaseInfo>,
    /// Every parameter: key → (default under the profile, help).
    pub parameters: BTreeMap<String, (Value, String)>,
    /// Sum of the default phases' requests.
    pub default_stack: Requests,
    /// The profile's budget, if declared.
    pub budget: Option<crate::catalog::Budget>,
}

/// Describe the catalog under `profile`.
pub fn run(g: &Globals, profile: Profile) -> Result<CatalogInfo, Error> {
    let catalog = g.catalog()?;
    let resolved = params::resolve(&catalog, profile, &Default::default())
        .map_err(|e| Error::failure("catalog defaults are invalid").with_source(e))?;
    let mut phases = Vec::new();
    for def in &catalog.phases {
        let addons = selected_addons(def, &resolved);
        let requests = phase_requests(&catalog, &addons, &resolved, profile)?;
        let mut alternatives = Vec::new();
        if let Some(choice) = &def.choice {
            for (option, other) in choice.options.iter().filter(|(_, other)| **other != addons) {
                alternatives.push(Alternative {
                    set: format!("{}.{}={option}", def.name, choice.parameter),
                    addons: other.iter().map(|a| addon_info(&catalog, a)).collect(),
                    requests: phase_requests(&catalog, other, &resolved, profile)?,
                });
            }
        }
        phases.push(PhaseInfo {
            name: def.name.clone(),
            description: def.description.clone(),
            depends: def.depends.clone(),
            default: def.default,
            addons: addons.iter().map(|a| addon_info(&catalog, a)).collect(),
            requests,
            alternatives,
        });
    }
    let default_stack = phases.iter().filter(|p| p.default).map(|p| p.requests).fold(Requests::default(), |a, b| a + b);
    let parameters = params::declared(&catalog).into_iter().map(|(k, d)| (k.clone(), (resolved[&k].clone(), d.help))).collect();
    Ok(CatalogInfo {
        profile: profile.name().into(),
        phases,
        parameters,
        default_stack,
        budget: catalog.budgets.get(profile.name()).cloned(),
    })
}

fn addon_info(catalog: &Catalog, name: &str) -> AddonInfo {
    let addon = &catalog.addons[name];
    AddonInfo {
        name: name.to_string(),
        version: addon.version.clone(),
        images: addon.images.values().cloned().collect(),
        notice: addon.notice.clone(),
    }
}

/// Requests of a phase's own templates (upstream manifests are not counted).
pub fn phase_requests(catalog: &Catalog, addons: &[String], resolved: &Resolved, profile: Profile) -> Result<Requests, Error> {
    let mut total = Requests::default();
    for name in addons {
        let input = RenderInput::new(catalog, name, resolved, profile).with_stand_ins(|g, _| "x".repeat(g.length));
        let objects = render_templates(&input).map_err(|e| Error::failure(format!("cannot render addon {name}")).with_source(e))?;
        total = total + budget::requests(&objects);
        if let Some(declared) = catalog.addons[name].source_requests.get(profile.name()) {
            total = total + budget::Requests::of(declared);
        }
    }
    Ok(total)
}

/// Human view.
pub fn text(info: &CatalogInfo) -> String {
    let mut out = String::new();
    for p in &info.phases {
        let deps = if p.depends.is_empty() { String::new() } else { format!(" (needs {})", p.depends.join(", ")) };
        out.push_str(&format!("{}{deps}: {}\n  requests ({}): {}\n", p.name, p.description, info.profile, p.requests.human()));
        addon_lines(&mut out, "  ", &p.addons);
        for alt in &p.alternatives {
            out.push_str(&format!("  with --set {} (requests {}):\n", alt.set, alt.requests.human()));
            addon_lines(&mut out, "    ", &alt.addons);
        }
    }
    out.push_str(&format!("\ndefault stack under {}: {}", info.profile, info.default_stack.human()));
    if let Some(b) = &info.budget {
        out.push_str(&format!(" (budget {} memory, {} CPU)", b.memory, b.cpu));
    }
    out.push_str("\n\nparameters (--set key=value):\n");
    for (k, (v, help)) in &info.parameters {
        out.push_str(&format!("  {k} = {v}  # {help}\n"));
    }
    out
}

fn addon_lines(out: &mut String, indent: &str, addons: &[AddonInfo]) {
    for a in addons {
        out.push_str(&format!("{indent}- {} {}  images: {}\n", a.name, a.version, a.images.join(" ")));
        if let Some(n) = &a.notice {
            out.push_str(&format!("{indent}  NOTICE: {n}\n"));
        }
    }
}
