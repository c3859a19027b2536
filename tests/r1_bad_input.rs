//! R1: bad input exits with its documented code, names the fix, never panics, records nothing.

mod common;

use common::*;

fn assert_no_state_change(before: &[String]) {
    assert_eq!(installed(), before, "bad input must not change state");
}

#[test]
fn unknown_phase_is_a_usage_error_listing_phases() {
    let _guard = lock();
    let before = installed();
    let out = run(&["add-phase", "warp-drive"]).expect(2);
    assert!(out.stderr.contains("unknown phase warp-drive; phases: ") && out.stderr.contains("fixture"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"));
    assert_no_state_change(&before);
}

#[test]
fn unknown_set_key_lists_valid_keys_and_invalid_value_explains() {
    let _guard = lock();
    let before = installed();
    let out = run(&["add-phase", "fixture", "--set", "web.replcas=2"]).expect(2);
    assert!(out.stderr.contains("unknown parameter web.replcas; valid keys: ") && out.stderr.contains("web.replicas"), "{}", out.stderr);
    let out = run(&["add-phase", "fixture", "--set", "web.replicas=99"]).expect(2);
    assert!(out.stderr.contains("must be between 1 and 5"), "{}", out.stderr);
    let out = run(&["add-phase", "fixture", "--set", "web.replicas"]).expect(2);
    assert!(out.stderr.contains("--set expects key=value"), "{}", out.stderr);
    assert_no_state_change(&before);
}

#[test]
fn malformed_spec_file_names_the_line() {
    let _guard = lock();
    let before = installed();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bigtop.yaml");
    std::fs::write(&file, "profile: laptop\nphases: [fixture\n").unwrap();
    let out = Run::from(bigtop().args(["add-phase", "-f"]).arg(&file).output().unwrap()).expect(2);
    assert!(out.stderr.contains("malformed") && out.stderr.contains("line"), "{}", out.stderr);
    assert_no_state_change(&before);
}

#[test]
fn unreachable_api_server_is_a_prerequisite_error() {
    let _guard = lock();
    // A kubeconfig pointing at a closed loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("closed.kubeconfig");
    let text = std::fs::read_to_string(kubeconfig()).unwrap().replace("https://127.0.0.1:6443", &format!("https://127.0.0.1:{port}"));
    std::fs::write(&kc, text).unwrap();
    let out = Run::from(
        std::process::Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"))
            .args(["--kubeconfig"])
            .arg(&kc)
            .args(["add-phase", "--catalog-dir"])
            .arg(repo().join("tests/fixtures/catalog"))
            .arg("fixture")
            .output()
            .unwrap(),
    )
    .expect(3);
    assert!(out.stderr.contains(&format!("cannot reach the Kubernetes API at https://127.0.0.1:{port}")), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

#[test]
fn missing_kubeconfig_is_a_prerequisite_error() {
    let out = Run::from(
        std::process::Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"))
            .args(["--kubeconfig", "/nonexistent/kubeconfig", "status"])
            .output()
            .unwrap(),
    )
    .expect(3);
    assert!(out.stderr.contains("no kubeconfig: /nonexistent/kubeconfig does not exist"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: pass --kubeconfig"), "{}", out.stderr);
}

#[test]
fn missing_dependency_names_the_command() {
    let _guard = lock();
    let before = installed();
    if before.contains(&"fixture".to_string()) {
        remove(&["fixture"]);
    }
    let out = run(&["add-phase", "fixture-crd"]).expect(3);
    assert!(
        out.stderr.contains("bigtop-k8s add-phase fixture` first, or `bigtop-k8s add-phase fixture-crd --with-deps`"),
        "{}",
        out.stderr
    );
}

#[test]
fn doctor_passes_on_the_r1_cluster_and_fails_with_a_fix_when_unreachable() {
    let _guard = lock();
    let out = run(&["doctor", "-o", "json"]);
    let checks: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    // Docker's checks come first and depend on the machine; the Kubernetes ones must all pass here.
    let kube: Vec<&serde_json::Value> = checks
        .as_array()
        .unwrap()
        .iter()
        .skip_while(|c| {
            c["name"].as_str().unwrap().starts_with("docker")
                || ["cgroup version", "rootless docker", "inotify limits", "free disk"].contains(&c["name"].as_str().unwrap())
        })
        .collect();
    let names: Vec<&str> = kube.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["kubernetes api", "permissions", "nodes", "default storage class"]);
    for c in &kube {
        assert_eq!(c["verdict"], "pass", "{c}");
    }
    assert!(kube[0]["detail"].as_str().unwrap().contains("v1.35.4"), "{}", kube[0]);
    let any_fail = checks.as_array().unwrap().iter().any(|c| c["verdict"] == "fail");
    assert_eq!(out.code, if any_fail { 3 } else { 0 }, "exit code follows the verdicts");

    let out = Run::from(
        std::process::Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"))
            .args(["--kubeconfig", "/nonexistent/kubeconfig", "doctor"])
            .output()
            .unwrap(),
    )
    .expect(3);
    assert!(out.stdout.contains("fail") && out.stdout.contains("pass --kubeconfig"), "{}", out.stdout);
}

#[test]
fn status_prints_yaml_and_json_without_progress_on_stdout() {
    let _guard = lock();
    let yaml = run(&["status", "-o", "yaml"]).expect(0);
    assert!(serde_saphyr::from_str::<serde_json::Value>(&yaml.stdout).is_ok(), "{}", yaml.stdout);
    let json = run(&["add-phase", "fixture", "--no-verify", "-o", "json"]).expect(0);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("stdout is only the JSON result");
    assert_eq!(parsed[0]["phase"], "fixture");
    assert!(json.stderr.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "progress is NDJSON: {}", json.stderr);
    remove(&["fixture"]);
}
