//! R1: ClusterAPI on the real control plane. The ClusterAPI CRDs (exact upstream bytes: core,
//! kubeadm and Docker provider from ../shared/upstream, AWS and vSphere provider from their Go
//! module zips) are applied, every rendered workload template must pass strict validation, and
//! the wait/kubeconfig/delete logic runs against Cluster objects whose status the test sets the
//! way the ClusterAPI controllers would (through the status subresource). No controllers run
//! here: the tests play their part, and the R1 cluster itself stands in for the workload cluster
//! its kubeconfig Secret points at.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bigtop_k8s::apply::Applier;
use bigtop_k8s::provider::capi::{CapiSpec, Infrastructure, Providers, render_cluster, resolve_variables};
use bigtop_k8s::provider::capi_cluster::{self, ClusterRef, resource};
use common::capi::sample_variables;
use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Api;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text).unwrap().into_iter().filter(|d| !d.is_null()).collect()
}

/// Every CRD the three templates use, applied once (CRDs are cluster-wide and stay).
async fn install_crds(client: &kube::Client) {
    let mut files = Vec::new();
    let capi = mirror().join("cluster-api/v1.12.11");
    for dir in ["core", "bootstrap-kubeadm", "controlplane-kubeadm", "infrastructure-docker"] {
        for entry in std::fs::read_dir(capi.join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    let extra = PathBuf::from(std::env::var_os("BIGTOP_TEST_CAPI_CRDS").expect("BIGTOP_TEST_CAPI_CRDS (set by tests/env/test.sh)"));
    let providers = Providers::embedded();
    for (infra, kinds) in [("aws", ["awsclusters", "awsmachinetemplates"]), ("vsphere", ["vsphereclusters", "vspheremachinetemplates"])] {
        let version = providers.infrastructures[infra].provider.split(':').nth(1).unwrap().to_string();
        for kind in kinds {
            files.push(extra.join(format!("{infra}-{version}")).join(format!("infrastructure.cluster.x-k8s.io_{kind}.yaml")));
        }
    }
    let crds: Vec<Value> = files.iter().flat_map(|f| yaml_documents(f)).collect();
    Applier::new(client.clone()).await.unwrap().apply_all(&crds).await.unwrap();
}

async fn namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    api.patch(name, &PatchParams::apply("bigtop-tests").force(), &Patch::Apply(&ns)).await.unwrap();
}

/// Delete a namespace and wait until it is gone, so that the next test can create it again.
async fn delete_namespace(client: &kube::Client, name: &str) {
    let api = Api::<Namespace>::all(client.clone());
    let _ = api.delete(name, &DeleteParams::default()).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    while api.get_opt(name).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "namespace {name} still terminating");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn spec(name: &str, namespace: &str, infra: Infrastructure, cp: u32, workers: u32) -> CapiSpec {
    CapiSpec {
        name: name.into(),
        namespace: namespace.into(),
        infrastructure: infra,
        kubernetes: None,
        control_plane_nodes: cp,
        workers,
        variables: sample_variables(infra),
    }
}

fn rendered(spec: &CapiSpec) -> Vec<Value> {
    let providers = Providers::embedded();
    let vars = resolve_variables(spec, &providers, |_| None).unwrap();
    render_cluster(spec, &providers, &vars).unwrap()
}

fn clusters(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &resource("cluster.x-k8s.io", "Cluster", "clusters"))
}

/// Set a Cluster's status as the ClusterAPI controllers would: through the status subresource.
async fn set_status(client: &kube::Client, ns: &str, name: &str, status: Value) {
    let patch = json!({"status": status});
    clusters(client, ns).patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
}

fn condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": "2026-11-24T12:00:00Z"})
}

