//! R0: the catalog lint. Every image pinned, every source checksummed, every parameter
//! documented and valid under every profile, every template rendering under every profile,
//! every container sized, every checkpoint kind implemented, the laptop budget kept.

use std::collections::BTreeSet;

use bigtop_k8s::budget;
use bigtop_k8s::catalog::Catalog;
use bigtop_k8s::params::{self, Overrides};
use bigtop_k8s::plan::selected_addons;
use bigtop_k8s::profile::Profile;
use bigtop_k8s::render::{RenderInput, render_templates};
use bigtop_k8s::validation::quantity_bytes;
use serde_json::Value;

fn catalog() -> Catalog {
    Catalog::embedded().expect("the embedded catalog loads")
}

#[test]
fn every_image_has_an_explicit_version() {
    for addon in catalog().addons.values() {
        for (key, image) in &addon.images {
            let name = image.rsplit('/').next().unwrap();
            let pinned = image.contains("@sha256:") || name.split_once(':').is_some_and(|(_, tag)| !tag.is_empty() && tag != "latest");
            assert!(pinned, "{}: image {key} = {image} has no explicit version", addon.name);
            assert!(
                !image.starts_with("docker.io/minio/") && !image.starts_with("minio/"),
                "{image}: MinIO's Docker Hub images were removed"
            );
        }
    }
}

#[test]
fn every_source_has_an_https_url_and_a_sha256() {
    for addon in catalog().addons.values() {
        for s in &addon.sources {
            assert!(s.url.starts_with("https://"), "{}: source {} url {}", addon.name, s.name, s.url);
            assert!(
                s.sha256.len() == 64 && s.sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{}: source {} sha256",
                addon.name,
                s.name
            );
            assert!(!s.mirror_path.is_empty());
        }
    }
}

#[test]
fn every_parameter_is_documented_validated_and_valid_under_every_profile() {
    const KEYS: [&str; 8] = ["default", "profiles", "help", "kind", "min", "max", "values", "removed"];
    for entry in std::fs::read_dir("addons").unwrap() {
        let file = entry.unwrap().path().join("addon.yaml");
        if !file.exists() {
            continue;
        }
        let raw: Value = serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for (name, def) in raw["parameters"].as_object().into_iter().flatten() {
            for key in def.as_object().unwrap().keys() {
                assert!(KEYS.contains(&key.as_str()), "{}: parameter {name} has unknown field {key}", file.display());
            }
            for required in ["default", "help", "kind"] {
                assert!(def.get(required).is_some(), "{}: parameter {name} lacks {required}", file.display());
            }
            assert!(!def["help"].as_str().unwrap_or("").is_empty());
        }
    }
    for profile in Profile::ALL {
        params::resolve(&catalog(), profile, &Overrides::default()).unwrap_or_else(|e| panic!("{}: {e}", profile.name()));
    }
}

fn render_all(profile: Profile) -> Vec<(String, Vec<Value>)> {
    let catalog = catalog();
    let resolved = params::resolve(&catalog, profile, &Overrides::default()).unwrap();
    let mut out = Vec::new();
    for name in catalog.addons.keys() {
        let input = RenderInput::new(&catalog, name, &resolved, profile).with_stand_ins(|g, _| "x".repeat(g.length));
        let objects = render_templates(&input).unwrap_or_else(|e| panic!("{name} under {}: {e:?}", profile.name()));
        out.push((name.clone(), objects));
    }
    out
}

#[test]
fn every_template_renders_under_every_profile_and_every_container_is_sized() {
    let catalog = catalog();
    // A phase that depends on the spark phase may run its image (the `spark` contract's
    // `image`: Zeppelin copies Spark from it); that image is pinned in the spark addon.
    let spark = catalog.addons.values().find(|a| a.provides.spark.is_some()).expect("an addon provides spark");
    for profile in Profile::ALL {
        for (addon, objects) in render_all(profile) {
            let mut images: BTreeSet<&String> = catalog.addons[&addon].images.values().collect();
            let phase = catalog.phase(&catalog.addons[&addon].phase).unwrap();
            if phase.depends.contains(&spark.phase) {
                images.extend(spark.images.values());
            }
            for obj in &objects {
                let Some(pod) = obj.pointer("/spec/template/spec") else { continue };
                let containers =
                    pod["containers"].as_array().into_iter().flatten().chain(pod["initContainers"].as_array().into_iter().flatten());
                for c in containers {
                    let what = format!("{addon}/{}/{} under {}", obj["metadata"]["name"], c["name"], profile.name());
                    assert!(
                        c.pointer("/resources/requests/memory").is_some() && c.pointer("/resources/requests/cpu").is_some(),
                        "{what}: no requests"
                    );
                    assert!(c.pointer("/resources/limits/memory").is_some(), "{what}: no memory limit");
                    assert!(
                        images.contains(&c["image"].as_str().unwrap().to_string()),
                        "{what}: image not declared in addon.yaml (nor lent by the spark phase)"
                    );
                }
            }
        }
    }
}

