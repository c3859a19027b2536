//! R1: the pipeline against a real kube-apiserver (+ controller-manager, scheduler, kwok).
//! Run with `bash tests/env/test.sh`.

mod common;

use std::time::Duration;

use bigtop_k8s::remove::list_labelled;
use common::*;

#[tokio::test]
async fn fixture_phases_apply_reach_ready_record_state_reapply_unchanged_and_remove_cleanly() {
    let _guard = lock();
    let client = client().await;
    run(&["add-phase", "fixture-crd", "--with-deps", "--no-verify"]).expect(0);
    let phases = installed();
    assert!(phases.contains(&"fixture".into()) && phases.contains(&"fixture-crd".into()), "{phases:?}");

    // The CRD and its custom resource were applied in one run.
    let before = list_labelled(&client, "fixture-crd").await.unwrap();
    assert!(before.iter().any(|(o, _)| o.starts_with("Greeting/fixture/first")), "{before:?}");
    assert!(before.iter().any(|(o, _)| o.starts_with("CustomResourceDefinition/greetings.fixture")), "{before:?}");
    let web_before = list_labelled(&client, "fixture").await.unwrap();

    // A second run changes nothing: no resourceVersion moves.
    run(&["add-phase", "fixture", "fixture-crd", "--no-verify"]).expect(0);
    assert_eq!(list_labelled(&client, "fixture-crd").await.unwrap(), before);
    assert_eq!(list_labelled(&client, "fixture").await.unwrap(), web_before);

    // Removal refuses while a dependent is installed, then leaves nothing labelled.
    let refused = run(&["remove-phase", "fixture"]).expect(3);
    assert!(refused.stderr.contains("needed by installed phase(s) fixture-crd"), "{}", refused.stderr);
    run(&["remove-phase", "fixture-crd", "fixture"]).expect(0);
    assert!(list_labelled(&client, "fixture").await.unwrap().is_empty());
    assert!(list_labelled(&client, "fixture-crd").await.unwrap().is_empty());
    assert!(!installed().iter().any(|p| p.starts_with("fixture")));
}

#[tokio::test]
async fn generated_credentials_survive_reapply() {
    let _guard = lock();
    let client = client().await;
    run(&["add-phase", "fixture", "--no-verify"]).expect(0);
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> = kube::Api::namespaced(client.clone(), "fixture");
    let first = secrets.get("web-credentials").await.unwrap().data.unwrap()["password"].clone();
    run(&["add-phase", "fixture", "--no-verify"]).expect(0);
    let second = secrets.get("web-credentials").await.unwrap().data.unwrap()["password"].clone();
    assert_eq!(first, second);
    assert_eq!(first.0.len(), 24);
    remove(&["fixture"]);
}