/// Deployments `clusterctl init` would have created: their presence tells the CLI to skip init.
async fn fake_initialised_management(client: &kube::Client) {
    for (ns, name) in Providers::embedded().controllers(Infrastructure::Docker) {
        namespace(client, &ns).await;
        let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "manager", "image": "registry.invalid/manager:v0"}]}}}});
        let api: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(client.clone(), &ns);
        api.patch(&name, &PatchParams::apply("bigtop-tests").force(), &Patch::Apply(&deploy)).await.unwrap();
    }
}

async fn remove_fake_management(client: &kube::Client) {
    for (ns, _) in Providers::embedded().controllers(Infrastructure::Docker) {
        delete_namespace(client, &ns).await;
    }
}

/// The binary with an explicit (temporary) kubeconfig for the workload and R1 as management.
fn capi_cli(kubeconfig: &Path, args: &[&str]) -> Command {
    let mut c = workload_cli(kubeconfig, args);
    c.arg("--management-kubeconfig").arg(common::kubeconfig());
    c
}

/// The binary with an explicit (temporary) kubeconfig.
fn workload_cli(kubeconfig: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bigtop-k8s"));
    c.arg("--kubeconfig").arg(kubeconfig).arg("--catalog-dir").arg(repo().join("tests/fixtures/catalog")).args(args);
    c.env("BIGTOP_K8S_MIRROR", mirror())
        .env_remove("KUBECONFIG")
        .env("BIGTOP_K8S_CACHE", std::env::temp_dir().join("bigtop-k8s-test-cache"));
    c
}

fn wait_child(mut child: Child, budget: Duration) -> Run {
    let deadline = Instant::now() + budget;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Run::from(child.wait_with_output().unwrap())
}

