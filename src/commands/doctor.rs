//! `doctor`: preflight checks, each pass/warn/fail with its fix: Docker (engine, memory and CPUs
//! against the profile's budget, cgroup version, rootless mode, inotify limits, free disk) and
//! Kubernetes access (API reachability and version, permissions, nodes, default StorageClass).

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Client;
use kube::api::{Api, ListParams, PostParams};

use super::Globals;
use crate::cluster::connect_within;
use crate::output::table;
use crate::preflight::{Check, Host, Needs, Verdict, check, docker_checks};
use crate::profile::Profile;

/// Run every check — Docker (for Kind) against `profile`'s budget, then Kubernetes access —
/// and return the verdicts; the command's exit code comes from them.
pub async fn run(g: &Globals, profile: Profile) -> Vec<Check> {
    let mut checks = docker(g, profile).await;
    let docker_ok = checks.iter().all(|c| c.verdict != Verdict::Warn || c.name != "docker engine");
    checks.extend(kubernetes(g).await);
    let cluster_ok = checks.iter().any(|c| c.name == "kubernetes api" && c.verdict == Verdict::Pass);
    // Each alone is a warning; both missing means nothing can be installed.
    if !docker_ok && !cluster_ok {
        checks.push(check(
            "something to install on",
            Verdict::Fail,
            "neither Docker (for a Kind cluster) nor a reachable cluster: nothing can be installed",
            "start Docker and run `bigtop-k8s up`, or point --kubeconfig/--context at a cluster",
        ));
    }
    checks
}

async fn docker(g: &Globals, profile: Profile) -> Vec<Check> {
    let docker = match crate::docker::connect().await {
        Ok(d) => d,
        // Without Docker only Kind is out of reach; an existing cluster still works.
        Err(e) => {
            return vec![check(
                "docker engine",
                Verdict::Warn,
                e.to_string(),
                "needed for create-cluster (Kind); not for existing clusters",
            )];
        }
    };
    let facts = match crate::docker::facts(&docker).await {
        Ok(f) => f,
        Err(e) => return vec![check("docker engine", Verdict::Fail, e.to_string(), "check the Docker daemon's logs")],
    };
    let budget = g.catalog().ok().and_then(|c| c.budgets.get(profile.name()).cloned());
    docker_checks(&facts, Needs::from_budget(budget.as_ref()), Host::read(&facts.root_dir))
}

async fn kubernetes(g: &Globals) -> Vec<Check> {
    let cluster = match connect_within(&g.target, g.timeout).await {
        Ok(c) => c,
        // No kubeconfig anywhere is the normal state before create-cluster.
        Err(e) if g.target.kubeconfig.is_none() && e.message.starts_with("no kubeconfig") => {
            return vec![check("kubernetes api", Verdict::Warn, e.message.clone(), "create a cluster, or pass --kubeconfig/--context")];
        }
        Err(e) => return vec![check("kubernetes api", Verdict::Fail, e.message.clone(), e.hint.unwrap_or_default())],
    };
    let mut checks = vec![check("kubernetes api", Verdict::Pass, format!("{} answers, version {}", cluster.server, cluster.version), "")];
    checks.push(permissions(&cluster.client).await);
    checks.push(nodes(&cluster.client).await);
    checks.push(default_storage_class(&cluster.client).await);
    checks
}

async fn permissions(client: &Client) -> Check {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let mut missing = Vec::new();
    for (group, resource) in
        [("apiextensions.k8s.io", "customresourcedefinitions"), ("", "namespaces"), ("rbac.authorization.k8s.io", "clusterroles")]
    {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    group: Some(group.into()),
                    resource: Some(resource.into()),
                    verb: Some("create".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        match api.create(&PostParams::default(), &review).await {
            Ok(r) if r.status.as_ref().is_some_and(|s| s.allowed) => {}
            Ok(_) => missing.push(resource),
            Err(e) => return check("permissions", Verdict::Warn, format!("cannot ask the API: {e}"), ""),
        }
    }
    if missing.is_empty() {
        check("permissions", Verdict::Pass, "may create CRDs, namespaces and cluster roles", "")
    } else {
        check("permissions", Verdict::Fail, format!("may not create {}", missing.join(", ")), "use a cluster-admin context (--context)")
    }
}

async fn nodes(client: &Client) -> Check {
    let api: Api<Node> = Api::all(client.clone());
    let list = match api.list(&ListParams::default()).await {
        Ok(l) => l.items,
        Err(e) => return check("nodes", Verdict::Warn, format!("cannot list nodes: {e}"), ""),
    };
    let ready = list.iter().filter(|n| crate::wait::node_ready(n)).count();
    match (list.len(), ready) {
        (0, _) => check("nodes", Verdict::Fail, "the cluster has no nodes", "add nodes, or create a cluster"),
        (n, r) if r < n => check("nodes", Verdict::Warn, format!("{r} of {n} nodes Ready"), "kubectl describe nodes"),
        (n, _) => check("nodes", Verdict::Pass, format!("{n} node(s) Ready"), ""),
    }
}

async fn default_storage_class(client: &Client) -> Check {
    let api: Api<StorageClass> = Api::all(client.clone());
    let Ok(list) = api.list(&ListParams::default()).await else {
        return check("default storage class", Verdict::Warn, "cannot list StorageClasses", "");
    };
    let defaults: Vec<String> = list
        .items
        .iter()
        .filter(|s| {
            s.metadata.annotations.as_ref().and_then(|a| a.get("storageclass.kubernetes.io/is-default-class")).is_some_and(|v| v == "true")
        })
        .filter_map(|s| s.metadata.name.clone())
        .collect();
    match defaults.len() {
        0 => check(
            "default storage class",
            Verdict::Warn,
            "none: PVCs of stateful phases will stay Pending",
            "mark one default: kubectl annotate storageclass <name> storageclass.kubernetes.io/is-default-class=true",
        ),
        1 => check("default storage class", Verdict::Pass, defaults[0].clone(), ""),
        _ => check(
            "default storage class",
            Verdict::Warn,
            format!("several defaults: {}", defaults.join(", ")),
            "keep exactly one default StorageClass",
        ),
    }
}

/// Checks as a table.
pub fn text(checks: &Vec<Check>) -> String {
    let rows: Vec<Vec<String>> =
        checks.iter().map(|c| vec![format!("{:?}", c.verdict).to_lowercase(), c.name.clone(), c.detail.clone(), c.fix.clone()]).collect();
    table(&["RESULT", "CHECK", "FOUND", "FIX"], &rows)
}