#[tokio::test]
async fn interrupted_add_phase_converges_on_rerun() {
    let _guard = lock();
    let client = client().await;
    for delay_ms in [50u64, 250, 600] {
        let mut child = bigtop().args(["add-phase", "fixture-crd", "--with-deps", "--no-verify"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        run(&["add-phase", "fixture-crd", "--with-deps", "--no-verify"]).expect(0);
        assert!(installed().contains(&"fixture-crd".to_string()));
        assert!(!list_labelled(&client, "fixture-crd").await.unwrap().is_empty());
        remove(&["fixture-crd", "fixture"]);
    }
}

#[tokio::test]
async fn unschedulable_workload_times_out_with_exit_5_naming_pod_and_reason() {
    let _guard = lock();
    let out = run(&["add-phase", "fixture", "--no-verify", "--set", "web.memory=200Ti", "--timeout", "8"]).expect(5);
    assert!(out.stderr.contains("Deployment/fixture/web is not ready"), "{}", out.stderr);
    assert!(out.stderr.contains("pod web-"), "{}", out.stderr);
    assert!(out.stderr.contains("Insufficient memory"), "{}", out.stderr);
    assert!(!installed().contains(&"fixture".to_string()), "a phase that never became ready is not recorded");
    remove(&["fixture"]);
}

#[tokio::test]
async fn strict_validation_rejects_a_misspelt_field() {
    let _guard = lock();
    let out = run(&["add-phase", "fixture-typo", "--no-verify"]).expect(1);
    assert!(out.stderr.contains("Deployment/fixture-typo/app") && out.stderr.contains(".spec.replicaz"), "{}", out.stderr);
    assert!(!installed().contains(&"fixture-typo".to_string()));
    remove(&["fixture-typo"]);
}

#[tokio::test]
async fn upstream_manifest_is_fetched_from_the_mirror_verified_and_applied() {
    let _guard = lock();
    let client = client().await;
    run(&["add-phase", "fixture-upstream", "--no-verify"]).expect(0);
    let objs = list_labelled(&client, "fixture-upstream").await.unwrap();
    assert!(objs.iter().any(|(o, _)| o == "CustomResourceDefinition/certificates.networking.internal.knative.dev"), "{objs:?}");
    remove(&["fixture-upstream"]);

    // A mirror whose bytes differ from the pin is a hard error naming both hashes.
    let bad = tempfile::tempdir().unwrap();
    let path = bad.path().join("knative-serving/knative-v1.23.0/crds/certificate.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"tampered\n").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = Run::from(
        bigtop()
            .env("BIGTOP_K8S_MIRROR", bad.path())
            .args(["add-phase", "fixture-upstream", "--no-verify"])
            .env("BIGTOP_K8S_CACHE", cache.path())
            .output()
            .unwrap(),
    )
    .expect(3);
    assert!(out.stderr.contains("fb0d76e0833f37aebd6b5ceffe7452a72f2a3205d4813a907bf0fde169a26689"), "{}", out.stderr);
    assert!(out.stderr.contains(&bigtop_k8s::fetch::sha256(b"tampered\n")), "{}", out.stderr);
}

#[tokio::test]
async fn checkpoint_failure_is_exit_4_and_recorded_with_evidence() {
    let _guard = lock();
    // Nothing listens behind the simulated pod (no port-forward rule): the http checkpoint must
    // fail loudly, not pass.
    run(&["add-phase", "fixture", "--no-verify"]).expect(0);
    let out = run(&["verify", "fixture"]).expect(4);
    assert!(out.stderr.contains("checkpoint of fixture (web) failed"), "{}", out.stderr);
    let status: serde_json::Value = serde_json::from_str(&run(&["status", "-o", "json"]).expect(0).stdout).unwrap();
    assert_eq!(status["fixture"]["checkpoint"]["passed"], false);
    assert!(!status["fixture"]["checkpoint"]["evidence"]["web"]["error"].as_str().unwrap().is_empty());
    remove(&["fixture"]);
}

// Multi-threaded: the test server task must run while the test blocks on the CLI process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_checkpoint_passes_through_a_real_port_forward() {
    let _guard = lock();
    let client = client().await;
    // A tiny HTTP server on loopback stands behind the simulated web pod.
    let port = serve_hello().await;
    route(&client, "fixture", 8080, port).await;
    let out = run(&["add-phase", "fixture"]);
    unroute(&client, "fixture").await;
    let out = out.expect(0);
    assert!(
        out.stdout.contains("checkpoint passed") && out.stdout.contains("bytes=5") && out.stdout.contains("status=200"),
        "{}",
        out.stdout
    );
    remove(&["fixture"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_forward_holds_port_forwards_open_until_interrupted() {
    let _guard = lock();
    let client = client().await;
    let port = serve_hello().await;
    route(&client, "fixture", 8080, port).await;
    run(&["add-phase", "fixture", "--no-verify"]).expect(0);
    let listed = run(&["endpoints", "-o", "json"]).expect(0).stdout;
    assert!(listed.contains("\"forward\": \"kubectl -n fixture port-forward svc/web 80:80\""), "{listed}");

    let mut child = bigtop().args(["endpoints", "--forward"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let line = lines.next().unwrap().unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")).unwrap_or_else(|| panic!("{line}")).to_string();
    let body =
        tokio::task::spawn_blocking(move || std::process::Command::new("curl").args(["-fsS", &url]).output().unwrap()).await.unwrap();
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    unroute(&client, "fixture").await;
    assert_eq!(String::from_utf8_lossy(&body.stdout), "hello");
    assert!(status.success(), "{status:?}");
    remove(&["fixture"]);
}