/// Wait until the CLI has applied the Cluster (failing with its output if it exited first).
async fn wait_for_cluster(client: &kube::Client, cli: &mut Child, ns: &str, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while clusters(client, ns).get_opt(name).await.unwrap().is_none() {
        assert!(Instant::now() < deadline, "the CLI never applied Cluster {ns}/{name}");
        if cli.try_wait().unwrap().is_some() {
            let mut err = String::new();
            std::io::Read::read_to_string(cli.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("the CLI exited before applying Cluster {ns}/{name}:\n{err}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// R1's own admin kubeconfig with the names the control-plane provider gives its Secret.
fn workload_kubeconfig(name: &str) -> String {
    let mut kc: Value = serde_saphyr::from_str(&std::fs::read_to_string(common::kubeconfig()).unwrap()).unwrap();
    kc["clusters"][0]["name"] = name.into();
    kc["users"][0]["name"] = format!("{name}-admin").into();
    kc["contexts"][0] = json!({"name": format!("{name}-admin@{name}"), "context": {"cluster": name, "user": format!("{name}-admin")}});
    kc["current-context"] = format!("{name}-admin@{name}").into();
    serde_json::to_string(&kc).unwrap()
}

async fn create_kubeconfig_secret(client: &kube::Client, ns: &str, name: &str) {
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("{name}-kubeconfig"), "namespace": ns},
        "stringData": {"value": workload_kubeconfig(name)}});
    let api = Api::<Secret>::namespaced(client.clone(), ns);
    api.patch(&format!("{name}-kubeconfig"), &PatchParams::apply("bigtop-tests").force(), &Patch::Apply(&secret)).await.unwrap();
}

#[tokio::test]
async fn every_template_passes_strict_validation_and_a_misspelt_field_does_not() {
    let _guard = lock();
    let client = client().await;
    install_crds(&client).await;
    let ns = "capi-templates";
    namespace(&client, ns).await;
    let mut applier = Applier::new(client.clone()).await.unwrap();
    let mut applied = 0;
    for infra in Infrastructure::ALL {
        for (cp, workers) in [(1, 0), (1, 2), (3, 0), (3, 5)] {
            let objects = rendered(&spec(&format!("{}-{cp}-{workers}", infra.name()), ns, infra, cp, workers));
            let stored = applier.apply_all(&objects).await.unwrap_or_else(|e| panic!("{} {cp}/{workers}: {e}", infra.name()));
            assert_eq!(stored.len(), objects.len());
            applied += stored.len();
        }
    }
    assert_eq!(applied, 4 * (7 + 7 + 7), "every object of 12 clusters stored");
    let mut bad = rendered(&spec("docker-bad", ns, Infrastructure::Docker, 1, 1));
    let kcp = bad.iter_mut().find(|o| o["kind"] == "KubeadmControlPlane").unwrap();
    kcp["spec"]["replicaz"] = 1.into();
    let err = applier.apply_all(&bad).await.unwrap_err().to_string();
    assert!(err.contains("replicaz"), "strict validation names the unknown field: {err}");
    delete_namespace(&client, ns).await;
}

#[tokio::test]
async fn wait_reports_condition_changes_until_the_control_plane_is_initialised() {
    let _guard = lock();
    let client = client().await;
    install_crds(&client).await;
    let ns = "capi-wait";
    namespace(&client, ns).await;
    Applier::new(client.clone()).await.unwrap().apply_all(&rendered(&spec("wl-wait", ns, Infrastructure::Docker, 1, 1))).await.unwrap();
    let cluster = ClusterRef { namespace: ns.into(), name: "wl-wait".into() };

    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let (c, r, s) = (client.clone(), cluster.clone(), seen.clone());
    let waiter = tokio::spawn(async move {
        capi_cluster::wait_control_plane(&c, &r, Duration::from_secs(60), |x| s.lock().unwrap().push(x.into())).await
    });
    set_status(
        &client,
        ns,
        "wl-wait",
        json!({"phase": "Provisioning", "conditions": [
        condition("InfrastructureReady", "True", "Ready", ""),
        condition("ControlPlaneInitialized", "False", "NotInitialized", "waiting for the first control plane machine")]}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.lock().unwrap().iter().any(|s| s.contains("waiting for the first control plane machine")) {
        assert!(Instant::now() < deadline, "the wait never reported the condition: {:?}", seen.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!waiter.is_finished(), "not initialised yet");
    set_status(&client, ns, "wl-wait", json!({"initialization": {"controlPlaneInitialized": true}})).await;
    tokio::time::timeout(Duration::from_secs(20), waiter).await.expect("returns once initialised").unwrap().unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen[seen.len() - 1],
        "phase Provisioning; ControlPlaneInitialized=False (NotInitialized: waiting for the first control plane machine)"
    );

    let err = capi_cluster::kubeconfig(&client, &cluster).await.unwrap_err().to_string();
    assert!(err.contains("wl-wait-kubeconfig"), "{err}");
    create_kubeconfig_secret(&client, ns, "wl-wait").await;
    assert!(capi_cluster::kubeconfig(&client, &cluster).await.unwrap().contains("wl-wait-admin@wl-wait"));
    let missing = ClusterRef { namespace: ns.into(), name: "absent".into() };
    assert!(matches!(
        capi_cluster::wait_control_plane(&client, &missing, Duration::from_secs(5), |_| {}).await,
        Err(capi_cluster::CapiClusterError::NotFound(_))
    ));
    delete_namespace(&client, ns).await;
}

#[tokio::test]
async fn a_failure_reported_by_clusterapi_surfaces_in_the_cli_error() {
    let _guard = lock();
    let client = client().await;
    install_crds(&client).await;
    fake_initialised_management(&client).await;
    let ns = "capi-fail";
    namespace(&client, ns).await;
    Applier::new(client.clone()).await.unwrap().apply_all(&rendered(&spec("wl-fail", ns, Infrastructure::Docker, 1, 0))).await.unwrap();
    set_status(
        &client,
        ns,
        "wl-fail",
        json!({"phase": "Failed",
        "conditions": [condition("InfrastructureReady", "False", "ProvisioningFailed", "load balancer container: no space left on device")],
        "deprecated": {"v1beta1": {"failureReason": "CreateError", "failureMessage": "cannot create the load balancer"}}}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    let out = Run::from(
        capi_cli(
            &kc,
            &["create-cluster", "--provider", "capi", "--name", "wl-fail", "--capi-namespace", ns, "--workers", "0", "--no-verify"],
        )
        .output()
        .unwrap(),
    )
    .expect(1);
    assert!(out.stderr.contains("skipping clusterctl init"), "{}", out.stderr);
    assert!(out.stderr.contains("the control plane of Cluster capi-fail/wl-fail did not come up"), "{}", out.stderr);
    assert!(out.stderr.contains("CreateError: cannot create the load balancer"), "{}", out.stderr);
    assert!(
        out.stderr.contains("InfrastructureReady=False (ProvisioningFailed: load balancer container: no space left on device)"),
        "{}",
        out.stderr
    );
    assert!(!kc.exists(), "no kubeconfig written for a failed cluster");
    delete_namespace(&client, ns).await;
    remove_fake_management(&client).await;
}

// Multi-threaded: the test plays the controllers while the CLI runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_installs_base_in_the_workload_status_shows_management_objects_and_delete_waits_for_machines() {
    let _guard = lock();
    let client = client().await;
    install_crds(&client).await;
    fake_initialised_management(&client).await;
    let (ns, name) = ("capi-ok", "wl-ok");
    namespace(&client, ns).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kube/config");

    let mut create =
        capi_cli(&kc, &["create-cluster", "--provider", "capi", "--name", name, "--capi-namespace", ns, "--workers", "1", "--no-verify"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    wait_for_cluster(&client, &mut create, ns, name).await;
    set_status(
        &client,
        ns,
        name,
        json!({"phase": "Provisioned", "initialization": {"infrastructureProvisioned": true, "controlPlaneInitialized": true},
        "conditions": [condition("ControlPlaneInitialized", "True", "Initialized", "")]}),
    )
    .await;
    create_kubeconfig_secret(&client, ns, name).await;
    let out = tokio::task::spawn_blocking(move || wait_child(create, Duration::from_secs(240))).await.unwrap().expect(0);
    assert!(out.stdout.contains("base: canal, openebs"), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(&format!("kubeconfig context {name}-admin@{name} written to {}", kc.display())), "{}", out.stderr);
    let written = std::fs::read_to_string(&kc).unwrap();
    assert!(written.contains(&format!("current-context: {name}-admin@{name}")), "{written}");

    let status = Run::from(workload_cli(&kc, &["status", "-o", "json"]).output().unwrap()).expect(0);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["clusterapi"]["origin"]["name"], name);
    let kinds: Vec<&str> = status["clusterapi"]["objects"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Cluster", "KubeadmControlPlane", "MachineDeployment"], "{status}");
    assert!(status["base"]["applied_at"].is_string() || status["base"]["appliedAt"].is_string(), "{status}");

    // A machine the "controller" is still tearing down: delete must wait for it.
    let machines: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource("cluster.x-k8s.io", "Machine", "machines"));
    let machine: DynamicObject = serde_json::from_value(json!({"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine",
        "metadata": {"name": format!("{name}-md-0-abc"), "namespace": ns, "labels": {"cluster.x-k8s.io/cluster-name": name}, "finalizers": ["machine.cluster.x-k8s.io"]},
        "spec": {"clusterName": name, "bootstrap": {"dataSecretName": "boot"},
            "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DockerMachine", "name": "m"}}}))
    .unwrap();
    machines.create(&PostParams::default(), &machine).await.unwrap();
    let delete = capi_cli(&kc, &["delete-cluster", "--provider", "capi", "--name", name, "--capi-namespace", ns])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while clusters(&client, ns).get_opt(name).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "delete-cluster never deleted the Cluster");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut delete = delete;
    assert!(delete.try_wait().unwrap().is_none(), "delete-cluster waits while a machine remains");
    machines.delete(&format!("{name}-md-0-abc"), &DeleteParams::default()).await.unwrap();
    let unfinalize = json!({"metadata": {"finalizers": null}});
    machines.patch(&format!("{name}-md-0-abc"), &PatchParams::default(), &Patch::Merge(&unfinalize)).await.unwrap();
    let out = tokio::task::spawn_blocking(move || wait_child(delete, Duration::from_secs(60))).await.unwrap().expect(0);
    assert!(out.stdout.contains(&format!("deleted ClusterAPI cluster {name} (1 machine(s))")), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("1 machine(s) left"), "{}", out.stderr);
    assert!(!std::fs::read_to_string(&kc).unwrap().contains(&format!("{name}-admin@{name}")), "context removed");
    let again =
        Run::from(capi_cli(&kc, &["delete-cluster", "--provider", "capi", "--name", name, "--capi-namespace", ns]).output().unwrap())
            .expect(0);
    assert!(again.stdout.contains(&format!("no ClusterAPI cluster {name} to delete")), "{}", again.stdout);

    run(&["remove-phase", "base"]).expect(0);
    restore_standard(&client).await;
    let _ = Api::<ConfigMap>::namespaced(client.clone(), "bigtop-system").delete("bigtop-cluster", &DeleteParams::default()).await;
    delete_namespace(&client, ns).await;
    remove_fake_management(&client).await;
}

#[test]
fn bad_input_is_refused_before_any_cluster_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    let cli = |args: &[&str]| Run::from(capi_cli(&kc, args).output().unwrap());
    let out = cli(&["create-cluster", "--provider", "capi", "--infrastructure", "aws"]).expect(2);
    assert!(out.stderr.contains("AWS_REGION (region of the cluster") && out.stderr.contains("--var NAME=VALUE"), "{}", out.stderr);
    let out = cli(&["create-cluster", "--provider", "capi", "--control-plane-nodes", "2"]).expect(2);
    assert!(out.stderr.contains("2 control-plane machines: use an odd number"), "{}", out.stderr);
    let out = cli(&["create-cluster", "--provider", "capi", "--var", "AWS_REGION=eu-west-1"]).expect(2);
    assert!(out.stderr.contains("unknown variable AWS_REGION for the docker template"), "{}", out.stderr);
    let out = cli(&["create-cluster", "--provider", "capi", "--kubernetes-version", "v1.36.1"]).expect(2);
    assert!(out.stderr.contains("supports v1.29 to v1.35"), "{}", out.stderr);
    let out = cli(&["create-cluster", "--provider", "capi", "--infrastructure", "vsphere", "--var", "CONTROL_PLANE_ENDPOINT_IP=10.0.0"])
        .expect(2);
    assert!(out.stderr.contains("CONTROL_PLANE_ENDPOINT_IP=\"10.0.0\" is invalid"), "{}", out.stderr);
    let out = cli(&["create-cluster", "--provider", "capi", "--var", "NOEQUALS"]).expect(2);
    assert!(out.stderr.contains("is not NAME=VALUE"), "{}", out.stderr);
    assert!(!kc.exists());
}

#[tokio::test]
async fn missing_provider_credentials_stop_before_clusterctl_runs() {
    let _guard = lock();
    let client = client().await;
    install_crds(&client).await;
    let dir = tempfile::tempdir().unwrap();
    // The management cluster has no providers, so init is needed: its credentials come first.
    let out = Run::from(
        capi_cli(
            &dir.path().join("config"),
            &["create-cluster", "--provider", "capi", "--infrastructure", "aws", "--var", "AWS_REGION=eu-west-1"],
        )
        .env_remove("AWS_B64ENCODED_CREDENTIALS")
        .output()
        .unwrap(),
    )
    .expect(3);
    assert!(out.stderr.contains("AWS_B64ENCODED_CREDENTIALS (clusterawsadm bootstrap iam"), "{}", out.stderr);
    let api = clusters(&client, "default");
    assert!(api.list(&Default::default()).await.unwrap().items.is_empty(), "nothing applied");
}
