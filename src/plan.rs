//! The plan: which phases to install, in dependency order, with which addons. Pure.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::catalog::{Catalog, PhaseDef};
use crate::params::Resolved;

/// One phase to install and the addons chosen for it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedPhase {
    /// Phase name.
    pub phase: String,
    /// Addons in install order.
    pub addons: Vec<String>,
}

/// Why no plan could be made.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum PlanError {
    /// A phase name the catalog does not know.
    #[error("unknown phase {name}; phases: {valid}")]
    UnknownPhase {
        /// The name as given.
        name: String,
        /// Valid phase names.
        valid: String,
    },
    /// A dependency is neither installed nor requested.
    #[error("phase {phase} needs phase {missing}, which is not installed")]
    MissingDependency {
        /// The requested phase.
        phase: String,
        /// The dependency.
        missing: String,
    },
}

/// Check that every name is a phase of the catalog.
pub fn check_names(catalog: &Catalog, names: &[String]) -> Result<(), PlanError> {
    for name in names {
        if catalog.phase(name).is_none() {
            let valid = catalog.phase_names().join(", ");
            return Err(PlanError::UnknownPhase { name: name.clone(), valid });
        }
    }
    Ok(())
}

/// What to do about a dependency that is neither installed nor requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingDeps {
    /// Report it, with the command that fixes it.
    Refuse,
    /// Install it first (`--with-deps`).
    Install,
}

/// Order `requested` phases after their dependencies, handling missing ones per `missing`.
pub fn plan(
    catalog: &Catalog,
    requested: &[String],
    installed: &BTreeSet<String>,
    missing: MissingDeps,
    params: &Resolved,
) -> Result<Vec<PlannedPhase>, PlanError> {
    check_names(catalog, requested)?;
    let wanted: BTreeSet<&str> = requested.iter().map(String::as_str).collect();
    let mut order: Vec<String> = Vec::new();
    for name in requested {
        visit(catalog, name, &wanted, installed, missing, &mut order)?;
    }
    Ok(order
        .into_iter()
        .map(|phase| {
            let def = catalog.phase(&phase).expect("checked above");
            PlannedPhase { addons: selected_addons(def, params), phase }
        })
        .collect())
}

fn visit(
    catalog: &Catalog,
    name: &str,
    wanted: &BTreeSet<&str>,
    installed: &BTreeSet<String>,
    missing: MissingDeps,
    order: &mut Vec<String>,
) -> Result<(), PlanError> {
    if order.iter().any(|p| p == name) {
        return Ok(());
    }
    let def = catalog.phase(name).expect("names are checked before visiting");
    for dep in &def.depends {
        let satisfied = installed.contains(dep) || wanted.contains(dep.as_str());
        if !satisfied && missing == MissingDeps::Refuse {
            return Err(PlanError::MissingDependency { phase: name.into(), missing: dep.clone() });
        }
        if !installed.contains(dep) {
            visit(catalog, dep, wanted, installed, missing, order)?;
        }
    }
    for later in def.after.iter().filter(|p| wanted.contains(p.as_str())) {
        visit(catalog, later, wanted, installed, missing, order)?;
    }
    order.push(name.to_string());
    Ok(())
}

/// The addons a phase installs under the resolved parameters.
pub fn selected_addons(def: &PhaseDef, params: &Resolved) -> Vec<String> {
    let mut addons = def.addons.clone();
    if let Some(choice) = &def.choice {
        let key = format!("{}.{}", def.name, choice.parameter);
        let option = params.get(&key).and_then(Value::as_str).unwrap_or(&choice.default);
        addons.extend(choice.options.get(option).cloned().unwrap_or_default());
    }
    addons
}

/// Installed phases that depend on `phase` (blocking its removal).
pub fn dependents<'a>(catalog: &'a Catalog, phase: &str, installed: &BTreeSet<String>) -> Vec<&'a str> {
    catalog.phases.iter().filter(|p| installed.contains(&p.name) && p.depends.iter().any(|d| d == phase)).map(|p| p.name.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Choice;
    use std::collections::BTreeMap;

    fn phase(name: &str, depends: &[&str]) -> PhaseDef {
        PhaseDef {
            name: name.into(),
            description: String::new(),
            depends: depends.iter().map(|d| d.to_string()).collect(),
            after: Vec::new(),
            addons: vec![format!("{name}-addon")],
            choice: None,
            default: false,
            parameters: BTreeMap::new(),
            data: Value::Null,
            provides: Default::default(),
            uses: Default::default(),
        }
    }

    fn catalog() -> Catalog {
        let mut store = phase("store", &[]);
        store.addons.clear();
        store.choice = Some(Choice {
            parameter: "backend".into(),
            help: String::new(),
            default: "a".into(),
            options: BTreeMap::from([("a".into(), vec!["a".into()]), ("b".into(), vec!["b".into()])]),
        });
        Catalog { phases: vec![store, phase("sql", &["store"]), phase("bi", &["sql"])], ..Catalog::default() }
    }

    #[test]
    fn dependency_order_and_errors() {
        let c = catalog();
        let none = BTreeSet::new();
        let err = plan(&c, &["sql".into()], &none, MissingDeps::Refuse, &Resolved::new()).unwrap_err();
        assert_eq!(err, PlanError::MissingDependency { phase: "sql".into(), missing: "store".into() });
        let p = plan(&c, &["bi".into()], &none, MissingDeps::Install, &Resolved::new()).unwrap();
        let names: Vec<_> = p.iter().map(|p| p.phase.as_str()).collect();
        assert_eq!(names, ["store", "sql", "bi"]);
        let installed = BTreeSet::from(["store".to_string()]);
        assert_eq!(plan(&c, &["sql".into()], &installed, MissingDeps::Refuse, &Resolved::new()).unwrap().len(), 1);
        assert!(matches!(plan(&c, &["nope".into()], &none, MissingDeps::Install, &Resolved::new()), Err(PlanError::UnknownPhase { .. })));
    }

    #[test]
    fn after_orders_only_what_is_planned_anyway() {
        let mut c = catalog();
        c.phases.push(PhaseDef { after: vec!["sql".into()], ..phase("spark", &["store"]) });
        let none = BTreeSet::new();
        let names = |p: Vec<PlannedPhase>| p.into_iter().map(|p| p.phase).collect::<Vec<_>>();
        let both = plan(&c, &["spark".into(), "sql".into()], &none, MissingDeps::Install, &Resolved::new()).unwrap();
        assert_eq!(names(both), ["store", "sql", "spark"]);
        let alone = plan(&c, &["spark".into()], &none, MissingDeps::Install, &Resolved::new()).unwrap();
        assert_eq!(names(alone), ["store", "spark"]);
    }

    #[test]
    fn choice_selects_addons() {
        let c = catalog();
        let params = Resolved::from([("store.backend".to_string(), Value::from("b"))]);
        assert_eq!(selected_addons(&c.phases[0], &params), ["b"]);
        assert_eq!(selected_addons(&c.phases[0], &Resolved::new()), ["a"]);
        let installed = BTreeSet::from(["sql".to_string(), "bi".to_string()]);
        assert_eq!(dependents(&c, "store", &installed), ["sql"]);
    }
}