/// Checkpoint and setup kinds are typed: a kind this binary does not implement, or a setting
/// it does not know, fails when the catalog loads, and the CLI stops with exit 2 before it
/// connects to any cluster (the kubeconfig here does not exist: reaching it would be exit 3).
#[test]
fn an_unknown_kind_or_setting_fails_when_the_catalog_loads() {
    let cases = [
        ("checkpoint:\n  kind: htp\n  with: {service: web, port: 80}\n", "htp"),
        ("checkpoint:\n  kind: http\n  with: {service: web, port: 80, colour: red}\n", "colour"),
        ("setup:\n  kind: garage-admin\n  with: {service: garage, port: 3903}\n", "secret"),
    ];
    for (action, named) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("phases.yaml"), "- {name: odd, description: bad action, addons: [odd]}\n").unwrap();
        std::fs::create_dir(dir.path().join("odd")).unwrap();
        let addon = format!("name: odd\nphase: odd\nversion: '1'\nnamespace: odd\n{action}");
        std::fs::write(dir.path().join("odd/addon.yaml"), addon).unwrap();
        let err = Catalog::with_extra_dir(dir.path()).unwrap_err();
        let chain = format!("{err}: {}", std::error::Error::source(&err).map(|s| s.to_string()).unwrap_or_default());
        assert!(chain.contains("odd/addon.yaml") && chain.contains(named), "{action}: {chain}");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"))
            .args(["add-phase", "odd", "--kubeconfig", "/nonexistent/kubeconfig", "--catalog-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{action}: {stderr}");
        assert!(stderr.contains("cannot load the addon catalog") && stderr.contains(named), "{action}: {stderr}");
    }
}

/// Every way of installing a default phase ends in a checkpoint: each choice's addon set has
/// one (the sql engine's round trip goes through the metastore and its database, so those two
/// need none of their own).
#[test]
fn every_default_phase_has_a_checkpoint() {
    let catalog = catalog();
    for phase in catalog.phases.iter().filter(|p| p.default) {
        let mut sets: Vec<(String, Vec<String>)> = vec![("".into(), phase.addons.clone())];
        if let Some(choice) = &phase.choice {
            sets = choice
                .options
                .iter()
                .map(|(o, addons)| (format!(" ({}={o})", choice.parameter), [phase.addons.clone(), addons.clone()].concat()))
                .collect();
        }
        for (option, addons) in sets {
            assert!(
                addons.iter().any(|a| catalog.addons[a].checkpoint.is_some()),
                "default phase {}{option} installs {addons:?}, none with a checkpoint",
                phase.name
            );
        }
    }
}

#[test]
fn the_default_stack_fits_each_profile_budget() {
    let catalog = catalog();
    for profile in Profile::ALL {
        let budget = catalog.budgets.get(profile.name()).unwrap_or_else(|| panic!("no budget for {}", profile.name()));
        let resolved = params::resolve(&catalog, profile, &Overrides::default()).unwrap();
        let rendered = render_all(profile);
        let mut total = budget::Requests::default();
        for phase in catalog.phases.iter().filter(|p| p.default) {
            for addon in selected_addons(phase, &resolved) {
                total = total + budget::requests(&rendered.iter().find(|(a, _)| *a == addon).unwrap().1);
            }
        }
        let limit = quantity_bytes(&budget.memory).unwrap();
        assert!(total.memory_bytes <= limit, "{}: default stack requests {} > budget {}", profile.name(), total.human(), budget.memory);
        assert!(total.cpu_milli <= budget::cpu_milli(&budget.cpu), "{}: CPU {} > {}", profile.name(), total.cpu_milli, budget.cpu);
    }
}

/// Stackable's comparable Trino + Hive + MinIO demo requests 15.8 GiB; ours must stay within
/// 3 GiB on a laptop, whichever engine.
#[test]
fn the_sql_phase_requests_at_most_3_gib_on_a_laptop() {
    let catalog = catalog();
    let rendered = render_all(Profile::Laptop);
    let sql = catalog.phase("sql").unwrap();
    for engine in ["trino", "presto"] {
        let mut total = budget::Requests::default();
        for addon in &sql.choice.as_ref().unwrap().options[engine] {
            total = total + budget::requests(&rendered.iter().find(|(a, _)| a == addon).unwrap().1);
        }
        assert!(total.memory_bytes <= 3 << 30, "sql with {engine} requests {} on a laptop", total.human());
    }
}

/// `phases` shows what every choice installs (names, versions, images: what an offline mirror
/// needs) and its requests, not only the default's.
#[test]
fn phases_shows_every_choice_with_its_addons_and_requests() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bigtop-k8s")).args(["phases", "-o", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sql = info["phases"].as_array().unwrap().iter().find(|p| p["name"] == "sql").unwrap();
    let presto = sql["alternatives"].as_array().unwrap().iter().find(|a| a["set"] == "sql.engine=presto").expect("the presto option");
    let metastore = presto["addons"].as_array().unwrap().iter().find(|a| a["name"] == "hive-metastore-3").expect("Hive 3 with Presto");
    assert_eq!(metastore["version"], "3.1.3");
    assert!(metastore["images"].as_array().unwrap().iter().any(|i| i == "eclipse-temurin:11-jre-noble"), "{metastore}");
    assert!(presto["requests"]["memoryBytes"].as_u64().unwrap() > 0, "{presto}");
}

/// The kinds the docs test walks (`Checkpoint::KINDS`) include every kind an addon uses.
#[test]
fn every_checkpoint_kind_in_use_is_listed() {
    let catalog = catalog();
    for (name, addon) in &catalog.addons {
        if let Some(checkpoint) = &addon.checkpoint {
            let kind = checkpoint.kind();
            assert!(bigtop_k8s::catalog::actions::Checkpoint::KINDS.contains(&kind), "{name}: {kind} is not in Checkpoint::KINDS");
        }
    }
}
