//! create-cluster and delete-cluster with the real `kind` binary (built from its Go module) and
//! a real Docker engine. No node image can be pulled here, so these tests cover what happens
//! before and around `kind create`: bad input, Docker down, reusing (never clobbering) an
//! existing cluster, and idempotent deletion. Creating a cluster for real is the opt-in
//! end-to-end test in tests/e2e/.

use std::path::PathBuf;
use std::process::{Command, Output};

fn kind_dir() -> PathBuf {
    let dir = std::env::var_os("BIGTOP_TEST_KIND_BIN")
        .map(PathBuf::from)
        .expect("BIGTOP_TEST_KIND_BIN is not set: run `bash tests/env/test.sh` (it builds kind)");
    assert!(dir.join("kind").exists(), "{} missing: run `bash tests/env/build-kind.sh`", dir.display());
    dir
}

/// The CLI with the real kind first on PATH and a private kubeconfig and cache.
fn bigtop(kubeconfig: &std::path::Path, args: &[&str]) -> Output {
    let path = format!("{}:{}", kind_dir().display(), std::env::var("PATH").unwrap_or_default());
    Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"))
        .args(args)
        .env("PATH", path)
        .env("KUBECONFIG", kubeconfig)
        .env("BIGTOP_K8S_CACHE", kubeconfig.with_extension("cache"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> (i32, String, String) {
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into(), String::from_utf8_lossy(&o.stderr).into())
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn bad_cluster_settings_are_usage_errors_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    for (args, expect) in [
        (vec!["create-cluster", "--kubernetes-version", "v1.20.0"], "no kind node image for Kubernetes v1.20.0; supported: v1.33.12"),
        (vec!["create-cluster", "--workers", "11"], "11 workers requested; at most 10"),
        (vec!["create-cluster", "--name", "Bad_Name"], "invalid cluster name \"Bad_Name\""),
        (vec!["create-cluster", "--registry-mirror", "mirror:5000"], "is not an http:// or https:// URL"),
    ] {
        let (code, _, err) = text(&bigtop(&kc, &args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
    }
    let (code, _, err) = text(&bigtop(&kc, &["create-cluster", "--workers", "-1"]));
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = text(&bigtop(&kc, &["create-cluster", "--port", "80"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected HOST:CONTAINER"), "{err}");
}

#[test]
fn docker_down_is_a_prerequisite_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"))
        .args(["create-cluster"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("KUBECONFIG", dir.path().join("kubeconfig"))
        .output()
        .unwrap();
    let (code, _, err) = text(&out);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("Docker is needed to create a Kind cluster") && err.contains("Docker is not reachable"), "{err}");
}

#[test]
fn an_existing_cluster_is_reused_never_clobbered_and_deletion_is_idempotent() {
    assert!(std::env::var_os("BIGTOP_TEST_DOCKER").is_some(), "no Docker engine: run `bash tests/env/test.sh`");
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let name = format!("bigtop-reuse-{}", std::process::id());
    // What kind recognises as a cluster: a node container carrying its label.
    let tar = dir.path().join("empty.tar");
    Command::new("tar").args(["-cf"]).arg(&tar).args(["-T", "/dev/null"]).status().unwrap();
    docker(&["import", tar.to_str().unwrap(), "bigtop-test/empty:1"]);
    let node = format!("{name}-control-plane");
    docker(&[
        "create",
        "--name",
        &node,
        "--label",
        &format!("io.x-k8s.kind.cluster={name}"),
        "--label",
        "io.x-k8s.kind.role=control-plane",
        "bigtop-test/empty:1",
        "/none",
    ]);

    let (code, _, err) = text(&bigtop(&kc, &["create-cluster", "--name", &name, "--force"]));
    assert!(err.contains(&format!("kind cluster {name} exists: reusing it")), "{err}");
    // Its context is not in our kubeconfig, so installing base stops with the fix; the
    // cluster's container is untouched.
    assert_eq!(code, 3, "{err}");
    assert_eq!(docker(&["ps", "-a", "--filter", &format!("name={node}"), "--format", "{{.Names}}"]), node);

    // The shared network kind creates: removed once no container uses it.
    let created_network = Command::new("docker").args(["network", "create", "kind"]).output().unwrap().status.success();
    let (code, out, err) = text(&bigtop(&kc, &["delete-cluster", "--name", &name]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("deleted kind cluster {name}")), "{out}");
    if created_network {
        assert!(out.contains("removed the Docker network kind"), "{out}");
    }
    assert_eq!(docker(&["ps", "-a", "--filter", &format!("name={node}"), "--format", "{{.Names}}"]), "");
    let (code, out, _) = text(&bigtop(&kc, &["delete-cluster", "--name", &name]));
    assert_eq!(code, 0);
    assert!(out.contains(&format!("no kind cluster {name} to delete")), "{out}");
}
