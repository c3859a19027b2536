//! The R3 look-alike images against their upstream contracts (tests/env/images/contracts.json),
//! and the catalog lint that keeps every image a phase runs covered by a look-alike or by a
//! stated reason.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn contracts() -> Value {
    let text = std::fs::read_to_string(common::repo().join("tests/env/images/contracts.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A reference as containerd names it: registry host and `library/` filled in.
fn normalized(image: &str) -> String {
    let first = image.split('/').next().unwrap_or_default();
    let has_registry = image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    match (has_registry, image.contains('/')) {
        (true, _) => image.to_string(),
        (false, true) => format!("docker.io/{image}"),
        (false, false) => format!("docker.io/library/{image}"),
    }
}

#[test]
fn every_image_a_phase_runs_has_a_look_alike_or_a_stated_reason() {
    let contracts = contracts();
    let look_alikes: Vec<&str> = contracts["images"].as_object().unwrap().values().map(|c| c["ref"].as_str().unwrap()).collect();
    let exceptions = contracts["exceptions"].as_object().unwrap();
    // Every choice of every phase: the spark phase's two releases, both sql engines, both
    // backends, both notebook engines, NiFi.
    let mut seen = BTreeMap::new();
    let others = [
        "--set",
        "object-storage.backend=garage",
        "--set",
        "sql.engine=presto",
        "--set",
        "notebooks.engine=zeppelin",
        "--set",
        "streaming.stack=nifi",
    ];
    for sets in [vec![], others.to_vec()] {
        let mut args = vec!["images", "-o", "json"];
        args.extend(sets);
        // The embedded (real) catalog; no cluster is needed to list images.
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"));
        cmd.args(&args).env("BIGTOP_K8S_MIRROR", common::mirror()).env_remove("KUBECONFIG");
        let out = common::Run::from(cmd.output().unwrap()).expect(0);
        for use_ in serde_json::from_str::<Vec<Value>>(&out.stdout).unwrap() {
            seen.insert(normalized(use_["image"].as_str().unwrap()), use_["phase"].as_str().unwrap().to_string());
        }
    }
    assert!(seen.contains_key("docker.io/dxflrs/garage:v2.5.0") && seen.contains_key("docker.io/prestodb/presto:0.287"), "{seen:?}");
    let uncovered: Vec<String> = seen
        .iter()
        .filter(|(image, _)| {
            !look_alikes.contains(&image.as_str()) && exceptions.get(image.as_str()).and_then(Value::as_str).is_none_or(str::is_empty)
        })
        .map(|(image, phase)| format!("{image} (phase {phase})"))
        .collect();
    assert!(
        uncovered.is_empty(),
        "images without an R3 look-alike (tests/env/images) or a reason under \"exceptions\" in contracts.json: {uncovered:?}"
    );
    let stale: Vec<&String> = exceptions.keys().filter(|k| !k.starts_with('_') && !seen.contains_key(*k)).collect();
    assert!(stale.is_empty(), "exceptions for images no phase runs any more: {stale:?}");
}

fn images_dir() -> PathBuf {
    let script = format!(". {}/tests/env/versions.sh && echo \"$R3_IMAGES\"", common::repo().display());
    let out = Command::new("bash").arg("-c").arg(script).output().unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn tar_member(tar: &PathBuf, member: &str) -> Vec<u8> {
    let out = Command::new("tar").arg("-xOf").arg(tar).arg(member).output().unwrap();
    assert!(out.status.success(), "{member} in {}: {}", tar.display(), String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn built_look_alikes_keep_their_upstream_contract() {
    let contracts = contracts();
    let list = images_dir().join("images.txt");
    let listed = std::fs::read_to_string(&list)
        .unwrap_or_else(|e| panic!("{}: {e}; build the images with `bash tests/env/build-r3.sh`", list.display()));
    let tars: Vec<PathBuf> = listed.lines().filter(|l| !l.is_empty()).map(PathBuf::from).collect();
    assert_eq!(tars.len(), contracts["images"].as_object().unwrap().len(), "one image per contract");
    for tar in tars {
        let manifest: Value = serde_json::from_slice(&tar_member(&tar, "manifest.json")).unwrap();
        let reference = manifest[0]["RepoTags"][0].as_str().unwrap();
        let (name, contract) =
            contracts["images"].as_object().unwrap().iter().find(|(_, c)| c["ref"] == reference).expect("every image has a contract");
        let config: Value = serde_json::from_slice(&tar_member(&tar, manifest[0]["Config"].as_str().unwrap())).unwrap();
        for (field, want) in contract["config"].as_object().unwrap() {
            assert_eq!(&config["config"][field], want, "{name}: config field {field}");
        }
        // Streamed from tar to tar: the larger layers are over a GiB.
        let layer = manifest[0]["Layers"][0].as_str().unwrap();
        let listing =
            Command::new("bash").args(["-c", "set -o pipefail; tar -xOf \"$0\" \"$1\" | tar -t"]).arg(&tar).arg(layer).output().unwrap();
        assert!(listing.status.success(), "{name}: cannot list the layer: {}", String::from_utf8_lossy(&listing.stderr));
        let paths = String::from_utf8(listing.stdout).unwrap();
        let has = |p: &str| {
            let p = p.trim_start_matches('/');
            // Through the /bin, /lib… links into /usr on the ubi-micro-like images too.
            paths.lines().any(|l| l.trim_end_matches('/') == p || l.trim_end_matches('/') == format!("usr/{p}"))
        };
        for p in contract["paths"].as_array().unwrap() {
            assert!(has(p.as_str().unwrap()), "{name}: {p} is missing");
        }
        for p in contract.get("absent").and_then(Value::as_array).into_iter().flatten() {
            assert!(!has(p.as_str().unwrap()), "{name}: {p} is present, upstream's image has none");
        }
    }
}

#[test]
fn images_of_an_unknown_phase_is_bad_input_with_the_list() {
    let out = Command::new(env!("CARGO_BIN_EXE_bigtop-k8s")).args(["images", "object-storag"]).env_remove("KUBECONFIG").output().unwrap();
    let out = common::Run::from(out).expect(2);
    assert!(out.stderr.contains("bigtop-k8s phases"), "{}", out.stderr);
}
