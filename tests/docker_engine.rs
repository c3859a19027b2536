//! Docker checks against a real Docker engine (`tests/env/test.sh` starts one when none runs):
//! what bollard reports, label-based listing and cleanup of a Kind cluster's containers, and
//! the message when no engine answers.

use std::process::Command;

use bigtop_k8s::docker::{cluster_containers, connect, facts, remove_cluster_containers};

fn engine() {
    assert!(
        std::env::var_os("BIGTOP_TEST_DOCKER").is_some(),
        "no Docker engine for the tests: run the suite with `bash tests/env/test.sh` (it starts dockerd; install it with `apt-get install docker.io`)"
    );
}

fn docker_cli(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker CLI");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn facts_match_what_the_engine_reports() {
    engine();
    bigtop_k8s::install_crypto_provider();
    let docker = connect().await.unwrap();
    let f = facts(&docker).await.unwrap();
    let cli = docker_cli(&["info", "--format", "{{.MemTotal}} {{.NCPU}} {{.CgroupVersion}} {{.ServerVersion}}"]);
    assert_eq!(cli, format!("{} {} {} {}", f.memory_bytes, f.cpus, f.cgroup_version, f.version));
    assert!(!f.api_version.is_empty());
}

#[tokio::test]
async fn a_clusters_containers_are_found_by_label_and_removed_others_untouched() {
    engine();
    let cluster = format!("bigtop-test-{}", std::process::id());
    // A tiny local image: no registry is reachable, so import an empty filesystem.
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("empty.tar");
    Command::new("tar").args(["-cf"]).arg(&tar).args(["-T", "/dev/null"]).status().unwrap();
    docker_cli(&["import", tar.to_str().unwrap(), "bigtop-test/empty:1"]);
    for node in ["control-plane", "worker"] {
        docker_cli(&[
            "create",
            "--name",
            &format!("{cluster}-{node}"),
            "--label",
            &format!("io.x-k8s.kind.cluster={cluster}"),
            "bigtop-test/empty:1",
            "/none",
        ]);
    }
    let other = format!("{cluster}-other");
    docker_cli(&["create", "--name", &other, "--label", "io.x-k8s.kind.cluster=someone-else", "bigtop-test/empty:1", "/none"]);

    let docker = connect().await.unwrap();
    let found = cluster_containers(&docker, &cluster).await.unwrap();
    assert_eq!(found, [format!("{cluster}-control-plane"), format!("{cluster}-worker")]);
    let removed = remove_cluster_containers(&docker, &cluster).await.unwrap();
    assert_eq!(removed, found);
    assert!(cluster_containers(&docker, &cluster).await.unwrap().is_empty());
    assert!(remove_cluster_containers(&docker, &cluster).await.unwrap().is_empty(), "idempotent");
    assert_eq!(docker_cli(&["ps", "-a", "--filter", &format!("name={other}"), "--format", "{{.Names}}"]), other);
    docker_cli(&["rm", &other]);
}

#[tokio::test]
async fn an_engine_that_does_not_answer_is_named_with_the_fix() {
    // Not the real engine: a socket path where nothing listens.
    let out = Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"))
        .args(["doctor", "--kubeconfig", "/nonexistent"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("docker engine") && stdout.contains("Docker is not reachable") && stdout.contains("start Docker"), "{stdout}");
}
